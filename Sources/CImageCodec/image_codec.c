#include "image_codec.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

static void copy_message(char *dst, size_t dst_size, const char *src) {
    if (dst == NULL || dst_size == 0) return;
    snprintf(dst, dst_size, "%s", src ? src : "");
}

/* The start every probe and decoder shares: its arguments checked (`needs_limits`: a decoder's limits are required),
 * its result and messages cleared. */
static txn_codec_status begin_reading(const uint8_t *data, size_t size, int needs_limits, const void *limits,
                                      void *out, size_t out_size, char *message, size_t message_size,
                                      char *warning, size_t warning_size) {
    if (out == NULL || (needs_limits && limits == NULL) || (data == NULL && size > 0)) return TXN_CODEC_INVALID_ARGUMENT;
    memset(out, 0, out_size);
    copy_message(message, message_size, "");
    copy_message(warning, warning_size, "");
    return TXN_CODEC_OK;
}

/* A decoder's start (its limits required) and a header read's (no limits, no warnings), for either format. */
static txn_codec_status begin_decoding(const uint8_t *data, size_t size, const txn_decode_limits *limits, txn_decoded *out,
                                       char *message, size_t message_size, char *warning, size_t warning_size) {
    return begin_reading(data, size, 1, limits, out, sizeof *out, message, message_size, warning, warning_size);
}

static txn_codec_status begin_header(const uint8_t *data, size_t size, txn_image_header *out, char *message,
                                     size_t message_size) {
    return begin_reading(data, size, 0, NULL, out, sizeof *out, message, message_size, NULL, 0);
}

/* What a header read reports, for either format. */
static void set_header(txn_image_header *out, uint32_t width, uint32_t height, int channels, int bit_depth,
                       int progressive) {
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bit_depth = bit_depth;
    out->progressive = progressive ? 1 : 0;
}

/* What a decode reports, for either format: the pixels (the caller's from here on, released with txn_codec_free)
 * and how they came out of the source. */
static void set_decoded(txn_decoded *out, uint32_t width, uint32_t height, int channels, int bit_depth,
                        int source_bit_depth, int flags, int warned, void *pixels, size_t pixels_size) {
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bit_depth = bit_depth;
    out->source_bit_depth = source_bit_depth;
    out->flags = flags | (warned ? TXN_CODEC_FLAG_WARNING : 0);
    out->pixels = pixels;
    out->pixels_size = pixels_size;
}

/* The two allocation failures every decoder reports, in one wording. */
static const char too_large_message[] = "image does not fit in memory";
static const char no_memory_message[] = "out of memory";

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

uint64_t txn_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int past_deadline(uint64_t deadline_ns) { return deadline_ns != 0 && txn_monotonic_ns() > deadline_ns; }

static const char deadline_message[] = "decoding stopped at its time budget";

/* Report the size check in one place so PNG and JPEG phrase it identically. */
static txn_codec_status check_pixel_limit(uint32_t width, uint32_t height, uint64_t max_pixels, char *message,
                                          size_t message_size) {
    uint64_t count = (uint64_t)width * (uint64_t)height;
    if (count > max_pixels) {
        char text[160];
        snprintf(text, sizeof text, "image is %ux%u = %llu pixels, more than the limit of %llu", width, height,
                 (unsigned long long)count, (unsigned long long)max_pixels);
        copy_message(message, message_size, text);
        return TXN_CODEC_TOO_LARGE;
    }
    if (width == 0 || height == 0) {
        copy_message(message, message_size, "image has zero width or height");
        return TXN_CODEC_CORRUPT;
    }
    return TXN_CODEC_OK;
}

/* ---------------------------------------------------------------- PNG */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    int truncated;
    char *message;
    size_t message_size;
    char *warning;
    size_t warning_size;
    int warned;
    uint64_t deadline_ns;
    int past_deadline;
} png_context;

