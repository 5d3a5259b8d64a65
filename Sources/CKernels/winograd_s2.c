/* F(3x3, 2x2) Winograd for 4x4 stride-2 padding-1 convolutions: see winograd_s2.h. AVX2 and FMA.
   Layouts inside one call, as in winograd.c: V[16][rows][K] the transformed patches, M[16][rows][N'] their
   products with the packed weights U[16][N'/16][K][16]. K and N are phase-major: index p·C + c for phase p = 2b + c'
   (b the row phase, c' the column phase) and channel c.

   With G = [1 0; ½ ½; ½ -½; 0 -1] the kernel transform, Bᵀ the input transform F(2x2, 3x3) uses too (the sign of
   G's last row makes the two equal), and Aᵀ = [1 1 1 0; 0 1 -1 0; 0 1 1 1] the output transform, a 3x3 tile of a
   2x2 correlation is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A. */
#include "winograd_s2.h"
#include "panel_kernel.h"
#include "winograd_input.h"
#include <string.h>

/* One pass seen as "sample patches of src, write tiles of dst". A tile (n, ty, tx) reads, for each source phase
   (b, c), the 4x4 taps at rows tile_step·ty - 1 + tap_stride·i + b (columns alike) and writes, for each destination
   phase, the 3x3 values at rows out_stride·(3ty + i) + b + out_offset. */
typedef struct {
    const float *src;
    int src_h, src_w, src_channels, src_phases, tap_stride, tile_step;
    float *dst;
    int dst_h, dst_w, dst_channels, dst_phases, out_stride, out_offset;
    int tiles_h, tiles_w, batch, block;
} sampling;

static int output_h(const txn_ws2_shape *s) { return s->height / 2; }
static int output_w(const txn_ws2_shape *s) { return s->width / 2; }

static int valid(const txn_ws2_shape *s) {
    return (s->block == 8 || s->block == 16) && s->in_channels > 0 && s->out_channels > 0
        && s->in_channels % s->block == 0 && s->out_channels % s->block == 0
        && s->batch > 0 && s->height >= 2 && s->width >= 2;
}

/* Forward: tiles over the output. Backward-data: tiles over each phase's gradient, (height + 3) / 2 rows (the
   padded input's 2i + b rows for either b). */
static sampling sampling_of(const txn_ws2_shape *s, int pass, const float *src, float *dst) {
    const int oh = output_h(s), ow = output_w(s);
    if (pass == TXN_WS2_FORWARD)
        return (sampling){src, s->height, s->width, s->in_channels, 4, 2, 6,
                          dst, oh, ow, s->out_channels, 1, 1, 0,
                          (oh + 2) / 3, (ow + 2) / 3, s->batch, s->block};
    const int ph = (s->height + 3) / 2, pw = (s->width + 3) / 2;
    return (sampling){src, oh, ow, s->out_channels, 1, 1, 3,
                      dst, s->height, s->width, s->in_channels, 4, 2, -1,
                      (ph + 2) / 3, (pw + 2) / 3, s->batch, s->block};
}

static int pass_K(const txn_ws2_shape *s, int pass) { return pass == TXN_WS2_FORWARD ? 4 * s->in_channels : s->out_channels; }
static int pass_N(const txn_ws2_shape *s, int pass) { return pass == TXN_WS2_FORWARD ? s->out_channels : 4 * s->in_channels; }

size_t txn_ws2_weight_floats(const txn_ws2_shape *s, int pass) {
    return (size_t)16 * (size_t)pass_K(s, pass) * (size_t)panel_width(pass_N(s, pass));
}

int txn_ws2_tiles(const txn_ws2_shape *s, int pass) {
    const sampling g = sampling_of(s, pass, NULL, NULL);
    return g.batch * g.tiles_h * g.tiles_w;
}

size_t txn_ws2_scratch_floats(const txn_ws2_shape *s, int pass, int tiles) {
    return (size_t)16 * (size_t)padded_rows(tiles) * ((size_t)pass_K(s, pass) + (size_t)panel_width(pass_N(s, pass)));
}

int txn_ws2_tiles_per_call(const txn_ws2_shape *s, int pass) {
    /* Fewer, larger calls than the 3x3 kernel's rule (one point's patches in L2, 32768 floats) matter for the wide
       layers: the packed weights (32 MiB for 256 -> 512 channels) stream from memory once per call. 8 x 256 -> 512
       at 32², forward + backward-data, medians of 5 in 3 interleaved runs: 32 tiles per call 112-122 ms, 240 (144
       used: the 288 tiles split over 2 threads) 89-93 ms (AMD EPYC Zen 3). */
    (void)s; (void)pass;
    return 240;
}

