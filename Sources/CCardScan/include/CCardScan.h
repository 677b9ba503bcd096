#ifndef ENROLLD_CCARDSCAN_H
#define ENROLLD_CCARDSCAN_H

// Card scanning engine over OpenCV 4.6 (core, imgproc) and Tesseract 5, behind a plain C interface: finds the
// machine readable zone (ICAO 9303-3 §4: OCR-B size 1, 10 characters per inch) or the CAN of an ID card in a
// camera photo, straightens it and scores every character position against the 37 MRZ classes. Check digits,
// field rules and key ranking are the caller's (Swift CardScan over MRTD's MRZ code). Also the synthetic card
// generator used by the tests and enroll-bench.
//
// Input: decoded 8-bit greyscale pixels (the caller decodes with the face engine's bounded codecs, which check
// the header's dimensions before decoding). Size limits, checked before any allocation: each side at most
// ENROLLD_SCAN_MAX_SIDE, and width * height at most the reader's max_pixels; larger images get
// ENROLLD_SCAN_OVERSIZED. Work images are downscaled to a fixed long side, so memory and time per call are
// bounded by the pixel limit.
//
// Thread safety: a reader is immutable after enrolld_scan_reader_create; any number of threads may call
// enrolld_scan_read_mrz and enrolld_scan_read_can on one reader at once. The OCR-B engine shares read-only
// templates; the Tesseract engine keeps one TessBaseAPI per reader behind a mutex, so its reads on one reader
// run one at a time. OpenCV's own thread pool is set to one thread when the first reader is created (one scan
// uses one core). The generator functions need no reader and are thread-safe. No function logs or keeps
// pixels or recognised text: results live only in the caller's structures.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// The character classes, in score order: '0'...'9', 'A'...'Z', '<'.
#define ENROLLD_SCAN_CLASSES "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
#define ENROLLD_SCAN_CLASS_COUNT 37
#define ENROLLD_SCAN_MAX_LINES 3
#define ENROLLD_SCAN_MAX_LINE_LENGTH 44
#define ENROLLD_SCAN_MAX_READINGS 6
#define ENROLLD_SCAN_MAX_CAN_DIGITS 10
#define ENROLLD_SCAN_MAX_SIDE 16384
#define ENROLLD_SCAN_MESSAGE_CAPACITY 256

typedef enum enrolld_scan_status {
    ENROLLD_SCAN_OK = 0,
    ENROLLD_SCAN_FONT_MISSING = 1,        // the OCR-B font file (fonts-ocr-b) is absent
    ENROLLD_SCAN_FONT_INVALID = 2,        // it does not load or lacks a glyph
    ENROLLD_SCAN_ENGINE_UNAVAILABLE = 3,  // Tesseract or its eng.traineddata (tesseract-ocr-eng) is missing
    ENROLLD_SCAN_INVALID_ARGUMENT = 4,
    ENROLLD_SCAN_OVERSIZED = 5,           // a side over ENROLLD_SCAN_MAX_SIDE or more pixels than max_pixels
    ENROLLD_SCAN_OUT_OF_MEMORY = 6,
    ENROLLD_SCAN_INTERNAL = 7
} enrolld_scan_status;

typedef enum enrolld_scan_engine_kind {
    ENROLLD_SCAN_ENGINE_OCRB = 0,       // our classifier: templates rendered from the OCR-B font at creation
    ENROLLD_SCAN_ENGINE_TESSERACT = 1   // Tesseract's LSTM (eng.traineddata), one line at a time
} enrolld_scan_engine_kind;

typedef struct enrolld_scan_reader enrolld_scan_reader;

typedef struct enrolld_scan_reader_options {
    enrolld_scan_engine_kind engine;
    const char *ocrb_font_path;     // e.g. /usr/share/fonts/opentype/ocr-b/OCRB.otf (both engines locate with it)
    const char *tessdata_path;      // directory holding eng.traineddata (Tesseract engine only)
    uint64_t max_pixels;            // refuse larger images (0: ENROLLD_SCAN_MAX_SIDE squared)
} enrolld_scan_reader_options;

// Class probabilities of one character position (they sum to 1).
typedef struct enrolld_scan_glyph {
    float probabilities[ENROLLD_SCAN_CLASS_COUNT];
} enrolld_scan_glyph;

// One hypothesis of where the MRZ is and how it reads: a band of lines of one length, in one orientation.
typedef struct enrolld_scan_zone_reading {
    uint32_t line_count;            // 2 or 3
    uint32_t line_length;           // 30, 36 or 44
    int32_t upside_down;            // 1: read after turning the zone by 180 degrees
    float geometry_score;           // 0...1: how well the bands fit an MRZ (parallel, equal, evenly spaced)
    float sharpness;                // mean best-template correlation, 0...1
    float corners[8];               // the zone's quad in input pixels: x0,y0 (top left) ... clockwise
    enrolld_scan_glyph glyphs[ENROLLD_SCAN_MAX_LINES * ENROLLD_SCAN_MAX_LINE_LENGTH];  // line * line_length + i
} enrolld_scan_zone_reading;

typedef struct enrolld_scan_mrz_result {
    uint32_t reading_count;         // 0: no band group that looks like an MRZ
    uint32_t band_count;            // text bands found (diagnostics)
    enrolld_scan_zone_reading readings[ENROLLD_SCAN_MAX_READINGS];  // best geometry first
    double locate_ms;
    double read_ms;
} enrolld_scan_mrz_result;