/* Reading from memory lets us tell "ran out of bytes" (truncated) from every other libpng error (corrupt). */
static void png_read_memory(png_structp png, png_bytep destination, size_t length) {
    png_context *context = (png_context *)png_get_io_ptr(png);
    if (length > context->size - context->position) {
        context->truncated = 1;
        png_error(png, "file ends before the image is complete");
    }
    memcpy(destination, context->data + context->position, length);
    context->position += length;
}

/* Called by libpng after every row (of every interlace pass): the decode stops at its deadline. */
static void png_row_done(png_structp png, png_uint_32 row, int pass) {
    (void)row;
    (void)pass;
    png_context *context = (png_context *)png_get_io_ptr(png);
    if (past_deadline(context->deadline_ns)) {
        context->past_deadline = 1;
        png_error(png, deadline_message);
    }
}

static void png_on_error(png_structp png, png_const_charp text) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    copy_message(context->message, context->message_size, text);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp text) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    if (!context->warned) {
        context->warned = 1;
        copy_message(context->warning, context->warning_size, text);
    }
}

/* The signature check both PNG entry points make before libpng sees the data. */
static txn_codec_status png_check_signature(const uint8_t *data, size_t size, char *message, size_t message_size) {
    if (size < 8) {
        copy_message(message, message_size, "file ends inside the PNG signature");
        return TXN_CODEC_TRUNCATED;
    }
    if (png_sig_cmp(data, 0, 8) != 0) {
        copy_message(message, message_size, "not a PNG signature");
        return TXN_CODEC_CORRUPT;
    }
    return TXN_CODEC_OK;
}

/* The read and info structs both PNG entry points start from, errors and warnings going to `context`. Returns 0
 * (nothing left allocated) when either cannot be had; the caller's setjmp comes after, in the caller's own frame. */
static int png_open(png_context *context, png_structp *png, png_infop *info) {
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, context, png_on_error, png_on_warning);
    if (*png == NULL) return 0;
    *info = png_create_info_struct(*png);
    if (*info == NULL) {
        png_destroy_read_struct(png, NULL, NULL);
        return 0;
    }
    return 1;
}

txn_codec_status txn_png_read_header(const uint8_t *data, size_t size, txn_image_header *out, char *message,
                                     size_t message_size) {
    txn_codec_status started = begin_header(data, size, out, message, message_size);
    if (started != TXN_CODEC_OK) return started;
    txn_codec_status signature = png_check_signature(data, size, message, message_size);
    if (signature != TXN_CODEC_OK) return signature;
    png_context context = {data, size, 0, 0, message, message_size, NULL, 0, 0, 0, 0};
    png_structp png = NULL;
    png_infop info = NULL;
    if (!png_open(&context, &png, &info)) return TXN_CODEC_NO_MEMORY;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return context.truncated ? TXN_CODEC_TRUNCATED : TXN_CODEC_CORRUPT;
    }
    png_set_read_fn(png, &context, png_read_memory);
    png_set_user_limits(png, 0x7fffffffU, 0x7fffffffU);
    png_read_info(png, info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    set_header(out, width, height, png_get_channels(png, info), bit_depth, interlace != PNG_INTERLACE_NONE);
    png_destroy_read_struct(&png, &info, NULL);
    return TXN_CODEC_OK;
}

