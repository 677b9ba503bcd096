// Straightening and reading a located MRZ zone or CAN field. Internal to CCardScan.
#ifndef ENROLLD_CCARDSCAN_READ_HPP
#define ENROLLD_CCARDSCAN_READ_HPP

#include <memory>
#include <vector>

#include <opencv2/core.hpp>

#include "CCardScan.h"
#include "classifier.hpp"
#include "locate.hpp"

namespace enrolld_scan {

// The photo and its Gaussian pyramid (each level half the previous), built on demand for one call.
class Pyramid {
public:
    explicit Pyramid(cv::Mat base) { levels_.push_back(std::move(base)); }
    const cv::Mat &level(int index);
    // The level to sample from when the output has `scale` output pixels per base pixel: the finest level at
    // which the scale is at least one half (no aliasing), and the scale relative to that level.
    int level_for(double scale, double &level_scale);

private:
    std::vector<cv::Mat> levels_;
};

// Turns one canonical line strip (CV_8U, kStripHeight rows, cap centre on kStripCentre, the first cell's left
// edge at column `first_cell`, cells `pitch` wide) into class probabilities per character.
class LineRecognizer {
public:
    virtual ~LineRecognizer() = default;
    virtual void read(const cv::Mat &strip, double first_cell, double pitch, int count, enrolld_scan_glyph *glyphs,
                      double &sharpness) const = 0;
};

// Our OCR-B classifier: each cell against every template, then the grid refitted to where the glyphs matched.
class OCRBLineRecognizer : public LineRecognizer {
public:
    explicit OCRBLineRecognizer(std::shared_ptr<const OCRBClassifier> classifier)
        : classifier_(std::move(classifier)) {}
    void read(const cv::Mat &strip, double first_cell, double pitch, int count, enrolld_scan_glyph *glyphs,
              double &sharpness) const override;

private:
    std::shared_ptr<const OCRBClassifier> classifier_;
};

// Finds each glyph of a strip: cells searched in turn from either end around where the neighbour's match and
// the local pitch put them. Returns each cell's best-match centre (strip pixels; the cap centre in y) and
// correlation.
void track_glyphs(const OCRBClassifier &classifier, const cv::Mat &strip, double first_cell, double pitch, int count,
                  std::vector<cv::Point2d> &centres, std::vector<float> &scores);

// Reads an MRZ candidate (bands in base pixels) in one orientation: the number of readings made (0 when its
// lines do not measure as text), one per plausible line length, at most `capacity`. The classifier places
// the glyphs (for either recogniser).
size_t read_zone(Pyramid &pyramid, const ZoneCandidate &candidate, bool upside_down,
                 const OCRBClassifier &classifier, const LineRecognizer &recognizer,
                 enrolld_scan_zone_reading *readings, size_t capacity);

// Reads the CAN field of a card front (outline in base pixels) in one orientation.
bool read_can_field(Pyramid &pyramid, const CardOutline &outline, const enrolld_scan_can_region &region,
                    bool upside_down, const OCRBClassifier &classifier, const LineRecognizer &recognizer,
                    enrolld_scan_can_reading &reading);

}  // namespace enrolld_scan

#endif
