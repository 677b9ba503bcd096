// The C interface: argument and size checks, exceptions turned into statuses, timings.

#include "CCardScan.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include "classifier.hpp"
#include "locate.hpp"
#include "read.hpp"
#include "tesseract.hpp"

using namespace enrolld_scan;

struct enrolld_scan_reader {
    std::shared_ptr<OCRBClassifier> classifier;
    std::unique_ptr<LineRecognizer> recognizer;
    uint64_t max_pixels = 0;
};

namespace {

using clock_type = std::chrono::steady_clock;

double milliseconds_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

void copy_message(const std::string &text, char *message, size_t capacity) {
    if (message == nullptr || capacity == 0) return;
    size_t count = std::min(text.size(), capacity - 1);
    std::memcpy(message, text.data(), count);
    message[count] = '\0';
}

enrolld_scan_status fail(enrolld_scan_status status, const std::string &text, char *message, size_t capacity) {
    copy_message(text, message, capacity);
    return status;
}

// Working resolution for locating: long side in pixels.
constexpr int kLocateLongSide = 1024;
constexpr int kOutlineLongSide = 800;
// Orientation: a forward reading this sharp needs no upside-down attempt.
constexpr float kUpright = 0.72f;

enrolld_scan_status check_image(const enrolld_scan_reader *reader, const uint8_t *grey, uint32_t width,
                                uint32_t height, char *message, size_t capacity) {
    if (reader == nullptr || grey == nullptr || width == 0 || height == 0) {
        return fail(ENROLLD_SCAN_INVALID_ARGUMENT, "no reader or an empty image", message, capacity);
    }
    uint64_t limit = reader->max_pixels != 0 ? reader->max_pixels
                                             : uint64_t(ENROLLD_SCAN_MAX_SIDE) * ENROLLD_SCAN_MAX_SIDE;
    if (width > ENROLLD_SCAN_MAX_SIDE || height > ENROLLD_SCAN_MAX_SIDE || uint64_t(width) * height > limit) {
        return fail(ENROLLD_SCAN_OVERSIZED, "image is " + std::to_string(width) + "x" + std::to_string(height) +
                                                " pixels, limit " + std::to_string(limit) + " pixels and " +
                                                std::to_string(ENROLLD_SCAN_MAX_SIDE) + " per side",
                    message, capacity);
    }
    return ENROLLD_SCAN_OK;
}

cv::Mat downscaled(const cv::Mat &image, int long_side, double &scale) {
    int longest = std::max(image.cols, image.rows);
    scale = longest > long_side ? double(long_side) / longest : 1.0;
    if (scale >= 1.0) return image;
    cv::Mat small;
    cv::resize(image, small, cv::Size(), scale, scale, cv::INTER_AREA);
    return small;
}

template <typename Body>
enrolld_scan_status guarded(Body body, char *message, size_t capacity) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(ENROLLD_SCAN_OUT_OF_MEMORY, "out of memory", message, capacity);
    } catch (const cv::Exception &error) {
        return fail(ENROLLD_SCAN_INTERNAL, std::string("OpenCV: ") + error.what(), message, capacity);
    } catch (const std::exception &error) {
        return fail(ENROLLD_SCAN_INTERNAL, error.what(), message, capacity);
    } catch (...) {
        return fail(ENROLLD_SCAN_INTERNAL, "unknown failure", message, capacity);
    }
}

}  // namespace

