import PanopticFPN
import Tensors
import XCTest
import ZooRegistry

/// The box branch after the head: softmax, class-specific decoding and the panoptic detection step, fed with
/// mmdetection's own head outputs for `r50_seed1_small` (so these tests need no weights and no features).
final class RoIHeadsBoxTests: XCTestCase {
    func testSoftmaxAndDecodeMatchReference() throws {
        let config = try HeadsFixtures.registry.testConfig, things = try HeadsFixtures.registry.numThings
        let proposals = try HeadsFixtures.floats("small/proposals.f32")  // [1000, 5]
        let rois = (0..<1000).flatMap { i in proposals[5 * i..<5 * i + 4] }
        let cls = try HeadsFixtures.floats("small/cls_score.f32"), reg = try HeadsFixtures.floats("small/bbox_pred.f32")
        let scores = StandardRoIHead.softmax(cls, rows: 1000, columns: things + 1)
        assertClose(scores, try HeadsFixtures.floats("small/scores.f32"), rel: 1e-6, "softmax scores")
        let boxes = StandardRoIHead.decode(rois: rois, deltas: reg, numClasses: things,
                                           means: config.rcnn.targetMeans.map { Float($0) },
                                           stds: config.rcnn.targetStds.map { Float($0) }, maxShape: (192, 320))
        let ref = try HeadsFixtures.floats("small/bboxes.f32")
        assertClose(boxes, ref, rel: 1e-6, "decoded boxes")
        // Clipping happened: some boxes touch the image border exactly.
        XCTAssertTrue(boxes.contains(320) && boxes.contains(0))
    }

    func testPanopticDetectionsEqualReference() throws {
        let config = try HeadsFixtures.registry.testConfig, things = try HeadsFixtures.registry.numThings
        let scores = try HeadsFixtures.floats("small/scores.f32"), boxes = try HeadsFixtures.floats("small/bboxes.f32")
        let dets = StandardRoIHead.detections(scores: scores, bboxes: boxes, numClasses: things, config: config.panoptic)
        let ref = try HeadsFixtures.detections("small")
        XCTAssertEqual(dets.count, 100, "max_per_img = 100 caps the reference's detections")
        XCTAssertEqual(dets, ref)
    }

    func testDetectionThresholdsComeFromTheConfig() throws {
        var config = try HeadsFixtures.registry.testConfig.panoptic
        let things = try HeadsFixtures.registry.numThings
        let scores = try HeadsFixtures.floats("small/scores.f32"), boxes = try HeadsFixtures.floats("small/bboxes.f32")
        config.maxPerImg = 7
        XCTAssertEqual(StandardRoIHead.detections(scores: scores, bboxes: boxes, numClasses: things, config: config).count, 7)
        config.maxPerImg = 1000
        config.scoreThr = 0.999
        let strict = StandardRoIHead.detections(scores: scores, bboxes: boxes, numClasses: things, config: config)
        XCTAssertTrue(strict.allSatisfy { $0.score > 0.999 })
        XCTAssertLessThan(strict.count, 100)
    }
}
