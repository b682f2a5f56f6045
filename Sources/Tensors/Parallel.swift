import COpenBLAS
import Dispatch
import Foundation

/// How many threads the non-GEMM kernels split their work over (default: the active cores).
/// The GEMMs run on the same threads (see `GEMM`), OpenBLAS itself single-threaded.
public enum Parallelism {
    nonisolated(unsafe) public static var threads: Int = CPUBudget.detect().threads
    /// Why `threads` has its value (for `--profile`), set by `configure`.
    nonisolated(unsafe) public static var reason: String = CPUBudget.detect().reason

    /// Uses `budget`'s threads for all parallel work (our parallel-for, the GEMM split, and OpenBLAS's pool
    /// when `openBLASThreads`). Call at start-up, before any kernel runs.
    public static func configure(_ budget: CPUBudget) {
        threads = max(1, budget.threads)
        reason = budget.reason
        if openBLASThreads { openblas_set_num_threads(Int32(clamping: threads)) }
    }
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
    // `threads` workers (Dispatch would otherwise run up to one per online CPU) take the `t` ranges in turn.
    let t = min(4 * threads, n)
    let next = RangeCounter()
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while let k = next.take(below: t) {
                let lo = n * k / t, hi = n * (k + 1) / t
                if lo < hi { body(lo..<hi) }
            }
        }
    }
}

/// Hands out 0, 1, 2, ... to the workers of `parallelFor`.
private final class RangeCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}
