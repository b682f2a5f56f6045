import CKernels
import COpenBLAS
import Dispatch
import Foundation
import Synchronization
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
    /// The OpenBLAS thread count set last (nil: not yet set by us). OpenBLAS's count is process-wide.
    private static let openBLASThreads = Mutex<Int?>(nil)

    /// Call before any GEMM of a kernel: sets OpenBLAS's (process-wide) thread count from `engine` when it
    /// differs from the count set last: 1 when the kernels split the GEMMs over their own threads,
    /// `engine.threads` with `.openBLASPool`.
    ///
    /// OpenBLAS's own threads spin (sched_yield) for about 0.1 s after start-up and after each call before
    /// they sleep; the kernels' other loops run on Dispatch's threads right after, so the two pools fought
    /// over the cores. Going single-threaded therefore also stops its worker threads
    /// (`blas_thread_shutdown_`, looked up: a no-op if the library lacks it; OpenBLAS restarts its pool by
    /// itself should more threads be asked for later).
    @inline(__always)
    static func prepare(_ engine: EngineOptions) {
        let wanted = engine.gemmThreading == .split ? 1 : engine.threads
        openBLASThreads.withLock { current in
            guard current != wanted else { return }
            openblas_set_num_threads(Int32(clamping: wanted))
            if wanted == 1 {
                typealias Shutdown = @convention(c) () -> Int32
                if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
                    _ = unsafeBitCast(symbol, to: Shutdown.self)()
                }
            }
            current = wanted
        }
    }

    /// Which single-threaded SGEMM the kernels call.
    enum Backend: String, Sendable {
        /// `zoo_sgemm_avx512` (CKernels): on CPUs with AVX-512, as fast as OpenBLAS's own AVX-512 kernels and
        /// independent of `OPENBLAS_CORETYPE` (which may pin OpenBLAS to its AVX2 kernels at half the speed).
        case avx512
        /// OpenBLAS's `cblas_sgemm`.
        case openBLAS = "openblas"
    }

    /// Whether this CPU has AVX-512 (read once).
    private static let avx512Available: Bool = zoo_avx512_available()

    /// The AVX-512 kernel where the CPU has it, the options do not ask for OpenBLAS and the GEMMs are split
    /// over our threads, else OpenBLAS.
    static func backend(_ engine: EngineOptions) -> Backend {
        avx512Available && engine.sgemmKernel == .auto && engine.gemmThreading == .split ? .avx512 : .openBLAS
    }

    /// The name of the SGEMM in use, for logs and benchmarks.
    static func backendName(_ engine: EngineOptions) -> String {
        backend(engine) == .avx512 ? "zoo AVX-512" : "OpenBLAS (\(String(cString: openblas_get_corename())))"
    }

    /// One single-threaded (or OpenBLAS-threaded) row-major GEMM: `C = op(A) op(B) + beta C`.
    @inline(__always)
    static func kernel(_ backend: Backend, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
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
                      c: UnsafeMutablePointer<Float>, ldc: Int, engine: EngineOptions) {
        prepare(engine)
        let backend = backend(engine)
        let threads = engine.gemmThreading == .split ? engine.threads : 1
        // Small problems, or one thread: a single call.
        if threads <= 1 || m * n * k < 1 << 21 {
            kernel(backend, transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                   beta: beta, c: c, ldc: ldc)
            return
        }
        // The pieces write disjoint column or row ranges of C.
        let ap = UnsafeSendablePointer(a), bp = UnsafeSendablePointer(b), cp = UnsafeSendableMutablePointer(c)
        if n >= 64 * threads {
            // Column ranges, multiples of 16 floats.
            let parts = threads
            let step = ((n + parts - 1) / parts + 15) / 16 * 16
            let count = (n + step - 1) / step
            concurrentFor(count, threads: threads) { p in
                let j0 = p * step, cols = min(step, n - j0)
                kernel(backend, transA: transA, transB: transB, m: m, n: cols, k: k, a: ap.pointer, lda: lda,
                       b: transB ? bp.pointer + j0 * ldb : bp.pointer + j0, ldb: ldb, beta: beta,
                       c: cp.pointer + j0, ldc: ldc)
            }
        } else {
            let parts = min(threads, m)
            let step = (m + parts - 1) / parts
            let count = (m + step - 1) / step
            concurrentFor(count, threads: threads) { p in
                let i0 = p * step, rows = min(step, m - i0)
                kernel(backend, transA: transA, transB: transB, m: rows, n: n, k: k,
                       a: transA ? ap.pointer + i0 : ap.pointer + i0 * lda, lda: lda, b: bp.pointer, ldb: ldb,
                       beta: beta, c: cp.pointer + i0 * ldc, ldc: ldc)
            }
        }
    }
}
