import CKernels
import COpenBLAS
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one way the kernels call OpenBLAS's `sgemm`.
///
/// OpenBLAS's own threads spin for a while after each call before they sleep; the kernels' other loops
/// (im2col, Winograd transforms, epilogues) run on Dispatch's threads right after, so on a machine with
/// as many cores as threads the two pools fought over the cores. Instead OpenBLAS is asked for one
/// thread and the GEMMs are split into independent pieces (column or row ranges) run on the same
/// Dispatch threads as everything else.
enum GEMM {
    /// Whether the GEMMs are split over Dispatch threads with OpenBLAS single-threaded (the default), or
    /// left to OpenBLAS's own threads (`Parallelism.openBLASThreads`).
    static var splitOverDispatch: Bool { !Parallelism.openBLASThreads }

    /// Puts OpenBLAS in single-thread mode once, the first time a kernel runs, and stops its worker threads:
    /// from start-up they spin (sched_yield) for about 0.1 s before sleeping, which took a core from the
    /// weight loading and first layers. (`blas_thread_shutdown_` is looked up: a no-op if the library
    /// lacks it; OpenBLAS restarts its pool by itself should more threads be asked for later.)
    private static let singleThreaded: Void = {
        openblas_set_num_threads(1)
        typealias Shutdown = @convention(c) () -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
            _ = unsafeBitCast(symbol, to: Shutdown.self)()
        }
    }()

    /// Call before any GEMM of a kernel: makes OpenBLAS single-threaded when the kernels split the work.
    @inline(__always)
    static func prepare() {
        if splitOverDispatch { _ = singleThreaded }
    }

    /// Which single-threaded SGEMM the kernels call.
    enum Backend: String {
        /// `zoo_sgemm_avx512` (CKernels): on CPUs with AVX-512, as fast as OpenBLAS's own AVX-512 kernels and
        /// independent of `OPENBLAS_CORETYPE` (which may pin OpenBLAS to its AVX2 kernels at half the speed).
        case avx512
        /// OpenBLAS's `cblas_sgemm`.
        case openBLAS = "openblas"
    }

    /// The AVX-512 kernel where the CPU has it and the GEMMs are split over our threads; `ZOO_GEMM=openblas`
    /// picks OpenBLAS.
    static let backend: Backend = {
        if ProcessInfo.processInfo.environment["ZOO_GEMM"]?.lowercased() == "openblas" { return .openBLAS }
        return zoo_avx512_available() && splitOverDispatch ? .avx512 : .openBLAS
    }()

    /// The name of the SGEMM in use, for logs and benchmarks.
    static var backendName: String {
        backend == .avx512 ? "zoo AVX-512" : "OpenBLAS (\(String(cString: openblas_get_corename())))"
    }

    /// One single-threaded (or OpenBLAS-threaded) row-major GEMM: `C = op(A) op(B) + beta C`.
    @inline(__always)
    static func kernel(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                       c: UnsafeMutablePointer<Float>, ldc: Int) {
        // (The AVX-512 kernel declines only when its packing buffers cannot be allocated: OpenBLAS then.)
        if backend == .avx512 && zoo_sgemm_avx512(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc) {
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C = A B + beta C` (row-major; A `m x k` or, transposed, `k x m`; B `k x n` or `n x k`), split over
    /// the threads by columns, or by rows when there are few columns.
    static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                      c: UnsafeMutablePointer<Float>, ldc: Int) {
        prepare()
        let threads = splitOverDispatch ? Parallelism.threads : 1
        func call(_ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                  _ c: UnsafeMutablePointer<Float>) {
            kernel(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                   c: c, ldc: ldc)
        }
        // Small problems, or one thread: a single call.
        if threads <= 1 || m * n * k < 1 << 21 {
            call(m, n, a, b, c)
            return
        }
        if n >= 64 * threads {
            // Column ranges, multiples of 16 floats.
            let parts = threads
            let step = ((n + parts - 1) / parts + 15) / 16 * 16
            let count = (n + step - 1) / step
            DispatchQueue.concurrentPerform(iterations: count) { p in
                let j0 = p * step, cols = min(step, n - j0)
                call(m, cols, a, transB ? b + j0 * ldb : b + j0, c + j0)
            }
        } else {
            let parts = min(threads, m)
            let step = (m + parts - 1) / parts
            let count = (m + step - 1) / step
            DispatchQueue.concurrentPerform(iterations: count) { p in
                let i0 = p * step, rows = min(step, m - i0)
                call(rows, n, transA ? a + i0 : a + i0 * lda, b, c + i0 * ldc)
            }
        }
    }
}