txn_codec_status txn_png_decode(const uint8_t *data, size_t size, const txn_decode_limits *limits, txn_decoded *out,
                                char *message, size_t message_size, char *warning, size_t warning_size) {
    txn_codec_status started = begin_decoding(data, size, limits, out, message, message_size, warning, warning_size);
    if (started != TXN_CODEC_OK) return started;
    txn_codec_status signature = png_check_signature(data, size, message, message_size);
    if (signature != TXN_CODEC_OK) return signature;

    png_context context = {data, size, 0, 0, message, message_size, warning, warning_size, 0, limits->deadline_ns, 0};
    png_structp png = NULL;
    png_infop info = NULL;
    if (!png_open(&context, &png, &info)) return TXN_CODEC_NO_MEMORY;

    /* volatile: these are assigned after setjmp and must be freed on the longjmp path. */
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        if (context.past_deadline) return TXN_CODEC_PAST_DEADLINE;
        return context.truncated ? TXN_CODEC_TRUNCATED : TXN_CODEC_CORRUPT;
    }

    png_set_read_fn(png, &context, png_read_memory);
    png_set_read_status_fn(png, png_row_done);
    /* The caller's max_pixels is the real limit; lift libpng's default 1M x 1M per side so it does not mask it. */
    png_set_user_limits(png, 0x7fffffffU, 0x7fffffffU);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    txn_codec_status limit = check_pixel_limit(width, height, limits->max_pixels, message, message_size);
    if (limit != TXN_CODEC_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return limit;
    }

    int flags = 0;
    /* Only lossless layout transforms: no gamma or colour-space handling, so 8-bit samples come out exactly. */
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
        flags |= TXN_CODEC_FLAG_PALETTE;
    }
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_set_tRNS_to_alpha(png);
        flags |= TXN_CODEC_FLAG_TRNS;
    }
    if (bit_depth == 16 && host_is_little_endian()) png_set_swap(png);
    if (interlace != PNG_INTERLACE_NONE) flags |= TXN_CODEC_FLAG_INTERLACED;
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if ((out_depth != 8 && out_depth != 16) || channels < 1 || channels > 4 ||
        row_bytes != (size_t)width * (size_t)channels * (size_t)(out_depth / 8)) {
        png_error(png, "unexpected sample layout after expansion");
    }
    if (height > SIZE_MAX / row_bytes) {
        copy_message(message, message_size, too_large_message);
        png_destroy_read_struct(&png, &info, NULL);
        return TXN_CODEC_TOO_LARGE;
    }
    pixels = (uint8_t *)malloc(row_bytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (pixels == NULL || rows == NULL) {
        copy_message(message, message_size, no_memory_message);
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return TXN_CODEC_NO_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(png, rows);
    /* Reading to IEND checks the CRCs of the trailing chunks, so damage after the pixels is reported too. */
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);

    set_decoded(out, width, height, channels, out_depth, bit_depth, flags, context.warned, pixels, row_bytes * height);
    return TXN_CODEC_OK;
}

txn_codec_status txn_png_encode_rgb8(const uint8_t *rgb, uint32_t width, uint32_t height, uint8_t **out,
                                     size_t *out_size, char *message, size_t message_size) {
    copy_message(message, message_size, "");
    if (rgb == NULL || out == NULL || out_size == NULL || width == 0 || height == 0 || width > 0x7fffffffU ||
        height > 0x7fffffffU) {
        copy_message(message, message_size, "invalid image size for PNG");
        return TXN_CODEC_INVALID_ARGUMENT;
    }
    *out = NULL;
    *out_size = 0;
    /* The simplified API does its own setjmp internally and reports through image.message. */
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = PNG_FORMAT_RGB;
    png_alloc_size_t capacity = PNG_IMAGE_PNG_SIZE_MAX(image);
    uint8_t *buffer = (uint8_t *)malloc(capacity);
    if (buffer == NULL) {
        copy_message(message, message_size, no_memory_message);
        return TXN_CODEC_NO_MEMORY;
    }
    png_alloc_size_t written = capacity;
    if (!png_image_write_to_memory(&image, buffer, &written, 0, rgb, 0, NULL)) {
        copy_message(message, message_size, image.message);
        png_image_free(&image);
        free(buffer);
        return TXN_CODEC_CORRUPT;
    }
    uint8_t *shrunk = (uint8_t *)realloc(buffer, written);
    *out = shrunk ? shrunk : buffer;
    *out_size = written;
    return TXN_CODEC_OK;
}

/* ---------------------------------------------------------------- JPEG */

typedef struct {
    struct jpeg_error_mgr pub; /* first member: libjpeg hands us a pointer to it */
    jmp_buf jump;
    txn_codec_status status;   /* what the longjmp path returns */
    char *message;
    size_t message_size;
    char *warning;
    size_t warning_size;
    int warned;
    unsigned char *buffer;     /* jpeg_mem_dest output; lives here so the longjmp path can free it */
    unsigned long buffer_size;
    struct jpeg_progress_mgr progress; /* decoding: the work limits, checked as the decoder goes */
    int max_scans;
    uint64_t deadline_ns;
} jpeg_context;

