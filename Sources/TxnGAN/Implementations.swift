import TxnTensor

extension Generator {
    /// What runs each transposed convolution when the generator makes `batch` images of `side`² (`txn doctor`).
    public func implementations(batch: Int, side: Int) -> [String] {
        var s = max(1, side >> (channels.count - 1))
        return convolutions.enumerated().map { i, conv in
            defer { s *= 2 }
            return "G \(i): \(channels[i])->\(channels[i + 1]) at \(s)x\(s): " + conv.implementations(batch: batch, height: s, width: s)
        }
    }
}

extension Discriminator {
    /// What runs each strided convolution when the discriminator judges `batch` crops of `side`² (`txn doctor`).
    public func implementations(batch: Int, side: Int) -> [String] {
        var s = side
        return convolutions.enumerated().map { i, conv in
            defer { s /= 2 }
            return "D \(i): \(channels[i])->\(channels[i + 1]) at \(s)x\(s): " + conv.implementations(batch: batch, height: s, width: s)
        }
    }
}
