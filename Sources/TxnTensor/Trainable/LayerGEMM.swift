import CDNNL
import Foundation

/// The matrix products of the trainable layers (GAN convolutions), on oneDNN's sgemm by default.
///
/// In isolation oneDNN's sgemm (JIT AVX-512, writes C once) beats OpenBLAS 0.3.21's SkylakeX kernels on these
/// shapes when op(B) is not transposed, and OpenBLAS wins the weight gradients (B transposed, long k). Measured on
/// the seed preset's shapes, 2 threads, best of 4 (GFLOP/s, OpenBLAS / oneDNN): m128 n32768 k1024 231/263,
/// Wᵀ·dy m1024 n32768 k128 246/289, stamps m4096 n128 k512 243/287, m48 n10880 k64 180/307; weight gradients
/// m128 n1024 k32768 228/208, m256 n2048 k8192 281/255. In the training iteration, oneDNN for all of them was
/// still faster than the mix (one thread pool instead of handing the cores back and forth; `txn bench gan`,
/// seed, 2 threads, medians of 5, two rounds: openblas 1.565/1.534, mixed 1.516/1.500, dnnl 1.505/1.489 s).
///
/// Below AVX-512 it is the other way round: oneDNN 2.6's AVX2 sgemm lost to OpenBLAS's Haswell kernels in the
/// whole iteration (AMD EPYC Zen 3, `txn bench gan --repeats 3`, seed, 2 threads, two interleaved rounds:
/// training dnnl 3.995/3.673, openblas 3.404/3.090, mixed 3.801/3.894 s; generating 1024² dnnl 0.982/1.023,
/// openblas 0.811/0.707, mixed 1.015/1.080 s). So the default follows the ISA oneDNN dispatches to.
enum LayerGEMM {
    enum Backend: String { case openblas, dnnl }

    /// The measured winner on this CPU: oneDNN's sgemm with AVX-512, OpenBLAS below it (the mix lost on both; the
    /// TXN_LAYER_GEMM switch that measured it is retired).
    static let backend: Backend = {
        let chosen: Backend = DNNLCPU.block == 16 ? .dnnl : .openblas
        // oneDNN's OpenMP pool follows txn's thread count once its context exists.
        if chosen != .openblas { _ = try? DNNLContext.shared() }
        return chosen
    }()

    /// Row-major C = op(A) · op(B) + beta · C.
    @inline(__always)
    static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        if backend == .dnnl {
            let status = dnnl_sgemm(transA ? 84 : 78, transB ? 84 : 78, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k),
                                    1, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
            if status == dnnl_success { return }
            // Only invalid arguments fail here, and those OpenBLAS would reject as well; it reports them.
        }
        TxnTensor.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb,
                        beta: beta, c, ldc: ldc)
    }
}

/// Which library computes the trainable layers' matrix products in this process, for `txn doctor`.
public enum LayerProducts {
    public static var library: String {
        switch LayerGEMM.backend {
        case .openblas: return "OpenBLAS"
        case .dnnl: return "oneDNN sgemm"
        }
    }
}
