/* F(4x4, 3x3) Winograd convolution on the channel-blocked layout: see winograd_f43.h. AVX2 and FMA. Layouts inside
   one call, as in winograd.c but with 36 transform points:
     V[36][rows][K]  the transformed 6x6 input patches, a row per tile
     M[36][rows][N]  their products with the transformed weights
   and the packed weights U[36][N'/16][K][16]. */
#include "winograd_f43.h"
#include "panel_kernel.h"
#include "winograd_tiles.h"
#include <stdint.h>
#include <string.h>

enum { POINTS = 36 };

size_t txn_wino43_weight_floats(int in_channels, int out_channels) {
    return (size_t)POINTS * (size_t)in_channels * (size_t)panel_width(out_channels);
}

size_t txn_wino43_scratch_floats(int tiles, int in_channels, int out_channels) {
    return (size_t)POINTS * (size_t)padded_rows(tiles) * ((size_t)in_channels + (size_t)panel_width(out_channels));
}

int txn_wino43_tiles(const txn_wino_pass *p) { return ((p->dst_h + 3) / 4) * ((p->dst_w + 3) / 4); }

/* U = G g Gᵀ, in double (the weights are transformed once), with
   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]. */
static void transform_kernel(const float g[3][3], float *u) {
    static const double G[6][3] = {{0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    double t[6][3];
    for (int i = 0; i < 6; i++)
        for (int c = 0; c < 3; c++) t[i][c] = G[i][0] * g[0][c] + G[i][1] * g[1][c] + G[i][2] * g[2][c];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) u[i * 6 + j] = (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
}

void txn_wino43_pack_weights(const float *w, int cout, int cin, int backward, int packed_in, float *packed) {
    pack_3x3_weights(w, cout, cin, backward, packed_in, POINTS, transform_kernel, packed);
}

/* Bᵀ on six vectors (in[0], in[s], …, in[5s]) into out[0], out[s], …, with
   Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]. */
static inline void input_1d(const __m256 *in, __m256 *out, int s) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), five = _mm256_set1_ps(5);
    const __m256 d0 = in[0], d1 = in[s], d2 = in[2 * s], d3 = in[3 * s], d4 = in[4 * s], d5 = in[5 * s];
    const __m256 d31 = _mm256_sub_ps(d3, d1), d42 = _mm256_sub_ps(d4, d2);
    out[0] = _mm256_fmadd_ps(four, d0, _mm256_fnmadd_ps(five, d2, d4));
    out[s] = _mm256_fnmadd_ps(four, _mm256_add_ps(d1, d2), _mm256_add_ps(d3, d4));
    out[2 * s] = _mm256_fmadd_ps(four, _mm256_sub_ps(d1, d2), _mm256_sub_ps(d4, d3));
    out[3 * s] = _mm256_fmadd_ps(two, d31, d42);
    out[4 * s] = _mm256_fnmadd_ps(two, d31, d42);
    out[5 * s] = _mm256_fmadd_ps(four, d1, _mm256_fnmadd_ps(five, d3, d5));
}

/* Aᵀ on six vectors into four, with Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]. */
static inline void output_1d(const __m256 *in, int is, __m256 *out, int os) {
    const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
    const __m256 p12 = _mm256_add_ps(in[is], in[2 * is]), m12 = _mm256_sub_ps(in[is], in[2 * is]);
    const __m256 p34 = _mm256_add_ps(in[3 * is], in[4 * is]), m34 = _mm256_sub_ps(in[3 * is], in[4 * is]);
    out[0] = _mm256_add_ps(_mm256_add_ps(in[0], p12), p34);
    out[os] = _mm256_fmadd_ps(two, m34, m12);
    out[2 * os] = _mm256_fmadd_ps(four, p34, p12);
    out[3 * os] = _mm256_add_ps(_mm256_fmadd_ps(eight, m34, m12), in[5 * is]);
}

/* Bᵀ d B of one 6x6 patch, 8 channels at once: down each column, then along each row. */
static inline void transform_patch(__m256 *d) {
    __m256 e[POINTS];
    for (int j = 0; j < 6; j++) input_1d(d + j, e + j, 6);
    for (int i = 0; i < 6; i++) input_1d(e + 6 * i, d + 6 * i, 1);
}

static void input_transform(const txn_wino_pass *p, int first, int count, int rows, float *v) {
    transform_tiles(p, first, count, rows, v, 4, 6, (p->dst_w + 3) / 4, txn_wino43_tiles(p), transform_patch);
}

