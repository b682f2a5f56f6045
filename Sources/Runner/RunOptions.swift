import Foundation
import Imaging
import Tensors
import ZooRegistry
#if canImport(Glibc)
import Glibc
#endif

/// A run's settings as one value, so `zoo run` and `zoo reproduce` (and a library user) configure the
/// model the same way: threads, the GEMM choice, Winograd, image decoding, pipelines. `engine(images:pipelines:)`
/// gives the kernels' options (`Tensors.EngineOptions`) each pipeline passes to the model.
public struct RunOptions: Sendable {
    /// The CPUs this process may use and the threads chosen (`--threads`, `ZOO_THREADS`, affinity, cgroup).
    public var budget: CPUBudget
    /// Leave the GEMMs to OpenBLAS's own thread pool (comparisons only; see `EngineOptions.GEMMThreading`).
    public var openBLASThreads: Bool
    /// The Winograd variant of 3x3 stride-1 layers (nil: im2col + GEMM everywhere).
    public var winograd: Conv2d.Winograd?
    /// The pixel limit and warning handler of every image decode.
    public var decode: DecodeOptions
    /// Images computed at once (`--pipelines K`); nil chooses from the threads and the memory.
    public var pipelines: Int?
    /// The SGEMM of the split GEMMs (`ZOO_GEMM=openblas`: OpenBLAS's; by default zoo's AVX-512 one where it can).
    public var sgemmKernel: EngineOptions.SGEMMKernel

    public init(budget: CPUBudget = CPUBudget.detect(), openBLASThreads: Bool = false,
                winograd: Conv2d.Winograd? = .f4x3, decode: DecodeOptions = DecodeOptions(), pipelines: Int? = nil,
                sgemmKernel: EngineOptions.SGEMMKernel = .fromEnvironment()) {
        self.budget = budget
        self.openBLASThreads = openBLASThreads
        self.sgemmKernel = sgemmKernel
        self.winograd = winograd
        self.decode = decode
        self.pipelines = pipelines
    }

    /// The threads of all parallel work together.
    public var threads: Int { max(1, budget.threads) }

    /// The kernels' options of each pipeline for a run of `images` images on `pipelines` pipelines: each
    /// pipeline's parallel loops and GEMM splits use `threads / pipelines` threads (OpenBLAS single-threaded
    /// unless `openBLASThreads`), Winograd weights are kept only when a layer will see several images.
    /// Also settles the process-wide parts now: OpenBLAS's threading and, with several pipelines, one
    /// malloc arena (see `MallocTuning`). Call it once, before the weights load.
    public func engine(images: Int, pipelines: Int = 1) -> EngineOptions {
        let engine = EngineOptions(threads: max(1, threads / max(1, pipelines)), threadsReason: budget.reason,
                                   winograd: winograd,
                                   // One image: each layer's Winograd weights are used once, so they are not kept.
                                   keepWinogradWeights: images > 1,
                                   gemmThreading: openBLASThreads ? .openBLASPool : .split,
                                   sgemmKernel: sgemmKernel)
        engine.prepareBLAS()
        if pipelines > 1 { MallocTuning.oneArena() }
        return engine
    }
}

/// glibc malloc settings for several compute threads.
public enum MallocTuning {
    /// Every thread allocates from the main arena. A second thread otherwise gets its own arena of 64 MB
    /// heaps, and the model's larger blocks (feature maps of 10-70 MB) then come from `mmap` and go back
    /// on `free`: each image touches fresh, zero-filled pages again (an earlier attempt that moved compute off
    /// the main thread saw twice the page faults, 4.6 -> 5.2 s per image). In the main arena they reuse
    /// pages already touched. No-op off glibc.
    public static func oneArena() {
        #if canImport(Glibc)
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let arenaMax: Int32 = -8  // M_ARENA_MAX
        _ = unsafeBitCast(symbol, to: MallOpt.self)(arenaMax, 1)
        #endif
    }
}

extension RunOptions {
    /// The pipelines for `images` images at `config`'s test scale: `pipelines` when given, else from the
    /// threads and the memory this process may still use.
    public func plan(images: Int, config: TestConfig) -> PipelinePlan {
        // The test scale's pixels (`img_scale` is two validated sides): the size every image is resized to.
        let scalePixels = config.imgScale.reduce(1, *)
        let memory = pipelines == nil ? PipelinePlan.availableMemory() : nil
        return PipelinePlan.choose(threads: threads, images: images, requested: pipelines,
                                   perPipelineBytes: PipelinePlan.bytesPerPipeline(inputPixels: scalePixels,
                                                                                   imagePixels: scalePixels),
                                   available: memory?.bytes, availableSource: memory?.source ?? "memory")
    }
}
