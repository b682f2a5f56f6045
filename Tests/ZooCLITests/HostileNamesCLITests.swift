import Foundation
import Imaging
import Panoptic
import XCTest

/// Names from data never become paths outside the chosen folder; file-system failures and bad
/// manifests are reported as sentences, not Foundation dumps.
final class HostileNamesCLITests: XCTestCase {
    func image(_ path: String) throws {
        let rgb = [UInt8](repeating: 90, count: 8 * 6 * 3)
        try Data(try JPEGEncoder.encode(rgb: rgb, width: 8, height: 6, quality: 90)).write(to: URL(fileURLWithPath: path))
    }

    func result(names: [String]) -> String {
        var mask = [Bool](repeating: false, count: 48)
        for i in 0..<20 { mask[i] = true }
        let rle = RLE.encode(mask: mask, height: 6, width: 8)
        return ScalabelWriter.document(frames: names.map { ($0, [ScalabelWriter.Label(id: "31", category: "car", rle: rle)]) })
    }

    func testVisRefusesFrameNamesThatLeaveTheFolders() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-hostile-names")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let root = dir.path
        try FileManager.default.createDirectory(atPath: root + "/work/images", withIntermediateDirectories: true)
        try image(root + "/work/images/ok.jpg")
        try image(root + "/work/victim.jpg")
        try image(root + "/victim.jpg")
        let victim = try Data(contentsOf: URL(fileURLWithPath: root + "/work/victim.jpg"))
        for (name, why) in [("../victim.jpg", "path separator"), ("/\(root)/victim.jpg", "absolute path"),
                            ("..", "folder"), ("a\u{0}b.jpg", "NUL"), ("sub/../../victim.jpg", "path separator")] {
            let json = root + "/work/result.json"
            try result(names: ["ok.jpg", name]).write(toFile: json, atomically: true, encoding: .utf8)
            let out = root + "/work/out"
            let r = try ZooProcess.run(["vis", json, "--images", root + "/work/images", "-o", out])
            XCTAssertEqual(r.status, 1, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr)
            XCTAssertTrue(r.stderr.contains(why), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("frame"), r.stderr)
            XCTAssertFalse(r.stderr.contains("\u{0}"), "a NUL reached the terminal")
            // Nothing written: not the victims, not even the good frame's overlay.
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/work/victim.jpg")), victim)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/ok.jpg"), name)
        }
        // The same file with plain names works.
        try result(names: ["ok.jpg"]).write(toFile: root + "/work/good.json", atomically: true, encoding: .utf8)
        let ok = try ZooProcess.run(["vis", root + "/work/good.json", "--images", root + "/work/images", "-o", root + "/work/out"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/work/out/ok.jpg"))
    }

    func testControlCharactersInMessagesAreEscaped() throws {
        let r = try ZooProcess.run(["info", "r50\u{1b}[31m\u{7f}<x>"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertFalse(r.stderr.contains("\u{1b}"), r.stderr)
        XCTAssertFalse(r.stderr.contains("\u{7f}"), r.stderr)
        XCTAssertTrue(r.stderr.contains("\\x1b[31m\\x7f<x>"), r.stderr)
    }

    func testAnOutputFolderThatIsAFileIsASentence() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-hostile-out")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let file = dir.path + "/taken"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        try result(names: ["ok.jpg"]).write(toFile: dir.path + "/r.json", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.path + "/images", withIntermediateDirectories: true)
        try image(dir.path + "/images/ok.jpg")
        let r = try ZooProcess.run(["vis", dir.path + "/r.json", "--images", dir.path + "/images", "-o", file + "/sub"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Code="), r.stderr)
        XCTAssertTrue(r.stderr.contains(file), r.stderr)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "x")
    }

    func testABadRunManifestNamesTheFileAndField() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-hostile-merge")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let shard = dir.path + "/shard-0-of-1"
        try FileManager.default.createDirectory(atPath: shard, withIntermediateDirectories: true)
        try Data(#"{"model": "r50_1x", "weights": "w", "split": "val", "shard": "0/1", "images": [3], "narrowed": false}"#.utf8)
            .write(to: URL(fileURLWithPath: shard + "/run.json"))
        try Data().write(to: URL(fileURLWithPath: shard + "/journal.jsonl"))
        let r = try ZooProcess.run(["merge", dir.path, "-o", dir.path + "/merged"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(shard + "/run.json"), r.stderr)
        XCTAssertTrue(r.stderr.contains("field 'images[0]': expected a string"), r.stderr)
        XCTAssertFalse(r.stderr.contains("CodingKeys"), r.stderr)
        XCTAssertFalse(r.stderr.contains("typeMismatch"), r.stderr)
    }
}
