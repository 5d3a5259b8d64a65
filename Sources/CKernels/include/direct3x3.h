#ifndef TXN_DIRECT3X3_H
#define TXN_DIRECT3X3_H
#include <stddef.h>
#include "winograd.h"
/* A direct 3x3 convolution from one 8-channel block (block width 8) to any number of 8-channel blocks: for maps
   whose 8 input channels make every Winograd tile's transforms cost more than its products (the texture network's
   noise blocks). Per output pixel: 72 broadcasts of its inputs, each times one 8-wide vector of weights. */

/* Floats of the packed weights: 9 * 64 per output block, W[N/8][3][3][8 in][8 out]. */
size_t txn_direct3x3_weight_floats(int out_channels);

/* Packs PyTorch's [cout][cin][3][3] weights (cin <= 8); the channels past cin and cout are zero. */
void txn_direct3x3_pack_weights(const float *weights, int cout, int cin, float *packed);

/* Output rows [first_row, first_row + rows) of a forward pass (origin 0, in_channels 8, block 8; `packed` from
   txn_direct3x3_pack_weights), with bias and ReLU as in F(2x2, 3x3). Calls on disjoint rows may run at the same
   time. Returns 0, or -1 for arguments it does not take. */
int txn_direct3x3_run(const txn_wino_pass *pass, int first_row, int rows);
#endif
