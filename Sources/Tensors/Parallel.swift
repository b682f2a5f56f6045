import COpenBLAS
import Dispatch
import Foundation
import Synchronization

/// How the compute kernels run: threads, the GEMM threading, the Winograd choice. A value handed down the
/// forward pass (`DenseModel`, `PanopticFPN`, then each layer and kernel), never a process-wide variable, so
/// two models in one process may run with different options.
///
/// OpenBLAS's thread count is process-wide by nature: a kernel that calls OpenBLAS first sets it from the
/// options it was given (1 with `.split`, `threads` with `.openBLASPool`), and only when it differs from the
/// count set last. Two forwards running at once with different `gemmThreading` would therefore change it
/// under each other (the results stay the same, only the speed differs); give concurrent forwards the same
/// `gemmThreading`.
public struct EngineOptions: Sendable, Equatable {
    /// Who runs the GEMMs' threads.
    public enum GEMMThreading: String, Sendable, CaseIterable {
        /// Each GEMM split into independent pieces on our threads, OpenBLAS single-threaded (the default,
        /// faster: with both pools the cores were oversubscribed). Allows the AVX-512 SGEMM.
        case split
        /// Whole GEMMs on OpenBLAS's own thread pool of `threads` threads (for comparisons).
        case openBLASPool = "openblas"
    }

    /// Which single-threaded SGEMM the split GEMMs call.
    public enum SGEMMKernel: String, Sendable, CaseIterable {
        /// zoo's AVX-512 kernel where the CPU has AVX-512, else OpenBLAS.
        case auto
        /// OpenBLAS's `cblas_sgemm` always (for comparisons).
        case openBLAS = "openblas"

        /// The environment's choice: `ZOO_GEMM=openblas` gives `.openBLAS`, anything else (or nothing) `.auto`.
        public static let environmentKey = "ZOO_GEMM"
        public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
            -> SGEMMKernel {
            environment[environmentKey]?.trimmingCharacters(in: .whitespaces).lowercased() == "openblas" ? .openBLAS : .auto
        }
    }

    /// How many threads the kernels split their work over (at least 1).
    public var threads: Int {
        didSet { threads = max(1, threads) }
    }
    /// Why `threads` has its value (for `--profile`).
    public var threadsReason: String
    /// The Winograd variant 3x3 stride-1 layers use (nil: im2col + GEMM for every layer).
    public var winograd: Conv2d.Winograd?
    /// Smaller outputs take the GEMM path. (Per call F(4,3) already wins from 12x20 pixels, but on
    /// ResNet's 23x40 C5 layers the one-off weight transform and its 4x larger weights (+83 MB) cost a
    /// one-image run as much as they save.)
    public var winogradMinimumPixels: Int
    /// Whether layers keep their Winograd-domain weights after the first call (4x the 3x3 weights: about
    /// 180 MB for Panoptic FPN R-50). Worth it when a model runs on several images; a one-image run
    /// transforms each layer's weights into a reused scratch buffer instead, which touches far less fresh
    /// memory for the same arithmetic.
    public var keepWinogradWeights: Bool
    /// Who runs the GEMMs' threads (see `GEMMThreading`).
    public var gemmThreading: GEMMThreading
    /// The SGEMM of split GEMMs (see `SGEMMKernel`; `.openBLASPool` always uses OpenBLAS).
    public var sgemmKernel: SGEMMKernel

    public static let defaultWinogradMinimumPixels = 1024

    /// `budget`'s threads; F(4x4, 3x3) Winograd from 1024 output pixels, its weights kept; GEMMs split.
    public init(budget: CPUBudget, winograd: Conv2d.Winograd? = .f4x3,
                winogradMinimumPixels: Int = EngineOptions.defaultWinogradMinimumPixels,
                keepWinogradWeights: Bool = true, gemmThreading: GEMMThreading = .split,
                sgemmKernel: SGEMMKernel = .auto) {
        self.init(threads: budget.threads, threadsReason: budget.reason, winograd: winograd,
                  winogradMinimumPixels: winogradMinimumPixels, keepWinogradWeights: keepWinogradWeights,
                  gemmThreading: gemmThreading, sgemmKernel: sgemmKernel)
    }

