// Image codecs for the face engine: format sniffing, header-first size checks, decoding to RGB,
// encoding (test fixtures, UI previews). Internal to CFaceEngine.
#ifndef ENROLLD_CFACEENGINE_CODECS_HPP
#define ENROLLD_CFACEENGINE_CODECS_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "CFaceEngine.h"

namespace enrolld_face {

struct RGBImage {
    std::vector<uint8_t> pixels;  // packed RGB, rows top to bottom
    uint32_t width = 0;
    uint32_t height = 0;
};

struct CodecResult {
    enrolld_face_status status = ENROLLD_FACE_OK;
    std::string message;
};

enrolld_face_format sniff_format(const uint8_t *data, size_t length);

// What one decode may spend. Every bound is checked from the header, before the decoder allocates pixels.
struct DecodeLimits {
    uint64_t max_pixels = 0;        // refuse images whose header declares more pixels (0: no limit)
    uint64_t max_memory = 0;        // the decoder's own buffers and the output, in bytes (0: default_decoder_memory)
    uint32_t target_long_side = 0;  // decode at the smallest reduced resolution with at least this long side:
                                    // JPEG DCT scaling (1/2, 1/4, 1/8), JPEG 2000 resolution levels (0: full)
};

// The bound when DecodeLimits::max_memory is 0.
constexpr uint64_t default_decoder_memory = uint64_t(256) << 20;

// What the header declared, whatever resolution was decoded.
struct DecodedSize {
    uint32_t width = 0;
    uint32_t height = 0;
};

// Reads the header, refuses images over the limits before decoding, then decodes (possibly at a reduced
// resolution: `image` then is smaller than `declared`).
CodecResult decode_rgb(const uint8_t *data, size_t length, const DecodeLimits &limits, RGBImage &image,
                       enrolld_face_format &format, DecodedSize &declared);

// Full resolution, max_pixels only (the memory bound at its default).
CodecResult decode_rgb(const uint8_t *data, size_t length, uint64_t max_pixels, RGBImage &image,
                       enrolld_face_format &format);

CodecResult encode(const RGBImage &image, enrolld_face_format format, int quality, std::vector<uint8_t> &out);

// JPEG 2000 (format JP2 or J2K) as RGB with the colour transform, greyscale, or sYCC with 4:2:0 chroma.
CodecResult encode_jpeg2000(const RGBImage &image, enrolld_face_format format, int quality,
                            enrolld_face_jp2_colour colour, std::vector<uint8_t> &out);

void copy_message(const std::string &text, char *message, size_t capacity);

}  // namespace enrolld_face

#endif
