// Face engine: dlib HOG detector, 5-point shape predictor, ResNet face embedding (dlib 19.24).

#include "CFaceEngine.h"
#include "codecs.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <sys/stat.h>

#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

namespace enrolld_face {

// The ResNet-34-style metric network of dlib's face recognition model (dlib_face_recognition_resnet_model_v1),
// written out from the architecture published with dlib's dnn_face_recognition_ex example: a 7x7/2 stem with
// 32 filters and 3x3/2 max pooling, then residual stages of 32, 64, 128 and 256 filters (affine layers in place
// of batch norm for inference), global average pooling and a 128-unit projection without bias.
template <int filters, int stride, typename SUBNET>
using conv_pair = dlib::affine<dlib::con<filters, 3, 3, 1, 1,
                  dlib::relu<dlib::affine<dlib::con<filters, 3, 3, stride, stride, SUBNET>>>>>;

template <int filters, typename SUBNET>
using residual_unit = dlib::relu<dlib::add_prev1<conv_pair<filters, 1, dlib::tag1<SUBNET>>>>;

template <int filters, typename SUBNET>
using residual_down_unit = dlib::relu<dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2,
                           dlib::skip1<dlib::tag2<conv_pair<filters, 2, dlib::tag1<SUBNET>>>>>>>;

template <typename SUBNET> using stage256a = residual_down_unit<256, SUBNET>;
template <typename SUBNET>
using stage256b = residual_unit<256, residual_unit<256, residual_down_unit<256, SUBNET>>>;
template <typename SUBNET>
using stage128 = residual_unit<128, residual_unit<128, residual_down_unit<128, SUBNET>>>;
template <typename SUBNET>
using stage64 = residual_unit<64, residual_unit<64, residual_unit<64, residual_down_unit<64, SUBNET>>>>;
template <typename SUBNET>
using stage32 = residual_unit<32, residual_unit<32, residual_unit<32, SUBNET>>>;

using face_embedding_net = dlib::loss_metric<dlib::fc_no_bias<128, dlib::avg_pool_everything<
    stage256a<stage256b<stage128<stage64<stage32<
    dlib::max_pool<3, 3, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 7, 7, 2, 2,
    dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

using image_type = dlib::matrix<dlib::rgb_pixel>;
using clock_type = std::chrono::steady_clock;

static double milliseconds_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

// OpenBLAS: one thread per call. OPENBLAS_NUM_THREADS only counts before the library initialises, which
// happens when libdlib is loaded, so the setter is looked up at run time (absent with reference BLAS).
static bool pin_blas_threads() {
    static const bool pinned = [] {
        setenv("OPENBLAS_NUM_THREADS", "1", 0);
        using setter_type = void (*)(int);
        void *symbol = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
        if (symbol == nullptr) return false;
        reinterpret_cast<setter_type>(symbol)(1);
        return true;
    }();
    return pinned;
}

}  // namespace enrolld_face

struct enrolld_face_engine {
    dlib::frontal_face_detector detector;
    dlib::shape_predictor landmarks;
    enrolld_face::face_embedding_net network;
    std::mutex detector_lock;
    std::mutex network_lock;
};