    public init(threads: Int, threadsReason: String = "", winograd: Conv2d.Winograd? = .f4x3,
                winogradMinimumPixels: Int = EngineOptions.defaultWinogradMinimumPixels,
                keepWinogradWeights: Bool = true, gemmThreading: GEMMThreading = .split,
                sgemmKernel: SGEMMKernel = .auto) {
        self.threads = max(1, threads)
        self.threadsReason = threadsReason.isEmpty ? "\(max(1, threads)) threads" : threadsReason
        self.winograd = winograd
        self.winogradMinimumPixels = winogradMinimumPixels
        self.keepWinogradWeights = keepWinogradWeights
        self.gemmThreading = gemmThreading
        self.sgemmKernel = sgemmKernel
    }

    /// The detected CPU budget of this process (`CPUBudget.detect()`, read once), the environment's SGEMM
    /// (`ZOO_GEMM`) and the default choices: what a kernel called without options uses. Immutable; a run that
    /// wants other options passes a value.
    public static let `default` = EngineOptions(budget: CPUBudget.detect(), sgemmKernel: .fromEnvironment())

    /// These options with `threads` threads.
    public func with(threads: Int) -> EngineOptions {
        var o = self
        o.threads = threads
        return o
    }

    /// Settles OpenBLAS's threading for these options now rather than at the first convolution (single-
    /// threaded, its idle pool stopped, with `.split`); call it at start-up, before loading weights.
    public func prepareBLAS() { GEMM.prepare(self) }

    /// The SGEMM the kernels use with these options: "zoo AVX-512", or "OpenBLAS (<core>)"
    /// (`.openBLAS` kernel, `.openBLASPool`, or no AVX-512).
    public var sgemmName: String { GEMM.backendName(self) }

    /// Row-major `C = A B` (`m x k` times `k x n`) as the kernels compute it: the SGEMM in use, split over
    /// the threads. For benchmarks.
    public func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                      c: UnsafeMutablePointer<Float>) {
        GEMM.sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, engine: self)
    }
}

/// A pointer handed to the workers of a parallel loop. Not checked: the caller promises that the memory
/// outlives the loop and that workers write disjoint parts of it (or only read).
@frozen public struct UnsafeSendableMutablePointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Pointee>
    @inlinable public init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}

/// A read-only pointer handed to the workers of a parallel loop. Not checked: the caller promises that the
/// memory outlives the loop and that nobody writes it meanwhile.
@frozen public struct UnsafeSendablePointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafePointer<Pointee>
    @inlinable public init(_ pointer: UnsafePointer<Pointee>) { self.pointer = pointer }
    @inlinable public init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = UnsafePointer(pointer) }
}

/// Runs `body` over 0..<n split into contiguous ranges spread over `threads` threads.
/// There are a few ranges per thread, so a thread slowed down by another process hands its share to the
/// others. Loops with fewer than `minPerThread` items per thread run on the calling thread.
public func parallelFor(_ n: Int, threads: Int, minPerThread: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
    let threads = min(threads, n / max(1, minPerThread))
    if threads <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    // `threads` workers (Dispatch would otherwise run up to one per online CPU) take the `t` ranges in turn.
    let t = min(4 * threads, n)
    let next = RangeCounter()
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
        while let k = next.take(below: t) {
            let lo = n * k / t, hi = n * (k + 1) / t
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Runs `body(i)` for each i in 0..<n, each index once, on at most `threads` threads that take the next
/// index as they finish one (so a thread slowed down by another process does fewer). With one thread, or
/// `n` <= 1, on the calling thread in order.
public func concurrentFor(_ n: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
    let workers = min(threads, n)
    if workers <= 1 {
        for i in 0..<n { body(i) }
        return
    }
    if workers == n {
        DispatchQueue.concurrentPerform(iterations: n, execute: body)
        return
    }
    let next = RangeCounter()
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while let i = next.take(below: n) { body(i) }
    }
}

/// Hands out 0, 1, 2, ... to the workers of `parallelFor`.
private final class RangeCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take(below limit: Int) -> Int? {
        let k = value.wrappingAdd(1, ordering: .relaxed).oldValue
        return k < limit ? k : nil
    }
}
