import Foundation
import Pipeline
import Synchronization
import XCTest

/// End-to-end tests of `zoo reproduce`, `zoo merge` and `zoo vis`: the built binary on a small synthetic
/// dataset in the BDD100K layout, with synthetic R-50 weights and the developer test scale 320x192 so
/// each image takes a fraction of a second.
final class ReproduceCLITests: XCTestCase {
    var work: URL!
    var data: String { work.appendingPathComponent("bdd100k").path }
    var layout: DatasetLayout { DatasetLayout(root: data, split: "val") }
    let fast = ["--synthetic", "r50", "--scale", "320x192"]

    override func setUpWithError() throws {
        work = try ZooProcess.temporaryDirectory("zoo-reproduce")
        try SyntheticDataset.write(root: data, count: 3, width: 160, height: 96, seed: 21)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func reproduce(_ extra: [String], out: String, environment: [String: String] = [:]) throws -> ZooProcess.Result {
        try ZooProcess.run(["reproduce", "r50_1x", "--split", "val", "--data-root", data, "-o", out, "-p", "2"] + fast + extra,
                           environment: environment)
    }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func testThreeShardProcessesMergedEqualASingleRun() throws {
        let single = work.appendingPathComponent("single").path
        let r = try reproduce([], out: single)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("synthetic weights: the score means nothing"), r.stdout)
        XCTAssertTrue(r.stdout.contains("overall"), r.stdout)
        XCTAssertTrue(r.stderr.contains("bitmask (PNG) route"), r.stderr)

        // Three shards at once, chosen three ways: --shard, a Slurm array task, a Kubernetes Indexed Job.
        let shards = work.appendingPathComponent("shards").path
        let runs: [([String], [String: String])] = [
            (["--shard", "0/3"], [:]),
            ([], ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"]),
            (["--shards", "3"], ["JOB_COMPLETION_INDEX": "2"]),
        ]
        let base = ["reproduce", "r50_1x", "--split", "val", "--data-root", data, "-o", shards, "-p", "2"] + fast
        let ran = Mutex([ZooProcess.Result?](repeating: nil, count: 3))
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            let res = try? ZooProcess.run(base + runs[i].0, environment: runs[i].1)
            ran.withLock { $0[i] = res }
        }
        let results = ran.withLock { $0 }
        for (i, res) in results.enumerated() {
            XCTAssertEqual(res?.status, 0, "shard \(i): \(res?.stderr ?? "did not run")")
            XCTAssertTrue(res?.stdout.contains("partial run") ?? false, res?.stdout ?? "")
        }
        for i in 0..<3 {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(shards)/shard-\(i)-of-3/journal.jsonl"))
        }
        let merged = work.appendingPathComponent("merged").path
        let m = try ZooProcess.run(["merge", shards, "-o", merged, "--data-root", data, "-p", "2"])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.contains("merged 3 shard(s), 3 frames"), m.stdout)
        XCTAssertEqual(try bytes("\(merged)/pan_seg.json"), try bytes("\(single)/pan_seg.json"))
        XCTAssertEqual(try bytes("\(merged)/scores.json"), try bytes("\(single)/scores.json"))