/* The check both JPEG entry points make before libjpeg sees the data (as PNG's signature check). */
static txn_codec_status jpeg_check_data(size_t size, char *message, size_t message_size) {
    if (size > 0) return TXN_CODEC_OK;
    copy_message(message, message_size, "empty JPEG data");
    return TXN_CODEC_TRUNCATED;
}

/* What the longjmp path returns: the status a check set (a limit, the deadline), else corrupt data. */
static txn_codec_status jpeg_failure(const jpeg_context *context) {
    return context->status == TXN_CODEC_OK ? TXN_CODEC_CORRUPT : context->status;
}

static void jpeg_on_error_exit(j_common_ptr cinfo) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    copy_message(context->message, context->message_size, text);
    if (context->status == TXN_CODEC_OK) context->status = TXN_CODEC_CORRUPT;
    longjmp(context->jump, 1);
}

/* libjpeg only warns on a truncated or damaged stream and then decodes grey filler: escalate those warnings. */
static void jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return; /* trace output */
    jpeg_context *context = (jpeg_context *)cinfo->err;
    cinfo->err->num_warnings++;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
        code == JWRN_MUST_RESYNC) {
        copy_message(context->message, context->message_size, text);
        context->status = code == JWRN_JPEG_EOF ? TXN_CODEC_TRUNCATED : TXN_CODEC_CORRUPT;
        longjmp(context->jump, 1);
    }
    if (!context->warned) {
        context->warned = 1;
        copy_message(context->warning, context->warning_size, text);
    }
}

/* libjpeg calls its progress monitor before each iMCU row it takes in (every row of every scan of a multi-scan file)
 * and at each jpeg_read_scanlines: the one hook that runs all through a decode. The scan limit is the mechanism
 * TurboJPEG's TJPARAM_SCANLIMIT (TJFLAG_LIMITSCANS) uses: input_scan_number is the count of SOS markers read so
 * far, so a file is stopped at the first row of the scan over the limit, before that scan's work is done. */
static void jpeg_check_work(j_common_ptr cinfo) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    if (!cinfo->is_decompressor) return;
    int scan = ((j_decompress_ptr)cinfo)->input_scan_number;
    if (context->max_scans > 0 && scan > context->max_scans) {
        char text[120];
        snprintf(text, sizeof text, "progressive JPEG has more than %d scans (the limit)", context->max_scans);
        copy_message(context->message, context->message_size, text);
        context->status = TXN_CODEC_TOO_MANY_SCANS;
        longjmp(context->jump, 1);
    }
    if (past_deadline(context->deadline_ns)) {
        copy_message(context->message, context->message_size, deadline_message);
        context->status = TXN_CODEC_PAST_DEADLINE;
        longjmp(context->jump, 1);
    }
}

static void jpeg_context_init(jpeg_context *context, struct jpeg_error_mgr **err, char *message,
                              size_t message_size, char *warning, size_t warning_size) {
    memset(context, 0, sizeof *context);
    *err = jpeg_std_error(&context->pub);
    context->pub.error_exit = jpeg_on_error_exit;
    context->pub.emit_message = jpeg_on_message;
    context->status = TXN_CODEC_OK;
    context->message = message;
    context->message_size = message_size;
    context->warning = warning;
    context->warning_size = warning_size;
}

txn_codec_status txn_jpeg_read_header(const uint8_t *data, size_t size, txn_image_header *out, char *message,
                                      size_t message_size) {
    txn_codec_status started = begin_header(data, size, out, message, message_size);
    if (started != TXN_CODEC_OK) return started;
    txn_codec_status nonempty = jpeg_check_data(size, message, message_size);
    if (nonempty != TXN_CODEC_OK) return nonempty;
    struct jpeg_decompress_struct cinfo;
    jpeg_context context;
    jpeg_context_init(&context, &cinfo.err, message, message_size, NULL, 0);
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return jpeg_failure(&context);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    set_header(out, cinfo.image_width, cinfo.image_height, cinfo.num_components, cinfo.data_precision,
               cinfo.progressive_mode);
    jpeg_destroy_decompress(&cinfo);
    return TXN_CODEC_OK;
}

