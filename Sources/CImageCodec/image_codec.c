#include "image_codec.h"
int txn_codec_version(void) { return 1; }