extern "C" {

enrolld_scan_status enrolld_scan_reader_create(const enrolld_scan_reader_options *options,
                                               enrolld_scan_reader **reader_out, char *message,
                                               size_t message_capacity) {
    if (options == nullptr || reader_out == nullptr || options->ocrb_font_path == nullptr) {
        return fail(ENROLLD_SCAN_INVALID_ARGUMENT, "missing options", message, message_capacity);
    }
    *reader_out = nullptr;
    return guarded([&]() -> enrolld_scan_status {
        static std::once_flag threads_once;
        std::call_once(threads_once, [] { cv::setNumThreads(1); });
        auto reader = std::make_unique<enrolld_scan_reader>();
        reader->max_pixels = options->max_pixels;
        reader->classifier = std::make_shared<OCRBClassifier>();
        bool missing = false;
        std::string text;
        if (!reader->classifier->load(options->ocrb_font_path, missing, text)) {
            return fail(missing ? ENROLLD_SCAN_FONT_MISSING : ENROLLD_SCAN_FONT_INVALID, text, message,
                        message_capacity);
        }
        if (options->engine == ENROLLD_SCAN_ENGINE_TESSERACT) {
            auto tesseract = std::make_unique<TesseractLineRecognizer>();
            std::string path = options->tessdata_path != nullptr ? options->tessdata_path : "";
            if (!tesseract->load(path, text)) {
                return fail(ENROLLD_SCAN_ENGINE_UNAVAILABLE, text, message, message_capacity);
            }
            reader->recognizer = std::move(tesseract);
        } else {
            reader->recognizer = std::make_unique<OCRBLineRecognizer>(reader->classifier);
        }
        *reader_out = reader.release();
        return ENROLLD_SCAN_OK;
    }, message, message_capacity);
}

void enrolld_scan_reader_destroy(enrolld_scan_reader *reader) { delete reader; }

enrolld_scan_status enrolld_scan_read_mrz(const enrolld_scan_reader *reader, const uint8_t *grey, uint32_t width,
                                          uint32_t height, enrolld_scan_mrz_result *result, char *message,
                                          size_t message_capacity) {
    if (result == nullptr) return fail(ENROLLD_SCAN_INVALID_ARGUMENT, "no result", message, message_capacity);
    std::memset(result, 0, sizeof(*result));
    enrolld_scan_status status = check_image(reader, grey, width, height, message, message_capacity);
    if (status != ENROLLD_SCAN_OK) return status;
    return guarded([&]() -> enrolld_scan_status {
        auto start = clock_type::now();
        // The caller's pixels are only read (the header does not copy them).
        cv::Mat base(static_cast<int>(height), static_cast<int>(width), CV_8U, const_cast<uint8_t *>(grey));
        double scale = 1;
        cv::Mat work = downscaled(base, kLocateLongSide, scale);
        std::vector<TextBand> bands = find_text_bands(work);
        std::vector<ZoneCandidate> candidates = group_mrz_bands(bands, 4);
        result->band_count = static_cast<uint32_t>(bands.size());
        for (ZoneCandidate &candidate : candidates) {
            for (TextBand &band : candidate.lines) {
                band.start *= static_cast<float>(1 / scale);
                band.end *= static_cast<float>(1 / scale);
                band.thickness *= static_cast<float>(1 / scale);
            }
        }
        result->locate_ms = milliseconds_since(start);
        start = clock_type::now();
        Pyramid pyramid(base);
        size_t count = 0;
        for (const ZoneCandidate &candidate : candidates) {
            if (count >= ENROLLD_SCAN_MAX_READINGS) break;
            size_t made = read_zone(pyramid, candidate, false, *reader->classifier, *reader->recognizer,
                                    result->readings + count, ENROLLD_SCAN_MAX_READINGS - count);
            float sharpest = 0;
            for (size_t k = count; k < count + made; ++k) sharpest = std::max(sharpest, result->readings[k].sharpness);
            count += made;
            if ((made == 0 || sharpest < kUpright) && count < ENROLLD_SCAN_MAX_READINGS) {
                count += read_zone(pyramid, candidate, true, *reader->classifier, *reader->recognizer,
                                   result->readings + count, ENROLLD_SCAN_MAX_READINGS - count);
            }
        }
        result->reading_count = static_cast<uint32_t>(count);
        result->read_ms = milliseconds_since(start);
        return ENROLLD_SCAN_OK;
    }, message, message_capacity);
}

enrolld_scan_status enrolld_scan_read_can(const enrolld_scan_reader *reader, const uint8_t *grey, uint32_t width,
                                          uint32_t height, const enrolld_scan_can_region *region,
                                          enrolld_scan_can_result *result, char *message, size_t message_capacity) {
    if (result == nullptr || region == nullptr) {
        return fail(ENROLLD_SCAN_INVALID_ARGUMENT, "no region or result", message, message_capacity);
    }
    std::memset(result, 0, sizeof(*result));
    enrolld_scan_status status = check_image(reader, grey, width, height, message, message_capacity);
    if (status != ENROLLD_SCAN_OK) return status;
    if (region->digit_count == 0 || region->digit_count > ENROLLD_SCAN_MAX_CAN_DIGITS || !(region->width > 0) ||
        !(region->height > 0) || !(region->left >= 0) || !(region->top >= 0) || region->left + region->width > 1.0f ||
        region->top + region->height > 1.0f) {
        return fail(ENROLLD_SCAN_INVALID_ARGUMENT, "CAN region outside the card or digit count out of range",
                    message, message_capacity);
    }
    return guarded([&]() -> enrolld_scan_status {
        auto start = clock_type::now();
        cv::Mat base(static_cast<int>(height), static_cast<int>(width), CV_8U, const_cast<uint8_t *>(grey));
        double scale = 1;
        cv::Mat work = downscaled(base, kOutlineLongSide, scale);
        CardOutline outline = find_card_outline(work);
        result->locate_ms = milliseconds_since(start);
        if (!outline.found) return ENROLLD_SCAN_OK;
        for (cv::Point2f &corner : outline.corners) corner *= static_cast<float>(1 / scale);
        result->card_found = 1;
        for (int k = 0; k < 4; ++k) {
            result->card_corners[2 * k] = outline.corners[static_cast<size_t>(k)].x;
            result->card_corners[2 * k + 1] = outline.corners[static_cast<size_t>(k)].y;
        }
        start = clock_type::now();
        Pyramid pyramid(base);
        uint32_t count = 0;
        for (bool upside_down : {false, true}) {
            if (read_can_field(pyramid, outline, *region, upside_down, *reader->classifier, *reader->recognizer,
                               result->readings[count])) {
                ++count;
            }
        }
        result->reading_count = count;
        result->read_ms = milliseconds_since(start);
        return ENROLLD_SCAN_OK;
    }, message, message_capacity);
}

void enrolld_scan_rgb_to_grey(const uint8_t *rgb, uint32_t width, uint32_t height, uint8_t *grey_out) {
    if (rgb == nullptr || grey_out == nullptr) return;
    size_t count = size_t(width) * height;
    for (size_t i = 0; i < count; ++i) {
        const uint8_t *pixel = rgb + 3 * i;
        grey_out[i] = static_cast<uint8_t>((299 * pixel[0] + 587 * pixel[1] + 114 * pixel[2] + 500) / 1000);
    }
}

void enrolld_scan_free(void *buffer) { std::free(buffer); }

}  // extern "C"
