import Foundation
import XCTest

/// `zoo convert` and `zoo inspect`, run as a user would.
final class ConvertCLITests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/checkpoints")
    func fixture(_ n: String) -> String { Self.fixtures.appendingPathComponent(n).path }

    func testConvertAFileThenInspectIt() throws {
        let dir = try ZooProcess.temporaryDirectory()
        let out = dir.appendingPathComponent("d2.safetensors").path
        let r = try ZooProcess.run(["convert", fixture("c_detectron2_style.pth"), "-o", out, "--check"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("wrote \(out): 9 tensors"), r.stdout)
        XCTAssertTrue(r.stdout.contains("layout detectron2"), r.stdout)
        XCTAssertTrue(r.stdout.contains("checked: every tensor matches the source"), r.stdout)

        let i = try ZooProcess.run(["inspect", out, "--json"])
        XCTAssertEqual(i.status, 0, i.stderr)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(i.stdout.utf8)) as? [String: Any])
        let meta = try XCTUnwrap(o["metadata"] as? [String: String])
        XCTAssertEqual(meta["layout"], "detectron2")
        XCTAssertEqual(meta["source_file"], "c_detectron2_style.pth")
        XCTAssertEqual(meta["source_md5"]?.count, 32)
        XCTAssertNotEqual(meta["source_md5"], String(repeating: "0", count: 32))
        let names = (o["tensors"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        XCTAssertTrue(names.contains("0.weight"), "\(names)")
    }

    func testAllTensorsNamesByDottedPath() throws {
        let dir = try ZooProcess.temporaryDirectory()
        let out = dir.appendingPathComponent("all.safetensors").path
        let r = try ZooProcess.run(["convert", fixture("c_detectron2_style.pth"), "-o", out, "--all-tensors", "--dtype", "bf16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let i = try ZooProcess.run(["inspect", out])
        XCTAssertTrue(i.stdout.contains("optimizer.state.0.momentum_buffer"), i.stdout)
        XCTAssertTrue(i.stdout.contains("model.0.weight"), i.stdout)
        XCTAssertTrue(i.stdout.contains("BF16"), i.stdout)
        XCTAssertTrue(i.stdout.split(separator: "\n").contains { $0.hasPrefix("model.1.num_batches_tracked ") && $0.contains(" I64 ") }, i.stdout)
    }

    /// The source is never the output: the same path, a symbolic link or a hard link to it are refused and
    /// the file stays byte for byte; a safetensors source must be written as a `.pth`.
    func testConvertNeverOverwritesItsSource() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-convert-self")
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = dir.appendingPathComponent("same.pth").path
        try FileManager.default.copyItem(atPath: fixture("c_detectron2_style.pth"), toPath: src)
        let original = try Data(contentsOf: URL(fileURLWithPath: src))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("sym.pth").path, withDestinationPath: src)
        try FileManager.default.linkItem(atPath: src, toPath: dir.appendingPathComponent("hard.pth").path)
        for out in [src, dir.appendingPathComponent("sym.pth").path, dir.appendingPathComponent("hard.pth").path,
                    dir.path + "/./same.pth"] {
            let r = try ZooProcess.run(["convert", src, "-o", out, "--all-tensors"])
            XCTAssertEqual(r.status, 1, "\(out): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("is the source"), r.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: src)), original, out)
        }
        let st = dir.appendingPathComponent("x.safetensors").path
        XCTAssertEqual(try ZooProcess.run(["convert", src, "-o", st, "--all-tensors"]).status, 0)
        let stBytes = try Data(contentsOf: URL(fileURLWithPath: st))
        let again = try ZooProcess.run(["convert", st, "-o", dir.appendingPathComponent("y.safetensors").path])
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.contains("-o OUT.pth"), again.stderr)
        let onto = try ZooProcess.run(["convert", st, "-o", st.replacingOccurrences(of: ".safetensors", with: ".pth")])
        XCTAssertEqual(onto.status, 0, onto.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: st)), stBytes)
    }

    func testInspectACheckpoint() throws {
        let r = try ZooProcess.run(["inspect", fixture("mmdet_tiny.pth")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("zip checkpoint (archive 'mmdet_tiny/'), 5 tensors, 496 bytes"), r.stdout)
        XCTAssertTrue(r.stdout.contains("state_dict.backbone.conv1.weight"), r.stdout)
        XCTAssertTrue(r.stdout.contains("meta.mmdet_version"), r.stdout)
        let j = try ZooProcess.run(["inspect", fixture("b_views.pth"), "--json"])
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(o["archive_prefix"] as? String, "archive")
        XCTAssertEqual((o["tensors"] as? [Any])?.count, 13)
    }

    func testHostileAndMismatchedFilesFailClearly() throws {
        let dir = try ZooProcess.temporaryDirectory()
        let out = dir.appendingPathComponent("x.safetensors").path
        let evil = try ZooProcess.run(["convert", fixture("h_os_system.pth"), "-o", out])
        XCTAssertNotEqual(evil.status, 0)
        XCTAssertTrue(evil.stderr.contains("posix.system is not allowed"), evil.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        // One flipped byte inside a storage record: the CRC-32 check names the record.
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: fixture("mmdet_tiny.pth"))))
        let name = Array("mmdet_tiny/data/0".utf8)
        let at = try XCTUnwrap((0 ..< bytes.count - name.count).first { Array(bytes[$0 ..< $0 + name.count]) == name })
        let extra = Int(bytes[at - 2]) | Int(bytes[at - 1]) << 8
        bytes[at + name.count + extra + 3] ^= 0x40
        let damaged = dir.appendingPathComponent("damaged.pth")
        try Data(bytes).write(to: damaged)
        let crc = try ZooProcess.run(["convert", damaged.path, "-o", out, "--all-tensors"])
        XCTAssertNotEqual(crc.status, 0)
        XCTAssertTrue(crc.stderr.contains("record 'mmdet_tiny/data/0' fails its CRC-32 check"), crc.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let partial = try ZooProcess.run(["convert", fixture("mmdet_tiny.pth"), "-o", out])
        XCTAssertNotEqual(partial.status, 0)
        XCTAssertTrue(partial.stderr.contains("missing keys (380)"), partial.stderr)
        XCTAssertTrue(partial.stderr.contains("unexpected keys (2)"), partial.stderr)
        XCTAssertTrue(partial.stderr.contains("--allow-partial"), partial.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testConvertByIDUsesTheCache() throws {
        let cache = try ZooProcess.temporaryDirectory("zoo-cache")
        let missing = try ZooProcess.run(["convert", "r50_1x"], cacheRoot: cache)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("run `zoo fetch r50_1x` first"), missing.stderr)

        let models = cache.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("mmdet_tiny.pth"),
                                         toPath: models.appendingPathComponent("panoptic_fpn_r50_fpn_1x_pan_seg_bdd100k.pth").path)
        let unverified = try ZooProcess.run(["convert", "r50_1x"], cacheRoot: cache)
        XCTAssertNotEqual(unverified.status, 0)
        XCTAssertTrue(unverified.stderr.contains("is not verified"), unverified.stderr)
        // The record `zoo fetch` leaves beside a verified file (size and mtime must still match).
        let pth = models.appendingPathComponent("panoptic_fpn_r50_fpn_1x_pan_seg_bdd100k.pth")
        let attrs = try FileManager.default.attributesOfItem(atPath: pth.path)
        let size = (attrs[.size] as? NSNumber)?.intValue ?? 0
        let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let record: [String: Any] = ["size": size, "md5": "0123456789abcdef0123456789abcdef", "source": "test",
                                     "mtime": mtime, "verified_at": "2026-11-25T00:00:00Z"]
        try JSONSerialization.data(withJSONObject: record).write(to: models.appendingPathComponent(pth.lastPathComponent + ".verified.json"))
        let r = try ZooProcess.run(["convert", "r50_1x", "--allow-partial", "--json"], cacheRoot: cache)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning:"), r.stderr)
        let st = models.appendingPathComponent("panoptic_fpn_r50_fpn_1x_pan_seg_bdd100k.safetensors").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: st))
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(o["variant"] as? String, "R-50")
        XCTAssertEqual((o["missing"] as? [String])?.count, 380)
        let i = try ZooProcess.run(["inspect", st, "--json"])
        let meta = (try JSONSerialization.jsonObject(with: Data(i.stdout.utf8)) as? [String: Any])?["metadata"] as? [String: String]
        XCTAssertEqual(meta?["zoo_id"], "r50_1x")
        XCTAssertEqual(meta?["source_md5"], "0123456789abcdef0123456789abcdef") // the verified digest, not re-hashed
        XCTAssertEqual(meta?["meta.CLASSES"], #"["person","rider","car"]"#)
        XCTAssertEqual(meta?["meta.mmdet_version"], #""2.28.2""#)
    }

    func testSafetensorsToPyTorch() throws {
        let dir = try ZooProcess.temporaryDirectory()
        let out = dir.appendingPathComponent("all.pth").path
        let r = try ZooProcess.run(["convert", fixture("st_all_dtypes.safetensors"), "-o", out, "--check"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("24 tensors"), r.stdout)
        let i = try ZooProcess.run(["inspect", out])
        XCTAssertTrue(i.stdout.contains("zip checkpoint (archive 'all/'), 24 tensors"), i.stdout)
    }
}
