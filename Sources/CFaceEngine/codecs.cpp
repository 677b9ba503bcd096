// Image codecs: JPEG (libjpeg), PNG (libpng), JPEG 2000 (OpenJPEG: JP2 files and raw J2K codestreams).
// Every decoder reads the header first and refuses oversized images before allocating pixels.
// libjpeg and libpng report errors by longjmp: only trivially destructible locals live between
// setjmp and the calls that may jump, and containers they fill are declared before setjmp.

#include "codecs.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

#include <jpeglib.h>
#include <jerror.h>
#include <openjpeg.h>
#include <png.h>

namespace enrolld_face {

void copy_message(const std::string &text, char *message, size_t capacity) {
    if (message == nullptr || capacity == 0) return;
    size_t count = std::min(text.size(), capacity - 1);
    std::memcpy(message, text.data(), count);
    message[count] = '\0';
}

enrolld_face_format sniff_format(const uint8_t *data, size_t length) {
    static const uint8_t jp2_signature[12] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
    static const uint8_t png_signature[8] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
    if (data == nullptr) return ENROLLD_FACE_FORMAT_UNKNOWN;
    if (length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ENROLLD_FACE_FORMAT_JPEG;
    if (length >= 8 && std::memcmp(data, png_signature, 8) == 0) return ENROLLD_FACE_FORMAT_PNG;
    if (length >= 12 && std::memcmp(data, jp2_signature, 12) == 0) return ENROLLD_FACE_FORMAT_JP2;
    if (length >= 4 && data[0] == 0xFF && data[1] == 0x4F && data[2] == 0xFF && data[3] == 0x51) {
        return ENROLLD_FACE_FORMAT_J2K;
    }
    return ENROLLD_FACE_FORMAT_UNKNOWN;
}

static CodecResult failure(enrolld_face_status status, const std::string &message) {
    CodecResult result;
    result.status = status;
    result.message = message;
    return result;
}

static CodecResult check_pixels(uint64_t width, uint64_t height, uint64_t max_pixels) {
    if (width == 0 || height == 0) return failure(ENROLLD_FACE_UNDECODABLE, "image header has a zero dimension");
    if (max_pixels != 0 && width * height > max_pixels) {
        return failure(ENROLLD_FACE_OVERSIZED_PIXELS, "image is " + std::to_string(width) + "x" +
                                                          std::to_string(height) + " pixels, limit " +
                                                          std::to_string(max_pixels) + " pixels");
    }
    return CodecResult();
}

// MARK: JPEG

namespace {
struct JPEGErrorManager {
    jpeg_error_mgr base;
    jmp_buf jump;
    char text[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr info) {
    auto *manager = reinterpret_cast<JPEGErrorManager *>(info->err);
    (*info->err->format_message)(info, manager->text);
    longjmp(manager->jump, 1);
}

void jpeg_silent_output(j_common_ptr) {}

// Progressive JPEGs carry a handful of scans (libjpeg's default progression has 10). Each scan costs a pass
// over every block of the image, and an empty scan takes a dozen bytes: a 1 MB file could hold ~80,000 of them
// and keep the decoder busy for many minutes on a large image. libjpeg calls the progress monitor while it
// reads the scans; past the limit it ends the decode through the error exit.
constexpr int max_jpeg_scans = 256;

void jpeg_scan_limit(j_common_ptr info) {
    auto *decompress = reinterpret_cast<j_decompress_ptr>(info);
    if (decompress->input_scan_number > max_jpeg_scans) {
        auto *manager = reinterpret_cast<JPEGErrorManager *>(info->err);
        std::snprintf(manager->text, sizeof(manager->text), "more than %d progressive scans", max_jpeg_scans);
        longjmp(manager->jump, 1);
    }
}
}  // namespace

// The largest DCT scaling denominator (1, 2, 4 or 8) that keeps the long side at least `target` (0: full size).
static unsigned jpeg_scale_denominator(uint32_t width, uint32_t height, uint32_t target) {
    if (target == 0) return 1;
    uint32_t long_side = std::max(width, height);
    unsigned denominator = 1;
    while (denominator < 8 && (long_side + 2 * denominator - 1) / (2 * denominator) >= target) denominator *= 2;
    return denominator;
}

static CodecResult decode_jpeg(const uint8_t *data, size_t length, const DecodeLimits &limits, RGBImage &image,
                               DecodedSize &declared) {
    jpeg_decompress_struct info;
    JPEGErrorManager errors;
    std::memset(&errors, 0, sizeof(errors));
    info.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = jpeg_error_exit;
    errors.base.output_message = jpeg_silent_output;
    CodecResult result;
    if (setjmp(errors.jump) != 0) {
        // Past max_memory_to_use libjpeg asks for a backing store, which this build does not have.
        bool memory = info.err->msg_code == JERR_NO_BACKING_STORE;
        jpeg_destroy_decompress(&info);
        if (memory) {
            return failure(ENROLLD_FACE_OVERSIZED_PIXELS, "JPEG: decoding needs more than the decoder's memory bound");
        }
        return failure(ENROLLD_FACE_UNDECODABLE, std::string("JPEG: ") + errors.text);
    }
    jpeg_create_decompress(&info);
    jpeg_progress_mgr progress;
    std::memset(&progress, 0, sizeof(progress));
    progress.progress_monitor = jpeg_scan_limit;
    info.progress = &progress;
    jpeg_mem_src(&info, data, static_cast<unsigned long>(length));
    jpeg_read_header(&info, TRUE);
    declared.width = info.image_width;
    declared.height = info.image_height;
    result = check_pixels(info.image_width, info.image_height, limits.max_pixels);
    if (result.status != ENROLLD_FACE_OK) {
        jpeg_destroy_decompress(&info);
        return result;
    }
    // Greyscale or YCbCr/RGB only: CMYK cannot become RGB here, and every further component is another
    // full-size coefficient plane in a progressive file.
    if (info.num_components != 1 && info.num_components != 3) {
        int count = info.num_components;
        jpeg_destroy_decompress(&info);
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG: " + std::to_string(count) +
                                                     " colour components (1 or 3 supported)");
    }
    // The memory bound: libjpeg keeps a progressive (or multi-scan) file's coefficients for the whole image in
    // "virtual arrays"; past max_memory_to_use it would need a backing store, which this build has not, and the
    // decode ends with an error instead of allocating. The output buffer counts against the same bound.
    uint64_t bound = limits.max_memory != 0 ? limits.max_memory : default_decoder_memory;
    info.scale_num = 1;
    info.scale_denom = jpeg_scale_denominator(info.image_width, info.image_height, limits.target_long_side);
    info.out_color_space = JCS_RGB;
    jpeg_calc_output_dimensions(&info);
    uint64_t output_bytes = uint64_t(info.output_width) * info.output_height * 3;
    if (output_bytes >= bound) {
        jpeg_destroy_decompress(&info);
        return failure(ENROLLD_FACE_OVERSIZED_PIXELS, "JPEG: decoding needs more than the decoder's memory bound of " +
                                                          std::to_string(bound >> 20) + " MiB");
    }
    info.mem->max_memory_to_use = long(std::min<uint64_t>(bound - output_bytes, uint64_t(LONG_MAX)));
    jpeg_start_decompress(&info);
    if (info.output_components != 3) {
        jpeg_destroy_decompress(&info);
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG: colour space cannot be converted to RGB");
    }
    image.width = info.output_width;
    image.height = info.output_height;
    image.pixels.resize(size_t(image.width) * image.height * 3);
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = image.pixels.data() + size_t(info.output_scanline) * image.width * 3;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    return result;
}

static CodecResult encode_jpeg(const RGBImage &image, int quality, std::vector<uint8_t> &out) {
    jpeg_compress_struct info;
    JPEGErrorManager errors;
    std::memset(&errors, 0, sizeof(errors));
    info.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = jpeg_error_exit;
    errors.base.output_message = jpeg_silent_output;
    unsigned char *buffer = nullptr;
    unsigned long size = 0;
    if (setjmp(errors.jump) != 0) {
        jpeg_destroy_compress(&info);
        std::free(buffer);
        return failure(ENROLLD_FACE_INTERNAL, std::string("JPEG encoder: ") + errors.text);
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &size);
    info.image_width = image.width;
    info.image_height = image.height;
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, std::clamp(quality, 1, 100), TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = const_cast<uint8_t *>(image.pixels.data()) + size_t(info.next_scanline) * image.width * 3;
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    out.assign(buffer, buffer + size);
    std::free(buffer);
    return CodecResult();
}

// MARK: PNG

namespace {
struct PNGState {
    const uint8_t *data = nullptr;
    size_t length = 0;
    size_t offset = 0;
    std::vector<uint8_t> *output = nullptr;
    char text[200] = {0};
};

void png_error_handler(png_structp png, png_const_charp text) {
    auto *state = static_cast<PNGState *>(png_get_error_ptr(png));
    std::snprintf(state->text, sizeof(state->text), "%s", text);
    png_longjmp(png, 1);
}

void png_warning_handler(png_structp, png_const_charp) {}

void png_read_memory(png_structp png, png_bytep target, png_size_t count) {
    auto *state = static_cast<PNGState *>(png_get_io_ptr(png));
    if (count > state->length - state->offset) png_error(png, "truncated PNG data");
    std::memcpy(target, state->data + state->offset, count);
    state->offset += count;
}

void png_write_memory(png_structp png, png_bytep source, png_size_t count) {
    auto *state = static_cast<PNGState *>(png_get_io_ptr(png));
    state->output->insert(state->output->end(), source, source + count);
}

void png_flush_memory(png_structp) {}

// What one ancillary chunk may make libpng allocate (zTXt/iTXt/iCCP decompress into memory).
constexpr size_t png_chunk_memory = size_t(1) << 20;
}  // namespace

static CodecResult decode_png(const uint8_t *data, size_t length, const DecodeLimits &limits, RGBImage &image,
                              DecodedSize &declared) {
    // IHDR is the first chunk (PNG spec 5.6): check the claimed size before libpng reads further. PNG has no
    // reduced-resolution decoding: the output (3 bytes a pixel, all of it for interlaced files) is the memory.
    uint64_t bound = limits.max_memory != 0 ? limits.max_memory : default_decoder_memory;
    if (length >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0) {
        auto big_endian = [&](size_t offset) {
            return (uint32_t(data[offset]) << 24) | (uint32_t(data[offset + 1]) << 16) |
                   (uint32_t(data[offset + 2]) << 8) | uint32_t(data[offset + 3]);
        };
        declared.width = big_endian(16);
        declared.height = big_endian(20);
        CodecResult early = check_pixels(declared.width, declared.height, limits.max_pixels);
        if (early.status != ENROLLD_FACE_OK) return early;
        if (uint64_t(declared.width) * declared.height * 3 + png_chunk_memory >= bound) {
            return failure(ENROLLD_FACE_OVERSIZED_PIXELS, "PNG: decoding needs more than the decoder's memory bound of "
                                                              + std::to_string(bound >> 20) + " MiB");
        }
    }
    PNGState state;
    state.data = data;
    state.length = length;
    std::vector<png_bytep> rows;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_error_handler, png_warning_handler);
    if (png == nullptr) return failure(ENROLLD_FACE_OUT_OF_MEMORY, "PNG: cannot create decoder");
    png_infop info = png_create_info_struct(png);
    if (info == nullptr) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        return failure(ENROLLD_FACE_OUT_OF_MEMORY, "PNG: cannot create decoder");
    }
    if (setjmp(png_jmpbuf(png)) != 0) {
        png_destroy_read_struct(&png, &info, nullptr);
        return failure(ENROLLD_FACE_UNDECODABLE, std::string("PNG: ") + state.text);
    }
    png_set_read_fn(png, &state, png_read_memory);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    // Ancillary chunks (compressed text, ICC profiles, unknown chunks) are decompressed or kept by libpng: bound
    // what one chunk may allocate, how many such chunks are kept, and drop unknown ones.
    png_set_chunk_malloc_max(png, png_chunk_memory);
    png_set_chunk_cache_max(png, 64);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nullptr, 0);
    png_read_info(png, info);
    declared.width = png_get_image_width(png, info);
    declared.height = png_get_image_height(png, info);
    CodecResult result = check_pixels(declared.width, declared.height, limits.max_pixels);
    uint64_t output_bytes = uint64_t(declared.width) * declared.height * 3;
    if (result.status == ENROLLD_FACE_OK && output_bytes + png_chunk_memory >= bound) {
        result = failure(ENROLLD_FACE_OVERSIZED_PIXELS, "PNG: decoding needs more than the decoder's memory bound of "
                                                            + std::to_string(bound >> 20) + " MiB");
    }
    if (result.status != ENROLLD_FACE_OK) {
        png_destroy_read_struct(&png, &info, nullptr);
        return result;
    }
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    image.width = png_get_image_width(png, info);
    image.height = png_get_image_height(png, info);
    if (png_get_rowbytes(png, info) != size_t(image.width) * 3) {
        png_destroy_read_struct(&png, &info, nullptr);
        return failure(ENROLLD_FACE_UNDECODABLE, "PNG: pixel layout cannot be converted to RGB");
    }
    image.pixels.resize(size_t(image.width) * image.height * 3);
    rows.resize(image.height);
    for (uint32_t y = 0; y < image.height; ++y) rows[y] = image.pixels.data() + size_t(y) * image.width * 3;
    png_read_image(png, rows.data());
    png_read_end(png, nullptr);
    png_destroy_read_struct(&png, &info, nullptr);
    return result;
}

