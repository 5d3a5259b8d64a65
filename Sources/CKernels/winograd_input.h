/* The Winograd input transform txn's two Winograd kernels share: F(2x2, 3x3) (winograd.c) and F(3x3, 2x2)
   (winograd_s2.c) both take 4x4 patches through the same Bᵀ (points 0, 1, -1, ∞). Internal to CKernels. */
#ifndef TXN_WINOGRAD_INPUT_H
#define TXN_WINOGRAD_INPUT_H
#include <immintrin.h>

/* V = Bᵀ d B with Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], for 8 channels at once. */
static inline void transform_patch(__m256 d[16]) {
    for (int j = 0; j < 4; j++) {
        __m256 d0 = d[j], d1 = d[4 + j], d2 = d[8 + j], d3 = d[12 + j];
        d[j] = _mm256_sub_ps(d0, d2);
        d[4 + j] = _mm256_add_ps(d1, d2);
        d[8 + j] = _mm256_sub_ps(d2, d1);
        d[12 + j] = _mm256_sub_ps(d1, d3);
    }
    for (int i = 0; i < 4; i++) {
        __m256 t0 = d[4 * i], t1 = d[4 * i + 1], t2 = d[4 * i + 2], t3 = d[4 * i + 3];
        d[4 * i] = _mm256_sub_ps(t0, t2);
        d[4 * i + 1] = _mm256_add_ps(t1, t2);
        d[4 * i + 2] = _mm256_sub_ps(t2, t1);
        d[4 * i + 3] = _mm256_sub_ps(t1, t3);
    }
}

#endif
