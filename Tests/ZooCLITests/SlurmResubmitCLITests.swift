import Foundation
import Pipeline
import XCTest

/// The bug, end to end with the built binary and the environment Slurm gives (seen on Debian's
/// slurm-wlm 22.05): `sbatch --array=0-2` then `sbatch --array=1` sets SLURM_ARRAY_TASK_ID=1,
/// SLURM_ARRAY_TASK_MIN=1, SLURM_ARRAY_TASK_COUNT=1. The resubmitted task must resume shard 1 of 3,
/// never run every image unsharded into OUT; `zoo merge` must refuse a folder holding both.
final class SlurmResubmitCLITests: XCTestCase {
    var work: URL!
    var data: String { work.appendingPathComponent("bdd100k").path }
    let fast = ["--synthetic", "r50", "--scale", "320x192"]

    override func setUpWithError() throws {
        work = try ZooProcess.temporaryDirectory("zoo-slurm-resubmit")
        try SyntheticDataset.write(root: data, count: 3, width: 160, height: 96, seed: 21)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func task(_ id: Int, array: (count: Int, min: Int, max: Int), out: String, extra: [String] = []) throws -> ZooProcess.Result {
        try ZooProcess.run(["reproduce", "r50_1x", "--split", "val", "--data-root", data, "-o", out, "-p", "1"] + fast + extra,
                           environment: ["SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "\(id)",
                                         "SLURM_ARRAY_TASK_COUNT": "\(array.count)", "SLURM_ARRAY_TASK_MIN": "\(array.min)",
                                         "SLURM_ARRAY_TASK_MAX": "\(array.max)", "SLURM_ARRAY_TASK_STEP": "1"])
    }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func testAResubmittedTaskResumesItsOwnShard() throws {
        let fm = FileManager.default
        let single = work.appendingPathComponent("single").path
        let s = try ZooProcess.run(["reproduce", "r50_1x", "--split", "val", "--data-root", data, "-o", single, "-p", "1", "-q"] + fast)
        XCTAssertEqual(s.status, 0, s.stderr)

        // The first submission, --array=0-2: tasks 0 and 2 finish; task 1 is cut off after nothing.
        let out = work.appendingPathComponent("out").path
        for id in [0, 2] {
            let r = try task(id, array: (3, 0, 2), out: out)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("shard \(id)/3"), r.stderr)
        }
        let record = try XCTUnwrap(try ShardRecord.read(from: out))
        XCTAssertEqual(record, ShardRecord(count: 3, slurmFirstTask: 0, slurmTaskStep: 1))

        // sbatch --array=1: an array of one task.
        let again = try task(1, array: (1, 1, 1), out: out)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("1 image(s), shard 1/3"), again.stderr)
        XCTAssertFalse(fm.fileExists(atPath: "\(out)/\(RunManifest.journalName)"), "ran unsharded into OUT")
        XCTAssertTrue(fm.fileExists(atPath: "\(out)/shard-1-of-3/\(RunManifest.journalName)"))
        // Once more: everything is done, it resumes (nothing to run) and still writes nothing into OUT.
        let third = try task(1, array: (1, 1, 1), out: out)
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertTrue(third.stderr.contains("1 already done (resuming)"), third.stderr)

        // A task outside the recorded array, a different shard count, a whole run: refused, nothing written.
        let outside = try task(5, array: (1, 5, 5), out: out)
        XCTAssertNotEqual(outside.status, 0)
        XCTAssertTrue(outside.stderr.contains("array task 5 is not one of the tasks 0-2"), outside.stderr)
        let four = try task(1, array: (1, 1, 1), out: out, extra: ["--shards", "4"])
        XCTAssertNotEqual(four.status, 0)
        XCTAssertTrue(four.stderr.contains("holds 3 shards"), four.stderr)
        let whole = try ZooProcess.run(["reproduce", "r50_1x", "--split", "val", "--data-root", data, "-o", out] + fast)
        XCTAssertNotEqual(whole.status, 0)
        XCTAssertTrue(whole.stderr.contains("whole (unsharded) run"), whole.stderr)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out).sorted(),
                       ["shard-0-of-3", "shard-1-of-3", "shard-2-of-3", ShardRecord.fileName].sorted())

        let merged = work.appendingPathComponent("merged").path
        let m = try ZooProcess.run(["merge", out, "-o", merged])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertEqual(try bytes("\(merged)/pan_seg.json"), try bytes("\(single)/pan_seg.json"))

        // What the bug left behind (a whole run in OUT beside the shards) is refused by merge, naming both.
        for f in [RunManifest.journalName, RunManifest.fileName] {
            try fm.copyItem(atPath: "\(single)/\(f)", toPath: "\(out)/\(f)")
        }
        let mixed = try ZooProcess.run(["merge", out, "-o", work.appendingPathComponent("mixed").path])
        XCTAssertNotEqual(mixed.status, 0)
        XCTAssertTrue(mixed.stderr.contains("both a whole run of its own"), mixed.stderr)
        XCTAssertTrue(mixed.stderr.contains("shard-0-of-3"), mixed.stderr)
    }

    func testArraysThatCannotBeNumberedAreRefused() throws {
        let out = work.appendingPathComponent("out").path
        // --array=1,5,9: Slurm reports COUNT 3, MIN 1, MAX 9, STEP 1.
        let sparse = try task(5, array: (3, 1, 9), out: out)
        XCTAssertNotEqual(sparse.status, 0)
        XCTAssertTrue(sparse.stderr.contains("not evenly spaced"), sparse.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
