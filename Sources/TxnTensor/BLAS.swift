import COpenBLAS

/// Row-major single-precision matrix product C = alpha * op(A) * op(B) + beta * C, through OpenBLAS.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
           alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
           _ b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                beta, c, blasint(ldc))
}

/// C = alpha * A Aᵀ + beta * C for a row-major n x k matrix A (or alpha * Aᵀ A for a k x n one when `transposed`);
/// fills both triangles of C.
func ssyrkFull(n: Int, k: Int, alpha: Float, _ a: UnsafePointer<Float>, transposed: Bool = false, beta: Float,
               _ c: UnsafeMutablePointer<Float>) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, transposed ? CblasTrans : CblasNoTrans, blasint(n), blasint(k), alpha, a,
                blasint(transposed ? n : k), beta, c, blasint(n))
    for i in 0..<n {
        for j in 0..<i { c[i * n + j] = c[j * n + i] }
    }
}