namespace enrolld_face {

static image_type to_matrix(const RGBImage &image) {
    image_type matrix(image.height, image.width);
    const uint8_t *source = image.pixels.data();
    for (long row = 0; row < matrix.nr(); ++row) {
        for (long column = 0; column < matrix.nc(); ++column, source += 3) {
            matrix(row, column) = dlib::rgb_pixel(source[0], source[1], source[2]);
        }
    }
    return matrix;
}

// `image` area-averaged down so that its long side is at most `limit` (0, or already small enough: as it is).
// One pass over the source rows, one output row of sums at a time: memory is the output plus one row.
static image_type working_copy(const RGBImage &image, uint32_t limit) {
    uint32_t long_side = std::max(image.width, image.height);
    if (limit == 0 || long_side <= limit) return to_matrix(image);
    double factor = double(limit) / double(long_side);
    long width = std::max(1L, long(std::lround(image.width * factor)));
    long height = std::max(1L, long(std::lround(image.height * factor)));
    image_type output(height, width);
    std::vector<uint32_t> sums(static_cast<size_t>(width) * 3);
    std::vector<uint32_t> counts(static_cast<size_t>(width));
    long row = 0;
    auto emit = [&] {
        for (long column = 0; column < width; ++column) {
            uint32_t count = std::max<uint32_t>(1, counts[column]);
            output(row, column) = dlib::rgb_pixel(uint8_t(sums[column * 3] / count),
                                                  uint8_t(sums[column * 3 + 1] / count),
                                                  uint8_t(sums[column * 3 + 2] / count));
        }
        std::fill(sums.begin(), sums.end(), 0);
        std::fill(counts.begin(), counts.end(), 0);
    };
    for (uint32_t y = 0; y < image.height; ++y) {
        long target = long(uint64_t(y) * height / image.height);
        if (target != row) {
            emit();
            row = target;
        }
        const uint8_t *source = image.pixels.data() + size_t(y) * image.width * 3;
        for (uint32_t x = 0; x < image.width; ++x, source += 3) {
            size_t column = size_t(uint64_t(x) * width / image.width);
            sums[column * 3] += source[0];
            sums[column * 3 + 1] += source[1];
            sums[column * 3 + 2] += source[2];
            ++counts[column];
        }
    }
    emit();
    return output;
}

// Copy of image with a border of `border` pixels on every side that repeats the edge pixels.
static image_type pad_replicating_edges(const image_type &image, long border) {
    image_type padded(image.nr() + 2 * border, image.nc() + 2 * border);
    for (long row = 0; row < padded.nr(); ++row) {
        long source_row = std::clamp(row - border, 0L, image.nr() - 1);
        for (long column = 0; column < padded.nc(); ++column) {
            long source_column = std::clamp(column - border, 0L, image.nc() - 1);
            padded(row, column) = image(source_row, source_column);
        }
    }
    return padded;
}

static std::vector<dlib::rectangle> detect(enrolld_face_engine &engine, const image_type &image) {
    std::lock_guard<std::mutex> guard(engine.detector_lock);
    return engine.detector(image);
}

static dlib::rectangle scaled(const dlib::rectangle &box, double factor, long offset) {
    return dlib::rectangle(long(std::lround(box.left() * factor)) - offset, long(std::lround(box.top() * factor)) - offset,
                           long(std::lround((box.right() + 1) * factor)) - offset - 1,
                           long(std::lround((box.bottom() + 1) * factor)) - offset - 1);
}

// Faces of `image`, largest first, in its own pixels: detection on a copy scaled by `factor` (< 1), or on the
// image itself. Fills the analysed size and the regions of `analysis`.
static std::vector<dlib::rectangle> find_faces(enrolld_face_engine &engine, const image_type &image, double factor,
                                               enrolld_face_analysis &analysis) {
    std::vector<dlib::rectangle> faces;
    if (factor < 1.0) {
        image_type smaller(std::max(1L, long(std::lround(image.nr() * factor))),
                           std::max(1L, long(std::lround(image.nc() * factor))));
        dlib::resize_image(image, smaller, dlib::interpolate_bilinear());
        analysis.analysed_width = uint32_t(smaller.nc());
        analysis.analysed_height = uint32_t(smaller.nr());
        for (const auto &box : detect(engine, smaller)) {
            faces.push_back(scaled(box, double(image.nc()) / double(smaller.nc()), 0));
        }
    } else {
        analysis.analysed_width = uint32_t(image.nc());
        analysis.analysed_height = uint32_t(image.nr());
        faces = detect(engine, image);
    }
    return faces;
}

// Sorts the faces, largest first, and lists them in original pixels: `border` is the padding of the working image,
// `scale` the original's size over the working image's.
static void list_regions(std::vector<dlib::rectangle> &faces, long border, double scale,
                         enrolld_face_analysis &analysis) {
    std::sort(faces.begin(), faces.end(),
              [](const dlib::rectangle &a, const dlib::rectangle &b) { return a.area() > b.area(); });
    analysis.face_count = uint32_t(faces.size());
    analysis.region_count = uint32_t(std::min<size_t>(faces.size(), ENROLLD_FACE_MAX_REGIONS));
    for (uint32_t index = 0; index < analysis.region_count; ++index) {
        const dlib::rectangle &box = faces[index];
        analysis.regions[index] = {double(box.left() - border) * scale, double(box.top() - border) * scale,
                                   double(box.width()) * scale, double(box.height()) * scale};
    }
}

// Landmarks (in original pixels: `border` is the padding of `source`, `scale` as in list_regions) and the
// greyscale thumbnail of the box.
static dlib::full_object_detection locate(enrolld_face_engine &engine, const image_type &source,
                                          const dlib::rectangle &face, long border, double scale,
                                          enrolld_face_analysis &analysis) {
    dlib::full_object_detection shape = engine.landmarks(source, face);
    if (shape.num_parts() == ENROLLD_FACE_LANDMARK_COUNT) {
        for (unsigned long index = 0; index < ENROLLD_FACE_LANDMARK_COUNT; ++index) {
            analysis.landmarks[index] = {double(shape.part(index).x() - border) * scale,
                                         double(shape.part(index).y() - border) * scale};
        }
        analysis.has_landmarks = 1;
    }
    const long side = ENROLLD_FACE_THUMBNAIL_SIDE;
    for (long row = 0; row < side; ++row) {
        for (long column = 0; column < side; ++column) {
            // Box average over the cell (nearest source pixels), clipped to the image.
            long top = face.top() + row * face.height() / side, bottom = face.top() + (row + 1) * face.height() / side;
            long left = face.left() + column * face.width() / side;
            long right = face.left() + (column + 1) * face.width() / side;
            double sum = 0;
            long count = 0;
            for (long y = std::max(0L, top); y < std::min(source.nr(), std::max(bottom, top + 1)); ++y) {
                for (long x = std::max(0L, left); x < std::min(source.nc(), std::max(right, left + 1)); ++x) {
                    const dlib::rgb_pixel &pixel = source(y, x);
                    sum += 0.299 * pixel.red + 0.587 * pixel.green + 0.114 * pixel.blue;
                    ++count;
                }
            }
            analysis.thumbnail[row * side + column] = uint8_t(count > 0 ? std::lround(sum / double(count)) : 0);
        }
    }
    return shape;
}

static bool embed(enrolld_face_engine &engine, const image_type &chip, float *out, std::string &message) {
    dlib::matrix<float, 0, 1> embedding;
    {
        std::lock_guard<std::mutex> guard(engine.network_lock);
        embedding = engine.network(chip);
    }
    if (embedding.size() != ENROLLD_FACE_EMBEDDING_SIZE) {
        message = "embedding has " + std::to_string(embedding.size()) + " values";
        return false;
    }
    for (long index = 0; index < embedding.size(); ++index) out[index] = embedding(index);
    return true;
}

static enrolld_face_status analyse(enrolld_face_engine &engine, const uint8_t *data, size_t length,
                                   const enrolld_face_options &options, enrolld_face_analysis &analysis,
                                   std::string &message) {
    auto start = clock_type::now();
    if (options.max_bytes != 0 && length > options.max_bytes) {
        message = "image is " + std::to_string(length) + " bytes, limit " + std::to_string(options.max_bytes);
        return ENROLLD_FACE_OVERSIZED_BYTES;
    }
    // Decoding within the limits, at the working resolution where the format allows it; then area-averaged down
    // to it. Everything below works on that image; boxes and landmarks are given in the declared image's pixels.
    DecodeLimits limits;
    limits.max_pixels = options.max_pixels;
    limits.max_memory = options.max_decoder_bytes;
    limits.target_long_side = options.working_long_side;
    RGBImage decoded;
    DecodedSize declared;
    CodecResult codec = decode_rgb(data, length, limits, decoded, analysis.format, declared);
    if (codec.status != ENROLLD_FACE_OK) {
        message = codec.message;
        return codec.status;
    }
    image_type image = working_copy(decoded, options.working_long_side);
    decoded = RGBImage();
    analysis.width = declared.width;
    analysis.height = declared.height;
    const double scale = double(declared.width) / double(image.nc());
    analysis.decode_ms = milliseconds_since(start);

    // Detection: on a downscaled copy for large photos; boxes are mapped back to original pixels.
    start = clock_type::now();
    long long_side = std::max(image.nr(), image.nc());
    double factor = 1.0;
    if (options.downscale_long_side != 0 && long_side > long(options.downscale_long_side)) {
        factor = double(options.downscale_long_side) / double(long_side);
    }
    std::vector<dlib::rectangle> faces = find_faces(engine, image, factor, analysis);
    image_type working;  // the padded original when the small-image fallback found the faces
    long border = 0;
    // Small images (aligned chips, thumbnails) often fill the frame with the face, and the HOG detector's
    // 80x80 window misses faces that touch the border: retry once with a replicated border of a quarter of
    // the long side, upsampled 2x.
    if (faces.empty() && options.small_image_side != 0 && long_side < long(options.small_image_side)) {
        border = std::max(1L, long_side / 4);
        working = pad_replicating_edges(image, border);
        image_type larger(working.nr() * 2, working.nc() * 2);
        dlib::resize_image(working, larger, dlib::interpolate_bilinear());
        analysis.analysed_width = uint32_t(larger.nc());
        analysis.analysed_height = uint32_t(larger.nr());
        for (const auto &box : detect(engine, larger)) faces.push_back(scaled(box, 0.5, 0));
        analysis.small_image_fallback = faces.empty() ? 0 : 1;
    }
    list_regions(faces, border, scale, analysis);
    analysis.detect_ms = milliseconds_since(start);

    if (faces.empty()) {
        analysis.refusal = ENROLLD_FACE_NO_FACE;
        return ENROLLD_FACE_OK;
    }
    if (double(faces[0].width()) * scale < double(options.min_face_size)) {
        analysis.refusal = ENROLLD_FACE_TOO_SMALL;
        return ENROLLD_FACE_OK;
    }
    if (faces.size() > 1 && options.ambiguity_ratio > 0 &&
        double(faces[1].area()) >= options.ambiguity_ratio * double(faces[0].area())) {
        analysis.refusal = ENROLLD_FACE_AMBIGUOUS;
        return ENROLLD_FACE_OK;
    }

    // Alignment at full resolution: landmarks and the 150x150 chip come from the original (or padded) image.
    start = clock_type::now();
    const image_type &source = border > 0 ? working : image;
    dlib::full_object_detection shape = locate(engine, source, faces[0], border, scale, analysis);
    image_type chip;
    dlib::extract_image_chip(source, dlib::get_face_chip_details(shape, ENROLLD_FACE_CHIP_SIDE, 0.25), chip);
    analysis.align_ms = milliseconds_since(start);

    start = clock_type::now();
    if (!embed(engine, chip, analysis.embedding, message)) return ENROLLD_FACE_INTERNAL;
    analysis.embed_ms = milliseconds_since(start);
    analysis.refusal = ENROLLD_FACE_ACCEPTED;
    return ENROLLD_FACE_OK;
}

static enrolld_face_status analyse_rgb(enrolld_face_engine &engine, const uint8_t *rgb, uint32_t width,
                                       uint32_t height, const enrolld_face_frame_options &options,
                                       enrolld_face_analysis &analysis) {
    auto start = clock_type::now();
    image_type image(height, width);
    const uint8_t *source = rgb;
    for (long row = 0; row < image.nr(); ++row) {
        for (long column = 0; column < image.nc(); ++column, source += 3) {
            image(row, column) = dlib::rgb_pixel(source[0], source[1], source[2]);
        }
    }
    analysis.width = width;
    analysis.height = height;
    analysis.decode_ms = milliseconds_since(start);

    start = clock_type::now();
    std::vector<dlib::rectangle> faces = find_faces(engine, image, std::clamp(options.detect_scale, 0.05, 1.0),
                                                    analysis);
    list_regions(faces, 0, 1.0, analysis);
    analysis.detect_ms = milliseconds_since(start);
    if (faces.empty()) {
        analysis.refusal = ENROLLD_FACE_NO_FACE;
        return ENROLLD_FACE_OK;
    }
    start = clock_type::now();
    dlib::full_object_detection shape = locate(engine, image, faces[0], 0, 1.0, analysis);
    if (faces[0].width() < options.min_face_size) {
        analysis.refusal = ENROLLD_FACE_TOO_SMALL;
        analysis.align_ms = milliseconds_since(start);
        return ENROLLD_FACE_OK;
    }
    if (options.chip_out != nullptr) {
        image_type chip;
        dlib::extract_image_chip(image, dlib::get_face_chip_details(shape, ENROLLD_FACE_CHIP_SIDE, 0.25), chip);
        uint8_t *out = options.chip_out;
        for (long row = 0; row < chip.nr(); ++row) {
            for (long column = 0; column < chip.nc(); ++column, out += 3) {
                out[0] = chip(row, column).red;
                out[1] = chip(row, column).green;
                out[2] = chip(row, column).blue;
            }
        }
    }
    analysis.align_ms = milliseconds_since(start);
    analysis.refusal = ENROLLD_FACE_ACCEPTED;
    return ENROLLD_FACE_OK;
}

template <typename Body>
static enrolld_face_status guarded(char *message, size_t capacity, Body body) {
    std::string text;
    enrolld_face_status status;
    try {
        status = body(text);
    } catch (const std::bad_alloc &) {
        status = ENROLLD_FACE_OUT_OF_MEMORY;
        text = "out of memory";
    } catch (const std::exception &error) {
        status = ENROLLD_FACE_INTERNAL;
        text = error.what();
    } catch (...) {
        status = ENROLLD_FACE_INTERNAL;
        text = "unknown exception";
    }
    copy_message(status == ENROLLD_FACE_OK ? std::string() : text, message, capacity);
    return status;
}

static uint8_t *copy_out(const uint8_t *bytes, size_t count) {
    auto *buffer = static_cast<uint8_t *>(std::malloc(std::max<size_t>(count, 1)));
    if (buffer == nullptr) throw std::bad_alloc();
    if (count > 0) std::memcpy(buffer, bytes, count);
    return buffer;
}

}  // namespace enrolld_face

