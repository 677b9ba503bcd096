// Liveness engine: MiniFASNet through cv::dnn, Lucas-Kanade point tracking, renderers for the evaluation sets.

#include "CLivenessEngine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

struct enrolld_pad_engine {
    cv::dnn::Net v2;
    cv::dnn::Net v1se;
    std::mutex v2_lock;
    std::mutex v1se_lock;
};

struct enrolld_point_tracker {
    double scale = 1;
    uint32_t max_points = 0;
    uint32_t width = 0;
    uint32_t height = 0;
    cv::Mat previous;                  // grey, scaled
    std::vector<cv::Point2f> points;   // scaled coordinates
    std::vector<uint8_t> valid;
};

namespace enrolld_liveness {

using clock_type = std::chrono::steady_clock;

static void copy_message(const std::string &text, char *message, size_t capacity) {
    if (message == nullptr || capacity == 0) return;
    size_t count = std::min(text.size(), capacity - 1);
    std::memcpy(message, text.data(), count);
    message[count] = 0;
}

template <typename Body>
static enrolld_liveness_status guarded(char *message, size_t capacity, Body body) {
    std::string text;
    enrolld_liveness_status status;
    try {
        status = body(text);
    } catch (const std::bad_alloc &) {
        status = ENROLLD_LIVENESS_OUT_OF_MEMORY;
        text = "out of memory";
    } catch (const std::exception &error) {
        status = ENROLLD_LIVENESS_INTERNAL;
        text = error.what();
    } catch (...) {
        status = ENROLLD_LIVENESS_INTERNAL;
        text = "unknown exception";
    }
    copy_message(status == ENROLLD_LIVENESS_OK ? std::string() : text, message, capacity);
    return status;
}

static bool image_ok(const uint8_t *rgb, uint32_t width, uint32_t height) {
    return rgb != nullptr && width > 0 && height > 0 && uint64_t(width) * height <= ENROLLD_LIVENESS_MAX_PIXELS;
}

// A view of caller-owned packed RGB (never written).
static cv::Mat view(const uint8_t *rgb, uint32_t width, uint32_t height) {
    return cv::Mat(int(height), int(width), CV_8UC3, const_cast<uint8_t *>(rgb));
}

static uint8_t *copy_out(const cv::Mat &image) {
    cv::Mat packed = image.isContinuous() ? image : image.clone();
    size_t count = packed.total() * packed.elemSize();
    auto *buffer = static_cast<uint8_t *>(std::malloc(std::max<size_t>(count, 1)));
    if (buffer == nullptr) throw std::bad_alloc();
    std::memcpy(buffer, packed.data, count);
    return buffer;
}

// The crop of the model's input: the box scaled by `factor` around its centre, shrunk to fit the image and shifted
// inside it, resized to 80x80 and converted to BGR.
static cv::Mat model_crop(const cv::Mat &rgb, const enrolld_liveness_box &box, double factor) {
    double largest = std::min((rgb.rows - 1) / std::max(box.height, 1.0), (rgb.cols - 1) / std::max(box.width, 1.0));
    double scale = std::min(factor, largest);
    double width = box.width * scale, height = box.height * scale;
    double centre_x = box.left + box.width / 2, centre_y = box.top + box.height / 2;
    double left = std::clamp(centre_x - width / 2, 0.0, std::max(0.0, rgb.cols - 1 - width));
    double top = std::clamp(centre_y - height / 2, 0.0, std::max(0.0, rgb.rows - 1 - height));
    cv::Rect region(int(std::lround(left)), int(std::lround(top)), std::max(1, int(std::lround(width))),
                    std::max(1, int(std::lround(height))));
    region &= cv::Rect(0, 0, rgb.cols, rgb.rows);
    cv::Mat resized, bgr;
    cv::resize(rgb(region), resized, cv::Size(80, 80), 0, 0, cv::INTER_LINEAR);
    cv::cvtColor(resized, bgr, cv::COLOR_RGB2BGR);
    return bgr;
}

static void softmax_of(cv::dnn::Net &net, std::mutex &lock, const cv::Mat &bgr, float *out) {
    cv::Mat blob = cv::dnn::blobFromImage(bgr, 1.0, cv::Size(80, 80), cv::Scalar(), false, false, CV_32F);
    cv::Mat logits;
    {
        std::lock_guard<std::mutex> guard(lock);
        net.setInput(blob);
        logits = net.forward().clone();
    }
    if (logits.total() != 3) throw std::runtime_error("model output has " + std::to_string(logits.total()) +
                                                      " values, expected 3");
    const float *values = logits.ptr<float>();
    float largest = std::max({values[0], values[1], values[2]});
    double sum = 0;
    double exps[3];
    for (int index = 0; index < 3; ++index) sum += exps[index] = std::exp(double(values[index] - largest));
    for (int index = 0; index < 3; ++index) out[index] = float(exps[index] / sum);
}

}  // namespace enrolld_liveness

