import PanopticFPN
import XCTest
import ZooRegistry

/// Mask pasting and the heuristic fusion, fed with mmdetection's own mask logits, detections and semantic
/// argmax (`r50_seed1_small`, and `street_720x1280` of `r50_seed1_full`).
final class FusionTests: XCTestCase {
    static let size = 28

    func pasted(_ dir: String, height: Int, width: Int) throws -> (dets: [Detection], masks: [InstanceMask]) {
        let dets = try HeadsFixtures.detections(dir)
        let logits = try HeadsFixtures.floats("\(dir)/mask_pred_label.f32")
        let thr = Float(try HeadsFixtures.registry.testConfig.panoptic.maskThrBinary)
        let per = FusionTests.size * FusionTests.size
        let masks = dets.indices.map { i in
            MaskPaste.binary(probs: MaskPaste.sigmoid(logits[i * per..<(i + 1) * per]), size: FusionTests.size,
                             box: (dets[i].x1, dets[i].y1, dets[i].x2, dets[i].y2), imageHeight: height,
                             imageWidth: width, threshold: thr)
        }
        return (dets, masks)
    }

    func testPastedProbabilitiesMatchReference() throws {
        let dets = try HeadsFixtures.detections("small")
        let logits = try HeadsFixtures.floats("small/mask_pred_label.f32")
        let ref = try HeadsFixtures.floats("small/masks_first3.f32")
        let plane = 192 * 320, per = 28 * 28
        for i in 0..<3 {
            let p = MaskPaste.probabilities(probs: MaskPaste.sigmoid(logits[i * per..<(i + 1) * per]), size: 28,
                                            box: (dets[i].x1, dets[i].y1, dets[i].x2, dets[i].y2),
                                            imageHeight: 192, imageWidth: 320)
            assertClose(p, Array(ref[i * plane..<(i + 1) * plane]), rel: 1e-5, "pasted mask \(i)")
        }
    }

    func testBinaryMasksMatchReferenceExceptNearTies() throws {
        let (_, masks) = try pasted("small", height: 192, width: 320)
        let plane = 192 * 320
        let ref = try HeadsFixtures.bits("small/masks_bin.bits", count: 100 * plane)
        var differing = 0, on = 0
        for (k, m) in masks.enumerated() {
            for y in 0..<192 {
                for x in 0..<320 {
                    let r = ref[k * plane + y * 320 + x] != 0
                    if r { on += 1 }
                    if m.contains(x: x, y: y) != r { differing += 1 }
                }
            }
        }
        XCTAssertGreaterThan(on, 50_000, "the reference masks are not trivial")
        // The reference README counts 195 mask pixels within 1e-4 of the 0.5 threshold.
        XCTAssertLessThanOrEqual(differing, 195)
    }

    func fusion() throws -> HeuristicFusionHead {
        let reg = try HeadsFixtures.registry
        return HeuristicFusionHead(numThings: reg.numThings, numStuff: reg.numStuff, config: reg.testConfig.panoptic)
    }

    /// Fusion from the reference's binary masks and semantic argmax: the id map and the final map are equal.
    func testFusionOfReferenceInputsIsExact() throws {
        let dets = try HeadsFixtures.detections("small")
        let plane = 192 * 320
        let ref = try HeadsFixtures.bits("small/masks_bin.bits", count: 100 * plane)
        let masks = (0..<100).map { k in
            InstanceMask(x0: 0, y0: 0, width: 320, height: 192, bits: Array(ref[k * plane..<(k + 1) * plane]))
        }
        let head = try fusion()
        let (idMap, labels) = head.layMasks(detections: dets, masks: masks, height: 192, width: 320)
        XCTAssertEqual(idMap, try HeadsFixtures.runs("small/id_map.runs"))
        XCTAssertEqual(labels.map { Int32($0) }, try HeadsFixtures.ints("small/instance_labels.i32"))
        let sem = try HeadsFixtures.runs("small/sem_argmax.runs").map { UInt8($0) }
        let pan = head.fuse(idMap: idMap, labels: labels, semantic: sem)
        let refPan = try HeadsFixtures.runs("small/pan_results.runs")
        XCTAssertEqual(pan, refPan)
        XCTAssertTrue(pan.contains(40), "some stuff went VOID")
        XCTAssertTrue(pan.contains { $0 > 1000 }, "things are present")
    }

    /// From mmdetection's logits through pasting and fusion at BDD size: the final maps agree on >= 99.9 %.
    func testStreetFusionFromLogits() throws {
        let (dets, masks) = try pasted("street_720x1280", height: 720, width: 1280)
        let head = try fusion()
        let (idMap, labels) = head.layMasks(detections: dets, masks: masks, height: 720, width: 1280)
        let refIds = try HeadsFixtures.runs("street_720x1280/id_map.runs")
        XCTAssertEqual(Set(idMap), Set(refIds), "the same instances are laid")
        let sem = try HeadsFixtures.runs("street_720x1280/sem_argmax.runs").map { UInt8($0) }
        let pan = head.fuse(idMap: idMap, labels: labels, semantic: sem)
        let ref = try HeadsFixtures.runs("street_720x1280/pan_results.runs")
        let agree = zip(pan, ref).filter { $0 == $1 }.count
        XCTAssertGreaterThanOrEqual(Double(agree) / Double(ref.count), 0.9999, "pixel agreement")
        XCTAssertEqual(Set(pan), Set(ref), "every segment present")
    }

    func testSmallStuffBecomesVoidAndOverlapsAreSkipped() throws {
        var head = try fusion()
        head.config.stuffAreaLimit = 3
        // 2 x 3 image: stuff channel 0 on 2 pixels (-> VOID), channel 1 on 4.
        let sem: [UInt8] = [0, 0, 1, 1, 1, 1]
        let full = InstanceMask(x0: 0, y0: 0, width: 3, height: 2, bits: [0, 1, 1, 0, 0, 0])
        let overlapping = InstanceMask(x0: 1, y0: 0, width: 2, height: 1, bits: [1, 1])
        let dets = [Detection(x1: 0, y1: 0, x2: 3, y2: 2, score: 0.9, label: 4),
                    Detection(x1: 1, y1: 0, x2: 3, y2: 1, score: 0.8, label: 2)]
        let (ids, labels) = head.layMasks(detections: dets, masks: [full, overlapping], height: 2, width: 3)
        XCTAssertEqual(ids, [0, 1, 1, 0, 0, 0])
        XCTAssertEqual(labels, [4])
        XCTAssertEqual(head.fuse(idMap: ids, labels: labels, semantic: sem), [40, 1004, 1004, 11, 11, 11])
    }

    /// No detections: the map is the semantic argmax (+ num_things) with small stuff regions VOID.
    func testNoDetectionsGivesStuffOnly() throws {
        let head = try fusion()
        let sem = try HeadsFixtures.runs("small/sem_argmax.runs").map { UInt8($0) }
        let (ids, labels) = head.layMasks(detections: [], masks: [], height: 192, width: 320)
        XCTAssertTrue(labels.isEmpty)
        let pan = head.fuse(idMap: ids, labels: labels, semantic: sem)
        XCTAssertTrue(pan.allSatisfy { $0 >= 10 && $0 <= 40 })
        XCTAssertEqual(pan.filter { $0 == 16 }.count, sem.filter { $0 == 6 }.count, "road keeps its pixels")
    }
}
