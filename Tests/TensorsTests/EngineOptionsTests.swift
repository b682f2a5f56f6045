import Synchronization
import XCTest
@testable import Tensors

/// The engine options are a value: each call runs with the options it was given, whatever other calls use.
final class EngineOptionsTests: XCTestCase {
    /// Every index once, on at most `threads` threads, for sizes around the split points.
    func testParallelForCoversEveryIndexOnce() {
        for threads in [1, 2, 3, 8] {
            for n in [0, 1, 2, 7, 31, 1000] {
                let hits = Mutex([Int](repeating: 0, count: n))
                parallelFor(n, threads: threads) { range in
                    hits.withLock { h in for i in range { h[i] += 1 } }
                }
                let got = hits.withLock { $0 }
                XCTAssertEqual(got, [Int](repeating: 1, count: n),
                               "threads \(threads) n \(n)")
            }
        }
    }

    /// `concurrentFor`: every index once, on at most `threads` threads at a time; one thread runs in order.
    func testConcurrentForCoversEveryIndexOnceOnAtMostThreads() {
        for threads in [1, 2, 3, 8] {
            for n in [0, 1, 2, 5, 40] {
                let state = Mutex((hits: [Int](repeating: 0, count: n), running: 0, most: 0, order: [Int]()))
                concurrentFor(n, threads: threads) { i in
                    state.withLock { s in s.running += 1; s.most = max(s.most, s.running); s.order.append(i) }
                    usleep(200)
                    state.withLock { s in s.hits[i] += 1; s.running -= 1 }
                }
                let s = state.withLock { $0 }
                XCTAssertEqual(s.hits, [Int](repeating: 1, count: n), "threads \(threads) n \(n)")
                XCTAssertLessThanOrEqual(s.most, max(1, threads), "threads \(threads) n \(n)")
                if threads == 1 { XCTAssertEqual(s.order, Array(0..<n)) }
            }
        }
    }

    /// With one thread, `parallelFor` runs the whole range at once on the calling thread.
    func testOneThreadRunsInOnePiece() {
        let pieces = Mutex<[Range<Int>]>([])
        parallelFor(1000, threads: 1) { r in pieces.withLock { $0.append(r) } }
        let got = pieces.withLock { $0 }
        XCTAssertEqual(got, [0..<1000])
    }

    /// With `minPerThread` above the work per thread, the loop runs in one piece on the calling thread.
    func testSmallLoopsRunInOnePiece() {
        let pieces = Mutex<[Range<Int>]>([])
        parallelFor(100, threads: 8, minPerThread: 64) { r in pieces.withLock { $0.append(r) } }
        let got = pieces.withLock { $0 }
        XCTAssertEqual(got, [0..<100])
    }

    /// A convolution gives the same numbers (within rounding) with 1 or several threads, the GEMMs split
    /// or on OpenBLAS's pool, on the 1x1, im2col and Winograd paths; the options of one call do not leak
    /// into the next.
    func testConvolutionAgreesAcrossEngineOptions() {
        let x = Tensor(shape: [16, 40, 36], data: pseudoRandom(16 * 40 * 36, seed: 41))
        let layers = [
            Conv2d(weight: Tensor(shape: [24, 16, 1, 1], data: pseudoRandom(24 * 16, seed: 42)), bias: pseudoRandom(24, seed: 43)),
            Conv2d(weight: Tensor(shape: [24, 16, 3, 3], data: pseudoRandom(24 * 144, seed: 44)), stride: 2, padding: 1),
            Conv2d(weight: Tensor(shape: [24, 16, 3, 3], data: pseudoRandom(24 * 144, seed: 45)), padding: 1),
        ]
        var pool = EngineOptions(threads: 3)
        pool.gemmThreading = .openBLASPool
        var gemmOnly = EngineOptions(threads: 4)
        gemmOnly.winograd = nil
        let engines = [EngineOptions(threads: 1), EngineOptions(threads: 4), pool, gemmOnly]
        for conv in layers {
            let expect = naiveConv(x, conv.weight, bias: conv.bias, stride: conv.stride, padding: conv.padding,
                                   dilation: 1)
            for engine in engines {
                assertClose(conv(x, relu: false, engine: engine), expect, rel: 1e-5)
            }
        }
        let (oh, ow) = layers[2].outputSize(h: 40, w: 36)
        XCTAssertTrue(layers[2].usesWinograd(oh: oh, ow: ow, engine: EngineOptions(threads: 1)))
        XCTAssertFalse(layers[2].usesWinograd(oh: oh, ow: ow, engine: gemmOnly))
        EngineOptions.default.prepareBLAS()
    }

    func testThreadsAreAtLeastOne() {
        XCTAssertEqual(EngineOptions(threads: 0).threads, 1)
        var e = EngineOptions(threads: 4)
        e.threads = -3
        XCTAssertEqual(e.threads, 1)
        XCTAssertEqual(e.with(threads: 2).threads, 2)
        let budget = CPUBudget.decide(online: 8, affinity: 4, quota: nil, quotaText: nil, slurm: nil, requested: 3)
        let fromBudget = EngineOptions(budget: budget)
        XCTAssertEqual(fromBudget.threads, 3)
        XCTAssertEqual(fromBudget.threadsReason, budget.reason)
        XCTAssertEqual(fromBudget.winograd, .f4x3)
        XCTAssertEqual(fromBudget.gemmThreading, .split)
    }
}
