/* F(2x2, 3x3) Winograd convolution on the channel-blocked layout: see winograd.h. AVX2 and FMA (built for
   haswell, like the rest of txn). Layouts inside one call, for the `count` tiles it computes (rows padded to a
   multiple of 6, the height of the matrix-product kernel, with zero tiles):
     V[16][rows][K]  the transformed input patches, a row per tile
     M[16][rows][N]  their products with the transformed weights
   and the packed weights U[16][N'/16][K][16] (N' = N rounded up to whole 16-column panels, the columns past N
   zero), so that the kernel reads a K x 16 panel contiguously. */
#include "winograd.h"
#include "panel_kernel.h"
#include "winograd_input.h"
#include "winograd_tiles.h"
#include <stdint.h>
#include <string.h>

size_t txn_wino_weight_floats(int in_channels, int out_channels) {
    return (size_t)16 * (size_t)in_channels * (size_t)panel_width(out_channels);
}

size_t txn_wino_scratch_floats(int tiles, int in_channels, int out_channels) {
    return (size_t)16 * (size_t)padded_rows(tiles) * ((size_t)in_channels + (size_t)panel_width(out_channels));
}

int txn_wino_tiles(const txn_wino_pass *p) { return ((p->dst_h + 1) / 2) * ((p->dst_w + 1) / 2); }

/* U = G g Gᵀ with G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]. */
static void transform_kernel(const float g[3][3], float *u) {
    float t[4][3];
    for (int c = 0; c < 3; c++) {
        t[0][c] = g[0][c];
        t[1][c] = 0.5f * (g[0][c] + g[1][c] + g[2][c]);
        t[2][c] = 0.5f * (g[0][c] - g[1][c] + g[2][c]);
        t[3][c] = g[2][c];
    }
    for (int i = 0; i < 4; i++) {
        u[i * 4 + 0] = t[i][0];
        u[i * 4 + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[i * 4 + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[i * 4 + 3] = t[i][2];
    }
}

void txn_wino_pack_weights(const float *w, int cout, int cin, int backward, int packed_in, float *packed) {
    pack_3x3_weights(w, cout, cin, backward, packed_in, 16, transform_kernel, packed);
}

/* Transforms the patches of tiles [first, first + count) into V; rows past the last tile of the pass are zero. */
static void input_transform(const txn_wino_pass *p, int first, int count, int rows, float *v) {
    transform_tiles(p, first, count, rows, v, 2, 4, (p->dst_w + 1) / 2, txn_wino_tiles(p), transform_patch);
}

/* M[ξ] = V[ξ] · U[ξ] for the 16 points: panel by panel, so that one K x 16 panel of U stays in L1 while every
   row of V[ξ] (in L2) passes it. */
static void products(const txn_wino_pass *p, int rows, const float *v, float *m) {
    const int K = p->in_channels, N = panel_width(p->out_channels), panels = N / PANEL;
    for (int xi = 0; xi < 16; xi++)
        panel_products(v + (size_t)xi * rows * K, rows, K, p->packed + (size_t)xi * panels * K * PANEL, p->out_channels,
                       m + (size_t)xi * rows * N, N);
}

/* Y = Aᵀ M A with Aᵀ = [1 1 1 0; 0 1 -1 -1], then bias and ReLU, into the tiles' places in dst. */
static void output_transform(const txn_wino_pass *p, int first, int count, int rows, const float *m) {
    const int N = p->out_channels, ldm = panel_width(N), B = p->block, tiles_w = (p->dst_w + 1) / 2;
    const size_t xi_stride = (size_t)rows * ldm;
    const __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < count; r++) {
        const int t = first + r, y0 = 2 * (t / tiles_w), x0 = 2 * (t % tiles_w);
        const float *row = m + (size_t)r * ldm;
        for (int n = 0; n < N; n += 8) {
            __m256 s[16], q[8];
            for (int xi = 0; xi < 16; xi++) s[xi] = _mm256_loadu_ps(row + xi * xi_stride + n);
            for (int j = 0; j < 4; j++) {
                q[j] = _mm256_add_ps(_mm256_add_ps(s[j], s[4 + j]), s[8 + j]);
                q[4 + j] = _mm256_sub_ps(_mm256_sub_ps(s[4 + j], s[8 + j]), s[12 + j]);
            }
            __m256 y[4];
            for (int i = 0; i < 2; i++) {
                y[2 * i] = _mm256_add_ps(_mm256_add_ps(q[4 * i], q[4 * i + 1]), q[4 * i + 2]);
                y[2 * i + 1] = _mm256_sub_ps(_mm256_sub_ps(q[4 * i + 1], q[4 * i + 2]), q[4 * i + 3]);
            }
            const __m256 bias = p->bias ? _mm256_loadu_ps(p->bias + n) : zero;
            float *base = p->dst + (ptrdiff_t)(n / B) * p->dst_plane + n % B;
            for (int i = 0; i < 2; i++) {
                if (y0 + i >= p->dst_h) break;
                for (int j = 0; j < 2; j++) {
                    if (x0 + j >= p->dst_w) break;
                    __m256 value = _mm256_add_ps(y[2 * i + j], bias);
                    if (p->relu) value = _mm256_max_ps(value, zero);
                    _mm256_storeu_ps(base + ((size_t)(y0 + i) * p->dst_w + x0 + j) * B, value);
                }
            }
        }
    }
}

int txn_wino_run(const txn_wino_pass *p, int first, int count, float *scratch) {
    if ((p->block != 8 && p->block != 16) || p->in_channels % 8 != 0 || p->out_channels % 8 != 0
        || p->in_channels % p->block != 0 || p->out_channels % p->block != 0 || count <= 0 || first < 0)
        return -1;
    const int rows = padded_rows(count);
    float *v = scratch, *m = scratch + (size_t)16 * rows * p->in_channels;  /* M after V, as scratch_floats counts */
    input_transform(p, first, count, rows, v);
    products(p, rows, v, m);
    output_transform(p, first, count, rows, m);
    return 0;
}