using namespace enrolld_liveness;

extern "C" enrolld_liveness_status enrolld_pad_engine_create(const char *model_directory,
                                                             enrolld_pad_engine **engine_out, char *message,
                                                             size_t message_capacity) {
    if (engine_out != nullptr) *engine_out = nullptr;
    return guarded(message, message_capacity, [&](std::string &text) {
        if (model_directory == nullptr || engine_out == nullptr) {
            text = "no model directory or output pointer";
            return ENROLLD_LIVENESS_INVALID_ARGUMENT;
        }
        static const bool single_threaded = [] {
            cv::setNumThreads(1);
            return true;
        }();
        (void)single_threaded;
        const std::string directory(model_directory);
        const std::string v2_path = directory + "/MiniFASNetV2.onnx";
        const std::string v1se_path = directory + "/MiniFASNetV1SE.onnx";
        for (const std::string &path : {v2_path, v1se_path}) {
            struct stat info;
            if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
                text = "model file missing: " + path;
                return ENROLLD_LIVENESS_MODEL_MISSING;
            }
        }
        auto engine = std::make_unique<enrolld_pad_engine>();
        for (auto [path, net] : {std::pair{v2_path, &engine->v2}, std::pair{v1se_path, &engine->v1se}}) {
            try {
                *net = cv::dnn::readNetFromONNX(path);
            } catch (const std::exception &error) {
                text = "cannot load " + path + ": " + error.what();
                return ENROLLD_LIVENESS_MODEL_INVALID;
            }
            if (net->empty()) {
                text = "cannot load " + path + ": empty network";
                return ENROLLD_LIVENESS_MODEL_INVALID;
            }
            net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        }
        *engine_out = engine.release();
        return ENROLLD_LIVENESS_OK;
    });
}

extern "C" void enrolld_pad_engine_destroy(enrolld_pad_engine *engine) { delete engine; }

extern "C" enrolld_liveness_status enrolld_pad_engine_score(enrolld_pad_engine *engine, const uint8_t *rgb,
                                                            uint32_t width, uint32_t height,
                                                            const enrolld_liveness_box *box,
                                                            enrolld_pad_score *score, char *message,
                                                            size_t message_capacity) {
    return guarded(message, message_capacity, [&](std::string &text) {
        if (engine == nullptr || box == nullptr || score == nullptr || !image_ok(rgb, width, height) ||
            !(box->width >= 1 && box->height >= 1) || !std::isfinite(box->left) || !std::isfinite(box->top)) {
            text = "missing engine, box or score, or an empty or oversized image";
            return ENROLLD_LIVENESS_INVALID_ARGUMENT;
        }
        auto start = clock_type::now();
        cv::Mat image = view(rgb, width, height);
        softmax_of(engine->v2, engine->v2_lock, model_crop(image, *box, 2.7), score->v2);
        softmax_of(engine->v1se, engine->v1se_lock, model_crop(image, *box, 4.0), score->v1se);
        score->real = (score->v2[1] + score->v1se[1]) / 2;
        score->milliseconds = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
        return ENROLLD_LIVENESS_OK;
    });
}

extern "C" enrolld_liveness_status enrolld_point_tracker_create(double scale, uint32_t max_points,
                                                                enrolld_point_tracker **tracker_out) {
    if (tracker_out != nullptr) *tracker_out = nullptr;
    return guarded(nullptr, 0, [&](std::string &text) {
        if (tracker_out == nullptr || !(scale > 0 && scale <= 1) || max_points == 0 ||
            max_points > ENROLLD_LIVENESS_MAX_TRACKED_POINTS) {
            text = "bad tracker arguments";
            return ENROLLD_LIVENESS_INVALID_ARGUMENT;
        }
        auto tracker = std::make_unique<enrolld_point_tracker>();
        tracker->scale = scale;
        tracker->max_points = max_points;
        *tracker_out = tracker.release();
        return ENROLLD_LIVENESS_OK;
    });
}

extern "C" void enrolld_point_tracker_destroy(enrolld_point_tracker *tracker) { delete tracker; }

