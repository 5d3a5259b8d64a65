/* What txn's two stride-1 3x3 Winograd kernels, F(2x2, 3x3) (winograd.c) and F(4x4, 3x3) (winograd_f43.c), do
   alike, written once for a tile of `step` outputs a side from a patch of `side` = step + 2 inputs a side: packing
   the transformed weights, and gathering and transforming the patches of one call's tiles. Each kernel passes its
   own transforms; inlined with constant sizes, each gets its own specialised code. Internal to CKernels. */
#ifndef TXN_WINOGRAD_TILES_H
#define TXN_WINOGRAD_TILES_H
#include "panel_kernel.h"
#include "winograd.h"
#include <immintrin.h>
#include <string.h>

enum { MAX_POINTS = 36 };

/* U[points][N'/16][packed_in][16] from PyTorch's [cout][cin][3][3] weights, each kernel through `transform` (G g Gᵀ):
   forward (K = cin, N = cout) or backward-data (K = cout, N = cin, kernels rotated by 180°); zero past K and N. */
static inline void pack_3x3_weights(const float *w, int cout, int cin, int backward, int packed_in, int points,
                                    void (*transform)(const float g[3][3], float *u), float *packed) {
    const int K = backward ? cout : cin, N = backward ? cin : cout, panels = panel_width(N) / PANEL;
    memset(packed, 0, (size_t)points * packed_in * panel_width(N) * sizeof(float));
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            float g[3][3], u[MAX_POINTS];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    g[a][b] = backward ? w[(((size_t)k * cin + n) * 3 + 2 - a) * 3 + 2 - b]
                                       : w[(((size_t)n * cin + k) * 3 + a) * 3 + b];
            transform(g, u);
            for (int xi = 0; xi < points; xi++)
                packed[(((size_t)xi * panels + n / PANEL) * packed_in + k) * PANEL + n % PANEL] = u[xi];
        }
    }
}

/* V[side²][rows][K]: the transformed patches of tiles [first, first + count) of the pass (tiles_w tiles a row,
   `tiles` in all), zeros outside the source and in the rows past the last tile. */
static inline __attribute__((always_inline)) void transform_tiles(const txn_wino_pass *p, int first, int count, int rows,
                                                                  float *v, int step, int side, int tiles_w, int tiles,
                                                                  void (*transform)(__m256 *d)) {
    const int K = p->in_channels, B = p->block, points = side * side;
    const size_t plane = (size_t)p->src_h * p->src_w * B, xi_stride = (size_t)rows * K;
    for (int r = 0; r < rows; r++) {
        const int t = first + r;
        float *row = v + (size_t)r * K;
        if (r >= count || t >= tiles) {
            for (int xi = 0; xi < points; xi++)
                for (int k = 0; k < K; k += 8) _mm256_storeu_ps(row + xi * xi_stride + k, _mm256_setzero_ps());
            continue;
        }
        const int y0 = step * (t / tiles_w) + p->origin, x0 = step * (t % tiles_w) + p->origin;
        const int inside = y0 >= 0 && x0 >= 0 && y0 + side <= p->src_h && x0 + side <= p->src_w;
        for (int k = 0; k < K; k += 8) {
            const float *base = p->src + (size_t)(k / B) * plane + k % B;
            __m256 d[MAX_POINTS];
            for (int i = 0; i < side; i++) {
                const int y = y0 + i;
                for (int j = 0; j < side; j++) {
                    const int x = x0 + j;
                    if (inside || (y >= 0 && y < p->src_h && x >= 0 && x < p->src_w))
                        d[side * i + j] = _mm256_loadu_ps(base + ((size_t)y * p->src_w + x) * B);
                    else
                        d[side * i + j] = _mm256_setzero_ps();
                }
            }
            transform(d);
            for (int xi = 0; xi < points; xi++) _mm256_storeu_ps(row + xi * xi_stride + k, d[xi]);
        }
    }
}
#endif