static CodecResult encode_png(const RGBImage &image, std::vector<uint8_t> &out) {
    PNGState state;
    state.output = &out;
    std::vector<png_bytep> rows(image.height);
    for (uint32_t y = 0; y < image.height; ++y) {
        rows[y] = const_cast<uint8_t *>(image.pixels.data()) + size_t(y) * image.width * 3;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, png_error_handler, png_warning_handler);
    if (png == nullptr) return failure(ENROLLD_FACE_OUT_OF_MEMORY, "PNG encoder: cannot create encoder");
    png_infop info = png_create_info_struct(png);
    if (info == nullptr) {
        png_destroy_write_struct(&png, nullptr);
        return failure(ENROLLD_FACE_OUT_OF_MEMORY, "PNG encoder: cannot create encoder");
    }
    if (setjmp(png_jmpbuf(png)) != 0) {
        png_destroy_write_struct(&png, &info);
        return failure(ENROLLD_FACE_INTERNAL, std::string("PNG encoder: ") + state.text);
    }
    png_set_write_fn(png, &state, png_write_memory, png_flush_memory);
    png_set_IHDR(png, info, image.width, image.height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return CodecResult();
}

// MARK: JPEG 2000

namespace {
struct OPJMemoryStream {
    const uint8_t *data = nullptr;
    size_t length = 0;
    size_t offset = 0;
    std::vector<uint8_t> *output = nullptr;
};

OPJ_SIZE_T opj_memory_read(void *buffer, OPJ_SIZE_T count, void *user) {
    auto *stream = static_cast<OPJMemoryStream *>(user);
    if (stream->offset >= stream->length) return static_cast<OPJ_SIZE_T>(-1);
    size_t available = std::min(static_cast<size_t>(count), stream->length - stream->offset);
    std::memcpy(buffer, stream->data + stream->offset, available);
    stream->offset += available;
    return available;
}

OPJ_SIZE_T opj_memory_write(void *buffer, OPJ_SIZE_T count, void *user) {
    auto *stream = static_cast<OPJMemoryStream *>(user);
    std::vector<uint8_t> &out = *stream->output;
    if (out.size() < stream->offset + count) out.resize(stream->offset + count);
    std::memcpy(out.data() + stream->offset, buffer, count);
    stream->offset += count;
    return count;
}

OPJ_OFF_T opj_memory_skip(OPJ_OFF_T count, void *user) {
    auto *stream = static_cast<OPJMemoryStream *>(user);
    if (count < 0) {
        if (static_cast<size_t>(-count) > stream->offset) return -1;
        stream->offset -= static_cast<size_t>(-count);
        return count;
    }
    if (stream->output == nullptr && static_cast<size_t>(count) > stream->length - stream->offset) {
        stream->offset = stream->length;
        return -1;
    }
    stream->offset += static_cast<size_t>(count);
    return count;
}

OPJ_BOOL opj_memory_seek(OPJ_OFF_T position, void *user) {
    auto *stream = static_cast<OPJMemoryStream *>(user);
    if (position < 0) return OPJ_FALSE;
    if (stream->output == nullptr && static_cast<size_t>(position) > stream->length) return OPJ_FALSE;
    stream->offset = static_cast<size_t>(position);
    return OPJ_TRUE;
}

void opj_error_message(const char *text, void *user) {
    auto *message = static_cast<std::string *>(user);
    if (message->empty()) {
        message->assign(text);
        while (!message->empty() && (message->back() == '\n' || message->back() == ' ')) message->pop_back();
    }
}

void opj_ignore_message(const char *, void *) {}

opj_stream_t *make_stream(OPJMemoryStream &memory, bool input) {
    opj_stream_t *stream = opj_stream_create(1 << 16, input ? OPJ_TRUE : OPJ_FALSE);
    if (stream == nullptr) return nullptr;
    opj_stream_set_user_data(stream, &memory, nullptr);
    if (input) {
        opj_stream_set_user_data_length(stream, memory.length);
        opj_stream_set_read_function(stream, opj_memory_read);
    } else {
        opj_stream_set_write_function(stream, opj_memory_write);
    }
    opj_stream_set_skip_function(stream, opj_memory_skip);
    opj_stream_set_seek_function(stream, opj_memory_seek);
    return stream;
}

struct OPJResources {
    opj_codec_t *codec = nullptr;
    opj_stream_t *stream = nullptr;
    opj_image_t *image = nullptr;
    ~OPJResources() {
        if (image != nullptr) opj_image_destroy(image);
        if (stream != nullptr) opj_stream_destroy(stream);
        if (codec != nullptr) opj_destroy_codec(codec);
    }
};

// A component sample scaled to 0...255 (signed samples are shifted to unsigned first).
inline double component_sample(const opj_image_comp_t &component, uint32_t x, uint32_t y, uint32_t width,
                               uint32_t height) {
    uint32_t cx = std::min<uint32_t>(component.w - 1, uint32_t(uint64_t(x) * component.w / width));
    uint32_t cy = std::min<uint32_t>(component.h - 1, uint32_t(uint64_t(y) * component.h / height));
    double value = component.data[size_t(cy) * component.w + cx];
    if (component.sgnd) value += double(1u << (component.prec - 1));
    double maximum = double((1u << component.prec) - 1);
    return std::clamp(value * 255.0 / maximum, 0.0, 255.0);
}

constexpr uint32_t max_jpeg2000_components = 4;
// DG2 portraits and camera images use one tile or a few dozen; 4096 still allows 256x256 tiles on 16 MP.
constexpr uint64_t max_jpeg2000_tiles = 4096;

inline uint8_t clamp_byte(double value) { return uint8_t(std::lround(std::clamp(value, 0.0, 255.0))); }
}  // namespace

// What a JPEG 2000 codestream's SIZ marker segment (ISO/IEC 15444-1 A.5.1) declares, read before OpenJPEG parses
// anything: OpenJPEG allocates per-tile coding parameters for every declared tile and per-component state while
// it reads the main header.
struct JPEG2000Size {
    uint64_t width = 0;
    uint64_t height = 0;
    uint64_t tiles = 0;
    uint32_t components = 0;
    // Samples of all components at full resolution (each component at its own sub-sampling).
    uint64_t samples = 0;
};

static uint32_t big_endian(const uint8_t *bytes, int count) {
    uint32_t value = 0;
    for (int index = 0; index < count; ++index) value = (value << 8) | bytes[index];
    return value;
}

// The codestream inside a JP2 file: the payload of the top-level Contiguous Codestream box (ISO/IEC 15444-1 I.5.4).
static bool jp2_codestream(const uint8_t *data, size_t length, const uint8_t *&stream, size_t &stream_length) {
    size_t offset = 0;
    while (offset + 8 <= length) {
        uint64_t box = big_endian(data + offset, 4);
        size_t header = 8;
        if (box == 1) {
            if (offset + 16 > length) return false;
            box = (uint64_t(big_endian(data + offset + 8, 4)) << 32) | big_endian(data + offset + 12, 4);
            header = 16;
        } else if (box == 0) {
            box = length - offset;
        }
        if (box < header || box > length - offset) return false;
        if (std::memcmp(data + offset + 4, "jp2c", 4) == 0) {
            stream = data + offset + header;
            stream_length = size_t(box) - header;
            return true;
        }
        offset += size_t(box);
    }
    return false;
}

static CodecResult read_jpeg2000_size(const uint8_t *data, size_t length, enrolld_face_format format,
                                      JPEG2000Size &size) {
    const uint8_t *stream = data;
    size_t stream_length = length;
    if (format == ENROLLD_FACE_FORMAT_JP2 && !jp2_codestream(data, length, stream, stream_length)) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000: no codestream box");
    }
    // SOC, then SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz, then Ssiz XRsiz YRsiz each.
    if (stream_length < 42 || stream[0] != 0xFF || stream[1] != 0x4F || stream[2] != 0xFF || stream[3] != 0x51) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000 header: no SIZ marker after SOC");
    }
    const uint8_t *siz = stream + 4;
    uint32_t segment = big_endian(siz, 2);
    uint64_t x1 = big_endian(siz + 4, 4), y1 = big_endian(siz + 8, 4);
    uint64_t x0 = big_endian(siz + 12, 4), y0 = big_endian(siz + 16, 4);
    uint64_t tile_width = big_endian(siz + 20, 4), tile_height = big_endian(siz + 24, 4);
    uint64_t tile_x0 = big_endian(siz + 28, 4), tile_y0 = big_endian(siz + 32, 4);
    size.components = big_endian(siz + 36, 2);
    if (x1 <= x0 || y1 <= y0 || tile_width == 0 || tile_height == 0 || tile_x0 > x0 || tile_y0 > y0) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000 header: empty or inconsistent image or tile area");
    }
    size.width = x1 - x0;
    size.height = y1 - y0;
    if (size.components == 0 || segment != 38 + 3 * size.components || stream_length < 4 + size_t(segment)) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000 header: SIZ does not describe its components");
    }
    size.tiles = ((x1 - tile_x0 + tile_width - 1) / tile_width) * ((y1 - tile_y0 + tile_height - 1) / tile_height);
    for (uint32_t index = 0; index < std::min<uint32_t>(size.components, max_jpeg2000_components); ++index) {
        const uint8_t *component = siz + 38 + 3 * index;
        uint64_t dx = component[1], dy = component[2];
        if ((component[0] & 0x7F) >= 16 || dx == 0 || dy == 0) {
            return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000 header: a component of more than 16 bits or "
                                                     "without sub-sampling factors");
        }
        size.samples += ((size.width + dx - 1) / dx) * ((size.height + dy - 1) / dy);
    }
    return CodecResult();
}