extern "C" enrolld_liveness_status enrolld_point_tracker_add(enrolld_point_tracker *tracker, const uint8_t *rgb,
                                                             uint32_t width, uint32_t height,
                                                             const enrolld_liveness_box *box, double *points_out,
                                                             uint8_t *valid_out, uint32_t *count_out) {
    return guarded(nullptr, 0, [&](std::string &text) {
        if (tracker == nullptr || box == nullptr || points_out == nullptr || valid_out == nullptr ||
            count_out == nullptr || !image_ok(rgb, width, height) ||
            (!tracker->previous.empty() && (width != tracker->width || height != tracker->height))) {
            text = "bad tracker input";
            return ENROLLD_LIVENESS_INVALID_ARGUMENT;
        }
        cv::Mat grey, scaled;
        cv::cvtColor(view(rgb, width, height), grey, cv::COLOR_RGB2GRAY);
        cv::resize(grey, scaled, cv::Size(), tracker->scale, tracker->scale, cv::INTER_AREA);
        if (scaled.empty()) scaled = grey;
        const double s = double(scaled.cols) / double(width);
        if (tracker->previous.empty()) {
            tracker->width = width;
            tracker->height = height;
            cv::Rect inner(int((box->left + box->width * 0.1) * s), int((box->top + box->height * 0.1) * s),
                           std::max(1, int(box->width * 0.8 * s)), std::max(1, int(box->height * 0.8 * s)));
            inner &= cv::Rect(0, 0, scaled.cols, scaled.rows);
            cv::Mat mask = cv::Mat::zeros(scaled.size(), CV_8U);
            if (inner.area() > 0) mask(inner).setTo(255);
            std::vector<cv::Point2f> corners;
            if (inner.area() >= 64) {
                cv::goodFeaturesToTrack(scaled, corners, int(tracker->max_points), 0.01,
                                        std::max(2.0, inner.width / 12.0), mask, 5);
            }
            tracker->points = corners;
            tracker->valid.assign(corners.size(), 1);
        } else if (!tracker->points.empty()) {
            std::vector<cv::Point2f> forward, backward;
            std::vector<uchar> status_forward, status_backward;
            std::vector<float> errors;
            cv::TermCriteria criteria(cv::TermCriteria::COUNT | cv::TermCriteria::EPS, 20, 0.03);
            cv::calcOpticalFlowPyrLK(tracker->previous, scaled, tracker->points, forward, status_forward, errors,
                                     cv::Size(15, 15), 3, criteria);
            cv::calcOpticalFlowPyrLK(scaled, tracker->previous, forward, backward, status_backward, errors,
                                     cv::Size(15, 15), 3, criteria);
            for (size_t index = 0; index < tracker->points.size(); ++index) {
                bool kept = tracker->valid[index] && status_forward[index] && status_backward[index] &&
                            cv::norm(backward[index] - tracker->points[index]) < 0.5 &&
                            forward[index].x >= 0 && forward[index].y >= 0 && forward[index].x < scaled.cols &&
                            forward[index].y < scaled.rows;
                tracker->valid[index] = kept ? 1 : 0;
                if (kept) tracker->points[index] = forward[index];
            }
        }
        tracker->previous = scaled;
        *count_out = uint32_t(tracker->points.size());
        for (uint32_t index = 0; index < tracker->max_points; ++index) {
            bool present = index < tracker->points.size();
            points_out[2 * index] = present ? tracker->points[index].x / s : 0;
            points_out[2 * index + 1] = present ? tracker->points[index].y / s : 0;
            valid_out[index] = present ? tracker->valid[index] : 0;
        }
        return ENROLLD_LIVENESS_OK;
    });
}

extern "C" enrolld_liveness_status enrolld_liveness_moire(const uint8_t *rgb, uint32_t width, uint32_t height,
                                                          double period, double angle, double amplitude,
                                                          uint8_t **rgb_out) {
    return guarded(nullptr, 0, [&](std::string &text) {
        if (!image_ok(rgb, width, height) || rgb_out == nullptr || !(period >= 1) || !std::isfinite(angle) ||
            !(amplitude >= 0 && amplitude <= 1)) {
            text = "bad moire arguments";
            return ENROLLD_LIVENESS_INVALID_ARGUMENT;
        }
        cv::Mat out = view(rgb, width, height).clone();
        const double radians = angle * M_PI / 180, c = std::cos(radians), s = std::sin(radians);
        for (int y = 0; y < out.rows; ++y) {
            auto *row = out.ptr<uint8_t>(y);
            for (int x = 0; x < out.cols; ++x) {
                // Two close gratings beat into the low-frequency bands a camera sees on a display.
                double u = x * c + y * s;
                double beat = std::cos(2 * M_PI * u / period) * std::cos(2 * M_PI * u / (period * 1.07));
                double gain = 1 + amplitude * beat;
                for (int channel = 0; channel < 3; ++channel) {
                    // Sub-pixel stripes: each column lights one channel a little more.
                    double stripe = (x % 3 == channel) ? 1.06 : 0.97;
                    double value = row[3 * x + channel] * gain * stripe;
                    row[3 * x + channel] = uint8_t(std::clamp(value, 0.0, 255.0));
                }
            }
        }
        *rgb_out = copy_out(out);
        return ENROLLD_LIVENESS_OK;
    });
}

