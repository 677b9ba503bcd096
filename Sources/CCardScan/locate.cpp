// Locating the MRZ bands and the card outline.
//
// An MRZ is two or three lines of OCR-B at a fixed pitch, printed edge to edge with '<' fillers: on any
// background it shows as parallel bands of dark strokes of equal length, left-aligned, one and a half to two
// and a half band thicknesses apart (ICAO 9303-3 §4: 10 characters per inch, 6 lines per inch or wider).
// Dark strokes come out of a blackhat; closing with a short horizontal kernel merges the characters of a
// line (within +-35 degrees a horizontal kernel still joins neighbours, and lines stay apart).

#include "locate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <opencv2/imgproc.hpp>

namespace enrolld_scan {

cv::Point2f TextBand::direction() const {
    cv::Point2f axis = end - start;
    float norm = static_cast<float>(cv::norm(axis));
    return norm > 0 ? axis * (1.0f / norm) : cv::Point2f(1, 0);
}

namespace {

float dot(cv::Point2f a, cv::Point2f b) { return a.x * b.x + a.y * b.y; }

// The band of one blob, or false when it is not long, thin and solid enough.
bool band_of(const std::vector<cv::Point> &contour, TextBand &band) {
    double area = cv::contourArea(contour);
    if (area < 40) return false;
    cv::RotatedRect box = cv::minAreaRect(contour);
    cv::Point2f points[4];
    box.points(points);
    cv::Point2f first = points[1] - points[0];
    cv::Point2f second = points[2] - points[1];
    float first_length = static_cast<float>(cv::norm(first));
    float second_length = static_cast<float>(cv::norm(second));
    cv::Point2f axis = first_length >= second_length ? first : second;
    float length = std::max(first_length, second_length);
    float thickness = std::min(first_length, second_length);
    if (length < 40 || thickness < 2.5f || length < 6 * thickness) return false;
    if (axis.x < 0) axis = -axis;
    axis *= 1.0f / length;
    if (std::abs(axis.y) > std::sin(35.0 * CV_PI / 180.0)) return false;
    band.fill = static_cast<float>(area / (double(length) * thickness));
    if (band.fill < 0.25f) return false;
    band.start = box.center - axis * (length / 2);
    band.end = box.center + axis * (length / 2);
    band.thickness = thickness;
    return true;
}

bool same_line(const TextBand &a, const TextBand &b, float axial_gap_limit) {
    cv::Point2f axis = a.direction();
    if (std::abs(dot(axis, b.direction())) < std::cos(3.0 * CV_PI / 180.0)) return false;
    float ratio = std::max(a.thickness, b.thickness) / std::max(1.0f, std::min(a.thickness, b.thickness));
    if (ratio > 1.6f) return false;
    cv::Point2f normal(-axis.y, axis.x);
    float offset = std::abs(dot(b.centre() - a.centre(), normal));
    if (offset > 0.5f * std::max(a.thickness, b.thickness)) return false;
    float a0 = 0, a1 = a.length();
    float b0 = dot(b.start - a.start, axis), b1 = dot(b.end - a.start, axis);
    if (b0 > b1) std::swap(b0, b1);
    float gap = std::max(b0 - a1, a0 - b1);
    return gap <= axial_gap_limit * std::max(a.thickness, b.thickness);
}

TextBand merged(const TextBand &a, const TextBand &b) {
    cv::Point2f axis = a.direction();
    float values[4] = {0, a.length(), dot(b.start - a.start, axis), dot(b.end - a.start, axis)};
    float low = *std::min_element(values, values + 4);
    float high = *std::max_element(values, values + 4);
    cv::Point2f normal(-axis.y, axis.x);
    float la = a.length(), lb = b.length();
    float offset = dot(b.centre() - a.centre(), normal) * lb / std::max(1.0f, la + lb);
    TextBand band;
    band.start = a.start + axis * low + normal * offset;
    band.end = a.start + axis * high + normal * offset;
    band.thickness = (a.thickness * la + b.thickness * lb) / std::max(1.0f, la + lb);
    band.fill = (a.fill * la + b.fill * lb) / std::max(1.0f, la + lb);
    return band;
}

bool near_duplicate(const TextBand &a, const TextBand &b) {
    float tolerance = std::max(a.thickness, b.thickness);
    return cv::norm(a.start - b.start) < tolerance && cv::norm(a.end - b.end) < tolerance;
}

}  // namespace

std::vector<TextBand> find_text_bands(const cv::Mat &grey) {
    cv::Mat smooth, blackhat, mask;
    cv::GaussianBlur(grey, smooth, cv::Size(3, 3), 0);
    cv::morphologyEx(smooth, blackhat, cv::MORPH_BLACKHAT, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(9, 9)));
    // At Otsu's level and again lower: the thin strokes of '<' fillers respond less than letters do, and a run
    // of fillers must stay in its line's band; the lower level also picks up more clutter, so both are kept.
    double level = cv::threshold(blackhat, mask, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
    std::vector<TextBand> bands;
    for (double factor : {1.0, 0.7}) {
        cv::threshold(blackhat, mask, std::max(10.0, factor * level), 255, cv::THRESH_BINARY);
        for (int width : {5, 9, 15}) {
            cv::Mat closed;
            cv::morphologyEx(mask, closed, cv::MORPH_CLOSE,
                             cv::getStructuringElement(cv::MORPH_RECT, cv::Size(width, 3)));
            std::vector<std::vector<cv::Point>> contours;
            cv::findContours(closed, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
            for (const auto &contour : contours) {
                TextBand band;
                if (!band_of(contour, band)) continue;
                bool duplicate = false;
                for (TextBand &existing : bands) {
                    if (near_duplicate(existing, band)) {
                        if (band.fill > existing.fill) existing = band;
                        duplicate = true;
                        break;
                    }
                }
                if (!duplicate) bands.push_back(band);
                if (bands.size() > 4000) break;
            }
        }
    }
    // Lines broken by glare or a gap in the print: join collinear pieces.
    bool changed = true;
    for (int pass = 0; changed && pass < 8; ++pass) {
        changed = false;
        for (size_t i = 0; i < bands.size() && !changed; ++i) {
            for (size_t j = i + 1; j < bands.size(); ++j) {
                if (!same_line(bands[i], bands[j], 2.5f)) continue;
                TextBand joined = merged(bands[i], bands[j]);
                if (near_duplicate(joined, bands[i]) || near_duplicate(joined, bands[j])) {
                    // One contains the other: keep the longer.
                    if (bands[j].length() > bands[i].length()) bands[i] = bands[j];
                } else {
                    bands.push_back(joined);
                }
                bands.erase(bands.begin() + static_cast<std::ptrdiff_t>(j));
                changed = true;
                break;
            }
        }
    }
    return bands;
}

std::vector<ZoneCandidate> group_mrz_bands(const std::vector<TextBand> &bands, size_t limit) {
    struct Pair {
        size_t upper, lower;
        float spacing, score;
    };
    std::vector<Pair> pairs;
    for (size_t i = 0; i < bands.size(); ++i) {
        for (size_t j = 0; j < bands.size(); ++j) {
            if (i == j) continue;
            const TextBand &a = bands[i], &b = bands[j];
            cv::Point2f axis = a.direction();
            float cosine = dot(axis, b.direction());
            if (cosine < std::cos(4.0 * CV_PI / 180.0)) continue;
            cv::Point2f normal(-axis.y, axis.x);  // points down the image
            float spacing = dot(b.centre() - a.centre(), normal);
            float thickness = (a.thickness + b.thickness) / 2;
            if (spacing <= 0) continue;  // b must lie below a
            float relative = spacing / thickness;
            if (relative < 1.0f || relative > 2.8f) continue;
            if (std::max(a.thickness, b.thickness) > 1.7f * std::min(a.thickness, b.thickness)) continue;
            float la = a.length(), lb = b.length();
            // MRZ lines are equally long and aligned at both ends; glare or a faint run of fillers can shorten
            // one band, so one end aligning is enough.
            float ratio = std::min(la, lb) / std::max(la, lb);
            if (ratio < 0.45f) continue;
            float b0 = dot(b.start - a.start, axis), b1 = dot(b.end - a.start, axis);
            float overlap = std::min(la, b1) - std::max(0.0f, b0);
            if (overlap < 0.6f * std::min(la, lb)) continue;
            float misalignment = std::min(std::abs(b0), std::abs(b1 - la)) / std::max(la, lb);
            if (misalignment > 0.1f) continue;
            float angle = std::acos(std::min(1.0f, cosine)) * 180.0f / static_cast<float>(CV_PI);
            float aspect = std::min(1.0f, std::min(la, lb) / (18.0f * thickness));
            float score = std::sqrt(ratio) * std::exp(-angle / 3.0f) * std::exp(-8.0f * misalignment) *
                          std::exp(-std::abs(relative - 1.7f) / 1.2f) * aspect * std::min(a.fill, b.fill);
            pairs.push_back({i, j, spacing, score});
        }
    }
    std::vector<ZoneCandidate> candidates;
    for (const Pair &first : pairs) {
        ZoneCandidate two;
        two.lines = {bands[first.upper], bands[first.lower]};
        two.score = first.score;
        candidates.push_back(two);
        for (const Pair &second : pairs) {
            if (second.upper != first.lower) continue;
            float ratio = std::min(first.spacing, second.spacing) / std::max(first.spacing, second.spacing);
            if (ratio < 0.8f) continue;
            ZoneCandidate three;
            three.lines = {bands[first.upper], bands[first.lower], bands[second.lower]};
            // Three lines that agree are stronger evidence than any pair.
            three.score = std::sqrt(first.score * second.score) * ratio * 1.5f;
            candidates.push_back(three);
        }
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const ZoneCandidate &a, const ZoneCandidate &b) { return a.score > b.score; });
    // A pair inside a chosen triple adds nothing; nor does a group on the same bands as a better one.
    std::vector<ZoneCandidate> chosen;
    for (const ZoneCandidate &candidate : candidates) {
        bool redundant = false;
        for (const ZoneCandidate &kept : chosen) {
            size_t shared = 0;
            for (const TextBand &line : candidate.lines) {
                for (const TextBand &other : kept.lines) {
                    if (near_duplicate(line, other)) ++shared;
                }
            }
            if (shared == candidate.lines.size() || (shared >= 2 && kept.lines.size() == 3)) {
                redundant = true;
                break;
            }
        }
        if (!redundant) chosen.push_back(candidate);
        if (chosen.size() >= limit) break;
    }
    return chosen;
}

namespace {

struct Line {
    cv::Point2d point;      // a point on the line
    cv::Point2d direction;  // unit
    double length = 0;      // of the segment it came from
};

bool intersect(const Line &a, const Line &b, cv::Point2d &at) {
    double cross = a.direction.x * b.direction.y - a.direction.y * b.direction.x;
    if (std::abs(cross) < 1e-6) return false;
    cv::Point2d d = b.point - a.point;
    double t = (d.x * b.direction.y - d.y * b.direction.x) / cross;
    at = a.point + a.direction * t;
    return true;
}

// Share of points along a side (its middle 80%) that lie on an edge.
double support(const cv::Mat &edges, cv::Point2d a, cv::Point2d b) {
    const int samples = 60;
    int hits = 0, total = 0;
    for (int k = 0; k < samples; ++k) {
        double t = 0.1 + 0.8 * k / (samples - 1);
        cv::Point2d p = a + (b - a) * t;
        int x = static_cast<int>(std::lround(p.x)), y = static_cast<int>(std::lround(p.y));
        if (x < 0 || y < 0 || x >= edges.cols || y >= edges.rows) continue;
        ++total;
        if (edges.at<uint8_t>(y, x) != 0) ++hits;
    }
    return total > samples / 2 ? double(hits) / samples : 0.0;
}

// How differently lit the two sides of a quad's side are: the mean grey a few pixels inside (towards
// `centre`) against the mean a few pixels outside. A card's edge separates the card from its background; a
// background line that stands in for one of its sides has background on both hands.
double side_contrast(const cv::Mat &grey, cv::Point2d a, cv::Point2d b, cv::Point2d centre) {
    cv::Point2d direction = (b - a) * (1.0 / std::max(1e-9, cv::norm(b - a)));
    cv::Point2d normal(-direction.y, direction.x);
    if ((centre - a).dot(normal) < 0) normal = -normal;
    double inner = 0, outer = 0;
    int count = 0;
    for (int k = 0; k < 40; ++k) {
        cv::Point2d p = a + (b - a) * (0.1 + 0.8 * k / 39.0);
        cv::Point2d in = p + normal * 5.0, out = p - normal * 5.0;
        int xi = static_cast<int>(std::lround(in.x)), yi = static_cast<int>(std::lround(in.y));
        int xo = static_cast<int>(std::lround(out.x)), yo = static_cast<int>(std::lround(out.y));
        if (xi < 0 || yi < 0 || xi >= grey.cols || yi >= grey.rows) continue;
        if (xo < 0 || yo < 0 || xo >= grey.cols || yo >= grey.rows) continue;
        inner += grey.at<uint8_t>(yi, xi);
        outer += grey.at<uint8_t>(yo, xo);
        ++count;
    }
    // A side along the photo's border has no outside to compare with: it does not count against the quad.
    if (count < 10) return 255;
    return std::abs(inner - outer) / count;
}

// The side near `a`-`b` that lies best on the edges: each end moved up to 8 pixels along the side's normal.
// A quad from a contour's simplified outline or from a short edge segment is a few pixels off at one end, and
// support along a three-pixel edge falls fast with that.
Line snap_side(const cv::Mat &edges, cv::Point2d a, cv::Point2d b, double &best_support) {
    cv::Point2d direction = (b - a) * (1.0 / std::max(1e-9, cv::norm(b - a)));
    cv::Point2d normal(-direction.y, direction.x);
    best_support = support(edges, a, b);
    cv::Point2d best_a = a, best_b = b;
    for (int da = -8; da <= 8; ++da) {
        for (int db = -8; db <= 8; ++db) {
            cv::Point2d p = a + normal * da, q = b + normal * db;
            double value = support(edges, p, q);
            if (value > best_support + 1e-9) {
                best_support = value;
                best_a = p;
                best_b = q;
            }
        }
    }
    Line line;
    line.point = best_a;
    line.length = cv::norm(best_b - best_a);
    line.direction = (best_b - best_a) * (1.0 / std::max(1e-9, line.length));
    return line;
}

// Refits a side to the edge pixels near it (away from the rounded corners).
Line refit(const cv::Mat &edges, cv::Point2d a, cv::Point2d b) {
    Line line;
    line.point = a;
    line.direction = (b - a) * (1.0 / std::max(1e-9, cv::norm(b - a)));
    line.length = cv::norm(b - a);
    cv::Point2d normal(-line.direction.y, line.direction.x);
    std::vector<cv::Point2f> points;
    const int samples = 80;
    for (int k = 0; k < samples; ++k) {
        cv::Point2d p = a + (b - a) * (0.12 + 0.76 * k / (samples - 1));
        for (int offset = -3; offset <= 3; ++offset) {
            cv::Point2d q = p + normal * offset;
            int x = static_cast<int>(std::lround(q.x)), y = static_cast<int>(std::lround(q.y));
            if (x < 0 || y < 0 || x >= edges.cols || y >= edges.rows) continue;
            if (edges.at<uint8_t>(y, x) != 0) points.emplace_back(static_cast<float>(q.x), static_cast<float>(q.y));
        }
    }
    if (points.size() < 20) return line;
    cv::Vec4f fitted;
    cv::fitLine(points, fitted, cv::DIST_HUBER, 0, 0.01, 0.01);
    line.direction = cv::Point2d(fitted[0], fitted[1]);
    line.point = cv::Point2d(fitted[2], fitted[3]);
    return line;
}

}  // namespace

CardOutline find_card_outline(const cv::Mat &grey) {
    CardOutline best;
    cv::Mat smooth, edges, thin;
    cv::GaussianBlur(grey, smooth, cv::Size(5, 5), 0);
    std::vector<uchar> values(smooth.begin<uchar>(), smooth.end<uchar>());
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
    double median = values.empty() ? 128 : values[values.size() / 2];
    cv::Canny(smooth, thin, std::max(8.0, 0.33 * median), std::max(24.0, 0.8 * median));
    cv::dilate(thin, edges, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3)));

    // Straight edge segments, longest first.
    const double short_side = std::min(grey.cols, grey.rows);
    std::vector<cv::Vec4i> segments;
    // Thin edges for the accumulator, and again thickened to three pixels: a long edge a fraction of a degree
    // off the accumulator's angle leaves a one-pixel line and breaks into short pieces.
    cv::HoughLinesP(thin, segments, 1, CV_PI / 180, 50, 0.12 * short_side, 8);
    {
        cv::Mat thick;
        std::vector<cv::Vec4i> more;
        cv::dilate(thin, thick, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3)));
        cv::HoughLinesP(thick, more, 1, CV_PI / 360, 100, 0.2 * short_side, 4);
        segments.insert(segments.end(), more.begin(), more.end());
    }
    std::vector<Line> lines;
    for (const cv::Vec4i &s : segments) {
        Line line;
        cv::Point2d a(s[0], s[1]), b(s[2], s[3]);
        line.length = cv::norm(b - a);
        if (line.length < 1) continue;
        line.point = (a + b) * 0.5;
        line.direction = (b - a) * (1.0 / line.length);
        if (line.direction.x < 0 || (line.direction.x == 0 && line.direction.y < 0)) line.direction = -line.direction;
        // Collinear pieces of one edge: keep the longest.
        bool duplicate = false;
        for (Line &kept : lines) {
            cv::Point2d normal(-kept.direction.y, kept.direction.x);
            double angle = std::abs(kept.direction.x * line.direction.y - kept.direction.y * line.direction.x);
            double distance = std::abs((line.point - kept.point).dot(normal));
            if (angle < 0.05 && distance < 6) {
                duplicate = true;
                if (line.length > kept.length) kept = line;
                break;
            }
        }
        if (!duplicate) lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end(), [](const Line &a, const Line &b) { return a.length > b.length; });
    if (lines.size() > 45) lines.resize(45);

    // At most this many line quads (45 lines could make a million): the longest lines come first, and with them
    // the card's sides.
    constexpr size_t kMaximumQuads = 20000;
    // Candidate quads: two roughly parallel pairs of segments, roughly perpendicular to each other
    // (perspective bends both), and the convex outlines of edge contours that simplify to four corners.
    std::vector<std::array<cv::Point2d, 4>> quads;
    auto parallel = [](const Line &a, const Line &b) {
        return std::abs(a.direction.x * b.direction.y - a.direction.y * b.direction.x) < std::sin(25 * CV_PI / 180);
    };
    for (size_t a = 0; a < lines.size(); ++a) {
        for (size_t b = a + 1; b < lines.size(); ++b) {
            if (!parallel(lines[a], lines[b])) continue;
            cv::Point2d normal(-lines[a].direction.y, lines[a].direction.x);
            if (std::abs((lines[b].point - lines[a].point).dot(normal)) < 0.1 * short_side) continue;
            for (size_t c = 0; c < lines.size(); ++c) {
                if (c == a || c == b || parallel(lines[a], lines[c])) continue;
                for (size_t d = c + 1; d < lines.size(); ++d) {
                    if (d == a || d == b || !parallel(lines[c], lines[d])) continue;
                    std::array<cv::Point2d, 4> corner;
                    if (intersect(lines[a], lines[c], corner[0]) && intersect(lines[c], lines[b], corner[1]) &&
                        intersect(lines[b], lines[d], corner[2]) && intersect(lines[d], lines[a], corner[3])) {
                        quads.push_back(corner);
                    }
                }
                if (quads.size() >= kMaximumQuads) break;
            }
            if (quads.size() >= kMaximumQuads) break;
        }
        if (quads.size() >= kMaximumQuads) break;
    }
    {
        std::vector<std::vector<cv::Point>> contours;
        cv::findContours(edges.clone(), contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
        for (const auto &contour : contours) {
            if (contour.size() < 4) continue;
            std::vector<cv::Point> hull, quad;
            cv::convexHull(contour, hull);
            if (cv::contourArea(hull) < 0.06 * double(grey.cols) * grey.rows) continue;
            cv::approxPolyDP(hull, quad, 0.02 * cv::arcLength(hull, true), true);
            if (quad.size() != 4) continue;
            std::array<cv::Point2d, 4> corner;
            for (size_t k = 0; k < 4; ++k) corner[k] = cv::Point2d(quad[k].x, quad[k].y);
            quads.push_back(corner);
        }
    }

    // Scored by how much of their outline lies on edges, by their size and shape, and by the contrast across
    // their weakest side.
    const double image_area = double(grey.cols) * grey.rows;
    double best_score = 0;
    std::array<cv::Point2d, 4> chosen;
    // A background line that closes a larger quad with three of the card's sides has background on both of its
    // hands, and usually leaves the card's shape: an ID-1 card is 1.586 times as wide as it is tall (perspective
    // moves that a little).
    auto shape_factor = [](double aspect) {
        const double off_shape = std::log(aspect / 1.586) / 0.2;
        return std::exp(-off_shape * off_shape);
    };
    auto consider = [&](const std::array<cv::Point2d, 4> &corner, double potential, double worst, double mean) {
        cv::Point2d centre = (corner[0] + corner[1] + corner[2] + corner[3]) * 0.25;
        double weakest_contrast = 255;
        for (size_t k = 0; k < 4; ++k) {
            weakest_contrast =
                std::min(weakest_contrast, side_contrast(smooth, corner[k], corner[(k + 1) % 4], centre));
        }
        double score = potential * mean * worst * std::min(1.0, weakest_contrast / 48.0);
        if (score > best_score) {
            best_score = score;
            chosen = corner;
        }
    };
    auto supported = [&](const std::array<cv::Point2d, 4> &corner, double &worst, double &mean) {
        worst = 1;
        mean = 0;
        for (size_t k = 0; k < 4; ++k) {
            double value = support(edges, corner[k], corner[(k + 1) % 4]);
            worst = std::min(worst, value);
            mean += value / 4;
        }
    };
    // Quads whose sides are near edges but not quite on them, kept to be snapped (the most promising first).
    struct NearMiss {
        std::array<cv::Point2d, 4> corner;
        double potential;  // size and shape: a bound on the score
        double rank;       // and how much of the outline is on edges already
        double worst;
    };
    std::vector<NearMiss> near_misses;
    for (const auto &corner : quads) {
        std::vector<cv::Point2f> quad;
        bool inside = true;
        for (const cv::Point2d &p : corner) {
            inside = inside && p.x > -0.05 * grey.cols && p.y > -0.05 * grey.rows && p.x < 1.05 * grey.cols &&
                     p.y < 1.05 * grey.rows;
            quad.emplace_back(static_cast<float>(p.x), static_cast<float>(p.y));
        }
        if (!inside || !cv::isContourConvex(quad)) continue;
        double area = std::abs(cv::contourArea(quad));
        if (area < 0.06 * image_area || area > 0.97 * image_area) continue;
        double side[4];
        for (int k = 0; k < 4; ++k) side[k] = cv::norm(corner[static_cast<size_t>(k)] - corner[static_cast<size_t>((k + 1) % 4)]);
        double long_sides = std::max(side[0] + side[2], side[1] + side[3]);
        double short_sides = std::min(side[0] + side[2], side[1] + side[3]);
        double aspect = long_sides / std::max(1.0, short_sides);
        if (aspect < 1.2 || aspect > 2.1) continue;
        double worst = 0, mean = 0;
        supported(corner, worst, mean);
        const double potential = (area / image_area) * (area / image_area) * shape_factor(aspect);
        if (worst >= 0.45) {
            consider(corner, potential, worst, mean);
        } else if (mean >= 0.3) {
            near_misses.push_back({corner, potential, potential * mean, worst});
        }
    }
    // Snap each side of the most promising near misses onto the edge beside it, and take the corners where the
    // snapped sides meet. Bounded: a photo full of lines makes many near misses, and each snap costs
    // 4 x 17 x 17 support checks.
    const size_t snaps = std::min<size_t>(near_misses.size(), 16);
    std::partial_sort(near_misses.begin(), near_misses.begin() + static_cast<std::ptrdiff_t>(snaps), near_misses.end(),
                      [](const NearMiss &a, const NearMiss &b) { return a.rank > b.rank; });
    for (size_t index = 0; index < snaps; ++index) {
        const NearMiss &miss = near_misses[index];
        if (miss.potential <= best_score) continue;
        Line snapped[4];
        for (size_t k = 0; k < 4; ++k) {
            double value = 0;
            snapped[k] = snap_side(edges, miss.corner[k], miss.corner[(k + 1) % 4], value);
        }
        std::array<cv::Point2d, 4> moved;
        bool met = true;
        for (size_t k = 0; k < 4; ++k) met = met && intersect(snapped[(k + 3) % 4], snapped[k], moved[k]);
        for (size_t k = 0; k < 4 && met; ++k) met = cv::norm(moved[k] - miss.corner[k]) < 12;
        if (!met) continue;
        double worst = 0, mean = 0;
        supported(moved, worst, mean);
        if (worst < 0.45 || worst <= miss.worst) continue;
        // Size and shape as before the snap, which moved the corners by a few pixels.
        consider(moved, miss.potential, worst, mean);
    }
    if (best_score <= 0) return best;
    // Refit each side to its edge pixels, then the corners where the sides meet (the card's corners are
    // rounded: the outline's own corners cut them).
    Line sides[4];
    for (size_t k = 0; k < 4; ++k) sides[k] = refit(thin, chosen[k], chosen[(k + 1) % 4]);
    cv::Point2d refined[4];
    bool ok = true;
    for (size_t k = 0; k < 4; ++k) ok = ok && intersect(sides[(k + 3) % 4], sides[k], refined[k]);
    for (size_t k = 0; k < 4 && ok; ++k) ok = cv::norm(refined[k] - chosen[k]) < 0.06 * short_side;
    if (!ok) std::copy(chosen.begin(), chosen.end(), refined);
    // Clockwise from the corner nearest the top left, then the long side on top.
    std::vector<cv::Point2f> points;
    for (const cv::Point2d &p : refined) points.emplace_back(static_cast<float>(p.x), static_cast<float>(p.y));
    cv::Point2f centre = (points[0] + points[1] + points[2] + points[3]) * 0.25f;
    std::sort(points.begin(), points.end(), [&](cv::Point2f p, cv::Point2f q) {
        return std::atan2(p.y - centre.y, p.x - centre.x) < std::atan2(q.y - centre.y, q.x - centre.x);
    });
    size_t first = 0;
    for (size_t k = 1; k < 4; ++k) {
        if (points[k].x + points[k].y < points[first].x + points[first].y) first = k;
    }
    std::array<cv::Point2f, 4> ordered;
    for (size_t k = 0; k < 4; ++k) ordered[k] = points[(first + k) % 4];
    if (cv::norm(ordered[1] - ordered[0]) < cv::norm(ordered[2] - ordered[1])) {
        ordered = {ordered[3], ordered[0], ordered[1], ordered[2]};
    }
    best.found = true;
    best.corners = ordered;
    return best;
}

}  // namespace enrolld_scan
