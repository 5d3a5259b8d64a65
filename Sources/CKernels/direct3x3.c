/* Direct 3x3 convolution from one 8-channel block: see direct3x3.h. AVX2 and FMA. Eight pixels of a row at a time,
   so that each weight vector loaded serves eight FMAs. */
#include "direct3x3.h"
#include <immintrin.h>
#include <string.h>

enum { BLOCK = 8, TAPS = 9, PIXELS = 8 };

size_t txn_direct3x3_weight_floats(int out_channels) {
    return (size_t)((out_channels + BLOCK - 1) / BLOCK) * TAPS * BLOCK * BLOCK;
}

void txn_direct3x3_pack_weights(const float *w, int cout, int cin, float *packed) {
    memset(packed, 0, txn_direct3x3_weight_floats(cout) * sizeof(float));
    for (int n = 0; n < cout; n++)
        for (int k = 0; k < cin && k < BLOCK; k++)
            for (int tap = 0; tap < TAPS; tap++)
                packed[(((size_t)(n / BLOCK) * TAPS + tap) * BLOCK + k) * BLOCK + n % BLOCK] = w[((size_t)n * cin + k) * TAPS + tap];
}

/* `count` (1 to PIXELS) outputs of one block at row y from column x; src points at padded row y, column x. The
   count is a compile-time constant where it is PIXELS (the function is inlined), so the accumulators stay in
   registers. */
static inline __attribute__((always_inline)) void pixels(const float *src, size_t src_row, const float *weights, __m256 bias,
                                                         int relu, const int count, float *dst) {
    __m256 acc[PIXELS];
    for (int j = 0; j < PIXELS; j++) acc[j] = bias;
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            const float *s = src + a * src_row + (size_t)b * BLOCK, *wt = weights + (size_t)(a * 3 + b) * BLOCK * BLOCK;
            for (int c = 0; c < BLOCK; c++) {
                const __m256 weight = _mm256_loadu_ps(wt + c * BLOCK);
                for (int j = 0; j < count; j++)
                    acc[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(s + j * BLOCK + c), weight, acc[j]);
            }
        }
    }
    const __m256 zero = _mm256_setzero_ps();
    for (int j = 0; j < count; j++) _mm256_storeu_ps(dst + j * BLOCK, relu ? _mm256_max_ps(acc[j], zero) : acc[j]);
}

static void full_pixels(const float *src, size_t src_row, const float *weights, __m256 bias, int relu, float *dst) {
    pixels(src, src_row, weights, bias, relu, PIXELS, dst);
}

static void some_pixels(const float *src, size_t src_row, const float *weights, __m256 bias, int relu, int count, float *dst) {
    for (int j = 0; j < count; j++) pixels(src + (size_t)j * BLOCK, src_row, weights, bias, relu, 1, dst + (size_t)j * BLOCK);
}

int txn_direct3x3_run(const txn_wino_pass *p, int first_row, int rows) {
    if (p->block != BLOCK || p->in_channels != BLOCK || p->out_channels % BLOCK != 0 || p->origin != 0 || first_row < 0
        || rows < 0 || first_row + rows > p->dst_h || p->src_h < p->dst_h + 2 || p->src_w < p->dst_w + 2)
        return -1;
    const size_t src_row = (size_t)p->src_w * BLOCK;
    for (int nb = 0; nb < p->out_channels / BLOCK; nb++) {
        const float *weights = p->packed + (size_t)nb * TAPS * BLOCK * BLOCK;
        const __m256 bias = p->bias ? _mm256_loadu_ps(p->bias + nb * BLOCK) : _mm256_setzero_ps();
        for (int y = first_row; y < first_row + rows; y++) {
            const float *src = p->src + (size_t)y * src_row;
            float *dst = p->dst + (ptrdiff_t)nb * p->dst_plane + (size_t)y * p->dst_w * BLOCK;
            for (int x = 0; x < p->dst_w; x += PIXELS) {
                if (p->dst_w - x >= PIXELS)
                    full_pixels(src + (size_t)x * BLOCK, src_row, weights, bias, p->relu, dst + (size_t)x * BLOCK);
                else
                    some_pixels(src + (size_t)x * BLOCK, src_row, weights, bias, p->relu, p->dst_w - x, dst + (size_t)x * BLOCK);
            }
        }
    }
    return 0;
}
