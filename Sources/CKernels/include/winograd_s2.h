#ifndef TXN_WINOGRAD_S2_H
#define TXN_WINOGRAD_S2_H
#include <stddef.h>
/* 4x4 stride-2 padding-1 convolutions (the GAN discriminator's layers) by F(3x3, 2x2) Winograd, on the blocked
   layout [batch][C/B][H][W][B] (B = 8 or 16), for CPUs where oneDNN's direct kernels run these layers at a third to
   a half of the FMA peak (AVX2).

   Why it applies: split the input, padded by 1, into its four stride-2 phases S_bc[i][j] = P[2i+b][2j+c]; the
   layer is then the sum over the phases of 2x2 stride-1 convolutions of S_bc with the taps w[2a+b][2a'+c]. A 2x2
   convolution is F(3x3, 2x2)'s case: each 3x3 output tile from a 4x4 patch of every phase, one matrix product per
   transform point (16 of them) over 4·C channels, 16 multiplications per 9 outputs per phase instead of 36.

   The three passes of training:
   - forward (bias fused): K = 4·in channels (phase-major), N = out channels;
   - backward-data: each phase's gradient is the full correlation of the output gradient with that phase's
     flipped 2x2 taps, so one pass over the output gradient computes all four (K = out, N = 4·in) and writes
     each phase's values to its own rows and columns of the input gradient;
   - backward-weights: the transformed output gradients times the transformed input patches, summed over tiles
     (one product per transform point), then taken back through the kernel transform's transpose.
   A transposed convolution (the generator's layers) is this convolution's adjoint, with the same weights: its
   backward-data is this forward pass over its output gradient, its weight gradient this one with the roles of
   input and output gradient swapped. */

typedef struct {
    int batch, in_channels, out_channels; /* channels: multiples of 8 and of the block */
    int height, width;                    /* the input's, at least 2; the output is height/2 x width/2 */
    int block;                            /* B: 8 or 16 */
} txn_ws2_shape;

enum { TXN_WS2_FORWARD = 0, TXN_WS2_BACKWARD_DATA = 1 };

/* Floats of the packed weights of a pass. */
size_t txn_ws2_weight_floats(const txn_ws2_shape *shape, int pass);

/* Packs PyTorch's [out][in][4][4] weights for a pass: the rows of the pass's input channels [first, first + count)
   (in channels forward, out channels backward-data), so that threads can pack disjoint ranges at once. */
void txn_ws2_pack_weights(const txn_ws2_shape *shape, int pass, const float *weights, int first, int count, float *packed);

/* Tiles of a pass, over the whole batch. */
int txn_ws2_tiles(const txn_ws2_shape *shape, int pass);

/* Floats of the scratch one call of txn_ws2_run needs for `tiles` tiles (one per thread). */
size_t txn_ws2_scratch_floats(const txn_ws2_shape *shape, int pass, int tiles);

/* Tiles one call should compute at most. */
int txn_ws2_tiles_per_call(const txn_ws2_shape *shape, int pass);

/* Computes tiles [first, first + count) of a pass. Forward: src is the input, dst the output; backward-data: src
   is the output gradient, dst the input gradient. `bias` (per channel of dst, or NULL) is added to dst: a transposed
   convolution's forward is this backward-data pass plus its bias. Every value of dst belonging to these
   tiles is written; calls on disjoint tile ranges may run at once, each with its own scratch. Returns 0, or -1 for
   arguments it does not take. */
int txn_ws2_run(const txn_ws2_shape *shape, int pass, const float *src, const float *packed, const float *bias,
                float *dst, int first, int count, float *scratch);

/* The weight gradient in the transform domain: 16 points of padded_rows(out) x 4·in floats. */
size_t txn_ws2_gradient_floats(const txn_ws2_shape *shape);

/* Scratch of one call of txn_ws2_accumulate_gradient for `points` transform points. */
size_t txn_ws2_gradient_scratch_floats(const txn_ws2_shape *shape, int points);

/* Sets transform points [first_point, first_point + points) of dU (txn_ws2_gradient_floats) to the sum over every
   tile of the batch of (A dy Aᵀ) ⊙ (Bᵀ x B). Calls on disjoint point ranges may run at once. Returns 0 or -1. */
int txn_ws2_accumulate_gradient(const txn_ws2_shape *shape, const float *src, const float *grad_out, int first_point,
                                int points, float *du, float *scratch);

/* dW ([out][in][4][4], overwritten) from the 16 points of dU. */
void txn_ws2_finish_gradient(const txn_ws2_shape *shape, const float *du, float *dw);

/* sums[c] = the sum of channel c of a blocked map over the batch and the pixels (a bias gradient); channels a
   multiple of 8 and of the block. */
void txn_ws2_channel_sums(const float *src, int batch, int channels, int height, int width, int block, float *sums);
#endif