static CodecResult decode_jpeg2000(const uint8_t *data, size_t length, enrolld_face_format format,
                                   const DecodeLimits &limits, RGBImage &image, DecodedSize &declared) {
    JPEG2000Size size;
    CodecResult result = read_jpeg2000_size(data, length, format, size);
    if (result.status != ENROLLD_FACE_OK) return result;
    declared.width = uint32_t(std::min<uint64_t>(size.width, UINT32_MAX));
    declared.height = uint32_t(std::min<uint64_t>(size.height, UINT32_MAX));
    result = check_pixels(size.width, size.height, limits.max_pixels);
    if (result.status != ENROLLD_FACE_OK) return result;
    // OpenJPEG allocates every component at up to the full image size (4 bytes a sample): a 1 KB codestream
    // declaring hundreds of components would cost gigabytes. Portraits have 1 (grey), 3 or 4 (with alpha).
    if (size.components > max_jpeg2000_components) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000: " + std::to_string(size.components) +
                                                     " image components (at most " +
                                                     std::to_string(max_jpeg2000_components) + " supported)");
    }
    // Each declared tile costs OpenJPEG coding parameters for every component as it reads the main header.
    if (size.tiles > max_jpeg2000_tiles) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000: " + std::to_string(size.tiles) + " tiles (at most " +
                                                     std::to_string(max_jpeg2000_tiles) + " supported)");
    }
    OPJMemoryStream memory;
    memory.data = data;
    memory.length = length;
    std::string errors;
    OPJResources resources;
    resources.codec = opj_create_decompress(format == ENROLLD_FACE_FORMAT_JP2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    resources.stream = make_stream(memory, true);
    if (resources.codec == nullptr || resources.stream == nullptr) {
        return failure(ENROLLD_FACE_OUT_OF_MEMORY, "JPEG 2000: cannot create decoder");
    }
    opj_set_error_handler(resources.codec, opj_error_message, &errors);
    opj_set_warning_handler(resources.codec, opj_ignore_message, nullptr);
    opj_set_info_handler(resources.codec, opj_ignore_message, nullptr);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    if (!opj_setup_decoder(resources.codec, &parameters)) {
        return failure(ENROLLD_FACE_INTERNAL, "JPEG 2000: cannot set up decoder");
    }
    opj_codec_set_threads(resources.codec, 1);
    if (!opj_read_header(resources.stream, resources.codec, &resources.image) || resources.image == nullptr) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000 header: " + (errors.empty() ? "unreadable" : errors));
    }
    opj_image_t *header = resources.image;
    if (header->x1 < header->x0 || header->y1 < header->y0 || header->numcomps != size.components ||
        uint64_t(header->x1 - header->x0) != size.width || uint64_t(header->y1 - header->y0) != size.height) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000 header: the image area disagrees with SIZ");
    }
    // Resolution: drop wavelet levels the target does not need (each level halves both sides), as far as every
    // component's coding style allows.
    uint32_t levels = 0;
    if (limits.target_long_side != 0) {
        uint32_t resolutions = 33;
        if (opj_codestream_info_v2_t *info = opj_get_cstr_info(resources.codec)) {
            for (uint32_t index = 0; index < info->nbcomps && info->m_default_tile_info.tccp_info != nullptr;
                 ++index) {
                resolutions = std::min(resolutions, info->m_default_tile_info.tccp_info[index].numresolutions);
            }
            opj_destroy_cstr_info(&info);
        }
        uint64_t long_side = std::max(size.width, size.height);
        while (levels + 1 < resolutions && levels < 31 &&
               ((long_side + (uint64_t(1) << (levels + 1)) - 1) >> (levels + 1)) >= limits.target_long_side) {
            ++levels;
        }
        if (levels > 0 && !opj_set_decoded_resolution_factor(resources.codec, levels)) levels = 0;
    }
    // The memory bound: OpenJPEG holds every component's samples (4 bytes each, at the decoded resolution) in the
    // image and again in the tile being decoded, plus per-tile state.
    uint64_t bound = limits.max_memory != 0 ? limits.max_memory : default_decoder_memory;
    uint64_t estimate = 8 * (size.samples >> (2 * levels)) + size.tiles * size.components * 8192 +
                        uint64_t(size.width >> levels) * (size.height >> levels) * 3;
    if (estimate >= bound) {
        return failure(ENROLLD_FACE_OVERSIZED_PIXELS, "JPEG 2000: decoding needs about " +
                                                          std::to_string(estimate >> 20) +
                                                          " MiB, more than the decoder's memory bound of " +
                                                          std::to_string(bound >> 20) + " MiB");
    }
    if (!opj_decode(resources.codec, resources.stream, resources.image) ||
        !opj_end_decompress(resources.codec, resources.stream)) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000: " + (errors.empty() ? "cannot decode" : errors));
    }
    opj_image_t *decoded = resources.image;
    uint32_t count = decoded->numcomps;
    if (count == 0) return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000: no image components");
    uint32_t used = count >= 3 ? 3 : 1;
    for (uint32_t index = 0; index < used; ++index) {
        const opj_image_comp_t &component = decoded->comps[index];
        if (component.data == nullptr || component.w == 0 || component.h == 0 || component.prec < 1 ||
            component.prec > 16) {
            return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000: unusable image component");
        }
    }
    if (decoded->color_space == OPJ_CLRSPC_CMYK) {
        return failure(ENROLLD_FACE_UNDECODABLE, "JPEG 2000: CMYK images are not supported");
    }
    // The decoded size (the declared one with `levels` resolution levels dropped): the first component is the
    // luma (or red/grey) plane.
    uint32_t width = decoded->comps[0].w * std::max<uint32_t>(1, decoded->comps[0].dx);
    uint32_t height = decoded->comps[0].h * std::max<uint32_t>(1, decoded->comps[0].dy);
    width = uint32_t(std::min<uint64_t>(width, (size.width + (uint64_t(1) << levels) - 1) >> levels));
    height = uint32_t(std::min<uint64_t>(height, (size.height + (uint64_t(1) << levels) - 1) >> levels));
    result = check_pixels(width, height, limits.max_pixels);
    if (result.status != ENROLLD_FACE_OK) return result;
    bool subsampled = used == 3 && (decoded->comps[1].dx > 1 || decoded->comps[1].dy > 1 ||
                                    decoded->comps[2].dx > 1 || decoded->comps[2].dy > 1);
    bool ycc = used == 3 && (decoded->color_space == OPJ_CLRSPC_SYCC || decoded->color_space == OPJ_CLRSPC_EYCC ||
                             (decoded->color_space != OPJ_CLRSPC_SRGB && subsampled));
    image.width = width;
    image.height = height;
    image.pixels.resize(size_t(width) * height * 3);
    uint8_t *target = image.pixels.data();
    for (uint32_t y = 0; y < height; ++y) {
        for (uint32_t x = 0; x < width; ++x, target += 3) {
            if (used == 1) {
                uint8_t grey = clamp_byte(component_sample(decoded->comps[0], x, y, width, height));
                target[0] = target[1] = target[2] = grey;
                continue;
            }
            double a = component_sample(decoded->comps[0], x, y, width, height);
            double b = component_sample(decoded->comps[1], x, y, width, height);
            double c = component_sample(decoded->comps[2], x, y, width, height);
            if (ycc) {
                double cb = b - 128.0, cr = c - 128.0;
                target[0] = clamp_byte(a + 1.402 * cr);
                target[1] = clamp_byte(a - 0.344136 * cb - 0.714136 * cr);
                target[2] = clamp_byte(a + 1.772 * cb);
            } else {
                target[0] = clamp_byte(a);
                target[1] = clamp_byte(b);
                target[2] = clamp_byte(c);
            }
        }
    }
    return result;
}

