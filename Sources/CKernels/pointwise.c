/* 1x1 convolution on the channel-blocked layout: see pointwise.h. Inside one call: A[rows][K] the gathered
   pixels (rows padded to the kernel's 6 with zeros), M[rows][N'] their products with U[N'/16][K][16]. */
#include "pointwise.h"
#include "panel_kernel.h"
#include <string.h>

size_t txn_pointwise_weight_floats(int in_channels, int out_channels) {
    return (size_t)in_channels * (size_t)panel_width(out_channels);
}

void txn_pointwise_pack_weights(const float *w, int cout, int cin, int packed_in, float *packed) {
    memset(packed, 0, txn_pointwise_weight_floats(packed_in, cout) * sizeof(float));
    for (int n = 0; n < cout; n++)
        for (int k = 0; k < cin; k++)
            packed[((size_t)(n / PANEL) * packed_in + k) * PANEL + n % PANEL] = w[(size_t)n * cin + k];
}

size_t txn_pointwise_scratch_floats(int pixels, int in_channels, int out_channels) {
    return (size_t)padded_rows(pixels) * ((size_t)in_channels + (size_t)panel_width(out_channels));
}

int txn_pointwise_run(const txn_pointwise_pass *p, ptrdiff_t first, int count, float *scratch, double *moments) {
    const int K = p->in_channels, N = p->out_channels, B = p->block, ldm = panel_width(N);
    if ((B != 8 && B != 16) || K % 8 != 0 || N % 8 != 0 || K % B != 0 || N % B != 0 || count <= 0 || first < 0
        || (p->scale == NULL) != (p->shift == NULL) || (p->scale == NULL) != (p->slope == NULL))
        return -1;
    const int rows = padded_rows(count);
    const __m256 zero = _mm256_setzero_ps();
    float *a = scratch, *m = scratch + (size_t)rows * K;
    for (int r = 0; r < rows; r++) {
        float *row = a + (size_t)r * K;
        if (r >= count) {
            memset(row, 0, (size_t)K * sizeof(float));
            continue;
        }
        const float *pixel = p->src + (first + r) * B;
        for (int k = 0; k < K; k += 8) {
            __m256 v = _mm256_loadu_ps(pixel + (ptrdiff_t)(k / B) * p->src_plane + k % B);
            if (p->scale) {
                v = _mm256_fmadd_ps(v, _mm256_loadu_ps(p->scale + k), _mm256_loadu_ps(p->shift + k));
                v = _mm256_fmadd_ps(_mm256_loadu_ps(p->slope + k), _mm256_min_ps(v, zero), _mm256_max_ps(v, zero));
            }
            _mm256_storeu_ps(row + k, v);
        }
    }
    panel_products(a, rows, K, p->packed, N, m, ldm);
    for (int n = 0; n < N; n += 8) {
        const __m256 bias = p->bias ? _mm256_loadu_ps(p->bias + n) : zero;
        float *channels = p->dst + (ptrdiff_t)(n / B) * p->dst_plane + n % B;
        const int lanes = p->planes - n < 8 ? p->planes - n : 8; /* with planes: the channels of this group kept */
        if (p->planes && lanes <= 0) continue;
        for (int start = 0; start < count; start += 64) {
            __m256 sum = zero, squares = zero; /* over at most 64 pixels, in float */
            for (int r = start; r < count && r < start + 64; r++) {
                const __m256 value = _mm256_add_ps(_mm256_loadu_ps(m + (size_t)r * ldm + n), bias);
                if (p->planes) {
                    float v[8];
                    _mm256_storeu_ps(v, value);
                    for (int c = 0; c < lanes; c++) p->dst[(ptrdiff_t)(n + c) * p->dst_plane + first + r] = v[c];
                } else {
                    _mm256_storeu_ps(channels + (first + r) * B, value);
                }
                sum = _mm256_add_ps(sum, value);
                squares = _mm256_fmadd_ps(value, value, squares);
            }
            if (moments) {
                double s[8], q[8];
                _mm256_storeu_pd(s, _mm256_cvtps_pd(_mm256_castps256_ps128(sum)));
                _mm256_storeu_pd(s + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(sum, 1)));
                _mm256_storeu_pd(q, _mm256_cvtps_pd(_mm256_castps256_ps128(squares)));
                _mm256_storeu_pd(q + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(squares, 1)));
                for (int c = 0; c < 8; c++) { moments[n + c] += s[c]; moments[N + n + c] += q[c]; }
            }
        }
    }
    return 0;
}
