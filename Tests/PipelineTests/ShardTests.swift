import Foundation
import XCTest
import Pipeline

final class ShardTests: XCTestCase {
    func testParseAndSelect() throws {
        let s = try Shard(parsing: "1/3")
        XCTAssertEqual(s.index, 1)
        XCTAssertEqual(s.count, 3)
        let names = ["e.jpg", "a.jpg", "d.jpg", "b.jpg", "c.jpg", "f.jpg", "g.jpg"]
        XCTAssertEqual(s.select(names) { $0 }, ["b.jpg", "e.jpg"])
        XCTAssertEqual(try Shard(parsing: "0/3").select(names) { $0 }, ["a.jpg", "d.jpg", "g.jpg"])
        // The shards partition the dataset.
        var all: [String] = []
        for i in 0..<3 { all += try Shard(index: i, count: 3).select(names) { $0 } }
        XCTAssertEqual(all.sorted(), names.sorted())
        XCTAssertEqual(Shard.whole.select(names) { $0 }, names.sorted())
    }

    func testBadShards() {
        for bad in ["3/3", "-1/2", "1", "a/b", "1/0", "0/-2", "1/2/3"] {
            XCTAssertThrowsError(try Shard(parsing: bad), bad)
        }
    }

    func testEnvironment() throws {
        XCTAssertEqual(try Shard.resolve(flag: nil, shards: nil, environment: [:]), .whole)
        XCTAssertEqual(try Shard.resolve(flag: "2/5", shards: nil, environment: ["SLURM_ARRAY_TASK_ID": "0"]),
                       try Shard(index: 2, count: 5))
        // Slurm: --array=0-3
        XCTAssertEqual(try Shard.resolve(flag: nil, shards: nil,
                                         environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"]),
                       try Shard(index: 3, count: 4))
        // Slurm: --array=1-4 (offset by the minimum)
        XCTAssertEqual(try Shard.resolve(flag: nil, shards: nil,
                                         environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"]),
                       try Shard(index: 0, count: 4))
        XCTAssertThrowsError(try Shard.resolve(flag: nil, shards: nil, environment: ["SLURM_ARRAY_TASK_ID": "1"]))
        // Kubernetes Indexed Job
        XCTAssertEqual(try Shard.resolve(flag: nil, shards: 8, environment: ["JOB_COMPLETION_INDEX": "7"]),
                       try Shard(index: 7, count: 8))
        XCTAssertThrowsError(try Shard.resolve(flag: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "7"])) { e in
            XCTAssertTrue("\(e)".contains("--shards"))
        }
        XCTAssertThrowsError(try Shard.resolve(flag: nil, shards: 4, environment: ["JOB_COMPLETION_INDEX": "4"]))
        XCTAssertThrowsError(try Shard.resolve(flag: nil, shards: 4, environment: [:]))
    }
}

/// Slurm job arrays as Slurm reports them (slurmctld's `_create_job_array`: COUNT, MIN, MAX, and STEP
/// the number after ':' in --array, else 1), first runs and resubmissions, with and without the output
/// folder's record.
final class SlurmShardTests: XCTestCase {
    private func env(_ id: Int, count: Int, min: Int, max: Int, step: Int = 1) -> [String: String] {
        ["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_COUNT": "\(count)", "SLURM_ARRAY_TASK_MIN": "\(min)",
         "SLURM_ARRAY_TASK_MAX": "\(max)", "SLURM_ARRAY_TASK_STEP": "\(step)"]
    }

    private func resolve(_ e: [String: String], flag: String? = nil, shards: Int? = nil, recorded: ShardRecord? = nil) throws -> ShardChoice {
        try Shard.resolve(flag: flag, shards: shards, environment: e, recorded: recorded, recordPath: "OUT/shards.json")
    }

    private func assertRefused(_ e: [String: String], flag: String? = nil, shards: Int? = nil, recorded: ShardRecord? = nil,
                               saying words: [String], line: UInt = #line) {
        XCTAssertThrowsError(try resolve(e, flag: flag, shards: shards, recorded: recorded), line: line) { error in
            for w in words { XCTAssertTrue("\(error)".contains(w), "'\(w)' not in: \(error)", line: line) }
        }
    }

