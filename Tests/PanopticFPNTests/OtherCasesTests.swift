import FixtureSupport
import Foundation
import Imaging
import Tensors
import XCTest
import PanopticFPN
import ZooRegistry

/// Final dense results on two more reference cases: R-101 with seed 3 on the small image (depth inferred
/// from the keys), and R-50 on `coffee_375x500.jpg`, which the zoo's pipeline resizes by 1.92 to 720x960
/// and pads to 736x960.
final class OtherCasesTests: XCTestCase {
    private func check(tag: String, spec: [ParameterSpec], seed: UInt64, image name: String,
                       config: PreprocessConfig, depth: Int) throws {
        let binder = WeightBinder(store: SyntheticWeights.make(spec: spec, seed: seed))
        let model = try DenseModel(binder: binder, registry: try Registry.builtIn())
        try binder.finish(allowingUnusedPrefixes: ["roi_head."])
        XCTAssertEqual(model.backbone.depth, depth)
        let path = fixtureDirectory("imaging").appendingPathComponent(name).path
        let image = Preprocess.run(try BGRImage.load(path: path), config: config)
        let out = model(image)
        let m = try loadManifest("reference")
        // Both cases hold near-ties: pairs of proposals whose scores differ by 1e-7 may swap places.
        try assertSameProposals(out.rpn.proposals, "\(tag)_rpn_proposals", m)

        let full = PanopticFPNHead.logitsAtOriginalSize(out.semanticLogits, meta: image.meta)
        let ref = try XCTUnwrap(m["\(tag)_sem_argmax_ties255"])
        XCTAssertEqual(full.shape, [31] + ref.shape)
        let want = try loadValues("reference", ref)
        let plane = want.count
        var differ = 0, compared = 0
        for i in 0..<plane where want[i] != 255 {
            var best = 0
            for c in 1..<31 where full.data[c * plane + i] > full.data[best * plane + i] { best = c }
            if Float(best) != want[i] { differ += 1 }
            compared += 1
        }
        XCTAssertGreaterThan(compared, plane * 99 / 100)
        XCTAssertEqual(differ, 0, "semantic argmax pixels that differ from mmdetection")
    }

    func testR101Seed3SmallImage() throws {
        try check(tag: "r101", spec: try ModelSpec.r101, seed: 3, image: "small_192x320.jpg",
                  config: try PreprocessConfig(try Registry.builtIn().testConfig).scaled(to: (320, 192)), depth: 101)
    }

    func testR50CoffeeResizedAndPadded() throws {
        let image = Preprocess.run(
            try BGRImage.load(path: fixtureDirectory("imaging").appendingPathComponent("coffee_375x500.jpg").path),
            config: try PreprocessConfig(try Registry.builtIn().testConfig))
        XCTAssertEqual(image.input.shape, [3, 736, 960])
        XCTAssertTrue(image.meta.imgShape == (720, 960) && image.meta.oriShape == (375, 500))
        XCTAssertEqual(image.meta.scaleFactor.w, 1.92, accuracy: 1e-6)
        XCTAssertEqual(image.input.data[(0 * 736 + 730) * 960 + 5], 0, "padding rows are zero")
        try check(tag: "coffee", spec: try ModelSpec.r50, seed: 1, image: "coffee_375x500.jpg",
                  config: try PreprocessConfig(try Registry.builtIn().testConfig), depth: 50)
    }

    func testUnknownDepthIsAnError() throws {
        var store = InMemoryWeightStore()
        let full = SyntheticWeights.make(spec: try ModelSpec.r50, seed: 1)
        for k in full.keys where !k.hasPrefix("backbone.layer3.5.") { store.set(k, try full.tensor(k)) }
        XCTAssertThrowsError(try DenseModel(binder: WeightBinder(store: store), registry: try Registry.builtIn())) { e in
            guard case PanopticFPNError.unknownDepth(let why) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(why.contains("[3, 4, 5, 3]"), why)
        }
    }

    func testMisshapedKeyIsReportedAfterBinding() throws {
        var store = SyntheticWeights.make(spec: try ModelSpec.r50, seed: 1)
        store.set("neck.fpn_convs.0.conv.bias", Tensor(zeros: [255]))
        let binder = WeightBinder(store: store)
        _ = try DenseModel(binder: binder, registry: try Registry.builtIn())
        XCTAssertThrowsError(try binder.finish()) { e in
            guard case PanopticFPNError.weightBinding(let r) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(r.misshaped, ["neck.fpn_convs.0.conv.bias: expected [256], found [255]"])
            XCTAssertEqual(r.unused.count, 20, "the roi_head keys no dense stage reads")
            XCTAssertTrue(r.missing.isEmpty && r.repeated.isEmpty)
        }
    }
}
