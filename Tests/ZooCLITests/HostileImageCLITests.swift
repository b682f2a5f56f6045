import Foundation
import XCTest

/// Decompression bombs and non-images through the built `zoo`: refused from the header with one
/// `error:` line and exit 1, before the weights load, leaving no output behind.
final class HostileImageCLITests: XCTestCase {
    /// A 45-byte PNG whose IHDR says 100000x100000 RGBA (40 GB decoded).
    private func bombPNG(_ url: URL) throws {
        try CraftedPNG.bomb().write(to: url)
    }

    func testRunRefusesBombAndNonImageBeforeLoadingAndWritesNothing() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bomb = dir.appendingPathComponent("bomb.png")
        try bombPNG(bomb)
        let out = dir.appendingPathComponent("out")
        var r = try ZooProcess.run(["run", "--synthetic", "r50", bomb.path, "-o", out.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: \(bomb.path) says it is 100000x100000 pixels"), r.stderr)
        XCTAssertFalse(r.stderr.contains("model:"), "the weights must not load: \(r.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))

        let text = dir.appendingPathComponent("notes.jpg")
        try Data("not an image".utf8).write(to: text)
        r = try ZooProcess.run(["run", "--synthetic", "r50", text.path, "-o", out.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("neither a JPEG nor a PNG"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))

        // The limit is the user's: a tiny one refuses an honest image, through the flag or the environment.
        let real = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/imaging/small_192x320.jpg")
        r = try ZooProcess.run(["run", "--synthetic", "r50", real.path, "-o", out.path], environment: ["ZOO_MAX_PIXELS": "1000"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("over the limit of 1000 pixels"), r.stderr)
        r = try ZooProcess.run(["run", "--synthetic", "r50", real.path, "-o", out.path, "--max-pixels", "0"])
        XCTAssertEqual(r.status, 1)

        // An output path that is a file is found before the weights load.
        let file = dir.appendingPathComponent("a-file")
        try Data().write(to: file)
        r = try ZooProcess.run(["run", "--synthetic", "r50", real.path, "-o", file.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("is not a folder"), r.stderr)
        XCTAssertFalse(r.stderr.contains("model:"))
    }

    func testEvalAndVisRefuseBombs() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let gt = dir.appendingPathComponent("gt"), pred = dir.appendingPathComponent("pred")
        for d in [gt, pred] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            try bombPNG(d.appendingPathComponent("a.png"))
        }
        var r = try ZooProcess.run(["eval", "-g", gt.path, "-r", pred.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("100000x100000 pixels, over the limit"), r.stderr)

        // RLE route and vis: a JSON whose RLE size claims 100000x100000.
        let json = dir.appendingPathComponent("pan_seg.json")
        try Data(#"[{"name": "a.png", "labels": [{"id": "1", "category": "road", "rle": {"counts": "0", "size": [100000, 100000]}}]}]"#.utf8).write(to: json)
        r = try ZooProcess.run(["eval", "-g", json.path, "-r", json.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("over the limit of 100000000 pixels"), r.stderr)
        r = try ZooProcess.run(["vis", json.path, "--images", gt.path, "-o", dir.appendingPathComponent("vis").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("over the limit"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("vis/a.jpg").path))
    }
}
