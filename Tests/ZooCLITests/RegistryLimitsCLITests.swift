import Foundation
import XCTest

/// A registry with values out of range stops every command before anything runs; `zoo cache path` of an
/// uncached id prints nothing on stdout.
final class RegistryLimitsCLITests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func badRegistry(in dir: URL, _ edit: (inout [String: Any]) -> Void) throws -> URL {
        let data = try Data(contentsOf: Self.packageRoot.appendingPathComponent("zoo.json"))
        guard var root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        edit(&root)
        let url = dir.appendingPathComponent("bad.json")
        try JSONSerialization.data(withJSONObject: root).write(to: url)
        return url
    }

    func testRunWithOutOfRangeRegistryExitsOneAndRunsNothing() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-badreg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let reg = try badRegistry(in: dir) { root in
            var tc = root["test_config"] as? [String: Any] ?? [:]
            tc["pad_size_divisor"] = 0
            root["test_config"] = tc
        }
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("out")
        let r = try ZooProcess.run(["run", "--registry", reg.path, "--synthetic", "r50", images.path, "-o", out.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("registry \(reg.path), entry (top level), field 'test_config.pad_size_divisor': 0 is outside 1...128"),
                      r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "the run started")
        // Through the environment too, and for other commands.
        let viaEnv = try ZooProcess.run(["list"], environment: ["ZOO_REGISTRY": reg.path])
        XCTAssertEqual(viaEnv.status, 1, viaEnv.stderr)
        XCTAssertTrue(viaEnv.stderr.contains("field 'test_config.pad_size_divisor'"), viaEnv.stderr)
    }

    func testCachePathOfUncachedIDPrintsNothingOnStdout() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-cachepath")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try ZooProcess.run(["cache", "path", "r50_1x"], cacheRoot: dir.appendingPathComponent("cache"))
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("r50_1x is not cached"), r.stderr)
    }
}
