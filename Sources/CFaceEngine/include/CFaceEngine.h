#ifndef ENROLLD_CFACEENGINE_H
#define ENROLLD_CFACEENGINE_H

// Face engine over dlib 19.24 and OpenJPEG, behind a plain C interface.
//
// Pipeline: decode (JPEG, PNG, JP2, J2K) -> optional downscale -> HOG frontal face detection ->
// 5-point landmarks -> 150x150 aligned chip (padding 0.25) -> ResNet embedding (128 floats).
//
// Thread safety: an engine may be shared by any number of threads. Decoding, landmarks and chip
// extraction run concurrently; the HOG detector and the ResNet are each guarded by the engine's own mutex
// (there is no lock shared between engines), so detections (and embeddings) on one engine run one at a time.
// For parallel work give each worker thread its own engine: enrolld_face_engine_clone copies the loaded models
// without reading the files again. OpenBLAS is pinned to one thread when the first engine is created.
//
// Size limits, checked from the header before any pixel is allocated: max_bytes, max_pixels (what the header
// declares), and max_decoder_bytes (what the decoder may allocate: the output, libjpeg's coefficient buffers of
// progressive files, OpenJPEG's component and tile buffers, libpng's ancillary chunks). With working_long_side
// set, JPEG is decoded with DCT scaling and JPEG 2000 without the resolution levels the target does not need,
// and what is still larger is area-averaged down before detection, alignment and embedding.
//
// Frames of a liveness burst come as decoded RGB (enrolld_face_analyse_rgb): the caller has already bounded
// their pixel count; detection runs on a copy scaled by detect_scale, landmarks and the aligned chip at full
// resolution, and the ResNet only on the chips the caller chooses (enrolld_face_embed_chip).

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENROLLD_FACE_EMBEDDING_SIZE 128
#define ENROLLD_FACE_MAX_REGIONS 16
#define ENROLLD_FACE_MESSAGE_CAPACITY 256
#define ENROLLD_FACE_LANDMARK_COUNT 5
#define ENROLLD_FACE_CHIP_SIDE 150
#define ENROLLD_FACE_THUMBNAIL_SIDE 32

typedef enum enrolld_face_status {
    ENROLLD_FACE_OK = 0,
    ENROLLD_FACE_MODEL_MISSING = 1,
    ENROLLD_FACE_MODEL_INVALID = 2,
    ENROLLD_FACE_INVALID_ARGUMENT = 3,
    ENROLLD_FACE_UNSUPPORTED_FORMAT = 4,
    ENROLLD_FACE_UNDECODABLE = 5,
    ENROLLD_FACE_OVERSIZED_BYTES = 6,
    ENROLLD_FACE_OVERSIZED_PIXELS = 7,
    ENROLLD_FACE_OUT_OF_MEMORY = 8,
    ENROLLD_FACE_INTERNAL = 9
} enrolld_face_status;

typedef enum enrolld_face_format {
    ENROLLD_FACE_FORMAT_UNKNOWN = 0,
    ENROLLD_FACE_FORMAT_JPEG = 1,
    ENROLLD_FACE_FORMAT_PNG = 2,
    ENROLLD_FACE_FORMAT_JP2 = 3,
    ENROLLD_FACE_FORMAT_J2K = 4
} enrolld_face_format;

// Why the engine did not embed a face (the image itself decoded fine).
typedef enum enrolld_face_refusal {
    ENROLLD_FACE_ACCEPTED = 0,
    ENROLLD_FACE_NO_FACE = 1,
    ENROLLD_FACE_TOO_SMALL = 2,
    ENROLLD_FACE_AMBIGUOUS = 3
} enrolld_face_refusal;

typedef struct enrolld_face_engine enrolld_face_engine;

