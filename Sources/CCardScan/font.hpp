// Glyph rendering through FreeType: the OCR-B templates of the classifier and the text of synthetic cards.
// Internal to CCardScan. A FontRenderer owns its own FT_Library, so different renderers may be used on
// different threads; one renderer is not thread-safe.
#ifndef ENROLLD_CCARDSCAN_FONT_HPP
#define ENROLLD_CCARDSCAN_FONT_HPP

#include <memory>
#include <string>

#include <opencv2/core.hpp>

namespace enrolld_scan {

struct RenderedGlyph {
    cv::Mat coverage;  // CV_8U, 255 = ink
    int left = 0;      // bitmap origin relative to the pen position, pixels (x right)
    int top = 0;       // bitmap top above the baseline, pixels (y up)
    int advance = 0;   // pen advance, pixels
};

class FontRenderer {
public:
    // Loads a font file; nullptr with a message when the file is missing or not a font.
    static std::unique_ptr<FontRenderer> load(const std::string &path, bool &missing, std::string &message);
    ~FontRenderer();
    FontRenderer(const FontRenderer &) = delete;
    FontRenderer &operator=(const FontRenderer &) = delete;

    // Renders one character at an em size in pixels; false when the font has no glyph for it.
    bool render(char character, double em_pixels, RenderedGlyph &glyph);

    // Draws a line of text with its baseline starting at `origin` onto an 8-bit coverage canvas (max blend).
    // A positive `pitch` places characters at a fixed pitch (monospace) instead of their advances.
    void draw(cv::Mat &coverage, const std::string &text, cv::Point2d origin, double em_pixels, double pitch = 0);

private:
    FontRenderer() = default;
    struct Handles;
    std::unique_ptr<Handles> handles_;
};

}  // namespace enrolld_scan

#endif