    func testFirstRunOfAnArrayRecordsItsOffsetAndStep() throws {
        // --array=0-2
        for id in 0..<3 {
            let c = try resolve(env(id, count: 3, min: 0, max: 2))
            XCTAssertEqual(c.shard, try Shard(index: id, count: 3))
            XCTAssertEqual(c.record, ShardRecord(count: 3, slurmFirstTask: 0, slurmTaskStep: 1))
        }
        // --array=1-3
        XCTAssertEqual(try resolve(env(3, count: 3, min: 1, max: 3)).shard, try Shard(index: 2, count: 3))
        // --array=0-10:2 (6 tasks): task 6 is shard 3 of 6.
        let stepped = try resolve(env(6, count: 6, min: 0, max: 10, step: 2))
        XCTAssertEqual(stepped.shard, try Shard(index: 3, count: 6))
        XCTAssertEqual(stepped.record, ShardRecord(count: 6, slurmFirstTask: 0, slurmTaskStep: 2))
        // --array=0-9:2 (0,2,4,6,8: Slurm reports MAX 8).
        XCTAssertEqual(try resolve(env(8, count: 5, min: 0, max: 8, step: 2)).shard, try Shard(index: 4, count: 5))
        // --array=1,5,9 (STEP 1): not evenly spaced as reported, refused with what to do.
        assertRefused(env(5, count: 3, min: 1, max: 9), saying: ["not evenly spaced", "--array=A-B", "--shard I/N"])
        // --array=0-3 with --shards 3: refused (shard 3 of 3 would not exist; and a lone task has no record).
        assertRefused(env(1, count: 4, min: 0, max: 3), shards: 3, saying: ["--shards 3", "4 task(s)"])
        // --shards equal to the array's size is fine.
        XCTAssertEqual(try resolve(env(2, count: 3, min: 0, max: 2), shards: 3).shard, try Shard(index: 2, count: 3))
        // A single-task array on a folder with no record: a whole run.
        XCTAssertEqual(try resolve(env(4, count: 1, min: 4, max: 4)), ShardChoice(shard: .whole, record: nil))
        // Older Slurm without MAX/STEP: deduced from COUNT and MIN.
        let old = ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"]
        XCTAssertEqual(try resolve(old).shard, try Shard(index: 1, count: 4))
    }

    /// The issue's bug: `sbatch --array=1 job.sh` after `--array=0-2` sets ID 1, MIN 1, COUNT 1.
    func testATaskResubmittedAloneRunsItsOwnShard() throws {
        let recorded = ShardRecord(count: 3, slurmFirstTask: 0, slurmTaskStep: 1)
        for id in 0..<3 {
            let c = try resolve(env(id, count: 1, min: id, max: id), recorded: recorded)
            XCTAssertEqual(c.shard, try Shard(index: id, count: 3), "task \(id)")
            XCTAssertEqual(c.record, recorded)
        }
        // --shards 3 too (it used to give index ID - MIN = 0).
        XCTAssertEqual(try resolve(env(1, count: 1, min: 1, max: 1), shards: 3, recorded: recorded).shard, try Shard(index: 1, count: 3))
        // Two of the three again: --array=1-2.
        XCTAssertEqual(try resolve(env(2, count: 2, min: 1, max: 2), recorded: recorded).shard, try Shard(index: 2, count: 3))
        // The whole array again.
        XCTAssertEqual(try resolve(env(0, count: 3, min: 0, max: 2), recorded: recorded).shard, try Shard(index: 0, count: 3))
        // Without the record it would be a whole run: the bug.
        XCTAssertEqual(try resolve(env(1, count: 1, min: 1, max: 1)).shard, .whole)

        // An array first run as --array=1-3: task 3 alone is shard 2.
        let offset = ShardRecord(count: 3, slurmFirstTask: 1, slurmTaskStep: 1)
        XCTAssertEqual(try resolve(env(3, count: 1, min: 3, max: 3), recorded: offset).shard, try Shard(index: 2, count: 3))
        // A stepped array (--array=0-10:2) resubmitted as --array=6.
        let stepped = ShardRecord(count: 6, slurmFirstTask: 0, slurmTaskStep: 2)
        XCTAssertEqual(try resolve(env(6, count: 1, min: 6, max: 6), recorded: stepped).shard, try Shard(index: 3, count: 6))
        assertRefused(env(5, count: 1, min: 5, max: 5), recorded: stepped, saying: ["task 5", "0-10:2", "--array=I"])
        // --shard I/N still wins (the README's older advice keeps working) and must agree with the record.
        XCTAssertEqual(try resolve(env(1, count: 1, min: 1, max: 1), flag: "1/3", recorded: recorded).shard, try Shard(index: 1, count: 3))
    }

