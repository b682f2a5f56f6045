import Foundation
import Pipeline
import XCTest

/// `zoo demo` end to end: synthetic weights written as a .pth, served on 127.0.0.1, fetched, converted,
/// then reproduce and vis on a generated dataset; nothing outside its folder is touched.
final class DemoCLITests: XCTestCase {
    func testDemoRunsOfflineAndSaysTheWeightsAreSynthetic() throws {
        let work = try ZooProcess.temporaryDirectory("zoo-demo")
        defer { try? FileManager.default.removeItem(at: work) }
        let dir = work.appendingPathComponent("demo").path
        let r = try ZooProcess.run(["demo", "--dir", dir, "--images", "2", "--size", "160x96", "--scale", "320x192"],
                                   environment: ["ZOO_MIRROR": "http://192.0.2.1:9"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("SYNTHETIC"), r.stdout)
        XCTAssertTrue(r.stdout.contains("means nothing"), r.stdout)
        for step in ["1. dataset", "2. weights", "3. zoo fetch", "4. zoo convert", "5. zoo reproduce", "6. zoo vis"] {
            XCTAssertTrue(r.stdout.contains("== \(step)"), "\(step) missing:\n\(r.stdout)")
        }
        XCTAssertTrue(r.stderr.contains("verified"), r.stderr)
        XCTAssertTrue(r.stderr.contains("served by http://127.0.0.1:"), r.stderr)
        let fm = FileManager.default
        let model = "models/panoptic_fpn_r50_fpn_1x_pan_seg_bdd100k"
        for file in ["cache/\(model).pth", "cache/\(model).safetensors", "reproduce/pan_seg.json", "reproduce/scores.json",
                     "reproduce/vis/synthetic-0000.jpg", "reproduce/vis/synthetic-0001.jpg", "bdd100k/labels/pan_seg/bitmasks/val/synthetic-0001.png"] {
            XCTAssertTrue(fm.fileExists(atPath: "\(dir)/\(file)"), file)
        }
        XCTAssertEqual(try Journal.read(URL(fileURLWithPath: "\(dir)/reproduce/journal.jsonl")).1.count, 2)

        // A second run reuses its own folder; a folder it did not make is refused.
        let other = work.appendingPathComponent("mine").path
        try fm.createDirectory(atPath: other, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: "\(other)/notes.txt"))
        let refused = try ZooProcess.run(["demo", "--dir", other, "--images", "1", "--size", "160x96", "--scale", "320x192"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("was not made by `zoo demo`"), refused.stderr)
        XCTAssertTrue(fm.fileExists(atPath: "\(other)/notes.txt"))
    }
}
