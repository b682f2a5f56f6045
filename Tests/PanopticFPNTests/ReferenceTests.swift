import Synchronization
import FixtureSupport
import Foundation
import Imaging
import Tensors
import XCTest
import PanopticFPN
import ZooRegistry

/// The dense stages against mmdetection 2.28.2's outputs on `small_192x320.jpg` with the synthetic R-50
/// weights of seed 1 (reference folder `r50_seed1_small`; `img_scale` (320, 192): no resize, no padding).
final class ReferenceTests: XCTestCase {
    /// One forward pass shared by the tests (the weights take a few seconds to make in debug builds).
    static let cached = Mutex<(PreprocessedImage, DenseOutputs)?>(nil)

    func run() throws -> (PreprocessedImage, DenseOutputs) {
        if let c = Self.cached.withLock({ $0 }) { return c }
        let binder = WeightBinder(store: SyntheticWeights.make(spec: try ModelSpec.r50, seed: 1))
        let model = try DenseModel(binder: binder, registry: try Registry.builtIn())
        try binder.finish(allowingUnusedPrefixes: ["roi_head."])
        XCTAssertEqual(model.backbone.depth, 50)
        let jpeg = fixtureDirectory("imaging").appendingPathComponent("small_192x320.jpg").path
        let image = Preprocess.run(try BGRImage.load(path: jpeg), config: try PreprocessConfig(try Registry.builtIn().testConfig).scaled(to: (320, 192)))
        let out = model(image)
        Self.cached.withLock { $0 = (image, out) }
        return (image, out)
    }

    func testInputTensor() throws {
        let (image, _) = try run()
        XCTAssertEqual(image.input.shape, [3, 192, 320])
        XCTAssertEqual(image.meta.padShape.h, 192)
        try assertMatches(image.input.data, "input_tensor", try loadManifest("reference"), rel: 1e-6)
    }

    func testBackboneOutputs() throws {
        let (_, out) = try run()
        let m = try loadManifest("reference")
        for (i, name) in ["C2", "C3", "C4", "C5"].enumerated() {
            try assertMatches(out.backbone[i].data, name, m, rel: 1e-4)
        }
    }

    func testFPNOutputs() throws {
        let (_, out) = try run()
        let m = try loadManifest("reference")
        for (i, name) in ["P2", "P3", "P4", "P5", "P6"].enumerated() {
            try assertMatches(out.features[i].data, name, m, rel: 1e-4)
        }
    }

    func testRPNRawOutputs() throws {
        let (_, out) = try run()
        let m = try loadManifest("reference")
        for i in 0..<5 {
            try assertMatches(out.rpnRaw[i].cls.data, "cls_P\(i + 2)", m, rel: 1e-4)
            try assertMatches(out.rpnRaw[i].reg.data, "reg_P\(i + 2)", m, rel: 1e-4)
        }
    }

    func testProposalsEqualTheReference() throws {
        let (_, out) = try run()
        let m = try loadManifest("reference")
        // Per-level top 1000 before NMS: the same candidates in the same order, up to near-tie swaps.
        let scores = try loadValues("reference", try XCTUnwrap(m["pre_nms_scores"]))
        let boxes = try loadValues("reference", try XCTUnwrap(m["pre_nms_proposals"]))
        XCTAssertEqual(scores.count, 1000 + 1000 + 720 + 180 + 45)
        func rows(_ s: [Float], _ b: [Float]) -> [Float] {
            var out: [Float] = []
            for i in s.indices { out += b[(4 * i)..<(4 * i + 4)]; out.append(s[i]) }
            return out
        }
        _ = assertSameRows(rows(out.rpn.preNMSScores, out.rpn.preNMSBoxes), rows(scores, boxes), "pre-NMS")
        XCTAssertEqual(out.rpn.proposals.shape, [1000, 5])
        try assertSameProposals(out.rpn.proposals, "rpn_proposals", m)
    }

    func testSemanticLogits() throws {
        let (image, out) = try run()
        let m = try loadManifest("reference")
        XCTAssertEqual(out.semanticLogits.shape, [31, 48, 80])
        try assertMatches(out.semanticLogits.data, "sem_logits_quarter", m, rel: 1e-4)
        let full = PanopticFPNHead.logitsAtOriginalSize(out.semanticLogits, meta: image.meta)
        XCTAssertEqual(full.shape, [31, 192, 320])
        try assertMatches(full.data, "sem_logits_full", m, rel: 1e-4)
        // The argmax agrees except where mmdetection's own top two logits are within 1e-4.
        let argmax = try loadValues("reference", try XCTUnwrap(m["sem_argmax"]))
        let margin = try loadValues("reference", try XCTUnwrap(m["sem_margin"]))
        let plane = 192 * 320
        var differ = 0
        for i in 0..<plane where margin[i] > 1e-4 {
            var best = 0
            for c in 1..<31 where full.data[c * plane + i] > full.data[best * plane + i] { best = c }
            if Float(best) != argmax[i] { differ += 1 }
        }
        XCTAssertEqual(differ, 0)
    }
}
