import Foundation
import XCTest
import Pipeline

final class ShardMergeTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private let names = (0..<7).map { "f\($0).jpg" }

    private func frame(_ name: String) -> FrameRecord {
        FrameRecord(name: name, labels: [SegmentRecord(id: "16", category: "road", counts: "0\(name.count)", size: [4, 5])])
    }

    /// Writes shard `i` of `n` as `zoo reproduce` does; `done` limits how many of its images are journalled.
    @discardableResult
    private func writeShard(_ i: Int, of n: Int, weights: String = "synthetic r50 seed 1", done: Int? = nil) throws -> String {
        let shard = try Shard(index: i, count: n)
        let mine = shard.select(names, name: { $0 })
        let d = dir.appendingPathComponent("out/shard-\(i)-of-\(n)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let j = try Journal(url: URL(fileURLWithPath: d + "/" + RunManifest.journalName),
                            header: Journal.Header(model: "r50_1x", weights: weights))
        for name in mine.prefix(done ?? mine.count) { try j.record(frame(name)) }
        try RunManifest(model: "r50_1x", weights: weights, split: "val", shard: shard, images: mine).write(to: d)
        return d
    }

    func testMergeOfAllShardsIsTheWholeRunAndWritesTheSameFile() throws {
        for i in 0..<3 { try writeShard(i, of: 3) }
        let dirs = try ShardMerge.runDirectories([dir.appendingPathComponent("out").path])
        XCTAssertEqual(dirs.count, 3)
        let merged = try ShardMerge.merge(dirs)
        XCTAssertEqual(merged.frames.map(\.name), names)
        XCTAssertEqual(merged.shardCount, 3)
        XCTAssertEqual(merged.split, "val")
        XCTAssertFalse(merged.narrowed)
        let a = dir.appendingPathComponent("merged.json").path, b = dir.appendingPathComponent("single.json").path
        try PanSegFile.write(merged.frames, to: a)
        try PanSegFile.write(names.reversed().map(frame), to: b)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)))
        let text = try String(contentsOfFile: a, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\n  \"frames\": [\n"))
        XCTAssertTrue(text.contains("\"name\": \"f0.jpg\""))
    }

    func testMissingUnfinishedDuplicateAndForeignShardsAreRefused() throws {
        let s0 = try writeShard(0, of: 3), s1 = try writeShard(1, of: 3, done: 1)
        XCTAssertThrowsError(try ShardMerge.merge([s0])) { e in XCTAssertTrue("\(e)".contains("1/3, 2/3"), "\(e)") }
        XCTAssertThrowsError(try ShardMerge.merge([s0, s1])) { e in XCTAssertTrue("\(e)".contains("unfinished"), "\(e)") }
        XCTAssertThrowsError(try ShardMerge.merge([s0, s0])) { e in XCTAssertTrue("\(e)".contains("both shard 0/3"), "\(e)") }
        let foreign = try writeShard(2, of: 3, weights: "zoo other")
        XCTAssertThrowsError(try ShardMerge.merge([s0, foreign])) { e in XCTAssertTrue("\(e)".contains("made by"), "\(e)") }
        XCTAssertThrowsError(try ShardMerge.runDirectories([dir.appendingPathComponent("empty").path])) { e in
            XCTAssertTrue("\(e)".contains("holds no journal.jsonl"), "\(e)")
        }
    }

    /// The silent merge: a resubmitted task ran every image into OUT itself; `zoo merge OUT` took
    /// OUT's own journal and ignored the shards. Now such a folder is refused; its shard folders, given
    /// one by one, still merge.
    func testAFolderWithAWholeRunAndShardsIsRefused() throws {
        let dirs = try (0..<3).map { try writeShard($0, of: 3) }
        let out = dir.appendingPathComponent("out").path
        let j = try Journal(url: URL(fileURLWithPath: out + "/" + RunManifest.journalName),
                            header: Journal.Header(model: "r50_1x", weights: "synthetic r50 seed 1"))
        for name in names { try j.record(frame(name)) }
        try RunManifest(model: "r50_1x", weights: "synthetic r50 seed 1", split: "val", shard: .whole, images: names).write(to: out)
        XCTAssertThrowsError(try ShardMerge.runDirectories([out])) { e in
            XCTAssertTrue("\(e)".contains("both a whole run of its own"), "\(e)")
            XCTAssertTrue("\(e)".contains("shard-0-of-3"), "\(e)")
        }
        XCTAssertEqual(try ShardMerge.merge(try ShardMerge.runDirectories(dirs)).frames.map(\.name), names)
        // Only a run manifest beside a shard record is refused too.
        try FileManager.default.removeItem(atPath: out + "/" + RunManifest.journalName)
        for d in dirs { try FileManager.default.removeItem(atPath: d) }
        try ShardRecord(count: 3).commit(in: out)
        XCTAssertThrowsError(try ShardMerge.runDirectories([out])) { e in XCTAssertTrue("\(e)".contains("both"), "\(e)") }
    }

    func testTheRecordedShardCountMustMatch() throws {
        for i in 0..<2 { try writeShard(i, of: 2) }
        let out = dir.appendingPathComponent("out").path
        try ShardRecord(count: 3).commit(in: out)
        XCTAssertThrowsError(try ShardMerge.merge(try ShardMerge.runDirectories([out]))) { e in
            XCTAssertTrue("\(e)".contains("records 3 shards"), "\(e)")
        }
    }

    func testManifestRoundTrip() throws {
        let m = RunManifest(model: "r50_1x", weights: "w", split: "val", shard: try Shard(parsing: "2/4"), images: ["a.jpg"], narrowed: true)
        try m.write(to: dir.path)
        XCTAssertEqual(try RunManifest.read(from: dir.path), m)
    }
}
