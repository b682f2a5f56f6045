import Foundation
import Imaging
import PanopticFPN
import Pipeline
import Runner
import XCTest
import ZooRegistry

/// The run loop with the synthetic R-50 at a tiny test scale: outcomes reach the output in input order
/// and with the same results whatever the number of pipelines; a failing image or output discards it.
final class FrameLoopTests: XCTestCase {
    /// Collects what the loop hands over (on the writer queue, one at a time).
    final class Collector: FrameOutput {
        var outcomes: [FrameOutcome] = []
        var finished = false, discarded = false
        var failAt: Int?
        var needsImages: Bool { false }
        func write(_ outcome: FrameOutcome) throws {
            if outcome.index == failAt { throw RunnerError.message("output refused image \(outcome.index)") }
            outcomes.append(outcome)
        }
        func finish() throws { finished = true }
        func discard() { discarded = true }
    }

    static let model: PanopticFPN? = {
        guard var registry = try? Registry.builtIn() else { return nil }
        // A tiny scale and few proposals and detections: the loop is under test, not the model.
        registry.testConfig.imgScale = [128, 64]
        registry.testConfig.rpn.nmsPre = 100
        registry.testConfig.rpn.maxPerImg = 50
        registry.testConfig.panoptic.maxPerImg = 10
        return try? PanopticFPN(weights: SyntheticWeights.make(spec: ModelSpec.r50, seed: 1), registry: registry)
    }()

    var images: [String] = []
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-frameloop-\(UUID().uuidString)")
        let root = work.appendingPathComponent("data").path
        images = try SyntheticDataset.write(root: root, count: 3, width: 96, height: 64, seed: 9)
            .map { "\(DatasetLayout(root: root, split: "val").imagesDirectory)/\($0)" }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func testOutcomesArriveInOrderAndEqualWhateverThePipelines() throws {
        let model = try XCTUnwrap(Self.model)
        var runs: [[FrameOutcome]] = []
        for k in [1, 2] {
            let out = Collector()
            try FrameLoop(model: model, paths: images, pipelines: k).run(into: out)
            XCTAssertTrue(out.finished)
            XCTAssertFalse(out.discarded)
            XCTAssertEqual(out.outcomes.map(\.index), Array(0..<3), "k = \(k)")
            XCTAssertEqual(out.outcomes.map(\.name), images.map { ($0 as NSString).lastPathComponent })
            runs.append(out.outcomes)
        }
        for k in 1..<runs.count {
            for (a, b) in zip(runs[0], runs[k]) {
                XCTAssertEqual(try a.result.get().panoptic, try b.result.get().panoptic, "\(a.name), run \(k)")
            }
        }
    }

    func testAnUnreadableImageStopsOrIsHandedOver() throws {
        let model = try XCTUnwrap(Self.model)
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: images[1]))
        for k in [1, 2] {
            let out = Collector()
            XCTAssertThrowsError(try FrameLoop(model: model, paths: images, pipelines: k).run(into: out)) { error in
                guard case let RunnerError.image(path, _)? = error as? RunnerError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, images[1])
            }
            XCTAssertTrue(out.discarded, "k = \(k)")
            XCTAssertFalse(out.finished)
            XCTAssertEqual(out.outcomes.map(\.index), [0], "the images before it")

            let skip = Collector()
            try FrameLoop(model: model, paths: images, pipelines: k, onUnreadable: .skip).run(into: skip)
            XCTAssertEqual(skip.outcomes.map(\.index), Array(0..<3))
            XCTAssertThrowsError(try skip.outcomes[1].result.get())
            XCTAssertNoThrow(try skip.outcomes[2].result.get())
        }
    }

    func testAnOutputErrorStopsTheRunAndDiscards() throws {
        let model = try XCTUnwrap(Self.model)
        for k in [1, 2] {
            let out = Collector()
            out.failAt = 1
            XCTAssertThrowsError(try FrameLoop(model: model, paths: images, pipelines: k).run(into: out)) { error in
                XCTAssertTrue("\(error)".contains("output refused image 1"), "\(error)")
            }
            XCTAssertTrue(out.discarded)
            XCTAssertEqual(out.outcomes.map(\.index), [0])
        }
    }
}