void txn_ws2_pack_weights(const txn_ws2_shape *s, int pass, const float *w, int first, int count, float *packed) {
    const int C = s->in_channels, O = s->out_channels, K = pass_K(s, pass), N = pass_N(s, pass);
    const int panels = panel_width(N) / PANEL, forward = pass == TXN_WS2_FORWARD;
    const int rows_end = forward ? C : O, last = first + count < rows_end ? first + count : rows_end;
    /* A 16-column row of a panel at a time: gather each column's 2x2 taps (g[a][a'] of lane l), transform all 16
       lanes as vectors, and store the row of each of the 16 points whole. Columns past N stay zero. */
    for (int i = first; i < last; i++)
        for (int p = 0; p < (forward ? 4 : 1); p++)
            for (int nb = 0; nb < panels; nb++) {
                float g[4][PANEL];
                for (int l = 0; l < PANEL; l++) {
                    const int n = nb * PANEL + l;
                    if (n >= N) {
                        for (int a = 0; a < 4; a++) g[a][l] = 0;
                        continue;
                    }
                    /* Forward: row k = p·C + c (c = i), column n = o; tap (a, a') of phase (b, b') is w[2a + b][2a' + b'].
                       Backward-data: row k = o (= i), column n = p'·C + c; the taps rotated by 180°, since each phase's
                       input gradient is the full correlation of the output gradient with them. */
                    const int o = forward ? n : i, c = forward ? i : n % C, phase = forward ? p : n / C;
                    const int b = phase >> 1, bc = phase & 1;
                    const float *taps = w + ((size_t)o * C + c) * 16;
                    for (int a = 0; a < 2; a++)
                        for (int a2 = 0; a2 < 2; a2++) {
                            const int ra = forward ? a : 1 - a, rc = forward ? a2 : 1 - a2;
                            g[2 * a + a2][l] = taps[(2 * ra + b) * 4 + 2 * rc + bc];
                        }
                }
                const int k = forward ? p * C + i : i;
                for (int half = 0; half < PANEL; half += 8) {
                    /* U = G g Gᵀ, G = [1 0; ½ ½; ½ -½; 0 -1]: t = G g (4x2), then U's rows t[r] Gᵀ. */
                    const __m256 g00 = _mm256_loadu_ps(g[0] + half), g01 = _mm256_loadu_ps(g[1] + half),
                                 g10 = _mm256_loadu_ps(g[2] + half), g11 = _mm256_loadu_ps(g[3] + half);
                    const __m256 h = _mm256_set1_ps(0.5f), zero = _mm256_setzero_ps();
                    const __m256 t[4][2] = {
                        {g00, g01},
                        {_mm256_mul_ps(h, _mm256_add_ps(g00, g10)), _mm256_mul_ps(h, _mm256_add_ps(g01, g11))},
                        {_mm256_mul_ps(h, _mm256_sub_ps(g00, g10)), _mm256_mul_ps(h, _mm256_sub_ps(g01, g11))},
                        {_mm256_sub_ps(zero, g10), _mm256_sub_ps(zero, g11)}};
                    for (int r = 0; r < 4; r++) {
                        const __m256 u[4] = {t[r][0], _mm256_mul_ps(h, _mm256_add_ps(t[r][0], t[r][1])),
                                             _mm256_mul_ps(h, _mm256_sub_ps(t[r][0], t[r][1])), _mm256_sub_ps(zero, t[r][1])};
                        for (int q = 0; q < 4; q++)
                            _mm256_storeu_ps(packed + (((size_t)(4 * r + q) * panels + nb) * K + k) * PANEL + half, u[q]);
                    }
                }
            }
}

/* Address of channel c (a multiple of 8) at (n, 0, 0) of a blocked map with `channels` channels: pixel (y, x) is
   (y·w + x)·B floats further. */
static inline const float *plane_of(const float *base, int n, int c, int channels, int h, int w, int B) {
    return base + (((size_t)n * (channels / B) + c / B) * h * w) * B + c % B;
}

/* Where tile t's patches start in the source (phase (0, 0)'s top-left tap) and which image it is in. */
typedef struct { int n, y0, x0, ty, tx; } tile_place;

static inline tile_place place_of(const sampling *g, int t) {
    const int per_image = g->tiles_h * g->tiles_w, r = t % per_image, ty = r / g->tiles_w, tx = r % g->tiles_w;
    return (tile_place){t / per_image, g->tile_step * ty - 1, g->tile_step * tx - 1, ty, tx};
}

