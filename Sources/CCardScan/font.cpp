// FreeType glyph rendering (anti-aliased coverage bitmaps).

#include "font.hpp"

#include <algorithm>
#include <cmath>
#include <sys/stat.h>

#include <ft2build.h>
#include FT_FREETYPE_H

namespace enrolld_scan {

struct FontRenderer::Handles {
    FT_Library library = nullptr;
    FT_Face face = nullptr;
    ~Handles() {
        if (face != nullptr) FT_Done_Face(face);
        if (library != nullptr) FT_Done_FreeType(library);
    }
};

FontRenderer::~FontRenderer() = default;

std::unique_ptr<FontRenderer> FontRenderer::load(const std::string &path, bool &missing, std::string &message) {
    missing = false;
    struct stat info;
    if (path.empty() || stat(path.c_str(), &info) != 0) {
        missing = true;
        message = "font file " + path + " not found";
        return nullptr;
    }
    std::unique_ptr<FontRenderer> renderer(new FontRenderer());
    renderer->handles_ = std::make_unique<Handles>();
    if (FT_Init_FreeType(&renderer->handles_->library) != 0) {
        message = "FreeType failed to initialise";
        return nullptr;
    }
    if (FT_New_Face(renderer->handles_->library, path.c_str(), 0, &renderer->handles_->face) != 0) {
        message = "font file " + path + " does not load";
        return nullptr;
    }
    return renderer;
}

bool FontRenderer::render(char character, double em_pixels, RenderedGlyph &glyph) {
    FT_Face face = handles_->face;
    // 26.6 fixed point: fractional sizes keep the scale exact.
    auto size = static_cast<FT_F26Dot6>(std::lround(em_pixels * 64.0));
    if (FT_Set_Char_Size(face, 0, std::max<FT_F26Dot6>(size, 64), 72, 72) != 0) return false;
    FT_UInt index = FT_Get_Char_Index(face, static_cast<unsigned char>(character));
    if (index == 0 && character != ' ') return false;
    if (FT_Load_Glyph(face, index, FT_LOAD_DEFAULT | FT_LOAD_NO_HINTING) != 0) return false;
    if (FT_Render_Glyph(face->glyph, FT_RENDER_MODE_NORMAL) != 0) return false;
    const FT_Bitmap &bitmap = face->glyph->bitmap;
    glyph.coverage = cv::Mat(static_cast<int>(bitmap.rows), static_cast<int>(bitmap.width), CV_8U, cv::Scalar(0));
    for (unsigned row = 0; row < bitmap.rows; ++row) {
        const unsigned char *source = bitmap.buffer + static_cast<ptrdiff_t>(row) * bitmap.pitch;
        std::copy(source, source + bitmap.width, glyph.coverage.ptr<uint8_t>(static_cast<int>(row)));
    }
    glyph.left = face->glyph->bitmap_left;
    glyph.top = face->glyph->bitmap_top;
    glyph.advance = static_cast<int>(face->glyph->advance.x >> 6);
    return true;
}

void FontRenderer::draw(cv::Mat &coverage, const std::string &text, cv::Point2d origin, double em_pixels,
                        double pitch) {
    double pen = origin.x;
    for (char character : text) {
        RenderedGlyph glyph;
        if (character == ' ' || !render(character, em_pixels, glyph)) {
            pen += pitch > 0 ? pitch : em_pixels * 0.3;
            continue;
        }
        // Monospace: centre each glyph's advance box in its pitch cell.
        double x = pitch > 0 ? pen + (pitch - glyph.advance) / 2.0 : pen;
        int left = static_cast<int>(std::lround(x)) + glyph.left;
        int top = static_cast<int>(std::lround(origin.y)) - glyph.top;
        cv::Rect target(left, top, glyph.coverage.cols, glyph.coverage.rows);
        cv::Rect clipped = target & cv::Rect(0, 0, coverage.cols, coverage.rows);
        if (clipped.area() > 0) {
            cv::Mat source = glyph.coverage(cv::Rect(clipped.x - left, clipped.y - top, clipped.width,
                                                     clipped.height));
            cv::Mat destination = coverage(clipped);
            cv::max(destination, source, destination);
        }
        pen += pitch > 0 ? pitch : glyph.advance;
    }
}

}  // namespace enrolld_scan
