import Foundation
import XCTest
import Imaging
import Panoptic
import Pipeline

final class RunEvaluationTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("runeval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The scene's ground truth as the model would predict it (model class order, things
    /// `class + 1000 * k`, VOID = 40), as journalled labels.
    private func perfectFrame(_ scene: SyntheticScene, name: String) throws -> FrameRecord {
        let classes = BDD100K.modelClasses
        let offset: Int32 = 1000
        var pan = [Int32](repeating: Int32(classes.count), count: scene.width * scene.height)
        for i in 0..<pan.count where scene.category[i] != 0 {
            let name = BDD100K.categoryNames[Int(scene.category[i])]
            guard let c = classes.firstIndex(of: name) else { continue }
            pan[i] = BDD100K.isThing(Int(scene.category[i])) ? Int32(c) + offset * Int32(scene.instance[i] - 30) : Int32(c)
        }
        let labels = try ScalabelWriter.panopticLabels(panMap: pan, height: scene.height, width: scene.width, classes: classes,
                                                       instanceOffset: offset)
        return FrameRecord(name: name, labels: labels.map(SegmentRecord.init))
    }

    func testBitmaskRenderingGivesTheScenesCategoriesAndStuffIds() throws {
        let scene = SyntheticScene.make(width: 48, height: 32, seed: 5)
        let frame = try perfectFrame(scene, name: "a.jpg")
        let b = try frame.bitmask(height: 32, width: 48)
        for i in 0..<(48 * 32) {
            XCTAssertEqual(b.rgba[4 * i], scene.category[i])
            let id = Int(b.rgba[4 * i + 2]) << 8 | Int(b.rgba[4 * i + 3])
            if scene.category[i] != 0 && !BDD100K.isThing(Int(scene.category[i])) { XCTAssertEqual(id, Int(scene.category[i])) }
            if BDD100K.isThing(Int(scene.category[i])) { XCTAssertGreaterThanOrEqual(id, 31) }
        }
        XCTAssertThrowsError(try frame.bitmask(height: 31, width: 48))
    }

    func testPerfectPredictionsScore100OnBothRoutesAndOnlyRunFramesAreScored() throws {
        let scenes = (0..<3).map { SyntheticScene.make(width: 64, height: 40, seed: UInt64(10 + $0)) }
        let frames = try scenes.enumerated().map { try perfectFrame($0.element, name: "s\($0.offset).jpg") }
        // Bitmask ground truth for all three.
        let gtDir = dir.appendingPathComponent("bitmasks").path
        try FileManager.default.createDirectory(atPath: gtDir, withIntermediateDirectories: true)
        for (i, s) in scenes.enumerated() {
            try Bitmask(height: s.height, width: s.width, rgba: s.bitmaskRGBA).write(path: gtDir + "/s\(i).png")
        }
        let bitmask = try RunEvaluation.evaluate(Array(frames.prefix(2)), against: .bitmasks(directory: gtDir))
        XCTAssertEqual(bitmask.route, .bitmask)
        XCTAssertEqual(bitmask.overall.pq, 100, accuracy: 1e-9)
        XCTAssertGreaterThan(bitmask.thing.n, 0)
        // Scalabel JSON ground truth holding all three frames: a partial run is scored on its frames only.
        let gtJSON = dir.appendingPathComponent("gt.json").path
        try ScalabelWriter.document(frames: frames.map { ($0.name, $0.labels.map(\.label)) })
            .write(toFile: gtJSON, atomically: true, encoding: .utf8)
        let rle = try RunEvaluation.evaluate([frames[2], frames[0]], against: .scalabel(path: gtJSON))
        XCTAssertEqual(rle.route, .rle)
        XCTAssertEqual(rle.overall.pq, 100, accuracy: 1e-9)
        XCTAssertEqual(try GroundTruth.scalabel(path: gtJSON).missing(for: ["s1.jpg", "zz.jpg"]), ["zz.jpg"])
        // A prediction missing its things loses them, on both routes alike.
        var poor = frames[0]
        poor.labels = poor.labels.filter { !BDD100K.isThing(BDD100K.id(of: $0.category) ?? 0) }
        let a = try RunEvaluation.evaluate([poor], against: .bitmasks(directory: gtDir))
        let b = try RunEvaluation.evaluate([poor], against: .scalabel(path: gtJSON))
        XCTAssertLessThan(a.overall.pq, 100)
        XCTAssertEqual(a.thing.pq, 0)
        XCTAssertEqual(a.stuff.pq, 100, accuracy: 1e-9)
        XCTAssertEqual(a.overall.pq, b.overall.pq, accuracy: 1e-9)
    }

    func testOverlayAndAgreementWithPublishedPredictions() throws {
        let scene = SyntheticScene.make(width: 64, height: 40, seed: 3)
        let frame = try perfectFrame(scene, name: "a.jpg")
        var bgr = [UInt8](repeating: 0, count: 64 * 40 * 3)
        for i in 0..<(64 * 40) { bgr[3 * i] = scene.rgb[3 * i + 2]; bgr[3 * i + 1] = scene.rgb[3 * i + 1]; bgr[3 * i + 2] = scene.rgb[3 * i] }
        let image = BGRImage(width: 64, height: 40, pixels: bgr)
        let jpeg = try FrameOverlay.jpeg(image: image, frame: frame)
        let decoded = try BGRImage.decode(jpeg)
        XCTAssertEqual(decoded.width, 64)
        XCTAssertEqual(decoded.height, 40)
        XCTAssertNotEqual(decoded.pixels, bgr)  // tinted
        XCTAssertThrowsError(try FrameOverlay.jpeg(image: BGRImage(width: 32, height: 40, pixels: Array(bgr.prefix(32 * 40 * 3))), frame: frame)) { e in
            XCTAssertTrue("\(e)".contains("right image folder"), "\(e)")
        }

        let theirs = frame.scalabelFrame
        let same = try PredictionAgreement.compare(ours: frame, theirs: theirs, height: 40, width: 64)
        XCTAssertEqual(same.pixelAgreement, 1)
        XCTAssertEqual(same.matchedSegments, frame.labels.count)
        XCTAssertEqual(same.theirSegments, frame.labels.count)
        let none = try PredictionAgreement.compare(ours: FrameRecord(name: "a.jpg", labels: []), theirs: theirs, height: 40, width: 64)
        XCTAssertEqual(none.matchedSegments, 0)
        XCTAssertLessThan(none.pixelAgreement, 0.5)
    }
}
