// OCR-B templates and correlation scoring.

#include "classifier.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include <opencv2/imgproc.hpp>

#include "font.hpp"

namespace enrolld_scan {

namespace {
constexpr int kSupersample = 4;
// Calibrated on generated sets: larger is more confident. The correction downstream uses the probabilities
// as costs, so only their ordering and rough ratios matter.
constexpr float kSoftmaxSharpness = 28.0f;
// Templates per class, in the order load() makes them: weights thin, normal, bold, each at two focus levels,
// then eight smeared by camera shake.
constexpr size_t kVariants = 14;
constexpr size_t kPrimaryVariant = 2;

void normalise(std::vector<float> &values) {
    double mean = 0;
    for (float value : values) mean += value;
    mean /= static_cast<double>(values.size());
    double norm = 0;
    for (float &value : values) {
        value = static_cast<float>(value - mean);
        norm += double(value) * value;
    }
    float scale = norm > 1e-12 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
    for (float &value : values) value *= scale;
}
}  // namespace

bool OCRBClassifier::load(const std::string &font_path, bool &missing, std::string &message) {
    auto font = FontRenderer::load(font_path, missing, message);
    if (!font) return false;
    // Cap height and pitch as fractions of the em, from the font itself.
    RenderedGlyph reference;
    const double probe_em = 400.0;
    if (!font->render('E', probe_em, reference) || reference.top <= 0 || reference.advance <= 0) {
        message = "font " + font_path + " has no usable glyph 'E'";
        return false;
    }
    const double cap_fraction = reference.top / probe_em;
    pitch_over_cap_ = reference.advance / static_cast<double>(reference.top);
    const double cap = kCapHeight * kSupersample;
    const double em = cap / cap_fraction;
    const int width = kPatchWidth * kSupersample;
    const int height = kPatchHeight * kSupersample;
    const char *classes = ENROLLD_SCAN_CLASSES;
    templates_.clear();
    auto add = [this](int index, const cv::Mat &image) {
        Template entry;
        entry.class_index = index;
        entry.values.assign(image.begin<float>(), image.end<float>());
        normalise(entry.values);
        templates_.push_back(std::move(entry));
    };
    for (int index = 0; index < ENROLLD_SCAN_CLASS_COUNT; ++index) {
        RenderedGlyph glyph;
        if (!font->render(classes[index], em, glyph)) {
            message = std::string("font ") + font_path + " has no glyph '" + classes[index] + "'";
            return false;
        }
        cv::Mat canvas(height, width, CV_8U, cv::Scalar(0));
        // Cell centre on the patch centre, cap centre on the patch centre.
        double pen = width / 2.0 - glyph.advance / 2.0;
        double baseline = height / 2.0 + cap / 2.0;
        int left = static_cast<int>(std::lround(pen)) + glyph.left;
        int top = static_cast<int>(std::lround(baseline)) - glyph.top;
        cv::Rect target(left, top, glyph.coverage.cols, glyph.coverage.rows);
        cv::Rect clipped = target & cv::Rect(0, 0, width, height);
        if (clipped.area() > 0) {
            glyph.coverage(cv::Rect(clipped.x - left, clipped.y - top, clipped.width, clipped.height))
                .copyTo(canvas(clipped));
        }
        // Stroke weights (thin, as drawn, bold print) and two focus levels.
        for (int weight = -1; weight <= 1; ++weight) {
            cv::Mat weighted;
            if (weight == 0) {
                weighted = canvas;
            } else {
                cv::Mat kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5));
                if (weight < 0) cv::erode(canvas, weighted, kernel);
                else cv::dilate(canvas, weighted, kernel);
            }
            cv::Mat small;
            cv::resize(weighted, small, cv::Size(kPatchWidth, kPatchHeight), 0, 0, cv::INTER_AREA);
            for (double sigma : {0.7, 1.4}) {
                cv::Mat blurred;
                small.convertTo(blurred, CV_32F);
                cv::GaussianBlur(blurred, blurred, cv::Size(0, 0), sigma);
                add(index, blurred);
            }
        }
        // Camera shake: the normal weight smeared along four directions, at two lengths.
        cv::Mat small;
        cv::resize(canvas, small, cv::Size(kPatchWidth, kPatchHeight), 0, 0, cv::INTER_AREA);
        small.convertTo(small, CV_32F);
        cv::GaussianBlur(small, small, cv::Size(0, 0), 0.7);
        for (double length : {4.0, 7.0}) {
            for (double angle : {0.0, 45.0, 90.0, 135.0}) {
                int size = static_cast<int>(std::ceil(length)) | 1;
                cv::Mat kernel(size, size, CV_32F, cv::Scalar(0));
                double radians = angle * CV_PI / 180.0;
                cv::Point2d half(std::cos(radians) * length / 2, std::sin(radians) * length / 2);
                cv::Point2d middle(size / 2.0, size / 2.0);
                cv::line(kernel, middle - half, middle + half, cv::Scalar(1.0), 1, cv::LINE_AA);
                kernel /= cv::sum(kernel)[0];
                cv::Mat smeared;
                cv::filter2D(small, smeared, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_CONSTANT);
                add(index, smeared);
            }
        }
    }
    return true;
}

