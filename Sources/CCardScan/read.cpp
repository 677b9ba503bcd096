// Straightening and reading: a homography from the located bands to an upright zone image, each line measured
// there (baseline, extent, pitch from the gaps between cells), then sampled into the canonical strip the
// recognisers read.

#include "read.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include <opencv2/imgproc.hpp>
#include <opencv2/calib3d.hpp>

namespace enrolld_scan {

const cv::Mat &Pyramid::level(int index) {
    while (static_cast<int>(levels_.size()) <= index) {
        const cv::Mat &last = levels_.back();
        if (last.cols < 8 || last.rows < 8) break;
        cv::Mat next;
        cv::pyrDown(last, next);
        levels_.push_back(std::move(next));
    }
    return levels_[static_cast<size_t>(std::min<int>(index, static_cast<int>(levels_.size()) - 1))];
}

int Pyramid::level_for(double scale, double &level_scale) {
    int index = 0;
    level_scale = scale;
    while (level_scale < 0.5 && index < 8) {
        ++index;
        level_scale *= 2;
    }
    level(index);
    index = std::min<int>(index, static_cast<int>(levels_.size()) - 1);
    level_scale = scale * std::pow(2.0, index);
    return index;
}

namespace {

// Zone image geometry: lines kLinePitch pixels apart, kMargin pixels of border.
constexpr double kLinePitch = 64.0;
constexpr double kMargin = 48.0;
// Where the ink of a line of OCR-B starts and ends inside its cells (mean bearings, fractions of the pitch).
constexpr double kLeftBearing = 0.16;
constexpr double kRightBearing = 0.14;

cv::Matx33d inverse(const cv::Matx33d &m) { return m.inv(cv::DECOMP_LU); }

cv::Point2d apply(const cv::Matx33d &m, cv::Point2d p) {
    cv::Vec3d v = m * cv::Vec3d(p.x, p.y, 1.0);
    return std::abs(v[2]) > 1e-12 ? cv::Point2d(v[0] / v[2], v[1] / v[2]) : cv::Point2d(0, 0);
}

// Base pixel coordinates to those of pyramid level `level` (pyrDown keeps pixel centres at 2x + 0.5).
cv::Matx33d base_to_level(int level) {
    double factor = std::pow(2.0, level);
    double offset = (factor - 1) / 2;
    return cv::Matx33d(1 / factor, 0, -offset / factor, 0, 1 / factor, -offset / factor, 0, 0, 1);
}

struct LineMeasure {
    double top = 0, baseline = 0, left = 0, right = 0;
    // The middle of the text band near each end (a line that is not level in the zone image shows here).
    double left_centre = 0, right_centre = 0;
    double height() const { return baseline - top; }
    double centre() const { return (top + baseline) / 2; }
};

void smooth(std::vector<double> &values) {
    if (values.size() < 3) return;
    std::vector<double> copy = values;
    for (size_t i = 1; i + 1 < values.size(); ++i) values[i] = 0.25 * copy[i - 1] + 0.5 * copy[i] + 0.25 * copy[i + 1];
}

// Interpolated crossing of `level` between index a (above) and b (below or equal).
double crossing(const std::vector<double> &profile, int a, int b, double level) {
    double pa = profile[static_cast<size_t>(a)], pb = profile[static_cast<size_t>(b)];
    if (std::abs(pa - pb) < 1e-9) return b;
    return a + (level - pa) / (pb - pa) * (b - a);
}

// The text band of rows [row0, row1) over columns [col0, col1): where the row ink profile around its peak
// stays above half the peak (the cap line and the baseline).
bool text_band(const cv::Mat &ink, int row0, int row1, int col0, int col1, double &top, double &baseline) {
    row0 = std::max(0, row0);
    row1 = std::min(ink.rows, row1);
    col0 = std::max(0, col0);
    col1 = std::min(ink.cols, col1);
    if (row1 - row0 < 8 || col1 - col0 < 8) return false;
    std::vector<double> rows(static_cast<size_t>(row1 - row0), 0.0);
    for (int r = row0; r < row1; ++r) {
        const float *line = ink.ptr<float>(r);
        double sum = 0;
        for (int c = col0; c < col1; ++c) sum += line[c];
        rows[static_cast<size_t>(r - row0)] = sum / (col1 - col0);
    }
    smooth(rows);
    int search0 = static_cast<int>(rows.size() / 4), search1 = static_cast<int>(3 * rows.size() / 4);
    int peak = search0;
    for (int r = search0; r < search1; ++r) {
        if (rows[static_cast<size_t>(r)] > rows[static_cast<size_t>(peak)]) peak = r;
    }
    double floor_level = *std::min_element(rows.begin(), rows.end());
    double peak_level = rows[static_cast<size_t>(peak)];
    if (peak_level - floor_level < 1.0) return false;
    // A third of the way up from the floor, bridging short dips: a row of digits inks its top and bottom
    // strokes more than its middle.
    double level = floor_level + 0.35 * (peak_level - floor_level);
    const int bridge = std::max(3, static_cast<int>(rows.size() / 10));
    auto extend = [&](int from, int step) {
        int edge = from;
        for (int r = from; r >= 0 && r < static_cast<int>(rows.size()); r += step) {
            if (rows[static_cast<size_t>(r)] >= level) {
                edge = r;
            } else if (std::abs(r - edge) > bridge) {
                break;
            }
        }
        return edge;
    };
    int up = extend(peak, -1) - 1, down = extend(peak, 1) + 1;
    if (up < 0 || down >= static_cast<int>(rows.size())) return false;
    top = row0 + crossing(rows, up, up + 1, level);
    baseline = row0 + crossing(rows, down - 1, down, level);
    return true;
}

// Measures the line whose centre should lie on row `centre` of the ink image, expected between columns
// [span_left, span_right] and covering at least `coverage` of that span.
bool measure_line(const cv::Mat &ink, double centre, double span_left, double span_right, LineMeasure &measure,
                  double coverage = 0.5) {
    const int half = static_cast<int>(kLinePitch / 2);
    const int row0 = static_cast<int>(centre) - half, row1 = static_cast<int>(centre) + half;
    if (span_right - span_left < 40) return false;
    if (!text_band(ink, row0, row1, static_cast<int>(span_left), static_cast<int>(span_right), measure.top,
                   measure.baseline)) {
        return false;
    }
    double height = measure.height();
    if (height < 0.25 * kLinePitch || height > 0.95 * kLinePitch) return false;

    // Column extents: ink between the cap line and the baseline.
    int band0 = std::max(0, static_cast<int>(measure.top - 0.1 * height));
    int band1 = std::min(ink.rows, static_cast<int>(measure.baseline + 0.1 * height) + 1);
    int wide0 = std::max(0, static_cast<int>(span_left - 2 * height));
    int wide1 = std::min(ink.cols, static_cast<int>(span_right + 2 * height));
    if (wide1 - wide0 < 8) return false;
    std::vector<double> columns(static_cast<size_t>(wide1 - wide0), 0.0);
    for (int r = band0; r < band1; ++r) {
        const float *line = ink.ptr<float>(r);
        for (int c = wide0; c < wide1; ++c) columns[static_cast<size_t>(c - wide0)] += line[c];
    }
    smooth(columns);
    std::vector<double> sorted = columns;
    std::sort(sorted.begin(), sorted.end());
    // Noise and JPEG blocks put some "ink" everywhere: measure above the quietest columns (the margins).
    double strong = sorted[static_cast<size_t>(0.95 * (sorted.size() - 1))];
    double quiet = sorted[static_cast<size_t>(0.05 * (sorted.size() - 1))];
    double threshold = quiet + 0.2 * (strong - quiet);
    if (strong <= quiet) return false;
    struct Cluster {
        int first, last;
    };
    // Characters of an MRZ line are a fraction of a cap height apart, '<' fillers included; wider gaps are
    // glare or a missing character.
    std::vector<Cluster> clusters;
    const int join = static_cast<int>(1.0 * height);
    for (int c = 0; c < static_cast<int>(columns.size()); ++c) {
        if (columns[static_cast<size_t>(c)] < threshold) continue;
        if (!clusters.empty() && c - clusters.back().last <= join) {
            clusters.back().last = c;
        } else {
            clusters.push_back({c, c});
        }
    }
    // The line is what the clusters cover of the expected span, give or take half a cap height: a card edge
    // or other print joined to the line outside the span is not part of it.
    double covered = 0;
    bool any = false;
    const double reach = 0.5 * height;
    for (const Cluster &cluster : clusters) {
        double first = std::max<double>(wide0 + cluster.first, span_left - reach);
        double last = std::min<double>(wide0 + cluster.last + 1, span_right + reach);
        if (last <= first) continue;
        double inside = std::min(last, span_right) - std::max(first, span_left);
        if (inside <= 0) continue;
        covered += inside;
        measure.left = any ? std::min(measure.left, first) : first;
        measure.right = any ? std::max(measure.right, last) : last;
        any = true;
    }
    if (!any || covered <= coverage * (span_right - span_left)) return false;
    // The band's middle near either end, from the fifth of the line at that end.
    double fifth = (measure.right - measure.left) / 5;
    double top = 0, baseline = 0;
    measure.left_centre = measure.right_centre = measure.centre();
    if (text_band(ink, row0, row1, static_cast<int>(measure.left), static_cast<int>(measure.left + fifth), top,
                  baseline) && std::abs((top + baseline) / 2 - measure.centre()) < 0.5 * height) {
        measure.left_centre = (top + baseline) / 2;
    }
    if (text_band(ink, row0, row1, static_cast<int>(measure.right - fifth), static_cast<int>(measure.right), top,
                  baseline) && std::abs((top + baseline) / 2 - measure.centre()) < 0.5 * height) {
        measure.right_centre = (top + baseline) / 2;
    }
    return true;
}

// Column ink profile of a measured line (rows from its cap line to its baseline).
std::vector<double> column_profile(const cv::Mat &ink, const LineMeasure &measure) {
    std::vector<double> columns(static_cast<size_t>(ink.cols), 0.0);
    int band0 = std::max(0, static_cast<int>(measure.top));
    int band1 = std::min(ink.rows, static_cast<int>(measure.baseline) + 1);
    for (int r = band0; r < band1; ++r) {
        const float *line = ink.ptr<float>(r);
        for (int c = 0; c < ink.cols; ++c) columns[static_cast<size_t>(c)] += line[c];
    }
    return columns;
}

double sample(const std::vector<double> &profile, double x) {
    if (x <= 0) return profile.front();
    if (x >= profile.size() - 1) return profile.back();
    size_t i = static_cast<size_t>(x);
    double t = x - i;
    return profile[i] * (1 - t) + profile[i + 1] * t;
}

// The cell grid (left edge of cell 0, pitch) of a line whose ink spans [left, right]: OCR-B glyphs sit in
// fixed-pitch cells with a bearing on either side (mean bearings; the recogniser refits the grid to where
// the glyphs match).
void fit_grid(int count, double left, double right, double &first, double &pitch) {
    pitch = (right - left) / (count - kLeftBearing - kRightBearing);
    first = left - kLeftBearing * pitch;
}

// The pitch from the profile's periodicity (autocorrelation peak between 0.7 and 1.5 line heights).
double periodic_pitch(const std::vector<double> &profile, const LineMeasure &measure) {
    int a = std::max(0, static_cast<int>(measure.left)), b = std::min(static_cast<int>(profile.size()),
                                                                          static_cast<int>(measure.right));
    if (b - a < 20) return 0;
    double mean = std::accumulate(profile.begin() + a, profile.begin() + b, 0.0) / (b - a);
    double height = measure.height();
    int lag0 = std::max(2, static_cast<int>(0.7 * height)), lag1 = static_cast<int>(1.5 * height);
    double best = -1e300;
    int best_lag = 0;
    std::vector<double> scores(static_cast<size_t>(lag1 + 2), 0.0);
    for (int lag = lag0; lag <= lag1 && lag < b - a; ++lag) {
        double sum = 0;
        for (int x = a; x + lag < b; ++x) sum += (profile[static_cast<size_t>(x)] - mean) *
                                                 (profile[static_cast<size_t>(x + lag)] - mean);
        sum /= (b - a - lag);
        scores[static_cast<size_t>(lag)] = sum;
        if (sum > best) {
            best = sum;
            best_lag = lag;
        }
    }
    if (best_lag <= lag0 || best_lag >= lag1) return best_lag;
    // Parabolic refinement of the peak.
    double l = scores[static_cast<size_t>(best_lag - 1)], c = scores[static_cast<size_t>(best_lag)],
           r = scores[static_cast<size_t>(best_lag + 1)];
    double denominator = l - 2 * c + r;
    return std::abs(denominator) > 1e-12 ? best_lag + 0.5 * (l - r) / denominator : best_lag;
}

cv::Mat ink_of(const cv::Mat &grey) {
    cv::Mat blackhat, ink;
    cv::morphologyEx(grey, blackhat, cv::MORPH_BLACKHAT, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(15, 15)));
    blackhat.convertTo(ink, CV_32F);
    return ink;
}

// Samples a strip of `width` columns (kStripHeight rows) whose pixels map to base pixels through
// `base_from_strip`, from the pyramid level that avoids aliasing.
cv::Mat sample_strip(Pyramid &pyramid, const cv::Matx33d &base_from_strip, int width) {
    const double margin = kPatchWidth;
    cv::Point2d a = apply(base_from_strip, {margin, kStripCentre});
    cv::Point2d b = apply(base_from_strip, {width - margin, kStripCentre});
    double base_length = cv::norm(b - a);
    double strip_scale = base_length > 0 ? (width - 2 * margin) / base_length : 1.0;
    double level_scale = 1;
    int level = pyramid.level_for(strip_scale, level_scale);
    cv::Matx33d level_from_strip = base_to_level(level) * base_from_strip;
    cv::Mat strip;
    cv::warpPerspective(pyramid.level(level), strip, cv::Mat(level_from_strip), cv::Size(width, kStripHeight),
                        cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
    return strip;
}

// The strip of a line straight from the zone image's geometry: cells from `first`, `pitch` wide (zone pixels),
// the cap centre on row `cap_centre` at column `first`, rising `slope` rows per column. Strip cells are
// kCapHeight * pitch_over_cap wide, from column kPatchWidth.
cv::Matx33d strip_to_base_in_zone(const cv::Matx33d &zone_from_base, double first, double pitch, double cap_centre,
                                  double slope, double pitch_over_cap) {
    double scale = kCapHeight * pitch_over_cap / pitch;  // strip pixels per zone pixel
    cv::Matx33d zone_from_strip(1 / scale, 0, first - kPatchWidth / scale, slope / scale, 1 / scale,
                                cap_centre - slope * kPatchWidth / scale - kStripCentre / scale, 0, 0, 1);
    return inverse(zone_from_base) * zone_from_strip;
}

// The strip mapping of a measured line with its grid: the cap centre half a cap height above the baseline.
cv::Matx33d strip_to_base_for_line(const cv::Matx33d &zone_from_base, const LineMeasure &measure, double first,
                                   double pitch, double pitch_over_cap) {
    double cap = pitch / pitch_over_cap;
    (void)cap;
    return strip_to_base_in_zone(zone_from_base, first, pitch, measure.centre(), 0, pitch_over_cap);
}

// The strip of line `line` through a grid homography (grid units: cells across, line spacings down; the
// cell k spans [k, k + 1], the line centre lies on y = line). `spacing` is the line spacing in pitches.
cv::Matx33d strip_to_base_in_grid(const cv::Matx33d &base_from_grid, int line, double spacing,
                                  double pitch_over_cap) {
    double cell = kCapHeight * pitch_over_cap;  // strip pixels per cell
    cv::Matx33d grid_from_strip(1 / cell, 0, -kPatchWidth / cell, 0, 1 / (cell * spacing),
                                line - kStripCentre / (cell * spacing), 0, 0, 1);
    return base_from_grid * grid_from_strip;
}

int strip_width(int count, double pitch_over_cap) {
    return static_cast<int>(std::ceil(2 * kPatchWidth + count * kCapHeight * pitch_over_cap));
}

struct ZoneImage {
    cv::Matx33d zone_from_base;
    cv::Mat grey;
    cv::Mat ink;
};

// The zone image: an affine map from the located points to the zone's (a two- or three-line quad says
// too little about perspective along the lines; the glyph grid fixes that later).
ZoneImage warp_zone(Pyramid &pyramid, const std::vector<cv::Point2d> &base_points,
                    const std::vector<cv::Point2d> &zone_points, cv::Size size) {
    ZoneImage zone;
    // Least squares over the four correspondences.
    cv::Mat A(8, 6, CV_64F, cv::Scalar(0)), B(8, 1, CV_64F);
    for (int k = 0; k < 4; ++k) {
        const cv::Point2d &p = base_points[static_cast<size_t>(k)], &q = zone_points[static_cast<size_t>(k)];
        A.at<double>(2 * k, 0) = p.x;
        A.at<double>(2 * k, 1) = p.y;
        A.at<double>(2 * k, 2) = 1;
        A.at<double>(2 * k + 1, 3) = p.x;
        A.at<double>(2 * k + 1, 4) = p.y;
        A.at<double>(2 * k + 1, 5) = 1;
        B.at<double>(2 * k) = q.x;
        B.at<double>(2 * k + 1) = q.y;
    }
    cv::Mat x;
    cv::solve(A, B, x, cv::DECOMP_SVD);
    zone.zone_from_base = cv::Matx33d(x.at<double>(0), x.at<double>(1), x.at<double>(2), x.at<double>(3),
                                      x.at<double>(4), x.at<double>(5), 0, 0, 1);
    double base_length = cv::norm(base_points[1] - base_points[0]);
    double zone_length = cv::norm(zone_points[1] - zone_points[0]);
    double level_scale = 1;
    int level = pyramid.level_for(base_length > 0 ? zone_length / base_length : 1.0, level_scale);
    cv::Matx33d zone_from_level = zone.zone_from_base * inverse(base_to_level(level));
    cv::warpPerspective(pyramid.level(level), zone.grey, cv::Mat(zone_from_level), size, cv::INTER_LINEAR,
                        cv::BORDER_REPLICATE);
    zone.ink = ink_of(zone.grey);
    return zone;
}

// Least-squares line through (k, position) pairs marked used, outliers beyond `tolerance` dropped in rounds.
bool fit_line(const std::vector<double> &positions, std::vector<bool> used, double tolerance, double &a, double &b) {
    for (int round = 0; round < 4; ++round) {
        double n = 0, sk = 0, sx = 0, skk = 0, skx = 0;
        for (size_t k = 0; k < positions.size(); ++k) {
            if (!used[k]) continue;
            n += 1;
            sk += double(k);
            sx += positions[k];
            skk += double(k) * double(k);
            skx += double(k) * positions[k];
        }
        double denominator = n * skk - sk * sk;
        if (n < 3 || std::abs(denominator) < 1e-9) return false;
        b = (n * skx - sk * sx) / denominator;
        a = (sx - b * sk) / n;
        for (size_t k = 0; k < positions.size(); ++k) {
            if (used[k]) used[k] = std::abs(positions[k] - (a + b * double(k))) <= tolerance;
        }
    }
    return true;
}

}  // namespace

void track_glyphs(const OCRBClassifier &classifier, const cv::Mat &strip, double first_cell, double pitch, int count,
                  std::vector<cv::Point2d> &centres, std::vector<float> &scores) {
    cv::Mat ink;
    strip.convertTo(ink, CV_32F, -1.0, 255.0);
    centres.assign(static_cast<size_t>(count), cv::Point2d(0, 0));
    scores.assign(static_cast<size_t>(count), 0);
    // Two passes, from the left end and from the right: each cell is searched around where its neighbour's
    // match and the local pitch put it, so a smooth drift (perspective left in the zone image) is followed.
    std::vector<cv::Point2d> forward(static_cast<size_t>(count)), backward(static_cast<size_t>(count));
    std::vector<float> forward_score(static_cast<size_t>(count)), backward_score(static_cast<size_t>(count));
    for (int direction : {1, -1}) {
        auto &found = direction > 0 ? forward : backward;
        auto &quality = direction > 0 ? forward_score : backward_score;
        double local_pitch = pitch;
        double predicted = direction > 0 ? first_cell + 0.5 * pitch : first_cell + (count - 0.5) * pitch;
        int previous = -1;
        for (int step = 0; step < count; ++step) {
            int k = direction > 0 ? step : count - 1 - step;
            ClassScores cell;
            cv::Point2d shift;
            classifier.score(ink, predicted, true, cell, shift);
            float best = *std::max_element(cell.begin(), cell.end());
            found[static_cast<size_t>(k)] = cv::Point2d(predicted + shift.x, kStripCentre + shift.y);
            quality[static_cast<size_t>(k)] = best;
            if (best >= 0.6f) {
                if (previous >= 0) {
                    double observed = std::abs(found[static_cast<size_t>(k)].x -
                                               found[static_cast<size_t>(previous)].x) / std::abs(k - previous);
                    if (std::abs(observed - pitch) < 0.2 * pitch) local_pitch = 0.7 * local_pitch + 0.3 * observed;
                }
                previous = k;
                predicted = found[static_cast<size_t>(k)].x + direction * local_pitch;
            } else {
                predicted += direction * local_pitch;
            }
        }
    }
    for (size_t k = 0; k < static_cast<size_t>(count); ++k) {
        bool take_forward = forward_score[k] >= backward_score[k];
        centres[k] = take_forward ? forward[k] : backward[k];
        scores[k] = take_forward ? forward_score[k] : backward_score[k];
    }
}

void OCRBLineRecognizer::read(const cv::Mat &strip, double first_cell, double pitch, int count,
                              enrolld_scan_glyph *glyphs, double &sharpness) const {
    cv::Mat ink;
    strip.convertTo(ink, CV_32F, -1.0, 255.0);
    std::vector<ClassScores> scores(static_cast<size_t>(count));
    std::vector<double> found(static_cast<size_t>(count));
    std::vector<bool> confident(static_cast<size_t>(count));
    for (int k = 0; k < count; ++k) {
        cv::Point2d shift;
        double centre = first_cell + (k + 0.5) * pitch;
        classifier_->score(ink, centre, false, scores[static_cast<size_t>(k)], shift);
        found[static_cast<size_t>(k)] = centre + shift.x;
        const ClassScores &cell = scores[static_cast<size_t>(k)];
        confident[static_cast<size_t>(k)] = *std::max_element(cell.begin(), cell.end()) >= 0.7f;
    }
    // The grid refitted to where the glyphs matched best; cells that moved are scored again.
    double a = 0, b = 0;
    if (fit_line(found, confident, 1.2, a, b) && std::abs(b - pitch) <= 0.03 * pitch) {
        for (int k = 0; k < count; ++k) {
            double centre = a + b * k;
            if (std::abs(centre - (first_cell + (k + 0.5) * pitch)) < 0.6) continue;
            cv::Point2d shift;
            classifier_->score(ink, centre, false, scores[static_cast<size_t>(k)], shift);
        }
    }
    double total = 0;
    for (int k = 0; k < count; ++k) {
        const ClassScores &cell = scores[static_cast<size_t>(k)];
        total += std::max(0.0f, *std::max_element(cell.begin(), cell.end()));
        OCRBClassifier::probabilities(cell, glyphs[k].probabilities);
    }
    sharpness = count > 0 ? total / count : 0;
}

size_t read_zone(Pyramid &pyramid, const ZoneCandidate &candidate, bool upside_down,
                 const OCRBClassifier &classifier, const LineRecognizer &recognizer,
                 enrolld_scan_zone_reading *readings, size_t capacity) {
    const size_t lines = candidate.lines.size();
    const double pitch_over_cap = classifier.pitch_over_cap();
    if (lines < 2 || lines > ENROLLD_SCAN_MAX_LINES || capacity == 0) return 0;
    const TextBand &first = candidate.lines.front();
    const TextBand &last = candidate.lines.back();
    // One rectangle for all the lines: the longest band's direction, from the earliest start to the latest end
    // (a band shortened by glare or faint fillers does not shorten the zone).
    const TextBand *longest = &first;
    for (const TextBand &band : candidate.lines) {
        if (band.length() > longest->length()) longest = &band;
    }
    cv::Point2d axis = longest->direction();
    cv::Point2d normal(-axis.y, axis.x);
    cv::Point2d origin = first.centre();
    double from = 1e18, to = -1e18;
    for (const TextBand &band : candidate.lines) {
        from = std::min(from, (cv::Point2d(band.start) - origin).dot(axis));
        to = std::max(to, (cv::Point2d(band.end) - origin).dot(axis));
    }
    double across = (cv::Point2d(last.centre()) - origin).dot(normal);
    double spacing = std::abs(across) / (lines - 1);
    if (spacing < 3) return 0;
    auto at = [&](double along, double offset) { return origin + axis * along + normal * offset; };
    double length = (to - from) * kLinePitch / spacing;
    double height = (lines - 1) * kLinePitch;
    cv::Size size(static_cast<int>(length + 2 * kMargin), static_cast<int>(height + 2 * kMargin));
    if (size.width > 8000 || !(length > 0)) return 0;
    std::vector<cv::Point2d> base = {at(from, 0), at(to, 0), at(to, across), at(from, across)};
    std::vector<cv::Point2d> zone = {{kMargin, kMargin}, {kMargin + length, kMargin},
                                     {kMargin + length, kMargin + height}, {kMargin, kMargin + height}};
    if (upside_down) {
        // The same quad seen turned by 180 degrees: the last line's right end becomes the top left.
        base = {at(to, across), at(from, across), at(from, 0), at(to, 0)};
    }
    ZoneImage image = warp_zone(pyramid, base, zone, size);

    // Measure every line, then straighten once more on the measured ends of the first and last lines.
    std::vector<LineMeasure> measures(lines);
    auto measure_all = [&](const ZoneImage &current, double span_left, double span_right) {
        for (size_t i = 0; i < lines; ++i) {
            if (!measure_line(current.ink, kMargin + i * kLinePitch, span_left, span_right, measures[i])) return false;
        }
        return true;
    };
    if (!measure_all(image, kMargin, kMargin + length)) return 0;
    {
        cv::Matx33d base_from_zone = inverse(image.zone_from_base);
        const LineMeasure &top = measures.front(), &bottom = measures.back();
        std::vector<cv::Point2d> refined = {
            apply(base_from_zone, {top.left, top.left_centre}), apply(base_from_zone, {top.right, top.right_centre}),
            apply(base_from_zone, {bottom.right, bottom.right_centre}),
            apply(base_from_zone, {bottom.left, bottom.left_centre})};
        double refined_length = ((top.right - top.left) + (bottom.right - bottom.left)) / 2;
        zone = {{kMargin, kMargin}, {kMargin + refined_length, kMargin},
                {kMargin + refined_length, kMargin + height}, {kMargin, kMargin + height}};
        cv::Size refined_size(static_cast<int>(refined_length + 2 * kMargin), size.height);
        image = warp_zone(pyramid, refined, zone, refined_size);
        length = refined_length;
        if (!measure_all(image, kMargin, kMargin + length)) return 0;
    }

    // Line lengths to try: TD1 has three lines of 30; two lines are TD2 (36) or TD3 (44), told apart by the
    // pitch the gaps between characters repeat at.
    double mean_height = 0, mean_extent = 0, periodic = 0;
    int periodic_count = 0;
    for (size_t i = 0; i < lines; ++i) {
        mean_height += measures[i].height() / lines;
        mean_extent += (measures[i].right - measures[i].left) / lines;
        double pitch = periodic_pitch(column_profile(image.ink, measures[i]), measures[i]);
        if (pitch > 0) {
            periodic += pitch;
            ++periodic_count;
        }
    }
    std::vector<int> lengths;
    if (lines == 3) {
        lengths = {30};
    } else {
        double estimate = periodic_count > 0 ? mean_extent / (periodic / periodic_count) + kLeftBearing +
                                                   kRightBearing : 0;
        if (estimate > 0 && estimate < 38.5) lengths = {36};
        else if (estimate > 41.5) lengths = {44};
        else lengths = {44, 36};
    }

    size_t produced = 0;
    for (int count : lengths) {
        if (produced >= capacity) break;
        // Where each glyph is, line by line, in strips cut straight from the zone image.
        std::vector<cv::Point2f> grid_points, base_points;
        std::vector<double> pitches;
        double pitch_sum = 0;
        const int width = strip_width(count, pitch_over_cap);
        std::vector<int> offsets(lines, 0);
        for (size_t i = 0; i < lines; ++i) {
            const LineMeasure &measure = measures[i];
            double first_cell = 0, pitch = 0;
            fit_grid(count, measure.left, measure.right, first_cell, pitch);
            pitches.push_back(pitch);
            pitch_sum += pitch;
            // A few cells more on either side: the measured ends may have taken in a card edge or lost a faint
            // character, so the line is the run of `count` cells that matches best.
            const int extra = 3, cells = count + 2 * extra;
            cv::Matx33d base_from_strip = strip_to_base_for_line(image.zone_from_base, measure,
                                                                 first_cell - extra * pitch, pitch, pitch_over_cap);
            cv::Mat strip = sample_strip(pyramid, base_from_strip, strip_width(cells, pitch_over_cap));
            std::vector<cv::Point2d> centres;
            std::vector<float> scores;
            const double cell = kCapHeight * pitch_over_cap;
            track_glyphs(classifier, strip, kPatchWidth, cell, cells, centres, scores);
            double best_sum = -1e9;
            for (int offset = 0; offset <= 2 * extra; ++offset) {
                double sum = 0;
                for (int k = 0; k < cells; ++k) {
                    double value = scores[static_cast<size_t>(k)] - 0.5;
                    sum += (k >= offset && k < offset + count) ? value : -value;
                }
                // Ties go to the measured ends.
                sum -= 0.01 * std::abs(offset - extra);
                if (sum > best_sum) {
                    best_sum = sum;
                    offsets[i] = offset;
                }
            }
            for (int k = 0; k < count; ++k) {
                size_t index = static_cast<size_t>(k + offsets[i]);
                if (scores[index] < 0.7f) continue;
                grid_points.emplace_back(static_cast<float>(k + 0.5), static_cast<float>(i));
                cv::Point2d point = apply(base_from_strip, centres[index]);
                base_points.emplace_back(static_cast<float>(point.x), static_cast<float>(point.y));
            }
            offsets[i] -= extra;
        }
        // The grid homography from every confidently placed glyph: perspective along the lines shows in where
        // the glyphs are, not in the zone's outline.
        double pitch_zone = pitch_sum / lines;
        double line_spacing = kLinePitch / pitch_zone;  // in pitches
        cv::Matx33d base_from_grid;
        bool gridded = false;
        if (grid_points.size() >= static_cast<size_t>(count)) {
            double base_pitch = pitch_zone / std::sqrt(std::abs(cv::determinant(image.zone_from_base)));
            cv::Mat homography = cv::findHomography(grid_points, base_points, cv::RANSAC, 0.2 * base_pitch);
            if (!homography.empty()) {
                base_from_grid = cv::Matx33d(homography);
                gridded = true;
            }
        }
        enrolld_scan_zone_reading &reading = readings[produced];
        std::memset(&reading, 0, sizeof(reading));
        reading.line_count = static_cast<uint32_t>(lines);
        reading.line_length = static_cast<uint32_t>(count);
        reading.upside_down = upside_down ? 1 : 0;
        double sharpness_sum = 0;
        for (size_t i = 0; i < lines; ++i) {
            cv::Matx33d base_from_strip;
            if (gridded) {
                base_from_strip = strip_to_base_in_grid(base_from_grid, static_cast<int>(i), line_spacing,
                                                        pitch_over_cap);
            } else {
                const LineMeasure &measure = measures[i];
                double first_cell = 0, pitch = 0;
                fit_grid(count, measure.left, measure.right, first_cell, pitch);
                base_from_strip = strip_to_base_for_line(image.zone_from_base, measure,
                                                         first_cell + offsets[i] * pitch, pitch, pitch_over_cap);
            }
            cv::Mat strip = sample_strip(pyramid, base_from_strip, width);
            double sharpness = 0;
            recognizer.read(strip, kPatchWidth, kCapHeight * pitch_over_cap, count,
                            reading.glyphs + i * static_cast<size_t>(count), sharpness);
            sharpness_sum += sharpness;
        }
        reading.sharpness = static_cast<float>(sharpness_sum / lines);
        // Geometry: the candidate's band score, lines of one pitch, a pitch that fits the cap height, and how
        // many glyphs the grid placed.
        double low = *std::min_element(pitches.begin(), pitches.end());
        double high = *std::max_element(pitches.begin(), pitches.end());
        double spread = high > 0 ? (high - low) / high : 1;
        double ratio = (low + high) / 2 / std::max(1.0, mean_height) / pitch_over_cap;
        double placed = double(grid_points.size()) / (count * lines);
        double fit = std::exp(-spread / 0.03) * std::exp(-std::abs(std::log(std::max(0.1, ratio))) / 0.25) * placed;
        reading.geometry_score = static_cast<float>(std::min(1.0, double(candidate.score)) * fit);
        cv::Matx33d base_from_zone = inverse(image.zone_from_base);
        const LineMeasure &top = measures.front(), &bottom = measures.back();
        cv::Point2d corners[4] = {apply(base_from_zone, {top.left, top.top}), apply(base_from_zone, {top.right, top.top}),
                                  apply(base_from_zone, {bottom.right, bottom.baseline}),
                                  apply(base_from_zone, {bottom.left, bottom.baseline})};
        for (int k = 0; k < 4; ++k) {
            reading.corners[2 * k] = static_cast<float>(corners[k].x);
            reading.corners[2 * k + 1] = static_cast<float>(corners[k].y);
        }
        ++produced;
    }
    return produced;
}

bool read_can_field(Pyramid &pyramid, const CardOutline &outline, const enrolld_scan_can_region &region,
                    bool upside_down, const OCRBClassifier &classifier, const LineRecognizer &recognizer,
                    enrolld_scan_can_reading &reading) {
    std::memset(&reading, 0, sizeof(reading));
    const double pitch_over_cap = classifier.pitch_over_cap();
    if (!outline.found || region.digit_count == 0 || region.digit_count > ENROLLD_SCAN_MAX_CAN_DIGITS) return false;
    // The card in its own frame, 15 pixels per millimetre of an ID-1 card (85.60 x 53.98 mm).
    const double card_width = 85.60 * 15, card_height = 53.98 * 15;
    std::array<cv::Point2f, 4> corners = outline.corners;
    if (upside_down) corners = {outline.corners[2], outline.corners[3], outline.corners[0], outline.corners[1]};
    std::vector<cv::Point2f> source(corners.begin(), corners.end());
    std::vector<cv::Point2f> target = {{0, 0}, {static_cast<float>(card_width), 0},
                                       {static_cast<float>(card_width), static_cast<float>(card_height)},
                                       {0, static_cast<float>(card_height)}};
    cv::Matx33d card_from_base(cv::getPerspectiveTransform(source, target));
    // The region, with a margin, shifted to the zone image's origin.
    double left = region.left * card_width, top = region.top * card_height;
    double width = region.width * card_width, height = region.height * card_height;
    cv::Matx33d zone_from_card(1, 0, kMargin - left, 0, 1, kMargin - top, 0, 0, 1);
    ZoneImage image;
    image.zone_from_base = zone_from_card * card_from_base;
    cv::Size size(static_cast<int>(width + 2 * kMargin), static_cast<int>(height + 2 * kMargin));
    if (size.width > 4000 || size.height > 4000 || size.width < 16 || size.height < 16) return false;
    cv::Matx33d base_from_zone = inverse(image.zone_from_base);
    double base_length = cv::norm(apply(base_from_zone, {0, 0}) - apply(base_from_zone, {card_width, 0}));
    double level_scale = 1;
    int level = pyramid.level_for(base_length > 0 ? card_width / base_length : 1.0, level_scale);
    cv::Matx33d zone_from_level = image.zone_from_base * inverse(base_to_level(level));
    cv::warpPerspective(pyramid.level(level), image.grey, cv::Mat(zone_from_level), size, cv::INTER_LINEAR,
                        cv::BORDER_REPLICATE);
    image.ink = ink_of(image.grey);

    // The row of digits: the strongest ink band of the region, then its extent.
    LineMeasure measure;
    std::vector<double> rows(static_cast<size_t>(image.ink.rows), 0.0);
    for (int r = 0; r < image.ink.rows; ++r) {
        const float *line = image.ink.ptr<float>(r);
        for (int c = static_cast<int>(kMargin); c < image.ink.cols - static_cast<int>(kMargin); ++c) {
            rows[static_cast<size_t>(r)] += line[c];
        }
    }
    // Averaged over about a digit's height: a security-print line across the region is thin, the digits thick.
    {
        const int window = 25;
        std::vector<double> averaged(rows.size(), 0.0);
        for (size_t r = 0; r < rows.size(); ++r) {
            size_t from = r >= window / 2 ? r - window / 2 : 0, to = std::min(rows.size(), r + window / 2 + 1);
            for (size_t k = from; k < to; ++k) averaged[r] += rows[k] / (to - from);
        }
        rows = averaged;
    }
    int peak = static_cast<int>(std::max_element(rows.begin() + static_cast<std::ptrdiff_t>(kMargin),
                                                 rows.end() - static_cast<std::ptrdiff_t>(kMargin)) - rows.begin());
    // The middle of the band around the peak (the peak itself may sit on the digits' top or bottom strokes).
    int up = peak, down = peak;
    {
        double half = 0.5 * rows[static_cast<size_t>(peak)];
        while (up > 0 && rows[static_cast<size_t>(up - 1)] >= half) --up;
        while (down + 1 < static_cast<int>(rows.size()) && rows[static_cast<size_t>(down + 1)] >= half) ++down;
        peak = (up + down) / 2;
    }
    // Where along that band the digits are: the cluster of inked columns with the most ink (security print
    // and other fields in the region spread thinner).
    double span_left = kMargin, span_right = kMargin + width;
    {
        int band = std::max(8, down - up + 1);
        std::vector<double> columns(static_cast<size_t>(image.ink.cols), 0.0);
        for (int r = std::max(0, up); r <= std::min(image.ink.rows - 1, down); ++r) {
            const float *line = image.ink.ptr<float>(r);
            for (int c = 0; c < image.ink.cols; ++c) columns[static_cast<size_t>(c)] += line[c];
        }
        smooth(columns);
        std::vector<double> sorted = columns;
        std::sort(sorted.begin(), sorted.end());
        double quiet = sorted[static_cast<size_t>(0.2 * (sorted.size() - 1))];
        double strong = sorted[static_cast<size_t>(0.98 * (sorted.size() - 1))];
        double threshold = quiet + 0.25 * (strong - quiet);
        double best_mass = 0;
        int start = -1;
        double mass = 0;
        int last = -1;
        for (int c = 0; c <= image.ink.cols; ++c) {
            bool inked = c < image.ink.cols && columns[static_cast<size_t>(c)] >= threshold;
            if (inked) {
                if (start < 0 || c - last > band) {
                    if (start >= 0 && mass > best_mass) {
                        best_mass = mass;
                        span_left = start;
                        span_right = last + 1;
                    }
                    start = c;
                    mass = 0;
                }
                mass += columns[static_cast<size_t>(c)];
                last = c;
            }
        }
        if (start >= 0 && mass > best_mass) {
            span_left = start;
            span_right = last + 1;
        }
    }
    if (!measure_line(image.ink, peak, span_left, span_right, measure)) return false;
    const int count = static_cast<int>(region.digit_count);
    double first_cell = 0, pitch = 0;
    fit_grid(count, measure.left, measure.right, first_cell, pitch);
    double expected = measure.height() * pitch_over_cap / 1.1;  // digits stand ~1.1 cap heights tall
    // Place the digits: a cell more on either side, each digit tracked, the best run of `count` cells, the
    // grid refitted through the confident ones.
    const int extra = 1, cells = count + 2 * extra;
    const double cell = kCapHeight * pitch_over_cap;
    // The band's middle can be off where security print crosses the digits: try it a little higher and lower
    // and keep the placement where the digits match best.
    cv::Matx33d base_from_tracked;
    std::vector<cv::Point2d> centres;
    std::vector<float> scores;
    double best_total = -1e9;
    for (double shift : {0.0, -0.15, 0.15, -0.3, 0.3}) {
        LineMeasure shifted = measure;
        double offset_rows = shift * pitch / pitch_over_cap;
        shifted.top += offset_rows;
        shifted.baseline += offset_rows;
        cv::Matx33d mapping = strip_to_base_for_line(image.zone_from_base, shifted, first_cell - extra * pitch, pitch,
                                                     pitch_over_cap);
        cv::Mat trial = sample_strip(pyramid, mapping, strip_width(cells, pitch_over_cap));
        std::vector<cv::Point2d> trial_centres;
        std::vector<float> trial_scores;
        track_glyphs(classifier, trial, kPatchWidth, cell, cells, trial_centres, trial_scores);
        std::vector<float> sorted = trial_scores;
        std::sort(sorted.begin(), sorted.end(), std::greater<float>());
        double total = 0;
        for (int k = 0; k < count && k < static_cast<int>(sorted.size()); ++k) total += sorted[static_cast<size_t>(k)];
        if (total > best_total + 0.05) {
            best_total = total;
            base_from_tracked = mapping;
            centres = trial_centres;
            scores = trial_scores;
        }
        if (best_total / count > 0.85) break;
    }
    int offset = extra;
    double best_sum = -1e9;
    for (int candidate = 0; candidate <= 2 * extra; ++candidate) {
        double sum = -0.01 * std::abs(candidate - extra);
        for (int k = 0; k < cells; ++k) {
            double value = scores[static_cast<size_t>(k)] - 0.5;
            sum += (k >= candidate && k < candidate + count) ? value : -value;
        }
        if (sum > best_sum) {
            best_sum = sum;
            offset = candidate;
        }
    }
    std::vector<double> xs(static_cast<size_t>(count)), ys;
    std::vector<bool> confident(static_cast<size_t>(count));
    for (int k = 0; k < count; ++k) {
        const cv::Point2d &found = centres[static_cast<size_t>(k + offset)];
        xs[static_cast<size_t>(k)] = found.x;
        confident[static_cast<size_t>(k)] = scores[static_cast<size_t>(k + offset)] >= 0.6f;
        if (confident[static_cast<size_t>(k)]) ys.push_back(found.y);
    }
    double a = kPatchWidth + (offset + 0.5) * cell, b = cell;
    if (!fit_line(xs, confident, 2.0, a, b) || std::abs(b - cell) > 0.15 * cell) {
        a = kPatchWidth + (offset + 0.5) * cell;
        b = cell;
    }
    std::sort(ys.begin(), ys.end());
    double row = ys.empty() ? kStripCentre : ys[ys.size() / 2];
    double scale = b / cell;
    cv::Matx33d tracked_from_strip(scale, 0, a - 0.5 * b - kPatchWidth * scale, 0, scale,
                                   row - kStripCentre * scale, 0, 0, 1);
    cv::Mat strip = sample_strip(pyramid, base_from_tracked * tracked_from_strip, strip_width(count, pitch_over_cap));
    pitch *= scale;
    double sharpness = 0;
    recognizer.read(strip, kPatchWidth, kCapHeight * pitch_over_cap, count, reading.glyphs, sharpness);
    reading.digit_count = region.digit_count;
    reading.upside_down = upside_down ? 1 : 0;
    reading.sharpness = static_cast<float>(sharpness);
    // Geometry: the share of digits placed with confidence, and a pitch in proportion to the row's height.
    int placed = 0;
    for (int k = 0; k < count; ++k) placed += scores[static_cast<size_t>(k + offset)] >= 0.7f ? 1 : 0;
    double ratio = pitch / std::max(1.0, expected);
    double proportion = std::exp(-std::abs(std::log(std::max(0.1, ratio))) / 0.6);
    reading.geometry_score = static_cast<float>(double(placed) / count * (0.5 + 0.5 * proportion));
    return true;
}

}  // namespace enrolld_scan
