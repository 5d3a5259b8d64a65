#ifndef TXN_IMAGE_CODEC_H
#define TXN_IMAGE_CODEC_H

/*
 * A deliberately small C shim over libpng and libjpeg.
 *
 * Both libraries report fatal errors by calling an error handler that must not return (libjpeg's default one
 * calls exit()). Swift cannot catch a longjmp, so every call into either library happens here, behind a setjmp,
 * and comes back as a status code plus a message written into a caller-owned buffer. Nothing in this layer
 * converts pixels to float or interprets notes: that policy lives in Swift where it is testable.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TXN_CODEC_OK = 0,
    TXN_CODEC_TRUNCATED = 1,   /* the data ended before the image did */
    TXN_CODEC_CORRUPT = 2,     /* the library rejected the data (bad CRC, bad Huffman code, ...) */
    TXN_CODEC_TOO_LARGE = 3,   /* width * height exceeds the caller's limit; nothing was allocated for pixels */
    TXN_CODEC_UNSUPPORTED = 4, /* valid file, but a variant we do not decode (e.g. CMYK JPEG) */
    TXN_CODEC_NO_MEMORY = 5,
    TXN_CODEC_INVALID_ARGUMENT = 6,
    TXN_CODEC_TOO_MANY_SCANS = 7, /* stopped: a progressive JPEG with more scans than the limit */
    TXN_CODEC_PAST_DEADLINE = 8,  /* stopped: the decode ran past its deadline */
} txn_codec_status;

/* Bits of txn_decoded.flags: facts about the source the Swift side turns into notes. */
enum {
    TXN_CODEC_FLAG_PALETTE = 1,     /* PNG palette expanded to RGB */
    TXN_CODEC_FLAG_INTERLACED = 2,  /* PNG Adam7 interlacing */
    TXN_CODEC_FLAG_PROGRESSIVE = 4, /* progressive JPEG */
    TXN_CODEC_FLAG_TRNS = 8,        /* PNG tRNS chunk expanded into an alpha channel */
    TXN_CODEC_FLAG_WARNING = 16,    /* a non-fatal library warning; text in the warning buffer */
};

/* Interleaved samples as decoded, without colour conversion: channels 1 (grey), 2 (grey+alpha), 3 (RGB),
 * 4 (RGBA); bit_depth 8 (uint8_t) or 16 (uint16_t in host byte order). Rows are tightly packed. */
typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;
    int bit_depth;
    int source_bit_depth; /* as stored in the file: 1, 2, 4, 8 or 16 */
    int flags;
    void *pixels;         /* malloc'ed; release with txn_codec_free */
    size_t pixels_size;
} txn_decoded;

/* What one decode may cost. max_pixels is checked against the header before the pixel buffer is allocated.
 * max_scans bounds the scans of a progressive JPEG (each scan is a pass over every block of the image, so a small
 * file of many scans is a lot of work; 0: no limit). deadline_ns is a CLOCK_MONOTONIC time (txn_monotonic_ns)
 * after which the decode stops (0: none); it is checked as the decoder goes, every JPEG iMCU row and PNG row. */
typedef struct {
    uint64_t max_pixels;
    int max_scans;
    uint64_t deadline_ns;
} txn_decode_limits;

/* What the header says, read without decoding any pixels. */
typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;    /* as stored: 1-4 */
    int bit_depth;   /* as stored */
    int progressive; /* progressive JPEG, or interlaced PNG */
} txn_image_header;

/* Decode from memory. On failure pixels is NULL and message holds the reason (NUL-terminated, truncated to
 * message_size). The warning buffer receives the first non-fatal warning, if any. */
txn_codec_status txn_png_decode(const uint8_t *data, size_t size, const txn_decode_limits *limits, txn_decoded *out,
                                char *message, size_t message_size, char *warning, size_t warning_size);
txn_codec_status txn_jpeg_decode(const uint8_t *data, size_t size, const txn_decode_limits *limits, txn_decoded *out,
                                 char *message, size_t message_size, char *warning, size_t warning_size);

/* Reads only the header (PNG: the chunks before the image data; JPEG: the markers before the first scan). */
txn_codec_status txn_png_read_header(const uint8_t *data, size_t size, txn_image_header *out, char *message,
                                     size_t message_size);
txn_codec_status txn_jpeg_read_header(const uint8_t *data, size_t size, txn_image_header *out, char *message,
                                      size_t message_size);

/* CLOCK_MONOTONIC in nanoseconds: the clock deadline_ns is read against. */
uint64_t txn_monotonic_ns(void);

/* Encode interleaved 8-bit RGB. On success *out is malloc'ed (release with txn_codec_free). */
txn_codec_status txn_png_encode_rgb8(const uint8_t *rgb, uint32_t width, uint32_t height, uint8_t **out,
                                     size_t *out_size, char *message, size_t message_size);
txn_codec_status txn_jpeg_encode_rgb8(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                                      uint8_t **out, size_t *out_size, char *message, size_t message_size);

void txn_codec_free(void *pointer);

#ifdef __cplusplus
}
#endif
#endif
