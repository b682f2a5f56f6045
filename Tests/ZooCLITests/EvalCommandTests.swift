import Foundation
import XCTest

/// Runs the built `zoo` binary on the eval fixtures (Tests/Fixtures/eval, made by the official toolkit).
final class EvalCommandTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/eval/cases").path

    /// `zoo` next to the test bundle (swift test builds every product into the same folder).
    func zooBinary() throws -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("zoo").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        struct NoBinary: Error, CustomStringConvertible {
            var description: String { "the zoo binary is not next to the test bundle; run `swift build --product zoo` first" }
        }
        throw NoBinary()
    }

    func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try zooBinary())
        p.arguments = args
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        let err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func testEvalWritesTheOfficialTableAndOutFileOnBothRoutes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-eval-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let c = EvalCommandTests.fixtures + "/basic"
        for (route, gt, res) in [("rle", "gt.json", "pred.json"), ("bitmask", "gt", "pred")] {
            let outFile = dir + "/sub/\(route).json"
            let r = try run(["eval", "--gt", c + "/" + gt, "--result", c + "/" + res, "--out-file", outFile, "--nproc", "2"])
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertEqual(r.out, try String(contentsOfFile: c + "/official_\(route).table.txt", encoding: .utf8))
            XCTAssertEqual(try String(contentsOfFile: outFile, encoding: .utf8),
                           try String(contentsOfFile: c + "/official_\(route).json", encoding: .utf8))
        }
    }

    func testEvalWarnsWhereTheOfficialToolCrashesAndFailsCleanly() throws {
        let c = EvalCommandTests.fixtures
        let w = try run(["eval", "-g", c + "/crash_empty_gt/gt.json", "-r", c + "/crash_empty_gt/pred.json"])
        XCTAssertEqual(w.code, 0)
        XCTAssertTrue(w.err.contains("warning: e2.jpg: predictions but no ground-truth segment"), w.err)
        let q = try run(["eval", "-q", "-g", c + "/crash_empty_gt/gt.json", "-r", c + "/crash_empty_gt/pred.json"])
        XCTAssertEqual(q.err, "")
        let e = try run(["eval", "-g", c + "/crash_size_mismatch/gt", "-r", c + "/crash_size_mismatch/pred"])
        XCTAssertEqual(e.code, 1)
        XCTAssertTrue(e.err.hasPrefix("error: "), e.err)
        XCTAssertTrue(e.err.contains("8x10"), e.err)
        let m = try run(["eval", "-g", c + "/basic/gt.json", "-r", c + "/nothing-here.json"])
        XCTAssertEqual(m.code, 1)
        XCTAssertTrue(m.err.contains("no such file"), m.err)
    }
}
