import Dispatch
import Foundation

/// How many threads the non-GEMM kernels split their work over (default: the active cores).
/// The GEMMs run on the same threads (see `GEMM`), OpenBLAS itself single-threaded.
public enum Parallelism {
    nonisolated(unsafe) public static var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Leave the GEMMs to OpenBLAS's own thread pool instead of splitting them over `threads` Dispatch
    /// threads with OpenBLAS single-threaded (the default, faster: with both pools the cores were
    /// oversubscribed). Set it before the first convolution runs; for comparisons only.
    nonisolated(unsafe) public static var openBLASThreads = false

    /// Settles OpenBLAS's threading now (single-threaded, its idle pool stopped, unless `openBLASThreads`)
    /// rather than at the first convolution; call it at start-up, before loading weights.
    public static func prepareBLAS() { GEMM.prepare() }

    /// The SGEMM the kernels use: "zoo AVX-512", or "OpenBLAS (<core>)" (`ZOO_GEMM=openblas`, or no AVX-512).
    public static var sgemmName: String { GEMM.backendName }

    /// Row-major `C = A B` (`m x k` times `k x n`) as the kernels compute it: the SGEMM in use, split over
    /// the threads. For benchmarks.
    public static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>) {
        GEMM.sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n)
    }
}

/// Runs `body` over 0..<n split into contiguous ranges spread over `Parallelism.threads` threads.
/// There are a few ranges per thread, so a thread slowed down by another process hands its share to the
/// others. Loops with fewer than `minPerThread` items per thread run on the calling thread.
public func parallelFor(_ n: Int, minPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    let threads = min(Parallelism.threads, n / max(1, minPerThread))
    if threads <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    let t = min(4 * threads, n)
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: t) { k in
            let lo = n * k / t, hi = n * (k + 1) / t
            if lo < hi { body(lo..<hi) }
        }
    }
}
