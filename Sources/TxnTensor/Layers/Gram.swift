/// The Gram matrix of feature maps, G = F Fᵀ / M with F the C x M (M = H·W) matrix of one sample:
/// the channel co-occurrence statistics that Gatys et al. use as the texture model.
public enum Gram {
    /// [N, C, H, W] -> [N, C, C].
    public static func forward(_ f: Tensor) throws -> Tensor {
        try f.requireNCHW("gram")
        let (n, c, m) = (f.n, f.c, f.h * f.w)
        var g = Tensor(zeros: [n, c, c])
        guard m > 0 else { return g }
        f.data.withUnsafeBufferPointer { fs in
            g.data.withUnsafeMutableBufferPointer { gs in
                for s in 0..<n {
                    ssyrkFull(n: c, k: m, alpha: 1 / Float(m), fs.baseAddress! + s * c * m, beta: 0,
                              gs.baseAddress! + s * c * c)
                }
            }
        }
        return g
    }

    /// dL/dF = (dG + dGᵀ) F / M.
    public static func backward(features f: Tensor, gradGram dg: Tensor) throws -> Tensor {
        var df = Tensor(zeros: f.shape)
        try backward(features: f, gradGram: dg, into: &df, adding: false)
        return df
    }

    /// dL/dF = (dG + dGᵀ) F / M written into `df` (of the features' shape), or added to what it holds if
    /// `adding`: a loss that combines the Gram term with another one of the same features sums both
    /// gradients in one buffer, without a feature-sized temporary for each.
    public static func backward(features f: Tensor, gradGram dg: Tensor, into df: inout Tensor, adding: Bool) throws {
        try f.requireNCHW("gram backward")
        let (n, c, m) = (f.n, f.c, f.h * f.w)
        guard dg.shape == [n, c, c], df.shape == f.shape else {
            throw TensorError.shapeMismatch("gram backward: gradient \(dg.shape) into \(df.shape) does not fit features \(f.shape)")
        }
        var sym = [Float](repeating: 0, count: c * c)
        f.data.withUnsafeBufferPointer { fs in
        dg.data.withUnsafeBufferPointer { gs in
        df.data.withUnsafeMutableBufferPointer { ds in
            for s in 0..<n {
                let gb = gs.baseAddress! + s * c * c
                for i in 0..<c { for j in 0..<c { sym[i * c + j] = gb[i * c + j] + gb[j * c + i] } }
                sym.withUnsafeBufferPointer { ss in
                    sgemm(m: c, n: m, k: c, alpha: 1 / Float(m), ss.baseAddress!, lda: c,
                          fs.baseAddress! + s * c * m, ldb: m, beta: adding ? 1 : 0, ds.baseAddress! + s * c * m, ldc: m)
                }
            }
        }}}
    }
}