extern "C" enrolld_liveness_status enrolld_liveness_render_mesh(const uint8_t *texture, uint32_t texture_width,
                                                                uint32_t texture_height, const double *vertices,
                                                                uint32_t vertex_count, const uint32_t *triangles,
                                                                uint32_t triangle_count, const uint8_t *background,
                                                                uint32_t out_width, uint32_t out_height,
                                                                double noise_sigma, uint64_t seed,
                                                                uint8_t **rgb_out) {
    return guarded(nullptr, 0, [&](std::string &text) {
        if (!image_ok(texture, texture_width, texture_height) || !image_ok(background, out_width, out_height) ||
            vertices == nullptr || triangles == nullptr || rgb_out == nullptr || !(noise_sigma >= 0)) {
            text = "bad render arguments";
            return ENROLLD_LIVENESS_INVALID_ARGUMENT;
        }
        for (uint32_t index = 0; index < 3 * triangle_count; ++index) {
            if (triangles[index] >= vertex_count) {
                text = "triangle index out of range";
                return ENROLLD_LIVENESS_INVALID_ARGUMENT;
            }
        }
        cv::Mat tex = view(texture, texture_width, texture_height);
        cv::Mat out = view(background, out_width, out_height).clone();
        std::vector<double> depth(size_t(out_width) * out_height, -1e300);
        auto sample = [&](double u, double v, int channel) {
            u = std::clamp(u, 0.0, double(texture_width - 1));
            v = std::clamp(v, 0.0, double(texture_height - 1));
            int x0 = int(u), y0 = int(v);
            int x1 = std::min(x0 + 1, int(texture_width) - 1), y1 = std::min(y0 + 1, int(texture_height) - 1);
            double fx = u - x0, fy = v - y0;
            auto at = [&](int x, int y) { return double(tex.ptr<uint8_t>(y)[3 * x + channel]); };
            return (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) +
                   (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy;
        };
        for (uint32_t t = 0; t < triangle_count; ++t) {
            const double *a = vertices + 5 * triangles[3 * t];
            const double *b = vertices + 5 * triangles[3 * t + 1];
            const double *c = vertices + 5 * triangles[3 * t + 2];
            double area = (b[2] - a[2]) * (c[3] - a[3]) - (c[2] - a[2]) * (b[3] - a[3]);
            if (std::abs(area) < 1e-9 || !std::isfinite(area)) continue;
            int left = std::max(0, int(std::floor(std::min({a[2], b[2], c[2]}))));
            int right = std::min(int(out_width) - 1, int(std::ceil(std::max({a[2], b[2], c[2]}))));
            int top = std::max(0, int(std::floor(std::min({a[3], b[3], c[3]}))));
            int bottom = std::min(int(out_height) - 1, int(std::ceil(std::max({a[3], b[3], c[3]}))));
            for (int y = top; y <= bottom; ++y) {
                for (int x = left; x <= right; ++x) {
                    double px = x + 0.5, py = y + 0.5;
                    double w0 = ((b[2] - px) * (c[3] - py) - (c[2] - px) * (b[3] - py)) / area;
                    double w1 = ((c[2] - px) * (a[3] - py) - (a[2] - px) * (c[3] - py)) / area;
                    double w2 = 1 - w0 - w1;
                    if (w0 < 0 || w1 < 0 || w2 < 0) continue;
                    double z = w0 * a[4] + w1 * b[4] + w2 * c[4];
                    double &stored = depth[size_t(y) * out_width + x];
                    if (z <= stored) continue;
                    stored = z;
                    double u = w0 * a[0] + w1 * b[0] + w2 * c[0], v = w0 * a[1] + w1 * b[1] + w2 * c[1];
                    auto *pixel = out.ptr<uint8_t>(y) + 3 * x;
                    for (int channel = 0; channel < 3; ++channel) {
                        pixel[channel] = uint8_t(std::clamp(std::lround(sample(u, v, channel)), 0L, 255L));
                    }
                }
            }
        }
        if (noise_sigma > 0) {
            std::mt19937_64 generator(seed);
            std::normal_distribution<double> noise(0, noise_sigma);
            for (int y = 0; y < out.rows; ++y) {
                auto *row = out.ptr<uint8_t>(y);
                for (int x = 0; x < out.cols * 3; ++x) {
                    row[x] = uint8_t(std::clamp(std::lround(row[x] + noise(generator)), 0L, 255L));
                }
            }
        }
        *rgb_out = copy_out(out);
        return ENROLLD_LIVENESS_OK;
    });
}

extern "C" void enrolld_liveness_free(void *buffer) { std::free(buffer); }
