// Synthetic identity documents and camera scenes, for tests and enroll-bench. Everything drawn here is ours:
// the OCR-B and DejaVu fonts are Debian's (public domain / free), the security print is random curves, the
// portrait is the caller's.
//
// Card geometry (ICAO 9303-3 §4, 9303-4/5/6): ID-1 85.60 x 53.98 mm, ID-2 105 x 74 mm, ID-3 (passport data
// page) 125 x 88 mm; MRZ in OCR-B size 1 at 2.54 mm pitch, lines 4.23 mm apart, centred, near the bottom edge.

#include "CCardScan.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "font.hpp"

using namespace enrolld_scan;

namespace {

void copy_message(const std::string &text, char *message, size_t capacity) {
    if (message == nullptr || capacity == 0) return;
    size_t count = std::min(text.size(), capacity - 1);
    std::memcpy(message, text.data(), count);
    message[count] = '\0';
}

std::vector<std::string> split_lines(const char *text) {
    std::vector<std::string> lines;
    if (text == nullptr) return lines;
    std::stringstream stream(text);
    std::string line;
    while (std::getline(stream, line)) lines.push_back(line);
    return lines;
}

struct CardSize {
    double width_mm, height_mm;
};

CardSize size_of(enrolld_synth_layout layout) {
    switch (layout) {
    case ENROLLD_SYNTH_TD2: return {105.0, 74.0};
    case ENROLLD_SYNTH_TD3: return {125.0, 88.0};
    default: return {85.60, 53.98};
    }
}

// Ink of `colour` over the card where `coverage` is set.
void paint(cv::Mat &card, const cv::Mat &coverage, cv::Scalar colour) {
    for (int r = 0; r < card.rows; ++r) {
        cv::Vec3b *pixel = card.ptr<cv::Vec3b>(r);
        const uint8_t *alpha = coverage.ptr<uint8_t>(r);
        for (int c = 0; c < card.cols; ++c) {
            if (alpha[c] == 0) continue;
            double a = alpha[c] / 255.0;
            for (int k = 0; k < 3; ++k) {
                pixel[c][k] = cv::saturate_cast<uint8_t>(pixel[c][k] * (1 - a) + colour[k] * a);
            }
        }
    }
}

cv::Scalar pastel(cv::RNG &rng) {
    return cv::Scalar(rng.uniform(185, 250), rng.uniform(185, 250), rng.uniform(185, 250));
}

// Security print: fine sinusoidal curves (guilloche-like) and a rosette, in light tints.
void security_print(cv::Mat &card, cv::RNG &rng, double ppm) {
    cv::Scalar tint = pastel(rng) - cv::Scalar(40, 40, 40);
    int curves = rng.uniform(12, 30);
    for (int k = 0; k < curves; ++k) {
        double amplitude = rng.uniform(2.0, 9.0) * ppm, period = rng.uniform(8.0, 30.0) * ppm;
        double phase = rng.uniform(0.0, 6.28), offset = rng.uniform(0.0, 1.0) * card.rows;
        std::vector<cv::Point> points;
        for (int x = 0; x < card.cols; x += 3) {
            points.emplace_back(x, static_cast<int>(offset + amplitude * std::sin(phase + x / period * 6.283)));
        }
        cv::polylines(card, points, false, tint, 1, cv::LINE_AA);
    }
    cv::Point centre(rng.uniform(card.cols / 2, card.cols), rng.uniform(0, card.rows / 2));
    for (int k = 0; k < 24; ++k) {
        double angle = k * 15.0;
        cv::ellipse(card, centre, cv::Size(static_cast<int>(12 * ppm), static_cast<int>(4 * ppm)), angle, 0, 360,
                    tint, 1, cv::LINE_AA);
    }
}

}  // namespace

