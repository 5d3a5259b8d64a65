#ifndef TXN_MAPS_H
#define TXN_MAPS_H
#include <stddef.h>
/* Elementwise passes over one channel block of a blocked map, [pixels][8] (8 channels a pixel, the width of an
   AVX2 vector): what normalisation and upsampling need around txn's convolutions. */

/* Adds each of the 8 channels' sum and sum of squares over pixels [first, first + count) to sums[8] and
   squares[8], accumulated in double (in float over runs of 64 pixels, so that the additions stay vectorised). */
void txn_map8_moments(const float *block, ptrdiff_t first, ptrdiff_t count, double *sums, double *squares);

/* dst = leaky(src * scale[c] + shift[c]) for `count` pixels, leaky(v) = v < 0 ? slope[c] * v : v (slope 1: none):
   a normalisation's evaluation with its activation. dst may be src (in place) or a copy's destination. */
void txn_map8_affine(const float *src, float *dst, ptrdiff_t count, const float *scale, const float *shift,
                     const float *slope);

/* Nearest-neighbour x2 upsampling of rows [first_row, first_row + rows) of a block w pixels wide into the block
   dst, 2w wide: every pixel becomes a 2x2 square. */
void txn_map8_upsample2(const float *src, int w, int first_row, int rows, float *dst);
#endif