/* The 16 transformed vectors of one phase's patch, 8 channels of `plane`, top-left tap at (y0, x0). */
static inline void sampled_patch(const sampling *g, const float *plane, int y0, int x0, __m256 d[16]) {
    const int B = g->block, w = g->src_w, step = g->tap_stride, last = 3 * step;
    if (y0 >= 0 && x0 >= 0 && y0 + last < g->src_h && x0 + last < w) {
        for (int i = 0; i < 4; i++) {
            const float *row = plane + ((size_t)(y0 + step * i) * w + x0) * B;
            for (int j = 0; j < 4; j++) d[4 * i + j] = _mm256_loadu_ps(row + (size_t)(step * j) * B);
        }
    } else {
        for (int i = 0; i < 4; i++) {
            const int y = y0 + step * i;
            for (int j = 0; j < 4; j++) {
                const int x = x0 + step * j;
                d[4 * i + j] = y >= 0 && y < g->src_h && x >= 0 && x < w
                    ? _mm256_loadu_ps(plane + ((size_t)y * w + x) * B) : _mm256_setzero_ps();
            }
        }
    }
    transform_patch(d);
}

/* V[ξ][r][p·C + c] for the call's tiles; rows past `count` are zero. */
static void input_transform(const sampling *g, int first, int count, int rows, float *v) {
    const int C = g->src_channels, K = C * g->src_phases;
    const size_t xi_stride = (size_t)rows * K;
    for (int r = 0; r < rows; r++) {
        float *row = v + (size_t)r * K;
        if (r >= count) {
            for (int xi = 0; xi < 16; xi++) memset(row + xi * xi_stride, 0, (size_t)K * sizeof(float));
            continue;
        }
        const tile_place at = place_of(g, first + r);
        for (int c = 0; c < C; c += 8) {
            const float *plane = plane_of(g->src, at.n, c, C, g->src_h, g->src_w, g->block);
            for (int p = 0; p < g->src_phases; p++) {
                __m256 d[16];
                sampled_patch(g, plane, at.y0 + (p >> 1), at.x0 + (p & 1), d);
                for (int xi = 0; xi < 16; xi++) _mm256_storeu_ps(row + xi * xi_stride + p * C + c, d[xi]);
            }
        }
    }
}

/* y = Aᵀ m A: the 3x3 tile of 8 channels from their 16 products. */
static inline void output_tile(const __m256 s[16], __m256 y[9]) {
    __m256 q[12];
    for (int j = 0; j < 4; j++) {
        const __m256 s1 = s[4 + j], s2 = s[8 + j], sum = _mm256_add_ps(s1, s2);
        q[j] = _mm256_add_ps(s[j], sum);
        q[4 + j] = _mm256_sub_ps(s1, s2);
        q[8 + j] = _mm256_add_ps(sum, s[12 + j]);
    }
    for (int i = 0; i < 3; i++) {
        const __m256 q1 = q[4 * i + 1], q2 = q[4 * i + 2], sum = _mm256_add_ps(q1, q2);
        y[3 * i] = _mm256_add_ps(q[4 * i], sum);
        y[3 * i + 1] = _mm256_sub_ps(q1, q2);
        y[3 * i + 2] = _mm256_add_ps(sum, q[4 * i + 3]);
    }
}

static void output_transform(const sampling *g, const float *bias, int first, int count, int rows, const float *m) {
    const int C = g->dst_channels, N = C * g->dst_phases, ldm = panel_width(N), B = g->block, w = g->dst_w;
    const size_t xi_stride = (size_t)rows * ldm;
    for (int r = 0; r < count; r++) {
        const tile_place at = place_of(g, first + r);
        const float *row = m + (size_t)r * ldm;
        for (int c = 0; c < C; c += 8) {
            float *plane = (float *)plane_of(g->dst, at.n, c, C, g->dst_h, w, B);
            const __m256 add = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
            for (int p = 0; p < g->dst_phases; p++) {
                const int b = p >> 1, bc = p & 1;
                __m256 s[16], y[9];
                for (int xi = 0; xi < 16; xi++) s[xi] = _mm256_loadu_ps(row + xi * xi_stride + p * C + c);
                output_tile(s, y);
                for (int i = 0; i < 3; i++) {
                    const int yy = g->out_stride * (3 * at.ty + i) + b + g->out_offset;
                    if (yy < 0 || yy >= g->dst_h) continue;
                    for (int j = 0; j < 3; j++) {
                        const int xx = g->out_stride * (3 * at.tx + j) + bc + g->out_offset;
                        if (xx < 0 || xx >= w) continue;
                        _mm256_storeu_ps(plane + ((size_t)yy * w + xx) * B, _mm256_add_ps(y[3 * i + j], add));
                    }
                }
            }
        }
    }
}