extern "C" {

enrolld_scan_status enrolld_synth_render_card(const enrolld_synth_card *card, uint8_t **rgb_out,
                                              uint32_t *width_out, uint32_t *height_out, char *message,
                                              size_t message_capacity) {
    if (card == nullptr || rgb_out == nullptr || width_out == nullptr || height_out == nullptr ||
        card->ocrb_font_path == nullptr || card->text_font_path == nullptr || card->pixels_per_mm < 4 ||
        card->pixels_per_mm > 40) {
        copy_message("invalid card description", message, message_capacity);
        return ENROLLD_SCAN_INVALID_ARGUMENT;
    }
    *rgb_out = nullptr;
    try {
        bool missing = false;
        std::string text;
        auto ocrb = FontRenderer::load(card->ocrb_font_path, missing, text);
        if (!ocrb) {
            copy_message(text, message, message_capacity);
            return missing ? ENROLLD_SCAN_FONT_MISSING : ENROLLD_SCAN_FONT_INVALID;
        }
        auto sans = FontRenderer::load(card->text_font_path, missing, text);
        if (!sans) {
            copy_message(text, message, message_capacity);
            return missing ? ENROLLD_SCAN_FONT_MISSING : ENROLLD_SCAN_FONT_INVALID;
        }
        const double ppm = card->pixels_per_mm;
        CardSize size = size_of(card->layout);
        cv::Mat image(static_cast<int>(std::lround(size.height_mm * ppm)), static_cast<int>(std::lround(size.width_mm * ppm)),
                      CV_8UC3);
        cv::RNG rng(card->seed);
        // Background: a soft gradient between two pastels, then the security print.
        cv::Scalar top = pastel(rng), bottom = pastel(rng);
        for (int r = 0; r < image.rows; ++r) {
            double t = double(r) / std::max(1, image.rows - 1);
            image.row(r).setTo(top * (1 - t) + bottom * t);
        }
        security_print(image, rng, ppm);
        cv::Scalar ink(rng.uniform(0, 50), rng.uniform(0, 40), rng.uniform(0, 40));
        cv::Scalar heading(rng.uniform(20, 120), rng.uniform(20, 90), rng.uniform(40, 140));

        // Printed data: a heading and the visual zone's lines beside the portrait.
        cv::Mat coverage(image.size(), CV_8U, cv::Scalar(0));
        const double em_mrz = 2.54 / 0.72 * ppm;  // OCR-B: advance 0.72 em = 2.54 mm
        bool front = card->layout == ENROLLD_SYNTH_TD1_FRONT;
        bool has_portrait = card->layout != ENROLLD_SYNTH_TD1_BACK && card->portrait_rgb != nullptr &&
                            card->portrait_width > 0 && card->portrait_height > 0;
        double portrait_left = 4 * ppm, portrait_top = (front ? 11 : 14) * ppm;
        double portrait_height = (front ? 0.58 : 0.45) * size.height_mm * ppm;
        double portrait_width = portrait_height * 0.78;
        cv::Mat headline(image.size(), CV_8U, cv::Scalar(0));
        const char *title = card->layout == ENROLLD_SYNTH_TD3 ? "UTOPIA  PASSPORT  PASSEPORT"
                            : front                           ? "UTOPIA  IDENTITY CARD"
                                                              : "UTOPIA  RESIDENCE  DOCUMENT";
        sans->draw(headline, title, {4 * ppm, 7 * ppm}, 4.2 * ppm);
        paint(image, headline, heading);
        double text_left = has_portrait ? portrait_left + portrait_width + 4 * ppm : 5 * ppm;
        double y = portrait_top + 2 * ppm;
        for (const std::string &line : split_lines(card->visual_text)) {
            sans->draw(coverage, line, {text_left, y}, 3.0 * ppm);
            y += 4.6 * ppm;
            if (card->layout == ENROLLD_SYNTH_TD1_BACK && y > size.height_mm * ppm * 0.55) break;
        }
        if (has_portrait) {
            cv::Mat portrait(static_cast<int>(card->portrait_height), static_cast<int>(card->portrait_width), CV_8UC3,
                             const_cast<uint8_t *>(card->portrait_rgb));
            cv::Mat scaled, bgr;
            cv::cvtColor(portrait, bgr, cv::COLOR_RGB2BGR);
            cv::resize(bgr, scaled, cv::Size(static_cast<int>(portrait_width), static_cast<int>(portrait_height)),
                       0, 0, cv::INTER_AREA);
            cv::Rect target(static_cast<int>(portrait_left), static_cast<int>(portrait_top), scaled.cols, scaled.rows);
            target &= cv::Rect(0, 0, image.cols, image.rows);
            scaled(cv::Rect(0, 0, target.width, target.height)).copyTo(image(target));
        }

        // The MRZ, or the CAN on a card front.
        if (front) {
            std::string can = card->can != nullptr ? card->can : "";
            const enrolld_scan_can_region &region = card->can_region;
            double x = region.left * size.width_mm * ppm + 1.0 * ppm;
            double baseline = (region.top + region.height / 2) * size.height_mm * ppm + 0.35 * em_mrz * 0.97;
            ocrb->draw(coverage, can, {x, baseline}, em_mrz, 2.54 * ppm);
        } else {
            std::vector<std::string> lines = split_lines(card->mrz);
            double line_pitch = 4.23 * ppm;
            double bottom = size.height_mm * ppm - (card->layout == ENROLLD_SYNTH_TD1_BACK ? 3.2 : 4.0) * ppm;
            for (size_t i = 0; i < lines.size(); ++i) {
                double width = lines[i].size() * 2.54 * ppm;
                double x = (image.cols - width) / 2;
                double baseline = bottom - (lines.size() - 1 - i) * line_pitch;
                ocrb->draw(coverage, lines[i], {x, baseline}, em_mrz, 2.54 * ppm);
            }
        }
        paint(image, coverage, ink);

        cv::Mat rgb;
        cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
        size_t bytes = rgb.total() * 3;
        auto *buffer = static_cast<uint8_t *>(std::malloc(bytes));
        if (buffer == nullptr) return ENROLLD_SCAN_OUT_OF_MEMORY;
        std::memcpy(buffer, rgb.data, bytes);
        *rgb_out = buffer;
        *width_out = static_cast<uint32_t>(rgb.cols);
        *height_out = static_cast<uint32_t>(rgb.rows);
        return ENROLLD_SCAN_OK;
    } catch (const std::bad_alloc &) {
        copy_message("out of memory", message, message_capacity);
        return ENROLLD_SCAN_OUT_OF_MEMORY;
    } catch (const std::exception &error) {
        copy_message(error.what(), message, message_capacity);
        return ENROLLD_SCAN_INTERNAL;
    }
}

enrolld_scan_status enrolld_synth_compose(const uint8_t *card_rgb, uint32_t card_width, uint32_t card_height,
                                          const enrolld_synth_scene *scene, uint8_t **rgb_out,
                                          float card_corners_out[8], char *message, size_t message_capacity) {
    if (card_rgb == nullptr || scene == nullptr || rgb_out == nullptr || card_width == 0 || card_height == 0 ||
        scene->width < 64 || scene->height < 64 || scene->width > 8192 || scene->height > 8192) {
        copy_message("invalid scene", message, message_capacity);
        return ENROLLD_SCAN_INVALID_ARGUMENT;
    }
    *rgb_out = nullptr;
    try {
        cv::RNG rng(scene->seed);
        const int W = static_cast<int>(scene->width), H = static_cast<int>(scene->height);
        cv::Mat card(static_cast<int>(card_height), static_cast<int>(card_width), CV_8UC3, const_cast<uint8_t *>(card_rgb));
        cv::Mat scene_image(H, W, CV_32FC3);

        // Background.
        cv::Scalar base(rng.uniform(20, 230), rng.uniform(20, 230), rng.uniform(20, 230));
        switch (scene->background) {
        case 0:
            scene_image.setTo(base);
            break;
        case 1: {
            cv::Scalar other(rng.uniform(20, 230), rng.uniform(20, 230), rng.uniform(20, 230));
            for (int r = 0; r < H; ++r) {
                double t = double(r) / (H - 1);
                scene_image.row(r).setTo(base * (1 - t) + other * t);
            }
            break;
        }
        case 2: {
            // Wood-like grain: warped stripes.
            double period = rng.uniform(8.0, 30.0), warp = rng.uniform(10.0, 60.0);
            for (int r = 0; r < H; ++r) {
                cv::Vec3f *row = scene_image.ptr<cv::Vec3f>(r);
                for (int c = 0; c < W; ++c) {
                    double v = 0.5 + 0.5 * std::sin((r + warp * std::sin(c / 97.0)) / period);
                    for (int k = 0; k < 3; ++k) row[c][k] = static_cast<float>(base[k] * (0.7 + 0.4 * v));
                }
            }
            break;
        }
        default: {
            // Clutter: boxes, discs, lines and text of every colour, some of it dark and text-like.
            scene_image.setTo(base);
            int shapes = rng.uniform(40, 120);
            for (int k = 0; k < shapes; ++k) {
                cv::Scalar colour(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255));
                cv::Point a(rng.uniform(-50, W + 50), rng.uniform(-50, H + 50));
                cv::Point b(rng.uniform(-50, W + 50), rng.uniform(-50, H + 50));
                switch (rng.uniform(0, 4)) {
                case 0: cv::rectangle(scene_image, a, a + (b - a) / 4, colour, cv::FILLED); break;
                case 1: cv::circle(scene_image, a, rng.uniform(5, 80), colour, cv::FILLED, cv::LINE_AA); break;
                case 2: cv::line(scene_image, a, b, colour, rng.uniform(1, 6), cv::LINE_AA); break;
                default: {
                    std::string words;
                    int length = rng.uniform(5, 30);
                    for (int i = 0; i < length; ++i) words += static_cast<char>(rng.uniform(0, 3) == 0 ? ' ' :
                                                                               rng.uniform('A', 'Z' + 1));
                    cv::putText(scene_image, words, a, cv::FONT_HERSHEY_SIMPLEX, rng.uniform(0.4, 1.6), colour,
                                rng.uniform(1, 3), cv::LINE_AA);
                }
                }
            }
        }
        }

        // Where the card goes: a rectangle of the requested width, turned, then keystoned.
        double width = scene->card_width_fraction * W;
        double height = width * card.rows / card.cols;
        cv::Point2d centre(scene->center_x * W, scene->center_y * H);
        double angle = scene->rotation_degrees * CV_PI / 180.0;
        double tx = std::clamp<double>(scene->tilt_x, -0.4, 0.4), ty = std::clamp<double>(scene->tilt_y, -0.4, 0.4);
        // Keystone: a horizontal tilt narrows one vertical edge, a vertical tilt one horizontal edge.
        cv::Point2d local[4] = {{-width / 2 * (1 - std::max(0.0, ty)), -height / 2 * (1 - std::max(0.0, tx))},
                                {width / 2 * (1 - std::max(0.0, ty)), -height / 2 * (1 - std::max(0.0, -tx))},
                                {width / 2 * (1 - std::max(0.0, -ty)), height / 2 * (1 - std::max(0.0, -tx))},
                                {-width / 2 * (1 - std::max(0.0, -ty)), height / 2 * (1 - std::max(0.0, tx))}};
        std::vector<cv::Point2f> target, source = {{0, 0}, {static_cast<float>(card.cols), 0},
                                                   {static_cast<float>(card.cols), static_cast<float>(card.rows)},
                                                   {0, static_cast<float>(card.rows)}};
        for (int k = 0; k < 4; ++k) {
            double x = local[k].x * std::cos(angle) - local[k].y * std::sin(angle);
            double y = local[k].x * std::sin(angle) + local[k].y * std::cos(angle);
            target.emplace_back(static_cast<float>(centre.x + x), static_cast<float>(centre.y + y));
            if (card_corners_out != nullptr) {
                card_corners_out[2 * k] = target.back().x;
                card_corners_out[2 * k + 1] = target.back().y;
            }
        }
        cv::Mat transform = cv::getPerspectiveTransform(source, target);

        // Rounded-corner mask (ID-1: 3.18 mm radius), with a soft shadow under the card.
        cv::Mat mask(card.size(), CV_8U, cv::Scalar(0));
        int radius = std::max(2, static_cast<int>(0.037 * card.cols));
        cv::rectangle(mask, cv::Rect(radius, 0, card.cols - 2 * radius, card.rows), cv::Scalar(255), cv::FILLED);
        cv::rectangle(mask, cv::Rect(0, radius, card.cols, card.rows - 2 * radius), cv::Scalar(255), cv::FILLED);
        for (cv::Point corner : {cv::Point(radius, radius), cv::Point(card.cols - radius - 1, radius),
                                 cv::Point(card.cols - radius - 1, card.rows - radius - 1),
                                 cv::Point(radius, card.rows - radius - 1)}) {
            cv::circle(mask, corner, radius, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
        }
        cv::Mat warped_card, warped_mask;
        cv::Mat card_float;
        card.convertTo(card_float, CV_32FC3);
        cv::warpPerspective(card_float, warped_card, transform, cv::Size(W, H), cv::INTER_LINEAR);
        cv::warpPerspective(mask, warped_mask, transform, cv::Size(W, H), cv::INTER_LINEAR);
        cv::Mat alpha, shadow;
        warped_mask.convertTo(alpha, CV_32F, 1 / 255.0);
        cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, width * 0.02, 0, 1, width * 0.03);
        cv::warpAffine(alpha, shadow, shift, alpha.size());
        cv::GaussianBlur(shadow, shadow, cv::Size(0, 0), std::max(1.0, width * 0.015));
        for (int r = 0; r < H; ++r) {
            cv::Vec3f *out = scene_image.ptr<cv::Vec3f>(r);
            const cv::Vec3f *in = warped_card.ptr<cv::Vec3f>(r);
            const float *a = alpha.ptr<float>(r);
            const float *s = shadow.ptr<float>(r);
            for (int c = 0; c < W; ++c) {
                cv::Vec3f background = out[c] * (1.0f - 0.45f * s[c]);
                out[c] = background * (1 - a[c]) + in[c] * a[c];
            }
        }

        // Light: a shadow band across the card, glare, overall gain.
        cv::Mat light(H, W, CV_32F, cv::Scalar(1.0f));
        if (scene->shadow_strength > 0) {
            double direction = rng.uniform(0.0, CV_PI);
            cv::Point2d normal(std::cos(direction), std::sin(direction));
            double offset = rng.uniform(-0.3, 0.3) * width, spread = rng.uniform(0.1, 0.4) * width;
            for (int r = 0; r < H; ++r) {
                float *row = light.ptr<float>(r);
                for (int c = 0; c < W; ++c) {
                    double d = (c - centre.x) * normal.x + (r - centre.y) * normal.y - offset;
                    double t = 0.5 + 0.5 * std::tanh(d / spread);
                    row[c] = static_cast<float>(1.0 - scene->shadow_strength * t);
                }
            }
        }
        cv::Mat glare(H, W, CV_32F, cv::Scalar(0.0f));
        if (scene->glare_strength > 0) {
            std::vector<cv::Point2f> where = {{scene->glare_x * card.cols, scene->glare_y * card.rows}};
            std::vector<cv::Point2f> placed;
            cv::perspectiveTransform(where, placed, transform);
            double radius_px = std::max(2.0, double(scene->glare_radius) * width);
            for (int r = 0; r < H; ++r) {
                float *row = glare.ptr<float>(r);
                for (int c = 0; c < W; ++c) {
                    double dx = (c - placed[0].x) / (1.6 * radius_px), dy = (r - placed[0].y) / radius_px;
                    row[c] = static_cast<float>(scene->glare_strength * 255.0 * std::exp(-(dx * dx + dy * dy)));
                }
            }
        }
        for (int r = 0; r < H; ++r) {
            cv::Vec3f *out = scene_image.ptr<cv::Vec3f>(r);
            const float *l = light.ptr<float>(r);
            const float *g = glare.ptr<float>(r);
            for (int c = 0; c < W; ++c) {
                for (int k = 0; k < 3; ++k) out[c][k] = (out[c][k] * l[c] + g[c]) * scene->gain;
            }
        }

        // Optics: focus blur and motion blur; then sensor noise.
        if (scene->blur_sigma > 0.05f) cv::GaussianBlur(scene_image, scene_image, cv::Size(0, 0), scene->blur_sigma);
        if (scene->motion_length >= 1.5f) {
            int size = static_cast<int>(std::ceil(scene->motion_length)) | 1;
            cv::Mat kernel(size, size, CV_32F, cv::Scalar(0));
            double a = scene->motion_angle_degrees * CV_PI / 180.0;
            cv::Point2d half(std::cos(a) * scene->motion_length / 2, std::sin(a) * scene->motion_length / 2);
            cv::Point2d middle(size / 2.0, size / 2.0);
            cv::line(kernel, middle - half, middle + half, cv::Scalar(1.0), 1, cv::LINE_AA);
            double sum = cv::sum(kernel)[0];
            if (sum > 0) {
                kernel /= sum;
                cv::filter2D(scene_image, scene_image, -1, kernel);
            }
        }
        if (scene->noise_sigma > 0) {
            cv::Mat noise(H, W, CV_32FC3);
            rng.fill(noise, cv::RNG::NORMAL, 0, scene->noise_sigma);
            scene_image += noise;
        }
        // The card came in as RGB and the background colours are random: the scene is RGB throughout.
        cv::Mat rgb;
        scene_image.convertTo(rgb, CV_8UC3);
        size_t bytes = rgb.total() * 3;
        auto *buffer = static_cast<uint8_t *>(std::malloc(bytes));
        if (buffer == nullptr) return ENROLLD_SCAN_OUT_OF_MEMORY;
        std::memcpy(buffer, rgb.data, bytes);
        *rgb_out = buffer;
        return ENROLLD_SCAN_OK;
    } catch (const std::bad_alloc &) {
        copy_message("out of memory", message, message_capacity);
        return ENROLLD_SCAN_OUT_OF_MEMORY;
    } catch (const std::exception &error) {
        copy_message(error.what(), message, message_capacity);
        return ENROLLD_SCAN_INTERNAL;
    }
}

}  // extern "C"
