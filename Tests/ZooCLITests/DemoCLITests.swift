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
        XCTAssertTrue(r.stdout.contains("comparison with the published PQ is not applied"), r.stdout)
        XCTAssertFalse(r.stdout.contains("--tolerance"), r.stdout)
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

        // The converted synthetic weights in the demo's cache look like the zoo's own to a full run at the
        // model's scale: its PQ is then compared with the published PQ-val, and the run fails beyond the tolerance.
        let full = try ZooProcess.run(["reproduce", "r50_1x", "--data-root", "\(dir)/bdd100k", "-o", "\(dir)/full",
                                       "--registry", "\(dir)/registry.json", "--images", "synthetic-0000.jpg"],
                                      cacheRoot: URL(fileURLWithPath: "\(dir)/cache"))
        XCTAssertEqual(full.status, 0, full.stderr)  // partial: no tolerance check
        XCTAssertTrue(full.stdout.contains("not meaningful"), full.stdout)
        let whole = try ZooProcess.run(["reproduce", "r50_1x", "--data-root", "\(dir)/bdd100k", "-o", "\(dir)/full",
                                        "--registry", "\(dir)/registry.json"], cacheRoot: URL(fileURLWithPath: "\(dir)/cache"))
        XCTAssertNotEqual(whole.status, 0)
        XCTAssertTrue(whole.stderr.contains("differs from the published PQ-val 21.52"), whole.stderr)
        XCTAssertTrue(whole.stderr.contains("1 already done (resuming)"), whole.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/full/pan_seg.json"))

        // With the published scores and predictions in the cache (here: this run's own), the report puts
        // them beside ours; a rerun with everything done computes nothing.
        let name = "panoptic_fpn_r50_fpn_1x_pan_seg_bdd100k"
        for (from, to) in [("full/scores.json", "cache/scores-val/\(name).json"), ("full/pan_seg.json", "cache/preds/\(name).json")] {
            try fm.createDirectory(atPath: ("\(dir)/\(to)" as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.copyItem(atPath: "\(dir)/\(from)", toPath: "\(dir)/\(to)")
        }
        let again = try ZooProcess.run(["reproduce", "r50_1x", "--data-root", "\(dir)/bdd100k", "-o", "\(dir)/full",
                                        "--registry", "\(dir)/registry.json"], cacheRoot: URL(fileURLWithPath: "\(dir)/cache"))
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("2 already done"), again.stderr)
        XCTAssertFalse(again.stderr.contains("model: Panoptic FPN"), again.stderr)
        XCTAssertTrue(again.stdout.contains("per category (published scores-val in the cache)"), again.stdout)
        XCTAssertTrue(again.stdout.contains("agreement with the published predictions"), again.stdout)
        let overall = again.stdout.split(separator: "\n").last { $0.hasPrefix("overall") && $0.contains("%") }
        let matched = overall.flatMap { $0.split(separator: " ").last }.map { $0.split(separator: "/") }
        XCTAssertEqual(matched?.count, 2)
        XCTAssertEqual(matched?.first, matched?.last)  // every published segment matched
        XCTAssertNotEqual(matched?.last, "0")
        XCTAssertTrue(overall?.contains("100.00 %") ?? false, again.stdout)

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