using namespace enrolld_face;

extern "C" enrolld_face_status enrolld_face_engine_create(const char *model_directory,
                                                          enrolld_face_engine **engine_out, char *message,
                                                          size_t message_capacity) {
    if (engine_out != nullptr) *engine_out = nullptr;
    return guarded(message, message_capacity, [&](std::string &text) {
        if (model_directory == nullptr || engine_out == nullptr) {
            text = "no model directory or output pointer";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        pin_blas_threads();
        const std::string directory(model_directory);
        const std::string landmarks_path = directory + "/shape_predictor_5_face_landmarks.dat";
        const std::string network_path = directory + "/dlib_face_recognition_resnet_model_v1.dat";
        for (const std::string &path : {landmarks_path, network_path}) {
            struct stat info;
            if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
                text = "model file missing: " + path;
                return ENROLLD_FACE_MODEL_MISSING;
            }
        }
        auto engine = std::make_unique<enrolld_face_engine>();
        engine->detector = dlib::get_frontal_face_detector();
        try {
            dlib::deserialize(landmarks_path) >> engine->landmarks;
        } catch (const std::exception &error) {
            text = "cannot load " + landmarks_path + ": " + error.what();
            return ENROLLD_FACE_MODEL_INVALID;
        }
        try {
            dlib::deserialize(network_path) >> engine->network;
        } catch (const std::exception &error) {
            text = "cannot load " + network_path + ": " + error.what();
            return ENROLLD_FACE_MODEL_INVALID;
        }
        if (engine->landmarks.num_parts() != 5) {
            text = landmarks_path + " is not a 5-point landmark model";
            return ENROLLD_FACE_MODEL_INVALID;
        }
        *engine_out = engine.release();
        return ENROLLD_FACE_OK;
    });
}