txn_codec_status txn_jpeg_decode(const uint8_t *data, size_t size, const txn_decode_limits *limits, txn_decoded *out,
                                 char *message, size_t message_size, char *warning, size_t warning_size) {
    txn_codec_status started = begin_decoding(data, size, limits, out, message, message_size, warning, warning_size);
    if (started != TXN_CODEC_OK) return started;
    txn_codec_status nonempty = jpeg_check_data(size, message, message_size);
    if (nonempty != TXN_CODEC_OK) return nonempty;

    struct jpeg_decompress_struct cinfo;
    jpeg_context context;
    jpeg_context_init(&context, &cinfo.err, message, message_size, warning, warning_size);
    context.max_scans = limits->max_scans;
    context.deadline_ns = limits->deadline_ns;
    context.progress.progress_monitor = jpeg_check_work;
    JSAMPLE *volatile pixels = NULL;
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return jpeg_failure(&context);
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &context.progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    txn_codec_status limit = check_pixel_limit(cinfo.image_width, cinfo.image_height, limits->max_pixels, message,
                                               message_size);
    if (limit != TXN_CODEC_OK) {
        jpeg_destroy_decompress(&cinfo);
        return limit;
    }
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        copy_message(message, message_size, "CMYK JPEG is not supported");
        jpeg_destroy_decompress(&cinfo);
        return TXN_CODEC_UNSUPPORTED;
    default:
        cinfo.out_color_space = JCS_RGB;
        break;
    }
    int flags = cinfo.progressive_mode ? TXN_CODEC_FLAG_PROGRESSIVE : 0;

    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    if (stride == 0 || cinfo.output_height > SIZE_MAX / stride) {
        copy_message(message, message_size, too_large_message);
        jpeg_destroy_decompress(&cinfo);
        return TXN_CODEC_TOO_LARGE;
    }
    pixels = (JSAMPLE *)malloc(stride * cinfo.output_height);
    if (pixels == NULL) {
        copy_message(message, message_size, no_memory_message);
        jpeg_destroy_decompress(&cinfo);
        return TXN_CODEC_NO_MEMORY;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);

    set_decoded(out, cinfo.output_width, cinfo.output_height, cinfo.output_components, 8, cinfo.data_precision, flags,
                context.warned, pixels, stride * cinfo.output_height);
    jpeg_destroy_decompress(&cinfo);
    return TXN_CODEC_OK;
}

txn_codec_status txn_jpeg_encode_rgb8(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                                      uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    copy_message(message, message_size, "");
    if (rgb == NULL || out == NULL || out_size == NULL) return TXN_CODEC_INVALID_ARGUMENT;
    *out = NULL;
    *out_size = 0;
    if (width == 0 || height == 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        copy_message(message, message_size, "JPEG sides must be between 1 and 65500 pixels");
        return TXN_CODEC_INVALID_ARGUMENT;
    }
    if (quality < 1 || quality > 100) {
        copy_message(message, message_size, "JPEG quality must be between 1 and 100");
        return TXN_CODEC_INVALID_ARGUMENT;
    }

    struct jpeg_compress_struct cinfo;
    jpeg_context context;
    jpeg_context_init(&context, &cinfo.err, message, message_size, NULL, 0);
    if (setjmp(context.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(context.buffer);
        return jpeg_failure(&context);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &context.buffer, &context.buffer_size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    /* At high quality, chroma subsampling is the largest remaining error on fine texture: keep chroma full-size. */
    if (quality >= 90) {
        cinfo.comp_info[0].h_samp_factor = 1;
        cinfo.comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * 3;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = context.buffer;
    *out_size = context.buffer_size;
    return TXN_CODEC_OK;
}

void txn_codec_free(void *pointer) { free(pointer); }
