import TxnTensor
