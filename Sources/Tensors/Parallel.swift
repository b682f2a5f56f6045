import Dispatch
import Foundation

/// How many threads the non-GEMM kernels split their work over (default: the active cores).
/// OpenBLAS runs its own threads for the GEMMs, which are never nested inside these loops.
public enum Parallelism {
    nonisolated(unsafe) public static var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// Runs `body` over 0..<n split into contiguous ranges spread over `Parallelism.threads` threads.
/// There are a few ranges per thread, so a thread slowed down by another process hands its share to the
/// others. Loops with fewer than `minPerThread` items per thread run on the calling thread.
func parallelFor(_ n: Int, minPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
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
