import Foundation
import XCTest

/// `zoo.json` and `Converters/*.json` are built into the binary: a copy of `zoo` alone in an empty folder,
/// run from there, still lists the zoo and recognises checkpoint layouts.
final class EmbeddedResourcesCLITests: XCTestCase {
    func testACopiedBinaryNeedsNoJSONFileBesideIt() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-alone")
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("zoo")
        try FileManager.default.copyItem(at: ZooProcess.binary, to: copy)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["zoo"])

        let list = try ZooProcess.run(["list", "--json"], executable: copy, currentDirectory: dir)
        XCTAssertEqual(list.status, 0, list.stderr)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["id"] as? String }, ["r50_1x", "r50_3x", "r50_5x", "r101_3x", "r101_5x"])

        let checkpoints = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/checkpoints")
        let inspect = try ZooProcess.run(["inspect", checkpoints.appendingPathComponent("mmdet_tiny.pth").path, "--json"],
                                         executable: copy, currentDirectory: dir)
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(o["layout"] as? String, "mmdet-panoptic-fpn R-50 (384 differences)")

        let out = dir.appendingPathComponent("d2.safetensors").path
        let convert = try ZooProcess.run(["convert", checkpoints.appendingPathComponent("c_detectron2_style.pth").path,
                                          "-o", out], executable: copy, currentDirectory: dir)
        XCTAssertEqual(convert.status, 0, convert.stderr)
        XCTAssertTrue(convert.stdout.contains("layout detectron2"), convert.stdout)
    }
}