    func testMismatchesWithTheRecordAreRefused() throws {
        let recorded = ShardRecord(count: 3, slurmFirstTask: 0, slurmTaskStep: 1)
        // A task outside the recorded array.
        assertRefused(env(3, count: 1, min: 3, max: 3), recorded: recorded, saying: ["task 3", "0-2", "new output folder"])
        // An array larger than the recorded one (--array=0-7 on a folder of 3 shards), even for its task 1.
        assertRefused(env(1, count: 8, min: 0, max: 7), recorded: recorded, saying: ["--array=0-7", "reaches beyond", "3 shards"])
        // Another shard count.
        assertRefused(env(1, count: 1, min: 1, max: 1), shards: 4, recorded: recorded, saying: ["--shards 4", "3 shards"])
        assertRefused([:], flag: "1/4", recorded: recorded, saying: ["1/4", "3 shards"])
        assertRefused(["JOB_COMPLETION_INDEX": "1"], shards: 4, recorded: recorded, saying: ["--shards 4", "3 shards"])
        // A whole run into a folder of shards.
        assertRefused([:], recorded: recorded, saying: ["whole", "--shard I/3"])
        assertRefused([:], flag: "0/1", recorded: recorded, saying: ["--shard 0/1", "3 shards"])
        // Shards first run with --shard (no array recorded): a same-size array maps, a lone task cannot.
        let plain = ShardRecord(count: 3)
        XCTAssertEqual(try resolve(env(2, count: 3, min: 1, max: 3), recorded: plain).shard, try Shard(index: 1, count: 3))
        assertRefused(env(2, count: 1, min: 2, max: 2), recorded: plain, saying: ["without a Slurm array", "--shard I/3"])
        XCTAssertEqual(try resolve(["JOB_COMPLETION_INDEX": "2"], shards: 3, recorded: plain).shard, try Shard(index: 2, count: 3))
    }

    func testHostileEnvironmentsAreRefused() {
        for bad in [["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "3"],
                    ["SLURM_ARRAY_TASK_ID": "-1", "SLURM_ARRAY_TASK_COUNT": "3"],
                    ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "0"],
                    ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "0"],
                    ["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"],
                    ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "\(Int.max)", "SLURM_ARRAY_TASK_STEP": "\(Int.max)"]] {
            XCTAssertThrowsError(try Shard.resolve(flag: nil, shards: nil, environment: bad, recorded: nil), "\(bad)")
        }
    }
}

final class ShardRecordTests: XCTestCase {
    private var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("shards-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testCreatedOnceAndAgreedOnByConcurrentTasks() throws {
        XCTAssertNil(try ShardRecord.read(from: dir))
        let r = ShardRecord(count: 3, slurmFirstTask: 0, slurmTaskStep: 1)
        // Many tasks racing: one creates it, all end up agreeing, no temporary file is left.
        let errors = Locked<[String]>([])
        let dir: String = self.dir
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            do {
                let got = try r.commit(in: dir)
                if got != r { errors.mutate { $0.append("got \(got)") } }
            } catch { errors.mutate { $0.append("\(error)") } }
        }
        XCTAssertEqual(errors.value, [])
        XCTAssertEqual(try ShardRecord.read(from: dir), r)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [ShardRecord.fileName])
        // A record of another split is refused; one from --shard (no array) is accepted by an array's task.
        XCTAssertThrowsError(try ShardRecord(count: 4, slurmFirstTask: 0, slurmTaskStep: 1).commit(in: dir)) { e in
            XCTAssertTrue("\(e)".contains("records 3 shards"), "\(e)")
        }
        XCTAssertThrowsError(try ShardRecord(count: 3, slurmFirstTask: 1, slurmTaskStep: 1).commit(in: dir))
        XCTAssertEqual(try ShardRecord(count: 3).commit(in: dir), r)
    }

    func testDamagedRecordsAreRefused() throws {
        let path = "\(dir!)/\(ShardRecord.fileName)"
        for bad in ["", "{", "[]", #"{"kind":"other","version":1,"count":3}"#,
                    #"{"kind":"bdd100k-zoo shards","version":1,"count":1}"#,
                    #"{"kind":"bdd100k-zoo shards","version":1,"count":3,"slurmFirstTask":0}"#,
                    #"{"kind":"bdd100k-zoo shards","version":1,"count":3,"slurmFirstTask":-1,"slurmTaskStep":1}"#,
                    #"{"kind":"bdd100k-zoo shards","version":2,"count":3}"#,
                    String(repeating: " ", count: 5000)] {
            try Data(bad.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try ShardRecord.read(from: dir), bad) { e in XCTAssertTrue("\(e)".contains(path), "\(e)") }
        }
    }

    func testAFolderHoldsAWholeRunOrShardsNeverBoth() throws {
        let fm = FileManager.default
        XCTAssertNoThrow(try ShardFolders.check(base: dir, for: .whole))
        XCTAssertNoThrow(try ShardFolders.check(base: dir, for: try Shard(index: 1, count: 3)))
        try fm.createDirectory(atPath: "\(dir!)/shard-1-of-3", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ShardFolders.check(base: dir, for: .whole)) { e in XCTAssertTrue("\(e)".contains("shard-1-of-3"), "\(e)") }
        try fm.removeItem(atPath: "\(dir!)/shard-1-of-3")
        XCTAssertTrue(fm.createFile(atPath: "\(dir!)/\(RunManifest.journalName)", contents: Data()))
        XCTAssertThrowsError(try ShardFolders.check(base: dir, for: try Shard(index: 1, count: 3))) { e in
            XCTAssertTrue("\(e)".contains("whole (unsharded) run of its own"), "\(e)")
        }
        XCTAssertNoThrow(try ShardFolders.check(base: dir, for: .whole))
    }
}

/// A value shared between the threads of a test.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}
