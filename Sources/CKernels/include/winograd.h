#ifndef TXN_WINOGRAD_H
#define TXN_WINOGRAD_H
#include <stddef.h>
/* F(2x2, 3x3) Winograd convolution on the channel-blocked layout [C/B][H][W][B] (B = 8 or 16), for the VGG layers
   on CPUs where oneDNN has no Winograd kernel (AVX2). Each 2x2 output tile is computed from a 4x4 input patch:
   input transform V = Bᵀ d B, one matrix product per transform point ξ (16 of them) M[ξ] = V[ξ] U[ξ] over the
   input channels, output transform Y = Aᵀ M A. 16 multiplications per 4 outputs instead of 36.

   The same pass computes the forward convolution (bias and ReLU fused) and the backward-data one (the kernels
   flipped and their channels swapped, over the output gradient read with 2 pixels of zeros around it). */

/* Floats of the packed weights of one pass: 16 * K * N', N' = N rounded up to a multiple of 16. */
size_t txn_wino_weight_floats(int in_channels, int out_channels);

/* Packs PyTorch's [cout][cin][3][3] weights into U for the forward pass (backward = 0: K = cin, N = cout) or the
   backward-data pass (backward = 1: K = cout, N = cin, kernels rotated by 180°). `packed_in` >= K is the input
   channels of the pass (the source's channels rounded up to its blocks); U has txn_wino_weight_floats(packed_in,
   N) floats, zero for the channels past K and N, so padding channels contribute nothing and come out zero. */
void txn_wino_pack_weights(const float *weights, int cout, int cin, int backward, int packed_in, float *packed);

typedef struct {
    const float *src;   /* blocked [K/B][src_h][src_w][B] */
    int src_h, src_w, in_channels; /* in_channels: the packed_in the weights were packed for, a multiple of 8 */
    int origin;         /* src row (and column) of the top-left of tile (0, 0)'s patch: 0 forward, -2 backward */
    const float *packed; /* from txn_wino_pack_weights */
    const float *bias;  /* N floats, or NULL */
    int relu;
    float *dst;         /* blocked [N/B][dst_h][dst_w][B]; every value of it is written */
    int dst_h, dst_w, out_channels; /* out_channels: a multiple of 8 and of B, at most the packed N' */
    ptrdiff_t dst_plane; /* floats from one channel block of dst to the next: dst_h * dst_w * B for a whole map,
                            more when dst is a band of rows of a taller one */
    int block;          /* B: 8 or 16 */
} txn_wino_pass;

/* Tiles of a pass: ceil(dst_h / 2) * ceil(dst_w / 2). */
int txn_wino_tiles(const txn_wino_pass *pass);

/* Floats of the scratch one call of txn_wino_run needs for `tiles` tiles (one per thread). */
size_t txn_wino_scratch_floats(int tiles, int in_channels, int out_channels);

/* Computes tiles [first, first + count) of the pass (row-major over the output's tiles). Calls on disjoint tile
   ranges may run at the same time, each with its own scratch. Returns 0, or -1 for arguments it does not take
   (channels not multiples of 8 / of the block, a block other than 8 or 16). */
int txn_wino_run(const txn_wino_pass *pass, int first, int count, float *scratch);
#endif
