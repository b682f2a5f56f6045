import Synchronization
import Foundation
import Imaging
import PanopticFPN
import Tensors
import XCTest
import ZooRegistry

/// The whole model, JPEG to panoptic map, against mmdetection on `r50_seed1_small` (every stage after the
/// RPN), `r101_seed3_small` and `r50_seed1_full` (final stages), with the Swift recipe's synthetic weights.
final class PanopticFPNTests: XCTestCase {
    static let models = Mutex<[String: PanopticFPN]>([:])

    /// R-50 seed 1 or R-101 seed 3; `small` uses the reference's `img_scale` override (320, 192).
    static func model(depth: Int, small: Bool) throws -> PanopticFPN {
        let key = "\(depth)-\(small)"
        if let m = models.withLock({ $0[key] }) { return m }
        let registry = try Registry.builtIn()
        var config = registry.testConfig
        if small { config.imgScale = [320, 192] }
        let spec = depth == 50 ? try ModelSpec.r50 : try ModelSpec.r101
        let store = SyntheticWeights.make(spec: spec, seed: depth == 50 ? 1 : 3)
        let m = try PanopticFPN(weights: store, config: config, numThings: registry.numThings,
                                numStuff: registry.numStuff)
        models.withLock { $0[key] = m }
        return m
    }

    static let results = Mutex<[String: PanopticResult]>([:])

    /// The model's result on a fixture image, computed once for all tests (debug builds are slow).
    static func result(depth: Int, small: Bool, image name: String) throws -> PanopticResult {
        let key = "\(depth)-\(small)-\(name)"
        if let r = results.withLock({ $0[key] }) { return r }
        let r = try model(depth: depth, small: small)(try image(name))
        results.withLock { $0[key] = r }
        return r
    }

    static func image(_ name: String) throws -> BGRImage {
        try BGRImage.load(path: HeadsFixtures.root.appendingPathComponent("images/\(name)").path)
    }

    /// Pixel agreement with the reference map, and the segments (values) of each side.
    func compare(_ pan: [Int32], _ ref: [Int32], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(pan.count, ref.count, file: file, line: line)
        let agree = zip(pan, ref).filter { $0 == $1 }.count
        let fraction = Double(agree) / Double(max(ref.count, 1))
        XCTAssertGreaterThanOrEqual(fraction, 0.999, "\(what): pixel agreement \(fraction)", file: file, line: line)
        XCTAssertEqual(Set(pan), Set(ref), "\(what): segments", file: file, line: line)
    }

    func assertDetections(_ ours: [Detection], _ ref: [Detection], _ what: String) {
        XCTAssertEqual(ours.count, ref.count, "\(what): detection count")
        XCTAssertEqual(ours.map(\.label), ref.map(\.label), "\(what): labels in score order")
        let a: [Float] = ours.flatMap { [$0.x1, $0.y1, $0.x2, $0.y2] }
        let b: [Float] = ref.flatMap { [$0.x1, $0.y1, $0.x2, $0.y2] }
        assertClose(a, b, rel: 1e-4, "\(what): boxes")
        assertClose(ours.map(\.score), ref.map(\.score), rel: 1e-4, "\(what): scores")
    }

    func testSmallR50EveryStageAfterTheRPN() throws {
        let model = try Self.model(depth: 50, small: true)
        let input = Preprocess.run(try Self.image("small_192x320.jpg"), config: model.preprocess)
        let dense = model.dense(input)
        let maps = RoIFeatureMaps(Array(dense.features.prefix(4)))
        // Box branch on mmdetection's proposals and our features.
        let proposals = try HeadsFixtures.floats("small/proposals.f32")
        let rois: [Float] = (0..<1000).flatMap { i in proposals[5 * i..<5 * i + 4] }
        let feats = model.roiHead.extract(maps, boxes: Array(rois[0..<40]), outputSize: 7)
        assertClose(feats, try HeadsFixtures.floats("small/bbox_feats_first10.f32"), rel: 1e-4, "RoIAlign 7x7")
        let r = model.roiHead.boxes(maps, proposals: rois, imageShape: (192, 320), scaleFactor: [1, 1, 1, 1])
        assertClose(r.clsScore, try HeadsFixtures.floats("small/cls_score.f32"), rel: 1e-4, "cls_score")
        assertClose(r.bboxPred, try HeadsFixtures.floats("small/bbox_pred.f32"), rel: 1e-4, "bbox_pred")
        assertClose(r.bboxes, try HeadsFixtures.floats("small/bboxes.f32"), rel: 1e-5, "decoded boxes")
        let ref = try HeadsFixtures.detections("small")
        assertDetections(model.roiHead.detections(r), ref, "detections")
        // Mask branch on mmdetection's detections.
        let logits = model.roiHead.maskLogits(maps, detections: ref, scaleFactor: [1, 1, 1, 1])
        assertClose(Array(logits[0..<2 * 7840]), try HeadsFixtures.floats("small/mask_pred_first2.f32"), rel: 1e-4,
                    "mask logits, all classes of the first two")
        var labelChannel: [Float] = []
        for (i, d) in ref.enumerated() {
            let o = (i * 10 + d.label) * 784
            labelChannel += logits[o..<o + 784]
        }
        assertClose(labelChannel, try HeadsFixtures.floats("small/mask_pred_label.f32"), rel: 1e-4, "mask logits")
        let masks = model.roiHead.binaryMasks(logits: logits, detections: ref, imageHeight: 192, imageWidth: 320)
        let bits = try HeadsFixtures.bits("small/masks_bin.bits", count: 100 * 192 * 320)
        var differing = 0
        for (k, m) in masks.enumerated() {
            for y in 0..<192 { for x in 0..<320 where m.contains(x: x, y: y) != (bits[(k * 192 + y) * 320 + x] != 0) {
                differing += 1
            } }
        }
        // 195 reference mask pixels lie within 1e-4 of the threshold.
        XCTAssertLessThanOrEqual(differing, 195, "binary mask pixels differing")
    }

    func testSmallR50PanopticMap() throws {
        let result = try Self.result(depth: 50, small: true, image: "small_192x320.jpg")
        assertDetections(result.detections, try HeadsFixtures.detections("small"), "detections")
        assertClose(result.maskLogits, try HeadsFixtures.floats("small/mask_pred_label.f32"), rel: 1e-3, "mask logits")
        compare(result.panoptic, try HeadsFixtures.runs("small/pan_results.runs"), "pan_results")
    }

    func testSmallR101PanopticMap() throws {
        XCTAssertEqual(try Self.model(depth: 101, small: true).depth, 101)
        let result = try Self.result(depth: 101, small: true, image: "small_192x320.jpg")
        assertDetections(result.detections, try HeadsFixtures.detections("r101_small"), "R-101 detections")
    }

    func testFullSizeStreetAndResizedCoffee() throws {
        for name in ["street_720x1280", "coffee_375x500"] {
            let result = try Self.result(depth: 50, small: false, image: "\(name).jpg")
            assertDetections(result.detections, try HeadsFixtures.detections(name), name)
            assertClose(result.maskLogits, try HeadsFixtures.floats("\(name)/mask_pred_label.f32"), rel: 1e-3,
                        "\(name): mask logits of the detections' classes")
            compare(result.panoptic, try HeadsFixtures.runs("\(name)/pan_results.runs"), name)
        }
    }
}
