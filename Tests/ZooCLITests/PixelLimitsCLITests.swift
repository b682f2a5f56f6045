import Foundation
import Panoptic
import Pipeline
import XCTest

/// `zoo merge --max-pixels N` / `ZOO_MAX_PIXELS`, and `zoo eval`'s on the RLE route: the ground truth it scores against (bitmask PNG headers,
/// Scalabel RLE sizes) and the RLE sizes in the shards' journals are held to the same limit, with the
/// message `zoo eval` gives, before anything is allocated for them; a refusal exits 1 and leaves no
/// scores.json and no temporary file.
final class PixelLimitsCLITests: XCTestCase {
    private var dir: URL!
    private var data: String { dir.appendingPathComponent("bdd100k").path }
    private var shards: String { dir.appendingPathComponent("shards").path }
    private let names = ["a.jpg", "b.jpg"]

    override func setUpWithError() throws {
        dir = try ZooProcess.temporaryDirectory("zoo-merge-limits")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// One finished shard (0/1) whose frames are a 4x5 road mask each, as `zoo reproduce` journals them.
    private func writeShard(size: [Int] = [4, 5]) throws {
        let d = shards + "/shard-0-of-1"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let weights = "synthetic r50 seed 1"
        let j = try Journal(url: URL(fileURLWithPath: d + "/" + RunManifest.journalName),
                            header: Journal.Header(model: "r50_1x", weights: weights))
        let pixels = size[0] * size[1]
        let rle = pixels <= 1 << 20 ? RLE.encode(mask: [Bool](repeating: true, count: pixels), height: size[0], width: size[1])
            : RLE(runs: [0, UInt32.max], height: size[0], width: size[1])
        for n in names {
            try j.record(FrameRecord(name: n, labels: [SegmentRecord(id: "16", category: "road", counts: rle.counts, size: size)]))
        }
        try RunManifest(model: "r50_1x", weights: weights, split: "val", shard: try Shard(index: 0, count: 1), images: names).write(to: d)
    }

    /// The BDD100K bitmask ground truth of both frames: road everywhere, 4x5.
    private func writeBitmasks() throws {
        let gt = DatasetLayout(root: data, split: "val").bitmaskDirectory
        try FileManager.default.createDirectory(atPath: gt, withIntermediateDirectories: true)
        for n in names {
            var b = Bitmask(height: 4, width: 5)
            b.paint(mask: [Bool](repeating: true, count: 20), category: 16, instanceID: 16)
            try b.write(path: gt + "/" + (n as NSString).deletingPathExtension + ".png")
        }
    }

    private func merge(_ extra: [String], environment: [String: String] = [:]) throws -> ZooProcess.Result {
        try ZooProcess.run(["merge", shards, "-o", dir.appendingPathComponent("merged").path, "-p", "1"] + extra, environment: environment)
    }

    private var merged: String { dir.appendingPathComponent("merged").path }

    /// Refused: exit 1, the standard message, the complete pan_seg.json only (no scores, no temporary file).
    private func assertRefused(_ r: ZooProcess.Result, limit: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(r.status, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains("over the limit of \(limit)"), r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains("--max-pixels or ZOO_MAX_PIXELS"), r.stderr, file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr, file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: merged).sorted(), ["pan_seg.json"], file: file, line: line)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: merged + "/pan_seg.json"))),
                         file: file, line: line)
        try FileManager.default.removeItem(atPath: merged)
    }

    func testBitmaskGroundTruthOverTheLimitIsRefused() throws {
        try writeShard()
        try writeBitmasks()
        // Within the limit (20 pixels a frame): scored.
        var r = try merge(["--data-root", data, "--max-pixels", "20"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: merged + "/scores.json"))
        try FileManager.default.removeItem(atPath: merged)

        // The journals' sizes are checked first (the same 4x5), then each PNG header.
        r = try merge(["--data-root", data, "--max-pixels", "19"])
        try assertRefused(r, limit: 19)
        r = try merge(["--data-root", data], environment: ["ZOO_MAX_PIXELS": "19"])
        try assertRefused(r, limit: 19)

        // The journals within the limit, a ground truth PNG over it (6x5): refused from its header.
        let gt = DatasetLayout(root: data, split: "val").bitmaskDirectory
        try Bitmask(height: 5, width: 6).write(path: gt + "/b.png")
        r = try merge(["--data-root", data, "--max-pixels", "25"])
        XCTAssertTrue(r.stderr.contains("b.png"), r.stderr)
        XCTAssertTrue(r.stderr.contains("6x5 pixels"), r.stderr)
        try assertRefused(r, limit: 25)

        // A 74-byte PNG whose header claims 100000x100000, at the default limit: refused from the header.
        try bombPNG(URL(fileURLWithPath: gt + "/b.png"))
        r = try merge(["--data-root", data])
        XCTAssertTrue(r.stderr.contains("100000x100000 pixels"), r.stderr)
        try assertRefused(r, limit: 100_000_000)
    }

    func testJournalRLESizesOverTheLimitAreRefused() throws {
        // Scalabel ground truth at 4x5; the shard's journal claims 100000x100000 masks.
        try writeShard(size: [100_000, 100_000])
        let gt = dir.appendingPathComponent("gt.json").path
        let mask = RLE.encode(mask: [Bool](repeating: true, count: 20), height: 4, width: 5)
        let frames = names.map { #"{"name": "\#($0)", "labels": [{"id": "1", "category": "road", "rle": {"counts": "\#(mask.counts)", "size": [4, 5]}}]}"# }
        try Data("[\(frames.joined(separator: ","))]".utf8).write(to: URL(fileURLWithPath: gt))
        let r = try merge(["--gt", gt])
        XCTAssertTrue(r.stderr.contains("100000x100000"), r.stderr)
        try assertRefused(r, limit: 100_000_000)

        // The Scalabel ground truth itself is held to --max-pixels too.
        try FileManager.default.removeItem(atPath: shards)
        try writeShard()
        let small = try merge(["--gt", gt, "--max-pixels", "10"])
        try assertRefused(small, limit: 10)
        let ok = try merge(["--gt", gt, "--max-pixels", "20"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    func testABadLimitIsRefusedBeforeAnythingIsWritten() throws {
        try writeShard()
        var r = try merge(["--max-pixels", "0"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("--max-pixels must be at least 1"), r.stderr)
        r = try merge([], environment: ["ZOO_MAX_PIXELS": "many"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("ZOO_MAX_PIXELS=many"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: merged))
    }

    /// A journal (from another machine: shards are merged from anywhere) naming a frame "../victim.jpg":
    /// scoring against bitmask ground truth refuses it, naming the frame, instead of reading a PNG
    /// outside the ground truth folder; nothing but the merged pan_seg.json is written.
    func testJournalFrameNamesThatLeaveTheGroundTruthFolderAreRefused() throws {
        try writeShard()
        try writeBitmasks()
        let journal = shards + "/shard-0-of-1/" + RunManifest.journalName
        let text = try String(contentsOfFile: journal, encoding: .utf8)
        try text.replacingOccurrences(of: #""b.jpg""#, with: #""..\/..\/victim.jpg""#)
            .write(toFile: journal, atomically: true, encoding: .utf8)
        let manifest = shards + "/shard-0-of-1/run.json"
        let m = try String(contentsOfFile: manifest, encoding: .utf8)
        try m.replacingOccurrences(of: #""b.jpg""#, with: #""..\/..\/victim.jpg""#)
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        let r = try merge(["--data-root", data])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("frame"), r.stderr)
        XCTAssertTrue(r.stderr.contains("path separator"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: merged).sorted(), ["pan_seg.json"])
    }

    /// `zoo eval` on the RLE route: an RLE size over `--max-pixels` / `ZOO_MAX_PIXELS` is refused with
    /// the frame's file named; at the limit it scores.
    func testEvalHoldsRLESizesToMaxPixels() throws {
        let mask = RLE.encode(mask: [Bool](repeating: true, count: 20), height: 4, width: 5)
        let json = dir.appendingPathComponent("pan_seg.json").path
        try Data(#"[{"name": "a.jpg", "labels": [{"id": "1", "category": "road", "rle": {"counts": "\#(mask.counts)", "size": [4, 5]}}]}]"#.utf8)
            .write(to: URL(fileURLWithPath: json))
        let ok = try ZooProcess.run(["eval", "-g", json, "-r", json, "--max-pixels", "20"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        for r in [try ZooProcess.run(["eval", "-g", json, "-r", json, "--max-pixels", "19"]),
                  try ZooProcess.run(["eval", "-g", json, "-r", json], environment: ["ZOO_MAX_PIXELS": "19"])] {
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("an rle size is 4x5, over the limit of 19 pixels"), r.stderr)
            XCTAssertTrue(r.stderr.contains(json), r.stderr)
        }
    }

    private func bombPNG(_ url: URL) throws {
        try CraftedPNG.bomb().write(to: url)
    }
}
