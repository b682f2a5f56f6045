import FuzzTargets
import Foundation
import XCTest

/// Replays every input the fuzzer saved under Tests/Fixtures/fuzz/<parser>/ (minimised crashing
/// inputs) through its parser, in this process: each must now be refused with an error or accepted,
/// never trap. Inputs listed in allow-list.txt (known, fixed elsewhere) are skipped. The seeds are
/// replayed too: each must parse without a trap.
final class FuzzReplayTests: XCTestCase {
    static let fuzzRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz")

    func allowList() -> Set<String> {
        let text = (try? String(contentsOf: Self.fuzzRoot.appendingPathComponent("allow-list.txt"), encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
    }

    func files(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func scratch() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    func testEveryParserHasSeeds() {
        for t in FuzzTargets.all {
            XCTAssertFalse(files(Self.fuzzRoot.appendingPathComponent("seeds/\(t.name)")).isEmpty, "no seed for \(t.name)")
        }
    }

    func testSeedsParse() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for t in FuzzTargets.all {
            for f in files(Self.fuzzRoot.appendingPathComponent("seeds/\(t.name)")) {
                let data = try Data(contentsOf: Self.fuzzRoot.appendingPathComponent("seeds/\(t.name)/\(f)"))
                XCTAssertNoThrow(try t.run([UInt8](data), dir), "seed \(t.name)/\(f) does not parse")
            }
        }
    }

    func testSavedFindingsDoNotTrap() throws {
        let allow = allowList()
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        var replayed = 0
        for t in FuzzTargets.all {
            for f in files(Self.fuzzRoot.appendingPathComponent(t.name)) where !allow.contains("\(t.name)/\(f)") {
                let data = try Data(contentsOf: Self.fuzzRoot.appendingPathComponent("\(t.name)/\(f)"))
                _ = try? t.run([UInt8](data), dir)  // an error is the right answer; a trap ends the test run
                replayed += 1
            }
        }
        print("replayed \(replayed) saved fuzz findings")
    }
}