        // A missing shard is refused with the shard named.
        let two = try ZooProcess.run(["merge", "\(shards)/shard-0-of-3", "\(shards)/shard-1-of-3", "-o", merged])
        XCTAssertNotEqual(two.status, 0)
        XCTAssertTrue(two.stderr.contains("2/3"), two.stderr)
    }

    /// Two pipelines (one thread each) journal the frames in the order of the images and give the same
    /// journal and final file as one pipeline on two threads.
    func testPipelinesKeepTheJournalOrderAndBytes() throws {
        let one = work.appendingPathComponent("one").path, two = work.appendingPathComponent("two").path
        let r1 = try reproduce(["--threads", "2", "--pipelines", "1"], out: one)
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try reproduce(["--threads", "2", "--pipelines", "2"], out: two)
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r2.stderr.contains("2 pipeline(s) x 1 thread(s)"), r2.stderr)
        XCTAssertEqual(try Journal.read(URL(fileURLWithPath: "\(two)/journal.jsonl")).1.map(\.name),
                       ["synthetic-0000.jpg", "synthetic-0001.jpg", "synthetic-0002.jpg"])
        XCTAssertEqual(try bytes("\(one)/journal.jsonl"), try bytes("\(two)/journal.jsonl"))
        XCTAssertEqual(try bytes("\(one)/pan_seg.json"), try bytes("\(two)/pan_seg.json"))
    }

    func testResumeAfterInterruptionGivesTheSameFinalFile() throws {
        let single = work.appendingPathComponent("single").path
        XCTAssertEqual(try reproduce([], out: single).status, 0)

        let resumed = work.appendingPathComponent("resumed").path
        let first = try reproduce(["--limit", "1"], out: resumed)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("partial run (1 image(s))"), first.stdout)
        XCTAssertTrue(first.stdout.contains("not meaningful"), first.stdout)
        // A crash in the middle of writing the next record leaves a cut line.
        let journal = URL(fileURLWithPath: "\(resumed)/journal.jsonl")
        let h = try FileHandle(forWritingTo: journal)
        try h.seekToEnd()
        try h.write(contentsOf: Data("{\"labels\":[{\"cat".utf8))
        try h.close()
        let second = try reproduce([], out: resumed)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("1 already done (resuming)"), second.stderr)
        XCTAssertEqual(try bytes("\(resumed)/pan_seg.json"), try bytes("\(single)/pan_seg.json"))
        XCTAssertEqual(try Journal.read(journal).1.count, 3)

        // Other weights never mix into the same journal.
        let other = try ZooProcess.run(["reproduce", "r50_1x", "--data-root", data, "-o", resumed, "--synthetic", "r50", "--seed", "9", "--scale", "320x192"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("different run"), other.stderr)
    }

    func testBadInputsSayWhatIsWrongKeepWorkAndFail() throws {
        let out = work.appendingPathComponent("out").path
        // A missing data root.
        var r = try ZooProcess.run(["reproduce", "r50_1x", "--data-root", work.appendingPathComponent("nope").path, "-o", out] + fast)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("does not exist"), r.stderr)
        // An empty image folder.
        let empty = work.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: "\(empty)/images/10k/val", withIntermediateDirectories: true)
        r = try ZooProcess.run(["reproduce", "r50_1x", "--data-root", empty, "-o", out] + fast)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("holds no .jpg or .png image"), r.stderr)
        // Ground truth missing for one image: stopped before any compute.
        let gt = layout.bitmaskPath(forImage: "synthetic-0001.jpg")
        try FileManager.default.moveItem(atPath: gt, toPath: gt + ".away")
        r = try reproduce([], out: out)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("ground truth missing for 1 of 3 image(s)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("synthetic-0001.jpg"), r.stderr)
        try FileManager.default.moveItem(atPath: gt + ".away", toPath: gt)
        // A JPEG cut inside its header: refused from the header, before the weights load; nothing written.
        let bad = "\(layout.imagesDirectory)/synthetic-0001.jpg"
        let good = try bytes(bad)
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: URL(fileURLWithPath: bad))
        r = try reproduce([], out: out)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("synthetic-0001.jpg"), r.stderr)
        XCTAssertTrue(r.stderr.contains("nothing was run"), r.stderr)
        XCTAssertFalse(r.stderr.contains("model:"), "the weights must not load: \(r.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no output folder when nothing ran")
        // A sound header over data that cannot be decoded: the other images are done and kept, no final
        // file, non-zero exit.
        try Self.undecodablePNG().write(to: URL(fileURLWithPath: bad))
        r = try reproduce([], out: out)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("synthetic-0001.jpg: cannot read the image"), r.stderr)
        XCTAssertTrue(r.stderr.contains("the 2 image(s) done are kept"), r.stderr)
        XCTAssertEqual(try Journal.read(URL(fileURLWithPath: "\(out)/journal.jsonl")).1.map(\.name), ["synthetic-0000.jpg", "synthetic-0002.jpg"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/pan_seg.json"))
        try good.write(to: URL(fileURLWithPath: bad))
        // --split test writes the submission file only.
        let test = work.appendingPathComponent("test").path
        try SyntheticDataset.write(root: data, split: "test", count: 1, width: 160, height: 96)
        r = try ZooProcess.run(["reproduce", "r50_1x", "--split", "test", "--data-root", data, "-o", test] + fast)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Submission file: \(test)/pan_seg.json"), r.stdout)
        XCTAssertTrue(r.stdout.contains("evaluation server"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(test)/scores.json"))
    }

    /// A 16x16 RGB PNG whose header is sound and whose image data is not zlib: it passes the header check
    /// and fails in the decoder.
    static func undecodablePNG() -> Data {
        CraftedPNG.file(width: 16, height: 16, colorType: 2, data: Array(repeating: 0xA5, count: 64))
    }

    func testVisOverlaysAsItGoesAndFromAResultFile() throws {
        let out = work.appendingPathComponent("out").path
        let r = try reproduce(["--vis", "--images", "synthetic-000[02]*"], out: out)
        XCTAssertEqual(r.status, 0, r.stderr)
        let made = try FileManager.default.contentsOfDirectory(atPath: "\(out)/vis").sorted()
        XCTAssertEqual(made, ["synthetic-0000.jpg", "synthetic-0002.jpg"])
        let vis = work.appendingPathComponent("vis").path
        let v = try ZooProcess.run(["vis", "\(out)/pan_seg.json", "--images", layout.imagesDirectory, "-o", vis])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertTrue(v.stdout.contains("wrote 2 overlay(s)"), v.stdout)
        XCTAssertEqual(Array(try bytes("\(vis)/synthetic-0002.jpg").prefix(3)), [0xFF, 0xD8, 0xFF])
        // The same drawing either way.
        XCTAssertEqual(try bytes("\(vis)/synthetic-0000.jpg"), try bytes("\(out)/vis/synthetic-0000.jpg"))
        // zoo run --vis: the overlays of its pan_seg.json.
        let run = work.appendingPathComponent("run").path
        let r2 = try ZooProcess.run(["run", "--synthetic", "r50", "\(layout.imagesDirectory)/synthetic-0001.jpg", "-o", run, "--vis"])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(run)/vis"), ["synthetic-0001.jpg"])
        XCTAssertEqual(Array(try bytes("\(run)/vis/synthetic-0001.jpg").prefix(3)), [0xFF, 0xD8, 0xFF])
        let missing = try ZooProcess.run(["vis", "\(out)/pan_seg.json", "--images", work.path, "-o", vis])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("have no image"), missing.stderr)
    }
}

/// A disk that fills up in the middle of a run (simulated with a file-size limit, `ulimit -f`): a clear
/// message, a non-zero exit, the images already done kept, no half-written `pan_seg.json`; then a run
/// with space again finishes and gives the same file as an uninterrupted run.
final class ReproduceFullDiskTests: XCTestCase {
    func testAFullDiskKeepsTheWorkDoneAndFailsClearly() throws {
        let work = try ZooProcess.temporaryDirectory("zoo-full-disk")
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("bdd100k").path
        try SyntheticDataset.write(root: data, count: 3, width: 160, height: 96, seed: 21)
        let args = ["reproduce", "r50_1x", "--split", "val", "--data-root", data, "--synthetic", "r50", "--scale", "320x192"]
        let single = work.appendingPathComponent("single").path
        XCTAssertEqual(try ZooProcess.run(args + ["-o", single]).status, 0)

        let out = work.appendingPathComponent("out").path
        XCTAssertEqual(try ZooProcess.run(args + ["-o", out, "--limit", "1"]).status, 0)
        let journal = URL(fileURLWithPath: "\(out)/journal.jsonl")
        try? FileManager.default.removeItem(atPath: "\(out)/pan_seg.json")
        let journalBytes = try Data(contentsOf: journal).count
        // Room for what is there, and not for the other two images' results and the final file.
        let blocks = (journalBytes + 1023) / 1024
        let command = "ulimit -f \(blocks); exec \"$0\" \"$@\""
        let full = try ZooProcess.run(["-c", command, ZooProcess.binary.path] + args + ["-o", out],
                                      executable: URL(fileURLWithPath: "/bin/bash"))
        XCTAssertNotEqual(full.status, 0, full.stderr)
        XCTAssertTrue(full.stderr.contains("File too large") || full.stderr.contains("disk"), full.stderr)
        XCTAssertFalse(full.stderr.contains("Fatal error"), full.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/pan_seg.json"), "no half-written result")
        XCTAssertGreaterThanOrEqual(try Journal.read(journal).1.count, 1, "the work already done is kept")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains("tmp") || $0.hasSuffix(".incomplete") }
        XCTAssertEqual(leftovers, [])

        let again = try ZooProcess.run(args + ["-o", out])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(out)/pan_seg.json")),
                       try Data(contentsOf: URL(fileURLWithPath: "\(single)/pan_seg.json")))
    }
}
