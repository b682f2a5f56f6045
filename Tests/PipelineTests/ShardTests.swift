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