namespace {
// Eight partial sums, so that the compiler can vectorise without reassociating a single sum.
float dot(const float *a, const float *b, size_t count) {
    float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t index = 0;
    for (; index + 8 <= count; index += 8) {
        for (size_t lane = 0; lane < 8; ++lane) partial[lane] += a[index + lane] * b[index + lane];
    }
    float sum = 0;
    for (; index < count; ++index) sum += a[index] * b[index];
    for (float value : partial) sum += value;
    return sum;
}
}  // namespace

void OCRBClassifier::score(const cv::Mat &ink_strip, double centre_x, bool wide, ClassScores &scores,
                           cv::Point2d &best_shift) const {
    scores.fill(-1.0f);
    best_shift = cv::Point2d(0, 0);
    // Every shifted patch, normalised once.
    constexpr int kMaxShiftsX = 9, kMaxShiftsY = 5;
    constexpr size_t kSize = static_cast<size_t>(kPatchWidth) * kPatchHeight;
    const int kShiftsX = wide ? kMaxShiftsX : 5;
    const int kShiftsY = wide ? kMaxShiftsY : 3;
    float patches[kMaxShiftsX * kMaxShiftsY][kSize];
    bool valid[kMaxShiftsX * kMaxShiftsY];
    int shift_x[kMaxShiftsX * kMaxShiftsY];
    int shift_y[kMaxShiftsX * kMaxShiftsY];
    const int nominal_left = static_cast<int>(std::lround(centre_x - kPatchWidth / 2.0));
    std::vector<float> patch(kSize);
    for (int sy = 0; sy < kShiftsY; ++sy) {
        for (int sx = 0; sx < kShiftsX; ++sx) {
            int slot = sy * kShiftsX + sx;
            int left = nominal_left + sx - kShiftsX / 2;
            int top = kStripMargin + sy - kShiftsY / 2;
            shift_x[slot] = sx - kShiftsX / 2;
            shift_y[slot] = sy - kShiftsY / 2;
            valid[slot] = left >= 0 && top >= 0 && left + kPatchWidth <= ink_strip.cols &&
                          top + kPatchHeight <= ink_strip.rows;
            if (!valid[slot]) continue;
            for (int row = 0; row < kPatchHeight; ++row) {
                const float *source = ink_strip.ptr<float>(top + row) + left;
                std::copy(source, source + kPatchWidth, patch.begin() + row * kPatchWidth);
            }
            normalise(patch);
            std::copy(patch.begin(), patch.end(), patches[slot]);
        }
    }
    // Coarse to fine: each class's primary template at every shift, then all its variants at its best shift.
    float best = -2.0f;
    for (size_t first = 0; first < templates_.size(); first += kVariants) {
        const Template &primary = templates_[first + kPrimaryVariant];
        float class_best = -2.0f;
        int class_slot = -1;
        for (int slot = 0; slot < kShiftsX * kShiftsY; ++slot) {
            if (!valid[slot]) continue;
            float value = dot(primary.values.data(), patches[slot], kSize);
            if (value > class_best) {
                class_best = value;
                class_slot = slot;
            }
        }
        if (class_slot < 0) continue;
        for (size_t variant = 0; variant < kVariants; ++variant) {
            if (variant == kPrimaryVariant) continue;
            class_best = std::max(class_best, dot(templates_[first + variant].values.data(), patches[class_slot], kSize));
        }
        scores[static_cast<size_t>(primary.class_index)] = class_best;
        if (class_best > best) {
            best = class_best;
            best_shift = cv::Point2d(shift_x[class_slot], shift_y[class_slot]);
        }
    }
}

void OCRBClassifier::probabilities(const ClassScores &scores, float *out) {
    float top = *std::max_element(scores.begin(), scores.end());
    double sum = 0;
    for (size_t index = 0; index < scores.size(); ++index) {
        out[index] = std::exp(kSoftmaxSharpness * (scores[index] - top));
        sum += out[index];
    }
    for (size_t index = 0; index < scores.size(); ++index) out[index] = static_cast<float>(out[index] / sum);
}

}  // namespace enrolld_scan
