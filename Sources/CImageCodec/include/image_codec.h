#ifndef TXN_IMAGE_CODEC_H
#define TXN_IMAGE_CODEC_H
/* Placeholder: the image-codec helper fills this in. */
int txn_codec_version(void);
#endif
