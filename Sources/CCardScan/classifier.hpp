// OCR-B character classifier: zero-mean normalised correlation against templates rendered from the font.
// Internal to CCardScan. Immutable after construction (safe to share between threads).
#ifndef ENROLLD_CCARDSCAN_CLASSIFIER_HPP
#define ENROLLD_CCARDSCAN_CLASSIFIER_HPP

#include <array>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "CCardScan.h"

namespace enrolld_scan {

// The canonical line strip every reader samples characters from: cap height kCapHeight pixels, the cap
// centre on row kStripCentre, kStripHeight rows; a character patch is kPatchWidth x kPatchHeight pixels
// centred on its cell centre and the cap centre (1.1 x 1.55 cap heights: room for digits, which stand
// taller than capitals in OCR-B, and for small position errors).
constexpr double kCapHeight = 18.0;
constexpr int kPatchWidth = 20;
constexpr int kPatchHeight = 28;
constexpr int kStripMargin = 3;
constexpr int kStripHeight = kPatchHeight + 2 * kStripMargin;
constexpr double kStripCentre = kStripHeight / 2.0;
// OCR-B size 1 (ISO 1073-2, ICAO 9303-3 §4.3): pitch 2.54 mm; cap height and pitch as fractions of the em,
// measured from the font when the templates are rendered.
constexpr double kNominalPitchOverCap = 72.0 / 70.0;

using ClassScores = std::array<float, ENROLLD_SCAN_CLASS_COUNT>;

inline int class_index(char character) {
    static const char *classes = ENROLLD_SCAN_CLASSES;
    for (int index = 0; index < ENROLLD_SCAN_CLASS_COUNT; ++index) {
        if (classes[index] == character) return index;
    }
    return -1;
}

class OCRBClassifier {
public:
    // Renders the templates from the OCR-B font; false with a message (missing set when the file is absent).
    bool load(const std::string &font_path, bool &missing, std::string &message);

    // Scores one character cell of an ink strip (CV_32F, ink high, kStripHeight rows) centred at column
    // `centre_x`: best correlation per class over small shifts (+-2 columns and +-1 row, or +-4 and +-2 when
    // `wide`). `best_shift` returns the offset of the best match, for placing the grid.
    void score(const cv::Mat &ink_strip, double centre_x, bool wide, ClassScores &scores,
               cv::Point2d &best_shift) const;

    // Correlations to class probabilities (softmax with the calibrated sharpness).
    static void probabilities(const ClassScores &scores, float *out);

    double pitch_over_cap() const { return pitch_over_cap_; }

private:
    struct Template {
        int class_index;
        std::vector<float> values;  // kPatchWidth * kPatchHeight, zero mean, unit norm
    };
    std::vector<Template> templates_;
    double pitch_over_cap_ = kNominalPitchOverCap;
};

}  // namespace enrolld_scan

#endif