typedef struct enrolld_face_options {
    uint64_t max_bytes;            // refuse larger inputs (0: no limit)
    uint64_t max_pixels;           // refuse images whose header claims more pixels (0: no limit)
    uint32_t downscale_long_side;  // detect on a copy downscaled to this long side (0: never)
    uint32_t small_image_side;     // no face in an image whose long side is under this: pad and upsample once
    uint32_t min_face_size;        // refuse the largest face when its box is narrower (original pixels)
    double ambiguity_ratio;        // refuse when second largest area >= ratio * largest area (0: off)
    uint32_t working_long_side;    // decode and downscale to at most this long side before anything else (0: full)
    uint64_t max_decoder_bytes;    // the decoder's memory bound (0: 256 MiB); over it: OVERSIZED_PIXELS
} enrolld_face_options;

// A detected face, in the original image's pixel coordinates.
typedef struct enrolld_face_region {
    double left;
    double top;
    double width;
    double height;
} enrolld_face_region;

// A point in the original image's pixel coordinates.
typedef struct enrolld_face_point {
    double x;
    double y;
} enrolld_face_point;

typedef struct enrolld_face_analysis {
    enrolld_face_format format;
    uint32_t width;                // decoded image
    uint32_t height;
    uint32_t analysed_width;       // image the detector ran on (after downscale or pad+upsample)
    uint32_t analysed_height;
    int32_t small_image_fallback;  // 1 when the pad-and-upsample retry found the faces
    uint32_t face_count;           // all faces detected
    uint32_t region_count;         // faces listed in regions, largest first (<= ENROLLD_FACE_MAX_REGIONS)
    enrolld_face_region regions[ENROLLD_FACE_MAX_REGIONS];
    enrolld_face_refusal refusal;  // ENROLLD_FACE_ACCEPTED: regions[0] was embedded (or aligned, for frames)
    int32_t has_landmarks;         // 1: landmarks hold the 5 points of regions[0] (whenever a face was found)
    // dlib's 5-point model: 0, 1 the corners of the eye on the image's right (outer, inner), 2, 3 the corners
    // of the eye on the image's left (outer, inner), 4 the base of the nose.
    enrolld_face_point landmarks[ENROLLD_FACE_LANDMARK_COUNT];
    // Greyscale thumbnail of regions[0]'s box (rows top to bottom), for near-duplicate checks; valid with landmarks.
    uint8_t thumbnail[ENROLLD_FACE_THUMBNAIL_SIDE * ENROLLD_FACE_THUMBNAIL_SIDE];
    float embedding[ENROLLD_FACE_EMBEDDING_SIZE];
    double decode_ms;              // sniff, header, decode
    double detect_ms;              // downscale or pad, HOG detection
    double align_ms;               // 5-point landmarks, chip extraction
    double embed_ms;               // ResNet forward pass
} enrolld_face_analysis;

// Loads shape_predictor_5_face_landmarks.dat and dlib_face_recognition_resnet_model_v1.dat from
// model_directory. On failure returns MODEL_MISSING or MODEL_INVALID and writes a message.
enrolld_face_status enrolld_face_engine_create(const char *model_directory, enrolld_face_engine **engine_out,
                                               char *message, size_t message_capacity);
void enrolld_face_engine_destroy(enrolld_face_engine *engine);

// A new engine with copies of `engine`'s models (detector, landmark model, ResNet) and its own locks, for another
// worker thread. OUT_OF_MEMORY or INTERNAL on failure.
enrolld_face_status enrolld_face_engine_clone(const enrolld_face_engine *engine, enrolld_face_engine **engine_out,
                                              char *message, size_t message_capacity);

// 1 when OpenBLAS was found and pinned to one thread.
int enrolld_face_blas_pinned(void);

// Decodes, detects, aligns and (unless refused) embeds the largest face. Image-level failures
// (format, size, decoding) are returned as a status with a message; face-level refusals are
// reported in analysis->refusal with status OK.
enrolld_face_status enrolld_face_analyse(enrolld_face_engine *engine, const uint8_t *data, size_t length,
                                         const enrolld_face_options *options, enrolld_face_analysis *analysis,
                                         char *message, size_t message_capacity);