extern "C" void enrolld_face_engine_destroy(enrolld_face_engine *engine) { delete engine; }

extern "C" enrolld_face_status enrolld_face_engine_clone(const enrolld_face_engine *engine,
                                                         enrolld_face_engine **engine_out, char *message,
                                                         size_t message_capacity) {
    if (engine_out != nullptr) *engine_out = nullptr;
    return guarded(message, message_capacity, [&](std::string &text) {
        if (engine == nullptr || engine_out == nullptr) {
            text = "no engine or output pointer";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        auto copy = std::make_unique<enrolld_face_engine>();
        copy->detector = engine->detector;
        copy->landmarks = engine->landmarks;
        copy->network = engine->network;
        *engine_out = copy.release();
        return ENROLLD_FACE_OK;
    });
}

extern "C" int enrolld_face_blas_pinned(void) { return pin_blas_threads() ? 1 : 0; }

extern "C" enrolld_face_status enrolld_face_analyse(enrolld_face_engine *engine, const uint8_t *data, size_t length,
                                                    const enrolld_face_options *options,
                                                    enrolld_face_analysis *analysis, char *message,
                                                    size_t message_capacity) {
    return guarded(message, message_capacity, [&](std::string &text) {
        if (engine == nullptr || options == nullptr || analysis == nullptr || (data == nullptr && length > 0)) {
            text = "missing engine, options, analysis or data";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        std::memset(analysis, 0, sizeof(*analysis));
        analysis->refusal = ENROLLD_FACE_NO_FACE;
        return analyse(*engine, data, length, *options, *analysis, text);
    });
}

extern "C" enrolld_face_status enrolld_face_analyse_rgb(enrolld_face_engine *engine, const uint8_t *rgb,
                                                        uint32_t width, uint32_t height,
                                                        const enrolld_face_frame_options *options,
                                                        enrolld_face_analysis *analysis, char *message,
                                                        size_t message_capacity) {
    return guarded(message, message_capacity, [&](std::string &text) {
        if (engine == nullptr || options == nullptr || analysis == nullptr || rgb == nullptr || width == 0 ||
            height == 0) {
            text = "missing engine, options, analysis or pixels";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        std::memset(analysis, 0, sizeof(*analysis));
        analysis->refusal = ENROLLD_FACE_NO_FACE;
        return analyse_rgb(*engine, rgb, width, height, *options, *analysis);
    });
}

extern "C" enrolld_face_status enrolld_face_embed_chip(enrolld_face_engine *engine, const uint8_t *chip,
                                                       float *embedding, char *message, size_t message_capacity) {
    return guarded(message, message_capacity, [&](std::string &text) {
        if (engine == nullptr || chip == nullptr || embedding == nullptr) {
            text = "missing engine, chip or embedding";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        image_type matrix(ENROLLD_FACE_CHIP_SIDE, ENROLLD_FACE_CHIP_SIDE);
        const uint8_t *source = chip;
        for (long row = 0; row < matrix.nr(); ++row) {
            for (long column = 0; column < matrix.nc(); ++column, source += 3) {
                matrix(row, column) = dlib::rgb_pixel(source[0], source[1], source[2]);
            }
        }
        return embed(*engine, matrix, embedding, text) ? ENROLLD_FACE_OK : ENROLLD_FACE_INTERNAL;
    });
}

extern "C" enrolld_face_status enrolld_face_decode_rgb(const uint8_t *data, size_t length, uint64_t max_pixels,
                                                       uint8_t **rgb_out, uint32_t *width_out, uint32_t *height_out,
                                                       enrolld_face_format *format_out, char *message,
                                                       size_t message_capacity) {
    return enrolld_face_decode_rgb_bounded(data, length, max_pixels, 0, rgb_out, width_out, height_out, format_out,
                                           message, message_capacity);
}

extern "C" enrolld_face_status enrolld_face_decode_rgb_bounded(const uint8_t *data, size_t length,
                                                               uint64_t max_pixels, uint64_t max_decoder_bytes,
                                                               uint8_t **rgb_out, uint32_t *width_out,
                                                               uint32_t *height_out, enrolld_face_format *format_out,
                                                               char *message, size_t message_capacity) {
    return guarded(message, message_capacity, [&](std::string &text) {
        if (rgb_out == nullptr || width_out == nullptr || height_out == nullptr || format_out == nullptr) {
            text = "missing output pointer";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        *rgb_out = nullptr;
        RGBImage image;
        DecodeLimits limits;
        limits.max_pixels = max_pixels;
        limits.max_memory = max_decoder_bytes;
        DecodedSize declared;
        CodecResult result = decode_rgb(data, length, limits, image, *format_out, declared);
        if (result.status != ENROLLD_FACE_OK) {
            text = result.message;
            return result.status;
        }
        *rgb_out = copy_out(image.pixels.data(), image.pixels.size());
        *width_out = image.width;
        *height_out = image.height;
        return ENROLLD_FACE_OK;
    });
}

extern "C" enrolld_face_status enrolld_face_encode(const uint8_t *rgb, uint32_t width, uint32_t height,
                                                   enrolld_face_format format, int32_t quality, uint8_t **data_out,
                                                   size_t *length_out, char *message, size_t message_capacity) {
    return guarded(message, message_capacity, [&](std::string &text) {
        if (rgb == nullptr || data_out == nullptr || length_out == nullptr) {
            text = "missing pixels or output pointer";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        *data_out = nullptr;
        *length_out = 0;
        RGBImage image;
        image.width = width;
        image.height = height;
        image.pixels.assign(rgb, rgb + size_t(width) * height * 3);
        std::vector<uint8_t> encoded;
        CodecResult result = encode(image, format, quality, encoded);
        if (result.status != ENROLLD_FACE_OK) {
            text = result.message;
            return result.status;
        }
        *data_out = copy_out(encoded.data(), encoded.size());
        *length_out = encoded.size();
        return ENROLLD_FACE_OK;
    });
}

extern "C" enrolld_face_status enrolld_face_encode_jp2(const uint8_t *rgb, uint32_t width, uint32_t height,
                                                       enrolld_face_format format, enrolld_face_jp2_colour colour,
                                                       int32_t quality, uint8_t **data_out, size_t *length_out,
                                                       char *message, size_t message_capacity) {
    return guarded(message, message_capacity, [&](std::string &text) {
        if (rgb == nullptr || data_out == nullptr || length_out == nullptr ||
            (format != ENROLLD_FACE_FORMAT_JP2 && format != ENROLLD_FACE_FORMAT_J2K)) {
            text = "enrolld_face_encode_jp2: missing pixels or output, or format not JP2/J2K";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        *data_out = nullptr;
        *length_out = 0;
        RGBImage image;
        image.width = width;
        image.height = height;
        image.pixels.assign(rgb, rgb + size_t(width) * height * 3);
        std::vector<uint8_t> encoded;
        CodecResult result = encode_jpeg2000(image, format, quality, colour, encoded);
        if (result.status != ENROLLD_FACE_OK) {
            text = result.message;
            return result.status;
        }
        *data_out = copy_out(encoded.data(), encoded.size());
        *length_out = encoded.size();
        return ENROLLD_FACE_OK;
    });
}

extern "C" enrolld_face_status enrolld_face_resize_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
                                                       uint32_t new_width, uint32_t new_height, uint8_t **rgb_out) {
    return guarded(nullptr, 0, [&](std::string &text) {
        if (rgb == nullptr || rgb_out == nullptr || width == 0 || height == 0 || new_width == 0 || new_height == 0) {
            text = "missing pixels or zero size";
            return ENROLLD_FACE_INVALID_ARGUMENT;
        }
        *rgb_out = nullptr;
        RGBImage source;
        source.width = width;
        source.height = height;
        source.pixels.assign(rgb, rgb + size_t(width) * height * 3);
        image_type input = to_matrix(source);
        image_type output(new_height, new_width);
        dlib::resize_image(input, output, dlib::interpolate_bilinear());
        std::vector<uint8_t> packed(size_t(new_width) * new_height * 3);
        size_t offset = 0;
        for (long row = 0; row < output.nr(); ++row) {
            for (long column = 0; column < output.nc(); ++column, offset += 3) {
                packed[offset] = output(row, column).red;
                packed[offset + 1] = output(row, column).green;
                packed[offset + 2] = output(row, column).blue;
            }
        }
        *rgb_out = copy_out(packed.data(), packed.size());
        return ENROLLD_FACE_OK;
    });
}

extern "C" void enrolld_face_free(void *buffer) { std::free(buffer); }
