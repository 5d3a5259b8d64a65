extension Image {
    /// Per-channel histogram matching: each channel's values are replaced, rank for rank, by the values
    /// of the same quantiles of `reference`'s channel, so the result has the reference's colour
    /// distribution and keeps its own structure (as the reference code's optional post-processing).
    public func histogramMatched(to reference: Image) -> Image {
        var out = self
        let n = width * height, nr = reference.width * reference.height
        guard n > 0, nr > 0 else { return out }
        for c in 0..<3 {
            let ref = reference.pixels[(c * nr)..<((c + 1) * nr)].sorted()
            let base = c * n
            // Ties keep their original order, so equal input values map to neighbouring quantiles.
            let order = (0..<n).sorted { a, b in
                let va = pixels[base + a], vb = pixels[base + b]
                return va < vb || (va == vb && a < b)
            }
            for (rank, index) in order.enumerated() {
                // The centre of this pixel's quantile bin in the reference.
                let q = min(nr - 1, (2 * rank + 1) * nr / (2 * n))
                out.pixels[base + index] = ref[q]
            }
        }
        return out
    }
}
