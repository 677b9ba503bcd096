#ifndef ENROLLD_CLIVENESSENGINE_H
#define ENROLLD_CLIVENESSENGINE_H

// Liveness engine over OpenCV 4.6 (dnn, imgproc, video), behind a plain C interface.
//
// - Passive presentation-attack score: the two MiniFASNet ONNX models (MiniFASNetV2 on the face box scaled
//   x2.7, MiniFASNetV1SE on x4.0; 80x80 BGR crops, float 0-255, NCHW), run with cv::dnn; softmax index 1 is
//   "real". See ../shared/models/minifasnet/README.md.
// - Point tracking through a burst: Shi-Tomasi corners inside the first frame's face box, followed frame to
//   frame with pyramidal Lucas-Kanade and a forward-backward check.
// - Test and evaluation helpers: a textured-mesh renderer (synthetic heads and held-up prints) and screen moire.
//
// Thread safety: a PAD engine may be shared by any number of threads; each of its two networks is guarded by
// its own mutex (per engine, no global lock), so forward passes on one engine run one at a time per model.
// A tracker belongs to one caller (one burst) and must not be shared. OpenCV's own thread pool is set to one
// thread when the first PAD engine is created (the daemon parallelises across requests, not inside one).
//
// Size limits: every function refuses images with a zero side or more than ENROLLD_LIVENESS_MAX_PIXELS pixels
// (INVALID_ARGUMENT) before touching the pixels; callers bound their inputs earlier (FaceMatch's burst limits).

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENROLLD_LIVENESS_MESSAGE_CAPACITY 256
#define ENROLLD_LIVENESS_MAX_PIXELS 40000000u
#define ENROLLD_LIVENESS_MAX_TRACKED_POINTS 64

typedef enum enrolld_liveness_status {
    ENROLLD_LIVENESS_OK = 0,
    ENROLLD_LIVENESS_MODEL_MISSING = 1,
    ENROLLD_LIVENESS_MODEL_INVALID = 2,
    ENROLLD_LIVENESS_INVALID_ARGUMENT = 3,
    ENROLLD_LIVENESS_OUT_OF_MEMORY = 4,
    ENROLLD_LIVENESS_INTERNAL = 5
} enrolld_liveness_status;

// A face box in the image's pixels.
typedef struct enrolld_liveness_box {
    double left;
    double top;
    double width;
    double height;
} enrolld_liveness_box;

typedef struct enrolld_pad_engine enrolld_pad_engine;

typedef struct enrolld_pad_score {
    float v2[3];         // softmax of MiniFASNetV2 (index 1: real)
    float v1se[3];       // softmax of MiniFASNetV1SE
    float real;          // mean of the two models' index 1
    double milliseconds; // crops and both forward passes
} enrolld_pad_score;

// Loads MiniFASNetV2.onnx and MiniFASNetV1SE.onnx from model_directory (MODEL_MISSING, MODEL_INVALID).
enrolld_liveness_status enrolld_pad_engine_create(const char *model_directory, enrolld_pad_engine **engine_out,
                                                  char *message, size_t message_capacity);
void enrolld_pad_engine_destroy(enrolld_pad_engine *engine);

// Scores the face in `box` of a packed RGB image (width * height * 3 bytes).
enrolld_liveness_status enrolld_pad_engine_score(enrolld_pad_engine *engine, const uint8_t *rgb, uint32_t width,
                                                 uint32_t height, const enrolld_liveness_box *box,
                                                 enrolld_pad_score *score, char *message,
                                                 size_t message_capacity);

typedef struct enrolld_point_tracker enrolld_point_tracker;

// A tracker that works on frames scaled by `scale` (0 < scale <= 1) and follows at most `max_points` points.
enrolld_liveness_status enrolld_point_tracker_create(double scale, uint32_t max_points,
                                                     enrolld_point_tracker **tracker_out);
void enrolld_point_tracker_destroy(enrolld_point_tracker *tracker);

// Adds the next frame (all frames of one tracker must have the same size). The first frame picks corners inside
// `box` (shrunk to its central 80 %); later frames follow them. points_out receives max_points (x, y) pairs in the
// frame's pixels, valid_out max_points flags (1: the point was followed into this frame, 0: lost for good);
// *count_out the number of points picked in the first frame.
enrolld_liveness_status enrolld_point_tracker_add(enrolld_point_tracker *tracker, const uint8_t *rgb,
                                                  uint32_t width, uint32_t height, const enrolld_liveness_box *box,
                                                  double *points_out, uint8_t *valid_out, uint32_t *count_out);

// Test and evaluation helpers. Buffers returned through *_out are freed with enrolld_liveness_free.

// Screen moire: a beat pattern of two gratings (period in pixels, angle in degrees) modulating brightness by
// `amplitude` (0-1), plus a sub-pixel RGB stripe mask; as a photo of a display shows it.
enrolld_liveness_status enrolld_liveness_moire(const uint8_t *rgb, uint32_t width, uint32_t height, double period,
                                               double angle, double amplitude, uint8_t **rgb_out);

// Renders a textured triangle mesh over `background` (packed RGB, out_width x out_height): each vertex is 5 doubles
// (texture u, v in texture pixels; image x, y; depth z, larger is nearer), each triangle 3 vertex indices. A depth
// buffer keeps the nearest surface. Then adds Gaussian sensor noise of `noise_sigma` grey levels (seeded).
enrolld_liveness_status enrolld_liveness_render_mesh(const uint8_t *texture, uint32_t texture_width,
                                                     uint32_t texture_height, const double *vertices,
                                                     uint32_t vertex_count, const uint32_t *triangles,
                                                     uint32_t triangle_count, const uint8_t *background,
                                                     uint32_t out_width, uint32_t out_height, double noise_sigma,
                                                     uint64_t seed, uint8_t **rgb_out);

void enrolld_liveness_free(void *buffer);

#ifdef __cplusplus
}
#endif
#endif
