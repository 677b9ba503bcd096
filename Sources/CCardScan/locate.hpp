// Finding the MRZ and the card in a photo. Internal to CCardScan; pure functions of their inputs.
#ifndef ENROLLD_CCARDSCAN_LOCATE_HPP
#define ENROLLD_CCARDSCAN_LOCATE_HPP

#include <array>
#include <vector>

#include <opencv2/core.hpp>

namespace enrolld_scan {

// A band of dark text merged into one blob: its centreline from `start` (left end) to `end`, and its thickness.
struct TextBand {
    cv::Point2f start;
    cv::Point2f end;
    float thickness = 0;
    float fill = 0;

    float length() const { return static_cast<float>(cv::norm(end - start)); }
    cv::Point2f direction() const;
    cv::Point2f centre() const { return (start + end) * 0.5f; }
};

// Two or three bands that could be the lines of an MRZ, top line first, with how well they fit one.
struct ZoneCandidate {
    std::vector<TextBand> lines;
    float score = 0;
};

// Text bands of a (downscaled) greyscale photo: dark-on-light blackhat, closing at a few scales.
std::vector<TextBand> find_text_bands(const cv::Mat &grey);

// Groups of 2 or 3 parallel, equally long, evenly spaced bands, best first.
std::vector<ZoneCandidate> group_mrz_bands(const std::vector<TextBand> &bands, size_t limit);

// A card outline: four corners, top left first, clockwise, the long side horizontal.
struct CardOutline {
    bool found = false;
    std::array<cv::Point2f, 4> corners;
};

// The largest convex quadrilateral with a card-like aspect ratio (ISO/IEC 7810 ID-1: 85.60 x 53.98 mm).
CardOutline find_card_outline(const cv::Mat &grey);

}  // namespace enrolld_scan

#endif