CodecResult encode_jpeg2000(const RGBImage &image, enrolld_face_format format, int quality,
                            enrolld_face_jp2_colour colour, std::vector<uint8_t> &out) {
    if (image.width == 0 || image.height == 0 || image.pixels.size() != size_t(image.width) * image.height * 3) {
        return failure(ENROLLD_FACE_INVALID_ARGUMENT, "JPEG 2000 encoder: image has no pixels or a wrong size");
    }
    opj_cparameters_t parameters;
    opj_set_default_encoder_parameters(&parameters);
    parameters.tcp_numlayers = 1;
    parameters.cp_disto_alloc = 1;
    if (quality >= 100) {
        parameters.tcp_rates[0] = 0;
        parameters.irreversible = 0;
    } else {
        parameters.tcp_rates[0] = float(std::max(2, 101 - std::max(1, quality)));
        parameters.irreversible = 1;
    }
    parameters.tcp_mct = colour == ENROLLD_FACE_JP2_RGB ? 1 : 0;
    uint32_t smallest = std::min(image.width, image.height);
    int resolutions = 1;
    while (resolutions < 6 && (smallest >> (resolutions + 1)) >= 1) ++resolutions;
    parameters.numresolution = resolutions;
    uint32_t count = colour == ENROLLD_FACE_JP2_GREY ? 1 : 3;
    bool subsample = colour == ENROLLD_FACE_JP2_SYCC420;
    opj_image_cmptparm_t components[3];
    std::memset(components, 0, sizeof(components));
    for (uint32_t index = 0; index < count; ++index) {
        uint32_t factor = subsample && index > 0 ? 2 : 1;
        components[index].dx = factor;
        components[index].dy = factor;
        components[index].w = (image.width + factor - 1) / factor;
        components[index].h = (image.height + factor - 1) / factor;
        components[index].prec = 8;
        components[index].sgnd = 0;
    }
    OPJ_COLOR_SPACE space = colour == ENROLLD_FACE_JP2_GREY ? OPJ_CLRSPC_GRAY
                            : subsample                    ? OPJ_CLRSPC_SYCC
                                                           : OPJ_CLRSPC_SRGB;
    OPJResources resources;
    resources.image = opj_image_create(count, components, space);
    if (resources.image == nullptr) return failure(ENROLLD_FACE_OUT_OF_MEMORY, "JPEG 2000 encoder: no image");
    resources.image->x0 = 0;
    resources.image->y0 = 0;
    resources.image->x1 = image.width;
    resources.image->y1 = image.height;
    auto pixel = [&](uint32_t x, uint32_t y, int channel) {
        x = std::min(x, image.width - 1);
        y = std::min(y, image.height - 1);
        return double(image.pixels[(size_t(y) * image.width + x) * 3 + channel]);
    };
    for (uint32_t index = 0; index < count; ++index) {
        opj_image_comp_t &component = resources.image->comps[index];
        for (uint32_t y = 0; y < component.h; ++y) {
            for (uint32_t x = 0; x < component.w; ++x) {
                double value = 0;
                if (colour == ENROLLD_FACE_JP2_RGB) {
                    value = pixel(x, y, int(index));
                } else {
                    // Average over the component's sampling block, then ITU-R BT.601 full-range YCbCr.
                    uint32_t factor = component.dx;
                    double r = 0, g = 0, b = 0;
                    for (uint32_t dy = 0; dy < factor; ++dy) {
                        for (uint32_t dx = 0; dx < factor; ++dx) {
                            r += pixel(x * factor + dx, y * factor + dy, 0);
                            g += pixel(x * factor + dx, y * factor + dy, 1);
                            b += pixel(x * factor + dx, y * factor + dy, 2);
                        }
                    }
                    double samples = double(factor * factor);
                    r /= samples;
                    g /= samples;
                    b /= samples;
                    if (index == 0) value = 0.299 * r + 0.587 * g + 0.114 * b;
                    if (index == 1) value = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b;
                    if (index == 2) value = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b;
                }
                component.data[size_t(y) * component.w + x] = OPJ_INT32(clamp_byte(value));
            }
        }
    }
    std::string errors;
    OPJMemoryStream memory;
    memory.output = &out;
    out.clear();
    resources.codec = opj_create_compress(format == ENROLLD_FACE_FORMAT_JP2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    resources.stream = make_stream(memory, false);
    if (resources.codec == nullptr || resources.stream == nullptr) {
        return failure(ENROLLD_FACE_OUT_OF_MEMORY, "JPEG 2000 encoder: cannot create encoder");
    }
    opj_set_error_handler(resources.codec, opj_error_message, &errors);
    opj_set_warning_handler(resources.codec, opj_ignore_message, nullptr);
    opj_set_info_handler(resources.codec, opj_ignore_message, nullptr);
    if (!opj_setup_encoder(resources.codec, &parameters, resources.image) ||
        !opj_start_compress(resources.codec, resources.image, resources.stream) ||
        !opj_encode(resources.codec, resources.stream) || !opj_end_compress(resources.codec, resources.stream)) {
        return failure(ENROLLD_FACE_INTERNAL, "JPEG 2000 encoder: " + (errors.empty() ? "failed" : errors));
    }
    return CodecResult();
}

// MARK: Entry points

CodecResult decode_rgb(const uint8_t *data, size_t length, const DecodeLimits &limits, RGBImage &image,
                       enrolld_face_format &format, DecodedSize &declared) {
    format = sniff_format(data, length);
    switch (format) {
    case ENROLLD_FACE_FORMAT_JPEG:
        return decode_jpeg(data, length, limits, image, declared);
    case ENROLLD_FACE_FORMAT_PNG:
        return decode_png(data, length, limits, image, declared);
    case ENROLLD_FACE_FORMAT_JP2:
    case ENROLLD_FACE_FORMAT_J2K:
        return decode_jpeg2000(data, length, format, limits, image, declared);
    default:
        return failure(ENROLLD_FACE_UNSUPPORTED_FORMAT, "not a JPEG, PNG, JP2 or J2K image");
    }
}

CodecResult decode_rgb(const uint8_t *data, size_t length, uint64_t max_pixels, RGBImage &image,
                       enrolld_face_format &format) {
    DecodeLimits limits;
    limits.max_pixels = max_pixels;
    DecodedSize declared;
    return decode_rgb(data, length, limits, image, format, declared);
}

CodecResult encode(const RGBImage &image, enrolld_face_format format, int quality, std::vector<uint8_t> &out) {
    if (image.width == 0 || image.height == 0 || image.pixels.size() != size_t(image.width) * image.height * 3) {
        return failure(ENROLLD_FACE_INVALID_ARGUMENT, "encoder: image has no pixels or a wrong size");
    }
    switch (format) {
    case ENROLLD_FACE_FORMAT_JPEG:
        return encode_jpeg(image, quality, out);
    case ENROLLD_FACE_FORMAT_PNG:
        return encode_png(image, out);
    case ENROLLD_FACE_FORMAT_JP2:
    case ENROLLD_FACE_FORMAT_J2K:
        return encode_jpeg2000(image, format, quality, ENROLLD_FACE_JP2_RGB, out);
    default:
        return failure(ENROLLD_FACE_INVALID_ARGUMENT, "encoder: unknown format");
    }
}

}  // namespace enrolld_face
