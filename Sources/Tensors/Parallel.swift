import Dispatch
import Foundation

/// How many threads the non-GEMM kernels split their work over (default: the active cores).
/// OpenBLAS runs its own threads for the GEMMs, which are never nested inside these loops.
public enum Parallelism {
    nonisolated(unsafe) public static var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// Runs `body` over 0..<n split into `Parallelism.threads` contiguous ranges, one per thread.
/// Loops with fewer than `minPerThread` items per thread run on the calling thread.
func parallelFor(_ n: Int, minPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    let t = min(Parallelism.threads, n / max(1, minPerThread))
    if t <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: t) { k in
            let lo = n * k / t, hi = n * (k + 1) / t
            if lo < hi { body(lo..<hi) }
        }
    }
}