// Where the CAN is printed on a card front, as fractions of the card (landscape, portrait on the left).
typedef struct enrolld_scan_can_region {
    float left;
    float top;
    float width;
    float height;
    uint32_t digit_count;           // 1...ENROLLD_SCAN_MAX_CAN_DIGITS
} enrolld_scan_can_region;

typedef struct enrolld_scan_can_reading {
    uint32_t digit_count;
    int32_t upside_down;
    float geometry_score;           // 0...1: digit-like boxes found, in a row, where the layout says
    float sharpness;
    enrolld_scan_glyph glyphs[ENROLLD_SCAN_MAX_CAN_DIGITS];
} enrolld_scan_can_reading;

typedef struct enrolld_scan_can_result {
    int32_t card_found;             // 1: a card outline was found (corners set)
    float card_corners[8];          // top left, top right, bottom right, bottom left, input pixels
    uint32_t reading_count;         // 0...2 (both orientations of the card)
    enrolld_scan_can_reading readings[2];
    double locate_ms;
    double read_ms;
} enrolld_scan_can_result;

// Creates a reader: renders the OCR-B templates (and loads Tesseract for that engine). FONT_MISSING,
// FONT_INVALID or ENGINE_UNAVAILABLE with a message saying which file or package is missing.
enrolld_scan_status enrolld_scan_reader_create(const enrolld_scan_reader_options *options,
                                               enrolld_scan_reader **reader_out, char *message,
                                               size_t message_capacity);
void enrolld_scan_reader_destroy(enrolld_scan_reader *reader);

// Finds MRZ band groups in a greyscale image (rows top to bottom, stride = width) and reads each.
enrolld_scan_status enrolld_scan_read_mrz(const enrolld_scan_reader *reader, const uint8_t *grey, uint32_t width,
                                          uint32_t height, enrolld_scan_mrz_result *result, char *message,
                                          size_t message_capacity);

// Finds the card outline, straightens it and reads the digits in the region, in both orientations.
enrolld_scan_status enrolld_scan_read_can(const enrolld_scan_reader *reader, const uint8_t *grey, uint32_t width,
                                          uint32_t height, const enrolld_scan_can_region *region,
                                          enrolld_scan_can_result *result, char *message, size_t message_capacity);

// MARK: Synthetic cards (tests and enroll-bench)

typedef enum enrolld_synth_layout {
    ENROLLD_SYNTH_TD1_BACK = 0,     // ID-1 card, reverse: 3 x 30 MRZ
    ENROLLD_SYNTH_TD2 = 1,          // ID-2 document: 2 x 36 MRZ
    ENROLLD_SYNTH_TD3 = 2,          // passport data page: 2 x 44 MRZ
    ENROLLD_SYNTH_TD1_FRONT = 3     // ID-1 card, front: portrait, printed data and the CAN
} enrolld_synth_layout;

typedef struct enrolld_synth_card {
    enrolld_synth_layout layout;
    const char *mrz;                // MRZ lines joined by '\n' (not for TD1_FRONT)
    const char *can;                // TD1_FRONT: the CAN digits
    enrolld_scan_can_region can_region;
    const char *visual_text;        // printed data, lines joined by '\n' (names, dates, number)
    const char *ocrb_font_path;
    const char *text_font_path;     // a sans-serif for the printed data (DejaVu Sans)
    const uint8_t *portrait_rgb;    // optional
    uint32_t portrait_width;
    uint32_t portrait_height;
    uint64_t seed;                  // colours and security print
    float pixels_per_mm;            // 8...20
} enrolld_synth_card;

typedef struct enrolld_synth_scene {
    uint32_t width;
    uint32_t height;
    uint64_t seed;                  // background and noise
    int32_t background;             // 0 plain, 1 gradient, 2 wood-like, 3 busy clutter (shapes, lines, text)
    float card_width_fraction;      // card width over image width (before rotation)
    float center_x;                 // card centre, fractions of the image
    float center_y;
    float rotation_degrees;
    float tilt_x;                   // perspective: horizontal keystone, -0.3...0.3
    float tilt_y;
    float blur_sigma;               // Gaussian blur, pixels
    float motion_length;            // motion blur length, pixels (0: none)
    float motion_angle_degrees;
    float noise_sigma;              // Gaussian noise, grey levels
    float gain;                     // brightness factor (low light < 1)
    float glare_strength;           // 0...1: added white
    float glare_x;                  // fractions of the card
    float glare_y;
    float glare_radius;             // fraction of the card width
    float shadow_strength;          // 0...1: a soft shadow band across the card
} enrolld_synth_scene;

// Renders a card (RGB, rows top to bottom); *rgb_out is freed with enrolld_scan_free.
enrolld_scan_status enrolld_synth_render_card(const enrolld_synth_card *card, uint8_t **rgb_out,
                                              uint32_t *width_out, uint32_t *height_out, char *message,
                                              size_t message_capacity);

// Places a rendered card in a scene and degrades it; also returns where the card's corners landed.
enrolld_scan_status enrolld_synth_compose(const uint8_t *card_rgb, uint32_t card_width, uint32_t card_height,
                                          const enrolld_synth_scene *scene, uint8_t **rgb_out,
                                          float card_corners_out[8], char *message, size_t message_capacity);

// RGB to greyscale (ITU-R BT.601 weights), into a caller's buffer of width * height bytes.
void enrolld_scan_rgb_to_grey(const uint8_t *rgb, uint32_t width, uint32_t height, uint8_t *grey_out);

void enrolld_scan_free(void *buffer);

#ifdef __cplusplus
}
#endif
#endif