typedef struct enrolld_face_frame_options {
    double detect_scale;           // detect on a copy scaled by this factor, 0 < detect_scale <= 1
    uint32_t min_face_size;        // refuse (TOO_SMALL) when the largest box is narrower (original pixels)
    uint8_t *chip_out;             // optional: receives the 150x150 aligned chip (packed RGB) when accepted
} enrolld_face_frame_options;

// One decoded frame (packed RGB, width * height * 3 bytes, at most max_pixels of enrolld_face_options are the
// caller's to enforce): detection on the scaled copy, landmarks and (with chip_out) the aligned chip. Never
// embeds: analysis->embedding stays zero. Refusals as in enrolld_face_analyse, except AMBIGUOUS (the caller
// counts faces itself).
enrolld_face_status enrolld_face_analyse_rgb(enrolld_face_engine *engine, const uint8_t *rgb, uint32_t width,
                                             uint32_t height, const enrolld_face_frame_options *options,
                                             enrolld_face_analysis *analysis, char *message,
                                             size_t message_capacity);

// ResNet embedding of one 150x150 aligned chip (packed RGB) into embedding[ENROLLD_FACE_EMBEDDING_SIZE].
enrolld_face_status enrolld_face_embed_chip(enrolld_face_engine *engine, const uint8_t *chip, float *embedding,
                                            char *message, size_t message_capacity);

// Image utilities (no engine needed). Buffers returned through *_out are freed with enrolld_face_free.

// Decodes any supported format into packed RGB (3 bytes per pixel, rows top to bottom), at full resolution,
// with the decoder's memory bound at its default (256 MiB).
enrolld_face_status enrolld_face_decode_rgb(const uint8_t *data, size_t length, uint64_t max_pixels,
                                            uint8_t **rgb_out, uint32_t *width_out, uint32_t *height_out,
                                            enrolld_face_format *format_out, char *message,
                                            size_t message_capacity);

// The same with a memory bound (max_decoder_bytes, 0: the default).
enrolld_face_status enrolld_face_decode_rgb_bounded(const uint8_t *data, size_t length, uint64_t max_pixels,
                                                    uint64_t max_decoder_bytes, uint8_t **rgb_out,
                                                    uint32_t *width_out, uint32_t *height_out,
                                                    enrolld_face_format *format_out, char *message,
                                                    size_t message_capacity);

// Encodes packed RGB as JPEG, PNG, JP2 or J2K. quality: JPEG 1...100; JPEG 2000: 100 lossless, else
// lossy at a compression ratio of 101 - quality (at least 2:1); ignored for PNG.
enrolld_face_status enrolld_face_encode(const uint8_t *rgb, uint32_t width, uint32_t height,
                                        enrolld_face_format format, int32_t quality, uint8_t **data_out,
                                        size_t *length_out, char *message, size_t message_capacity);

typedef enum enrolld_face_jp2_colour {
    ENROLLD_FACE_JP2_RGB = 0,      // three full-size components, reversible/irreversible colour transform
    ENROLLD_FACE_JP2_GREY = 1,     // one luma component
    ENROLLD_FACE_JP2_SYCC420 = 2   // sYCC, chroma subsampled 2x2 (as some DG2 portraits are)
} enrolld_face_jp2_colour;

// Test helper: JPEG 2000 encoding (format JP2 or J2K) in a chosen colour layout; quality as above.
enrolld_face_status enrolld_face_encode_jp2(const uint8_t *rgb, uint32_t width, uint32_t height,
                                            enrolld_face_format format, enrolld_face_jp2_colour colour,
                                            int32_t quality, uint8_t **data_out, size_t *length_out,
                                            char *message, size_t message_capacity);

// Bilinear resize of packed RGB.
enrolld_face_status enrolld_face_resize_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
                                            uint32_t new_width, uint32_t new_height, uint8_t **rgb_out);

void enrolld_face_free(void *buffer);

#ifdef __cplusplus
}
#endif
#endif