/* M[ξ] = V[ξ] · U[ξ] for the 36 points, panel by panel (as winograd.c). */
static void products(const txn_wino_pass *p, int rows, const float *v, float *m) {
    const int K = p->in_channels, N = panel_width(p->out_channels), panels = N / PANEL;
    for (int xi = 0; xi < POINTS; xi++)
        panel_products(v + xi * (size_t)rows * K, rows, K, p->packed + (size_t)xi * panels * K * PANEL, p->out_channels,
                       m + xi * (size_t)rows * N, N);
}

/* Y = Aᵀ M A, then bias and ReLU, into the tiles' places in dst. */
/* Adds the lanes of `sum` and `squares` (8 channels' float partial sums) to moments[n..n+8) and moments[N + n..). */
static inline void add_moments(double *moments, int N, int n, __m256 sum, __m256 squares) {
    double *s = moments + n, *q = moments + N + n;
    _mm256_storeu_pd(s, _mm256_add_pd(_mm256_loadu_pd(s), _mm256_cvtps_pd(_mm256_castps256_ps128(sum))));
    _mm256_storeu_pd(s + 4, _mm256_add_pd(_mm256_loadu_pd(s + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(sum, 1))));
    _mm256_storeu_pd(q, _mm256_add_pd(_mm256_loadu_pd(q), _mm256_cvtps_pd(_mm256_castps256_ps128(squares))));
    _mm256_storeu_pd(q + 4, _mm256_add_pd(_mm256_loadu_pd(q + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(squares, 1))));
}

static void output_transform(const txn_wino_pass *p, int first, int count, int rows, const float *m, double *moments) {
    const int N = p->out_channels, ldm = panel_width(N), B = p->block, tiles_w = (p->dst_w + 3) / 4;
    const size_t xi_stride = (size_t)rows * ldm;
    const __m256 zero = _mm256_setzero_ps();
    /* A tile's four pixels of a row are two whole cache lines of dst when it is 32-byte aligned: stored past the
       caches, they are not first read from memory (dst is a map far larger than the caches, read next by the next
       layer). */
    const int stream = ((uintptr_t)p->dst % 32 == 0) && (p->dst_plane % 8 == 0) && (p->dst_w % 2 == 0);
    for (int r = 0; r < count; r++) {
        const int t = first + r, y0 = 4 * (t / tiles_w), x0 = 4 * (t % tiles_w);
        const int rows_here = p->dst_h - y0 < 4 ? p->dst_h - y0 : 4, columns_here = p->dst_w - x0 < 4 ? p->dst_w - x0 : 4;
        const float *row = m + (size_t)r * ldm;
        for (int n = 0; n < N; n += 8) {
            __m256 s[POINTS], q[24], y[16];
            for (int xi = 0; xi < POINTS; xi++) s[xi] = _mm256_loadu_ps(row + xi * xi_stride + n);
            for (int j = 0; j < 6; j++) output_1d(s + j, 6, q + j, 6);     /* Aᵀ M: q[4][6] */
            for (int i = 0; i < 4; i++) output_1d(q + 6 * i, 1, y + 4 * i, 1); /* (Aᵀ M) A: y[4][4] */
            const __m256 bias = p->bias ? _mm256_loadu_ps(p->bias + n) : zero;
            float *base = p->dst + (ptrdiff_t)(n / B) * p->dst_plane + n % B;
            __m256 sum = zero, squares = zero; /* over this tile's (at most 16) pixels, in float */
            for (int i = 0; i < rows_here; i++) {
                for (int j = 0; j < columns_here; j++) {
                    __m256 value = _mm256_add_ps(y[4 * i + j], bias);
                    if (p->relu) value = _mm256_max_ps(value, zero);
                    float *at = base + ((size_t)(y0 + i) * p->dst_w + x0 + j) * B;
                    if (stream) _mm256_stream_ps(at, value); else _mm256_storeu_ps(at, value);
                    sum = _mm256_add_ps(sum, value);
                    squares = _mm256_fmadd_ps(value, value, squares);
                }
            }
            if (moments) add_moments(moments, N, n, sum, squares);
        }
    }
}

int txn_wino43_run(const txn_wino_pass *p, int first, int count, float *scratch, double *moments) {
    if ((p->block != 8 && p->block != 16) || p->in_channels % 8 != 0 || p->out_channels % 8 != 0
        || p->in_channels % p->block != 0 || p->out_channels % p->block != 0 || count <= 0 || first < 0)
        return -1;
    const int rows = padded_rows(count);
    float *v = scratch, *m = scratch + (size_t)POINTS * rows * p->in_channels; /* as scratch_floats counts */
    input_transform(p, first, count, rows, v);
    products(p, rows, v, m);
    output_transform(p, first, count, rows, m, moments);
    _mm_sfence(); /* the streamed stores are visible before the call returns */
    return 0;
}
