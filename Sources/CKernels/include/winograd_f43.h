#ifndef TXN_WINOGRAD_F43_H
#define TXN_WINOGRAD_F43_H
#include <stddef.h>
#include "winograd.h"
/* F(4x4, 3x3) Winograd convolution on the channel-blocked layout [C/B][H][W][B] (B = 8 or 16): each 4x4 output
   tile from a 6x6 input patch, with one matrix product per transform point ξ (36 of them) over the input channels.
   36 multiplications per 16 outputs, against F(2x2, 3x3)'s 16 per 4 (winograd.h) and 144 directly. The
   transforms take the points 0, ±1, ±2 and ∞ (Lavin and Gray 2015); their float rounding is about four times
   F(2x2, 3x3)'s, which is far below what generation and a texture's loss notice.

   It takes the same pass description as F(2x2, 3x3) (txn_wino_pass), and the same two directions: forward (bias
   and ReLU fused) and backward-data (weights packed rotated, origin -2). */

/* Floats of the packed weights of one pass: 36 * K * N', N' = N rounded up to a multiple of 16. */
size_t txn_wino43_weight_floats(int in_channels, int out_channels);

/* Packs PyTorch's [cout][cin][3][3] weights into U, as txn_wino_pack_weights does for F(2x2, 3x3). */
void txn_wino43_pack_weights(const float *weights, int cout, int cin, int backward, int packed_in, float *packed);

/* Tiles of a pass: ceil(dst_h / 4) * ceil(dst_w / 4). */
int txn_wino43_tiles(const txn_wino_pass *pass);

/* Floats of the scratch one call of txn_wino43_run needs for `tiles` tiles (one per thread). */
size_t txn_wino43_scratch_floats(int tiles, int in_channels, int out_channels);

/* Computes tiles [first, first + count) of the pass (row-major over the output's 4x4 tiles). Calls on disjoint
   tile ranges may run at the same time, each with its own scratch. `moments`, when not NULL, is 2 * out_channels
   doubles to which each output channel's sum (first half) and sum of squares (second half) over the values written
   are added: the statistics a normalisation after this layer needs, without another pass over the map (a call
   needs its own, like its scratch). Returns 0, or -1 for arguments it does not take (as txn_wino_run). */
int txn_wino43_run(const txn_wino_pass *pass, int first, int count, float *scratch, double *moments);
#endif
