#ifndef TXN_POINTWISE_H
#define TXN_POINTWISE_H
#include <stddef.h>
/* 1x1 convolution on the channel-blocked layout [C/B][pixels][B] (B = 8 or 16): each pixel's N outputs are the
   K x N matrix times its K inputs, plus the bias. The pixels of one call are gathered into rows of K, multiplied
   by the packed weights with the same 6x16 FMA kernel as txn's Winograd products, and scattered back. A call
   reads all its pixels before it writes any, so src and dst may be the same map (K = N). */

/* Floats of the packed weights: K * N', N' = N rounded up to a multiple of 16. */
size_t txn_pointwise_weight_floats(int in_channels, int out_channels);

/* Packs PyTorch's [cout][cin] (or [cout][cin][1][1]) weights for a source of `packed_in` >= cin channels; zero
   for the channels past cin and cout. */
void txn_pointwise_pack_weights(const float *weights, int cout, int cin, int packed_in, float *packed);

typedef struct {
    const float *src;    /* blocked [K/B][...][B], channel blocks src_plane floats apart */
    ptrdiff_t src_plane;
    int in_channels;     /* the packed_in of the weights: a multiple of 8 and of B */
    const float *packed; /* from txn_pointwise_pack_weights */
    const float *bias;   /* out_channels floats, or NULL */
    const float *scale, *shift, *slope; /* in_channels floats each, or all NULL: the source read as
                                           leaky(src * scale + shift) (txn_map8_affine), a normalisation not yet
                                           applied to it */
    float *dst;          /* blocked, channel blocks dst_plane floats apart; or planes (below) */
    ptrdiff_t dst_plane;
    int out_channels;    /* a multiple of 8 and of B, at most the packed N' */
    int block;           /* B: 8 or 16 */
    int planes;          /* 0: dst is blocked; else dst is the first `planes` output channels as planes [c][pixel],
                            dst_plane floats apart (an image's), the rest dropped */
} txn_pointwise_pass;

/* Floats of the scratch one call of `pixels` pixels needs. */
size_t txn_pointwise_scratch_floats(int pixels, int in_channels, int out_channels);

/* Computes pixels [first, first + count). Calls on disjoint pixel ranges may run at once, each with its own
   scratch. `moments`, when not NULL, is 2 * out_channels doubles to which each output channel's sum and sum of
   squares over the values written are added (as txn_wino43_run). Returns 0, or -1 for arguments it does not take. */
int txn_pointwise_run(const txn_pointwise_pass *pass, ptrdiff_t first, int count, float *scratch, double *moments);
#endif
