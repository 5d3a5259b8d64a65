/* The matrix-product kernel txn's C kernels share (Winograd's 16 products, the pointwise convolution): a row
   panel of A times a K x 16 column panel of the packed weights, with AVX2 FMA. Internal to CKernels. */
#ifndef TXN_PANEL_KERNEL_H
#define TXN_PANEL_KERNEL_H
#include <immintrin.h>
#include <stddef.h>

enum { KERNEL_ROWS = 6, PANEL = 16 };

/* Rows of A the kernel computes at once, rounded up (the rows past the real ones are zero). */
static inline int padded_rows(int rows) { return (rows + KERNEL_ROWS - 1) / KERNEL_ROWS * KERNEL_ROWS; }

/* Output channels rounded up to whole 16-column panels: the packed weights and products are this wide. */
static inline int panel_width(int channels) { return (channels + PANEL - 1) / PANEL * PANEL; }

/* c[6][16] = a[6][K] (rows lda apart) · panel[K][16], or c += that when `accumulate`. Rows are read through two pointers (rows 0-2 and 3-5) and
   one stride, which x86 addressing covers (p, p + lda, p + 2 lda): with six pointers the compiler ran out of
   registers and spilled them inside the loop. */
__attribute__((noinline)) static void kernel_6x16(const float *a, size_t lda, const float *panel, int K, float *c, size_t ldc,
                                                  int accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *p = a, *q = a + 3 * lda, *b = panel;
    const ptrdiff_t s = (ptrdiff_t)lda;
    for (int k = 0; k < K; k++, p++, q++, b += PANEL) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x;
        x = _mm256_broadcast_ss(p); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(p + s); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(p + 2 * s); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(q); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(q + s); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(q + 2 * s); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    if (accumulate) {
        const float *d = c;
        c00 = _mm256_add_ps(c00, _mm256_loadu_ps(d)); c01 = _mm256_add_ps(c01, _mm256_loadu_ps(d + 8)); d += ldc;
        c10 = _mm256_add_ps(c10, _mm256_loadu_ps(d)); c11 = _mm256_add_ps(c11, _mm256_loadu_ps(d + 8)); d += ldc;
        c20 = _mm256_add_ps(c20, _mm256_loadu_ps(d)); c21 = _mm256_add_ps(c21, _mm256_loadu_ps(d + 8)); d += ldc;
        c30 = _mm256_add_ps(c30, _mm256_loadu_ps(d)); c31 = _mm256_add_ps(c31, _mm256_loadu_ps(d + 8)); d += ldc;
        c40 = _mm256_add_ps(c40, _mm256_loadu_ps(d)); c41 = _mm256_add_ps(c41, _mm256_loadu_ps(d + 8)); d += ldc;
        c50 = _mm256_add_ps(c50, _mm256_loadu_ps(d)); c51 = _mm256_add_ps(c51, _mm256_loadu_ps(d + 8));
    }
    _mm256_storeu_ps(c, c00); _mm256_storeu_ps(c + 8, c01); c += ldc;
    _mm256_storeu_ps(c, c10); _mm256_storeu_ps(c + 8, c11); c += ldc;
    _mm256_storeu_ps(c, c20); _mm256_storeu_ps(c + 8, c21); c += ldc;
    _mm256_storeu_ps(c, c30); _mm256_storeu_ps(c + 8, c31); c += ldc;
    _mm256_storeu_ps(c, c40); _mm256_storeu_ps(c + 8, c41); c += ldc;
    _mm256_storeu_ps(c, c50); _mm256_storeu_ps(c + 8, c51);
}

/* c[6][8] = a[6][K] · the first 8 columns of panel[K][16]: the last panel of an output 8 columns past whole panels
   (the texture network's 40 channels), which kernel_6x16 would compute twice as wide, half of it for nothing. */
__attribute__((noinline)) static void kernel_6x8(const float *a, size_t lda, const float *panel, int K, float *c, size_t ldc) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    const float *p = a, *q = a + 3 * lda, *b = panel;
    const ptrdiff_t s = (ptrdiff_t)lda;
    for (int k = 0; k < K; k++, p++, q++, b += PANEL) {
        const __m256 b0 = _mm256_loadu_ps(b);
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p), b0, c0);
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + s), b0, c1);
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(p + 2 * s), b0, c2);
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(q), b0, c3);
        c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + s), b0, c4);
        c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + 2 * s), b0, c5);
    }
    _mm256_storeu_ps(c, c0); c += ldc;
    _mm256_storeu_ps(c, c1); c += ldc;
    _mm256_storeu_ps(c, c2); c += ldc;
    _mm256_storeu_ps(c, c3); c += ldc;
    _mm256_storeu_ps(c, c4); c += ldc;
    _mm256_storeu_ps(c, c5);
}

/* m[rows][ldm] (columns [0, columns)) = a[rows][K] · packed[panels][K][16], columns a multiple of 8 (the panels past
   them zero); rows a multiple of KERNEL_ROWS. (Slicing
   K into 256-deep passes, so that a panel slice stays in L1, measured slower: GAN training 2.73-3.01 s against
   2.50-2.54 s, the accumulating stores costing more than the panel's L2 reads.) */
static inline void panel_products(const float *a, int rows, int K, const float *packed, int columns, float *m, size_t ldm) {
    for (int nb = 0; nb * PANEL < columns; nb++) {
        const float *panel = packed + (size_t)nb * K * PANEL;
        const int half = columns - nb * PANEL == 8;
        for (int r = 0; r < rows; r += KERNEL_ROWS) {
            if (half)
                kernel_6x8(a + (size_t)r * K, K, panel, K, m + (size_t)r * ldm + nb * PANEL, ldm);
            else
                kernel_6x16(a + (size_t)r * K, K, panel, K, m + (size_t)r * ldm + nb * PANEL, ldm, 0);
        }
    }
}
#endif
