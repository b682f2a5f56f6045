import Foundation
import XCTest

final class ListInfoCLITests: XCTestCase {
    func testListPrintsTheFiveRowsWithPublishedNumbers() throws {
        let r = try ZooProcess.run(["list"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 7, r.stdout)  // header, rule, five rows
        XCTAssertTrue(lines[0].hasPrefix("ID"))
        let expected = [("r50_1x", "21.52", "20.59"), ("r50_3x", "22.39", "21.76"), ("r50_5x", "23.38", "22.04"),
                        ("r101_3x", "22.61", "22.34"), ("r101_5x", "23.90", "22.50")]
        for (line, (id, val, test)) in zip(lines[2...], expected) {
            let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            XCTAssertEqual(cells.first, id)
            XCTAssertTrue(cells.contains(val) && cells.contains(test), line)
            XCTAssertEqual(cells.last, "no", "nothing is cached in an empty cache: \(line)")
        }
        XCTAssertEqual(r.stderr, "")
    }

    func testListGlobAndJSON() throws {
        let r = try ZooProcess.run(["list", "r101*", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let array = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(array.map { $0["id"] as? String }, ["r101_3x", "r101_5x"])
        let first = array[0]
        for key in ["id", "name", "backbone", "schedule", "ms_train", "pq_val", "pq_test"] {
            XCTAssertNotNil(first[key], key)
        }
        XCTAssertEqual(first["pq_val"] as? Double, 22.61)
        XCTAssertEqual(first["ms_train"] as? Bool, true)
        XCTAssertEqual(first["name"] as? String, "panoptic_fpn_r101_fpn_3x_pan_seg_bdd100k")

        let none = try ZooProcess.run(["list", "x*"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertEqual(none.stdout, "")
        XCTAssertTrue(none.stderr.contains("no model matches 'x*'"), none.stderr)
    }

    func testInfoJSONGivesArtifactURLs() throws {
        let r = try ZooProcess.run(["info", "r101_5x", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let artifacts = try XCTUnwrap(o["artifacts"] as? [String: [String: Any]])
        XCTAssertEqual(Set(artifacts.keys), ["model", "md5", "scores_val", "scores_test", "preds", "visuals", "config"])
        XCTAssertEqual(artifacts["model"]?["url"] as? String,
                       "https://dl.cv.ethz.ch/bdd100k/pan_seg/models/panoptic_fpn_r101_fpn_5x_pan_seg_bdd100k.pth")
        XCTAssertNil(artifacts["model"]?["path"], "not cached, so no path")
        XCTAssertEqual(o["pq_val"] as? Double, 23.90)
    }

    func testInfoShowsCachedPath() throws {
        let cache = try ZooProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: cache) }
        let file = cache.appendingPathComponent("models/panoptic_fpn_r50_fpn_1x_pan_seg_bdd100k.md5")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("0123456789abcdef0123456789abcdef\n".utf8).write(to: file)
        let r = try ZooProcess.run(["info", "R50_1X", "--json"], cacheRoot: cache)
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let artifacts = try XCTUnwrap(o["artifacts"] as? [String: [String: Any]])
        XCTAssertEqual(artifacts["md5"]?["path"] as? String, file.path)
        XCTAssertNil(artifacts["model"]?["path"])
    }

    func testInfoTextByFullName() throws {
        let r = try ZooProcess.run(["info", "panoptic_fpn_r50_fpn_5x_pan_seg_bdd100k"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("r50_5x"))
        XCTAssertTrue(r.stdout.contains("23.38"))
        XCTAssertTrue(r.stdout.contains("https://dl.cv.ethz.ch/bdd100k/pan_seg/models/panoptic_fpn_r50_fpn_5x_pan_seg_bdd100k.pth"))
    }

    func testUnknownIDFailsAndSuggests() throws {
        let r = try ZooProcess.run(["info", "r102_5x"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "", "messages go to stderr")
        XCTAssertTrue(r.stderr.contains("unknown model id 'r102_5x'"), r.stderr)
        XCTAssertTrue(r.stderr.contains("Did you mean r101_5x?"), r.stderr)
    }

    func testRegistryFromFlagAndEnvironment() throws {
        let dir = try ZooProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A user registry with one extra checkpoint.
        let builtIn = try ZooProcess.run(["info", "r50_1x", "--json"])
        XCTAssertEqual(builtIn.status, 0)
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: repo.appendingPathComponent("zoo.json"))) as? [String: Any])
        var models = try XCTUnwrap(root["models"] as? [[String: Any]])
        var mine = models[0]
        mine["id"] = "mine_1x"; mine["name"] = "my_panoptic_fpn"; mine["pq_val"] = 30.5
        models.append(mine); root["models"] = models
        let file = dir.appendingPathComponent("mine.json")
        try JSONSerialization.data(withJSONObject: root).write(to: file)

        let viaFlag = try ZooProcess.run(["list", "--registry", file.path, "mine*", "--json"])
        XCTAssertEqual(viaFlag.status, 0, viaFlag.stderr)
        XCTAssertTrue(viaFlag.stdout.contains("\"mine_1x\""))
        let viaEnv = try ZooProcess.run(["info", "mine_1x"], environment: ["ZOO_REGISTRY": file.path])
        XCTAssertEqual(viaEnv.status, 0, viaEnv.stderr)
        XCTAssertTrue(viaEnv.stdout.contains("30.50"))

        // Broken registries: non-zero exit, the message names the file, entry and field.
        try Data("{ nope".utf8).write(to: file)
        let bad = try ZooProcess.run(["list", "--registry", file.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains(file.path) && bad.stderr.contains("not valid JSON"), bad.stderr)
        models[5].removeValue(forKey: "name"); root["models"] = models
        try JSONSerialization.data(withJSONObject: root).write(to: file)
        let missing = try ZooProcess.run(["list"], environment: ["ZOO_REGISTRY": file.path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("models[5] (mine_1x)") && missing.stderr.contains("'name'"), missing.stderr)
    }

    func testHelpAndVersion() throws {
        let r = try ZooProcess.run(["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("list") && r.stdout.contains("info"))
        let v = try ZooProcess.run(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertFalse(v.stdout.isEmpty)
    }
}
