/* Elementwise passes over blocked maps: see maps.h. */
#include "maps.h"
#include <immintrin.h>
#include <string.h>

void txn_map8_moments(const float *block, ptrdiff_t first, ptrdiff_t count, double *sums, double *squares) {
    __m256d s0 = _mm256_loadu_pd(sums), s1 = _mm256_loadu_pd(sums + 4);
    __m256d q0 = _mm256_loadu_pd(squares), q1 = _mm256_loadu_pd(squares + 4);
    const float *x = block + first * 8;
    for (ptrdiff_t done = 0; done < count; done += 64) {
        const ptrdiff_t run = count - done < 64 ? count - done : 64;
        __m256 s = _mm256_setzero_ps(), q = s, t = s, u = s;
        ptrdiff_t i = 0;
        for (; i + 2 <= run; i += 2, x += 16) {
            const __m256 a = _mm256_loadu_ps(x), b = _mm256_loadu_ps(x + 8);
            s = _mm256_add_ps(s, a); q = _mm256_fmadd_ps(a, a, q);
            t = _mm256_add_ps(t, b); u = _mm256_fmadd_ps(b, b, u);
        }
        if (i < run) {
            const __m256 a = _mm256_loadu_ps(x);
            s = _mm256_add_ps(s, a); q = _mm256_fmadd_ps(a, a, q);
            x += 8;
        }
        s = _mm256_add_ps(s, t); q = _mm256_add_ps(q, u);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(s)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(s, 1)));
        q0 = _mm256_add_pd(q0, _mm256_cvtps_pd(_mm256_castps256_ps128(q)));
        q1 = _mm256_add_pd(q1, _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1)));
    }
    _mm256_storeu_pd(sums, s0); _mm256_storeu_pd(sums + 4, s1);
    _mm256_storeu_pd(squares, q0); _mm256_storeu_pd(squares + 4, q1);
}

void txn_map8_affine(const float *src, float *dst, ptrdiff_t count, const float *scale, const float *shift,
                     const float *slope) {
    const __m256 a = _mm256_loadu_ps(scale), b = _mm256_loadu_ps(shift), k = _mm256_loadu_ps(slope);
    const __m256 zero = _mm256_setzero_ps();
    for (ptrdiff_t i = 0; i < count; i++, src += 8, dst += 8) {
        const __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(src), a, b);
        /* LeakyReLU as max(v, 0) + slope * min(v, 0): exact for every slope, and the identity for slope 1. */
        _mm256_storeu_ps(dst, _mm256_fmadd_ps(k, _mm256_min_ps(v, zero), _mm256_max_ps(v, zero)));
    }
}

void txn_map8_upsample2(const float *src, int w, int first_row, int rows, float *dst) {
    for (int i = first_row; i < first_row + rows; i++) {
        const float *line = src + (size_t)i * w * 8;
        float *top = dst + (size_t)(2 * i) * (2 * w) * 8, *bottom = top + (size_t)2 * w * 8;
        for (int j = 0; j < w; j++) {
            const __m256 v = _mm256_loadu_ps(line + (size_t)j * 8);
            _mm256_storeu_ps(top + (size_t)(2 * j) * 8, v);
            _mm256_storeu_ps(top + (size_t)(2 * j + 1) * 8, v);
        }
        memcpy(bottom, top, (size_t)2 * w * 8 * sizeof(float));
    }
}