int txn_ws2_run(const txn_ws2_shape *s, int pass, const float *src, const float *packed, const float *bias,
                float *dst, int first, int count, float *scratch) {
    if (!valid(s) || (pass != TXN_WS2_FORWARD && pass != TXN_WS2_BACKWARD_DATA) || count <= 0 || first < 0
        || first + count > txn_ws2_tiles(s, pass))
        return -1;
    const sampling g = sampling_of(s, pass, src, dst);
    const int K = pass_K(s, pass), N = panel_width(pass_N(s, pass)), panels = N / PANEL, rows = padded_rows(count);
    float *v = scratch, *m = scratch + (size_t)16 * rows * K;
    input_transform(&g, first, count, rows, v);
    for (int xi = 0; xi < 16; xi++)
        panel_products(v + (size_t)xi * rows * K, rows, K, packed + (size_t)xi * panels * K * PANEL, pass_N(s, pass),
                       m + (size_t)xi * rows * N, N);
    output_transform(&g, bias, first, count, rows, m);
    return 0;
}

/* MARK: the weight gradient. Per call and point: Zt[o][r] the transformed output gradients (a row per output
   channel, so that the matrix-product kernel reduces over tiles) and Vp[K/16][r][16] the transformed patches in
   the kernel's column panels; dU[ξ] (rows: output channels, padded to the kernel's 6) += Zt · Vp. */

static int gradient_rows(const txn_ws2_shape *s) { return padded_rows(s->out_channels); }

size_t txn_ws2_gradient_floats(const txn_ws2_shape *s) {
    return (size_t)16 * (size_t)gradient_rows(s) * (size_t)(4 * s->in_channels);
}

/* Tiles per call, the depth of the products: a Vp panel (tiles x 16, 16 KiB) stays in L1 while the Zt rows of a
   block of output channels (ROW_BLOCK x tiles, 48 KiB) wait in L2. */
enum { GRADIENT_TILES = 256, ROW_BLOCK = 8 * KERNEL_ROWS };

static int gradient_tiles_per_call(const txn_ws2_shape *s) { (void)s; return GRADIENT_TILES; }

size_t txn_ws2_gradient_scratch_floats(const txn_ws2_shape *s, int points) {
    return (size_t)points * (size_t)gradient_tiles_per_call(s) * ((size_t)gradient_rows(s) + (size_t)(4 * s->in_channels));
}

