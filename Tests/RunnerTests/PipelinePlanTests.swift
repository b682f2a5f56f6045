import XCTest
import Runner
import Tensors

/// How many images run at once: from the threads, the memory and the image count, or as asked.
final class PipelinePlanTests: XCTestCase {
    let gb = 1_000_000_000

    /// The run's options hand the SGEMM choice (from `ZOO_GEMM` by default) and the per-pipeline threads to
    /// the kernels' options.
    func testRunOptionsCarryTheSGEMMChoiceToTheEngine() {
        let budget = CPUBudget.decide(online: 4, affinity: nil, quota: nil, quotaText: nil, slurm: nil, requested: nil)
        let forced = RunOptions(budget: budget, sgemmKernel: .openBLAS).engine(images: 3, pipelines: 2)
        XCTAssertEqual(forced.sgemmKernel, .openBLAS)
        XCTAssertEqual(forced.threads, 2)
        XCTAssertTrue(forced.sgemmName.hasPrefix("OpenBLAS"), forced.sgemmName)
        XCTAssertEqual(RunOptions(budget: budget, sgemmKernel: .auto).engine(images: 1).sgemmKernel, .auto)
    }

    func testAutomaticCountFollowsThreadsMemoryAndImages() {
        // 16 threads: 8 pipelines of 2 threads when memory allows.
        var p = PipelinePlan.choose(threads: 16, images: 100, requested: nil, perPipelineBytes: gb, available: 64 * gb)
        XCTAssertEqual(p.count, 8)
        XCTAssertEqual(p.threadsPerPipeline, 2)
        XCTAssertTrue(p.reason.contains("auto"), p.reason)
        // Memory for 3 only.
        p = PipelinePlan.choose(threads: 16, images: 100, requested: nil, perPipelineBytes: gb, available: 3 * gb + 1,
                                availableSource: "cgroup memory.max")
        XCTAssertEqual(p.count, 3)
        XCTAssertEqual(p.threadsPerPipeline, 5)
        XCTAssertTrue(p.reason.contains("memory for 3 (cgroup memory.max"), p.reason)
        // Not even one fits: still one.
        p = PipelinePlan.choose(threads: 16, images: 100, requested: nil, perPipelineBytes: gb, available: 0)
        XCTAssertEqual(p.count, 1)
        XCTAssertEqual(p.threadsPerPipeline, 16)
        // 2 threads: one pipeline of 2 (the one-image latency path).
        p = PipelinePlan.choose(threads: 2, images: 100, requested: nil, perPipelineBytes: gb, available: nil)
        XCTAssertEqual(p.count, 1)
        XCTAssertEqual(p.threadsPerPipeline, 2)
        // One image: one pipeline with every thread.
        p = PipelinePlan.choose(threads: 16, images: 1, requested: nil, perPipelineBytes: gb, available: 64 * gb)
        XCTAssertEqual(p.count, 1)
        XCTAssertEqual(p.threadsPerPipeline, 16)
    }

    func testRequestedCountIsBoundedByThreadsAndImages() {
        var p = PipelinePlan.choose(threads: 4, images: 10, requested: 2, perPipelineBytes: 100 * gb, available: gb)
        XCTAssertEqual(p.count, 2, "memory does not override --pipelines")
        XCTAssertEqual(p.threadsPerPipeline, 2)
        p = PipelinePlan.choose(threads: 2, images: 10, requested: 8, perPipelineBytes: gb, available: nil)
        XCTAssertEqual(p.count, 2)
        XCTAssertEqual(p.threadsPerPipeline, 1)
        p = PipelinePlan.choose(threads: 8, images: 3, requested: 8, perPipelineBytes: gb, available: nil)
        XCTAssertEqual(p.count, 3)
        XCTAssertEqual(p.threadsPerPipeline, 2)
        XCTAssertTrue(p.reason.contains("3 image(s)"), p.reason)
    }

    func testMemAvailableParsing() {
        let text = "MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   12000000 kB\n"
        XCTAssertEqual(PipelinePlan.parseMemAvailable(text), 12_000_000 * 1024)
        XCTAssertNil(PipelinePlan.parseMemAvailable("MemTotal: 1 kB\n"))
        XCTAssertNil(PipelinePlan.parseMemAvailable("MemAvailable: lots kB\n"))
        XCTAssertNil(PipelinePlan.parseMemAvailable("MemAvailable: 99999999999999999 kB\n"))
        XCTAssertNotNil(PipelinePlan.availableMemory(), "this Linux machine has /proc/meminfo")
    }

    func testPerPipelineEstimateGrowsWithTheInput() {
        let small = PipelinePlan.bytesPerPipeline(inputPixels: 320 * 192, imagePixels: 320 * 192)
        let full = PipelinePlan.bytesPerPipeline(inputPixels: 1333 * 800, imagePixels: 1280 * 720)
        XCTAssertLessThan(small, full)
        XCTAssertGreaterThan(full, 500_000_000)
    }
}