int txn_ws2_accumulate_gradient(const txn_ws2_shape *s, const float *src, const float *grad_out, int first_point,
                                int points, float *du, float *scratch) {
    if (!valid(s) || first_point < 0 || points <= 0 || first_point + points > 16) return -1;
    const sampling g = sampling_of(s, TXN_WS2_FORWARD, src, NULL);
    const int O = s->out_channels, C = s->in_channels, K = 4 * C, rows = gradient_rows(s), B = s->block;
    const int oh = output_h(s), ow = output_w(s), T = gradient_tiles_per_call(s), tiles = txn_ws2_tiles(s, TXN_WS2_FORWARD);
    float *zt = scratch, *vp = scratch + (size_t)points * rows * T;
    memset(du + (size_t)first_point * rows * K, 0, (size_t)points * rows * K * sizeof(float));
    memset(zt, 0, (size_t)points * rows * T * sizeof(float)); /* the padding rows stay zero */
    for (int first = 0; first < tiles; first += T) {
        const int count = tiles - first < T ? tiles - first : T;
        for (int r = 0; r < count; r++) {
            const tile_place at = place_of(&g, first + r);
            for (int o = 0; o < O; o += 8) {
                /* Z = A dy Aᵀ with A = (Aᵀ)ᵀ: rows (and then columns) y0, y0 + y1 + y2, y0 - y1 + y2, y2. */
                const float *plane = plane_of(grad_out, at.n, o, O, oh, ow, B);
                __m256 y[9], q[12], z[16];
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        const int yy = 3 * at.ty + i, xx = 3 * at.tx + j;
                        y[3 * i + j] = yy < oh && xx < ow ? _mm256_loadu_ps(plane + ((size_t)yy * ow + xx) * B)
                                                          : _mm256_setzero_ps();
                    }
                for (int j = 0; j < 3; j++) {
                    const __m256 ends = _mm256_add_ps(y[j], y[6 + j]);
                    q[j] = y[j];
                    q[3 + j] = _mm256_add_ps(ends, y[3 + j]);
                    q[6 + j] = _mm256_sub_ps(ends, y[3 + j]);
                    q[9 + j] = y[6 + j];
                }
                for (int i = 0; i < 4; i++) {
                    const __m256 ends = _mm256_add_ps(q[3 * i], q[3 * i + 2]);
                    z[4 * i] = q[3 * i];
                    z[4 * i + 1] = _mm256_add_ps(ends, q[3 * i + 1]);
                    z[4 * i + 2] = _mm256_sub_ps(ends, q[3 * i + 1]);
                    z[4 * i + 3] = q[3 * i + 2];
                }
                for (int xi = first_point; xi < first_point + points; xi++) {
                    float lanes[8];
                    _mm256_storeu_ps(lanes, z[xi]);
                    float *column = zt + ((size_t)(xi - first_point) * rows + o) * T + r;
                    for (int l = 0; l < 8; l++) column[(size_t)l * T] = lanes[l];
                }
            }
            for (int c = 0; c < C; c += 8) {
                const float *plane = plane_of(src, at.n, c, C, s->height, s->width, B);
                for (int p = 0; p < 4; p++) {
                    __m256 d[16];
                    sampled_patch(&g, plane, at.y0 + (p >> 1), at.x0 + (p & 1), d);
                    const int k = p * C + c;
                    for (int xi = first_point; xi < first_point + points; xi++)
                        _mm256_storeu_ps(vp + (((size_t)(xi - first_point) * (K / PANEL) + k / PANEL) * T + r) * PANEL + k % PANEL, d[xi]);
                }
            }
        }
        for (int xi = first_point; xi < first_point + points; xi++) {
            const float *a = zt + (size_t)(xi - first_point) * rows * T;
            for (int o0 = 0; o0 < rows; o0 += ROW_BLOCK)
                for (int kp = 0; kp < K / PANEL; kp++) {
                    const float *panel = vp + ((size_t)(xi - first_point) * (K / PANEL) + kp) * T * PANEL;
                    for (int o = o0; o < rows && o < o0 + ROW_BLOCK; o += KERNEL_ROWS)
                        kernel_6x16(a + (size_t)o * T, T, panel, count, du + ((size_t)xi * rows + o) * K + kp * PANEL, K, 1);
                }
        }
    }
    return 0;
}

void txn_ws2_finish_gradient(const txn_ws2_shape *s, const float *du, float *dw) {
    const int O = s->out_channels, C = s->in_channels, K = 4 * C, rows = gradient_rows(s);
    const size_t point = (size_t)rows * K;
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < 4; p++) {
                const float *u = du + (size_t)o * K + p * C + c;
                /* dg = Gᵀ dU G, Gᵀ = [1 ½ ½ 0; 0 ½ -½ -1]. */
                float t[2][4];
                for (int j = 0; j < 4; j++) {
                    const float u0 = u[(0 * 4 + j) * point], u1 = u[(1 * 4 + j) * point],
                                u2 = u[(2 * 4 + j) * point], u3 = u[(3 * 4 + j) * point];
                    t[0][j] = u0 + 0.5f * (u1 + u2);
                    t[1][j] = 0.5f * (u1 - u2) - u3;
                }
                const int b = p >> 1, bc = p & 1;
                float *taps = dw + ((size_t)o * C + c) * 16;
                for (int a = 0; a < 2; a++) {
                    taps[(2 * a + b) * 4 + bc] = t[a][0] + 0.5f * (t[a][1] + t[a][2]);
                    taps[(2 * a + b) * 4 + 2 + bc] = 0.5f * (t[a][1] - t[a][2]) - t[a][3];
                }
            }
}

void txn_ws2_channel_sums(const float *src, int batch, int channels, int height, int width, int block, float *sums) {
    for (int c = 0; c < channels; c += 8) {
        __m256 sum = _mm256_setzero_ps();
        for (int n = 0; n < batch; n++) {
            const float *plane = plane_of(src, n, c, channels, height, width, block);
            for (int i = 0; i < height * width; i++) sum = _mm256_add_ps(sum, _mm256_loadu_ps(plane + (size_t)i * block));
        }
        _mm256_storeu_ps(sums + c, sum);
    }
}
