import Crypto
import Foundation
import HTTPTestServer
import XCTest
import ZooRegistry

/// End-to-end tests of `zoo fetch`, `zoo verify` and `zoo cache`: the built `zoo` binary runs as a
/// subprocess against a loopback HTTP server started by the test, with a temporary ZOO_HOME.
final class FetchCLITests: XCTestCase {
    var server: TestHTTPServer!
    var home: URL!
    var registryFile: URL!
    var entry: ModelEntry!
    /// 6 MB of deterministic bytes served as the model.
    let payload: Data = {
        var x: UInt64 = 0x2545F4914F6CDD1D
        var d = Data(count: 6_000_000)
        d.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            for i in 0..<raw.count { x ^= x << 13; x ^= x >> 7; x ^= x << 17; raw[i] = UInt8(truncatingIfNeeded: x) }
        }
        return d
    }()
    var md5: String { Insecure.MD5.hash(data: payload).map { String(format: "%02x", $0) }.joined() }
    var modelPath: String { "/pan_seg/models/\(entry.name).pth" }
    var md5Path: String { "/pan_seg/models/\(entry.name).md5" }
    var target: URL { home.appendingPathComponent("models/\(entry.name).pth") }
    var partial: URL { home.appendingPathComponent("models/\(entry.name).pth.incomplete") }

    override func setUpWithError() throws {
        server = try TestHTTPServer()
        home = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let builtIn = try Registry.builtIn()
        entry = builtIn.models[0]
        registryFile = home.deletingLastPathComponent().appendingPathComponent("registry-\(UUID().uuidString).json")
        try Self.registryJSON(builtIn, base: server.baseURL + "/pan_seg").write(to: registryFile)
        server.serve(modelPath, payload)
        server.serve(md5Path, Data("\(md5)  \(entry.name).pth\n".utf8))
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(at: home)
        try? FileManager.default.removeItem(at: registryFile)
    }

    // MARK: Tests

    func testFetchPrintsThePathAndInfoVerifyAndCacheSeeIt() throws {
        let r = try zoo(["fetch", entry.id])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, target.path + "\n")
        XCTAssertEqual(try Data(contentsOf: target), payload)
        XCTAssertTrue(r.stderr.contains("MD5 \(md5) verified"), r.stderr)
        XCTAssertTrue(r.stderr.contains("served by \(server.baseURL)\(modelPath)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("\r"), "no carriage returns when stderr is not a terminal")

        let info = try zoo(["info", entry.id, "--json"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let artifacts = try XCTUnwrap(object["artifacts"] as? [String: [String: Any]])
        XCTAssertEqual(artifacts["model"]?["path"] as? String, target.path)
        XCTAssertNil(artifacts["preds"]?["path"])

        let verify = try zoo(["verify", entry.id])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("ok        \(entry.id)  models/\(entry.name).pth  \(md5)"), verify.stdout)

        let list = try zoo(["cache", "list", "--json"])
        let items = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(items.count, 2)
        XCTAssertEqual(items.first { $0["artifact"] as? String == "model" }?["verified"] as? Bool, true)

        let path = try zoo(["cache", "path", entry.id])
        XCTAssertEqual(path.status, 0)
        XCTAssertEqual(path.stdout, target.path + "\n")

        // Corrupt the file: verify fails, then fetch replaces it.
        var bad = payload; bad[10] ^= 1
        try bad.write(to: target)
        let verify2 = try zoo(["verify"])
        XCTAssertNotEqual(verify2.status, 0)
        XCTAssertTrue(verify2.stdout.contains("MISMATCH"), verify2.stdout)
        XCTAssertEqual(try zoo(["fetch", entry.id, "--quiet"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: target), payload)

        let rm = try zoo(["cache", "rm", entry.id])
        XCTAssertEqual(rm.status, 0, rm.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        XCTAssertNotEqual(try zoo(["cache", "path", entry.id]).status, 0)
    }

    func testQuietPrintsNothingButThePath() throws {
        let r = try zoo(["fetch", entry.id, "--quiet"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, target.path + "\n")
    }

    func testKilledProcessIsResumedByTheNextRun() throws {
        server.setBehavior(modelPath, .init(bytesPerSecond: 1_500_000))
        let p = try start(["fetch", entry.id])
        XCTAssertTrue(waitUntil(10) { (self.size(of: self.partial) ?? 0) > 1_000_000 }, "the download never started")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let kept = try XCTUnwrap(size(of: partial))
        XCTAssertGreaterThan(kept, 1_000_000)
        XCTAssertLessThan(kept, Int64(payload.count))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))

        server.setBehavior(modelPath, .init())
        let r = try zoo(["fetch", entry.id])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: target), payload)
        XCTAssertTrue(r.stderr.contains("resuming a partial download"), r.stderr)
        let last = try XCTUnwrap(server.requests(for: modelPath).last)
        XCTAssertEqual(last.range, "bytes=\(kept)-")
        XCTAssertEqual(last.status, 206)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
    }

    func testTwoConcurrentProcessesShareOneDownload() throws {
        server.setBehavior(modelPath, .init(bytesPerSecond: 2_000_000))
        let a = try start(["fetch", entry.id])
        XCTAssertTrue(waitUntil(10) { self.size(of: self.partial) != nil }, "the first fetch never started")
        let b = try zoo(["fetch", entry.id])
        a.waitUntilExit()
        XCTAssertEqual(a.terminationStatus, 0)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stderr.contains("another zoo process is fetching it; waiting"), b.stderr)
        XCTAssertEqual(b.stdout, target.path + "\n")
        XCTAssertEqual(server.requests(for: modelPath).count, 1, "the second process must not download again")
        XCTAssertEqual(try Data(contentsOf: target), payload)
    }

    func testOfflineWithoutAndWithTheCache() throws {
        let missing = try zoo(["fetch", entry.id, "--offline"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("offline mode"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("zoo fetch \(entry.id)"), missing.stderr)
        let viaEnv = try zoo(["fetch", entry.id], env: ["ZOO_OFFLINE": "1"])
        XCTAssertNotEqual(viaEnv.status, 0)
        XCTAssertTrue(server.requests.isEmpty, "offline mode touched the network")

        XCTAssertEqual(try zoo(["fetch", entry.id, "--quiet"]).status, 0)
        let count = server.requests.count
        let cached = try zoo(["fetch", entry.id], env: ["ZOO_OFFLINE": "1"])
        XCTAssertEqual(cached.status, 0, cached.stderr)
        XCTAssertEqual(cached.stdout, target.path + "\n")
        XCTAssertEqual(server.requests.count, count)
    }

    func testWrongMD5FailsShowingBothHashesAndTheURL() throws {
        let wrong = "ffffffffffffffffffffffffffffffff"
        server.serve(md5Path, Data("\(wrong)\n".utf8))
        let r = try zoo(["fetch", entry.id])
        XCTAssertNotEqual(r.status, 0)
        for needle in [wrong, md5, server.baseURL + modelPath] {
            XCTAssertTrue(r.stderr.contains(needle), "missing \(needle) in: \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
    }

    func testMalformedMD5FileIsNamed() throws {
        server.serve(md5Path, Data("Not Found\n".utf8))
        let r = try zoo(["fetch", entry.id])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains(home.appendingPathComponent("models/\(entry.name).md5").path), r.stderr)
        XCTAssertTrue(r.stderr.contains("32-digit hex MD5"), r.stderr)
        XCTAssertTrue(server.requests(for: modelPath).isEmpty)
    }

    func testMirrorFlagAndEnvironmentComeFirst() throws {
        server.serve("/cli-mirror/models/\(entry.name).md5", Data(md5.utf8))
        server.serve("/cli-mirror/models/\(entry.name).pth", payload)
        let r = try zoo(["fetch", entry.id, "--mirror", server.baseURL + "/nowhere"],
                        env: ["ZOO_MIRROR": server.baseURL + "/cli-mirror"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(server.baseURL)/nowhere/models/\(entry.name).pth failed: HTTP 404"), r.stderr)
        XCTAssertTrue(r.stderr.contains("served by \(server.baseURL)/cli-mirror/models/\(entry.name).pth"), r.stderr)
        XCTAssertTrue(server.requests(for: modelPath).isEmpty)
    }

    func testProxyVariablesAreHonoured() throws {
        // The mirror is a closed loopback port; only the proxy (our server) can answer for it.
        let mirror = "http://127.0.0.2:9/pan_seg"
        server.serve("\(mirror)/models/\(entry.name).md5", Data(md5.utf8))
        server.serve("\(mirror)/models/\(entry.name).pth", payload)
        let r = try zoo(["fetch", entry.id, "--mirror", mirror], env: ["http_proxy": server.baseURL])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("served by \(mirror)/models/\(entry.name).pth"), r.stderr)
        XCTAssertEqual(server.requests(for: "\(mirror)/models/\(entry.name).pth").count, 1)
        XCTAssertEqual(try Data(contentsOf: target), payload)
    }

    func testWithFetchesTheOtherArtifactsAndPruneCleansPartials() throws {
        server.serve("/pan_seg/scores-val/\(entry.name).json", Data("{}".utf8))
        server.serve("/pan_seg/scores-test/\(entry.name).json", Data("{}".utf8))
        server.serve("/pan_seg/configs/\(entry.name).py", Data("x = 1\n".utf8))
        let r = try zoo(["fetch", entry.id, "--with", "scores,config", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 4)
        XCTAssertTrue(FileManager.default.fileExists(atPath: home.appendingPathComponent("configs/\(entry.name).py").path))

        try Data(count: 1234).write(to: home.appendingPathComponent("models/other.pth.incomplete"))
        let prune = try zoo(["cache", "prune"])
        XCTAssertEqual(prune.status, 0, prune.stderr)
        XCTAssertTrue(prune.stdout.contains("pruned 1 file(s), 1.2 kB"), prune.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: target.path))

        XCTAssertNotEqual(try zoo(["fetch", entry.id, "--with", "bogus"]).status, 0)
    }

    // MARK: Harness

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static var binary: URL? {
        var dirs = [Bundle.main.bundleURL]
        dirs += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for d in dirs {
            let z = d.appendingPathComponent("zoo")
            if FileManager.default.isExecutableFile(atPath: z.path) { return z }
        }
        return nil
    }

    func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for k in ["ZOO_MIRROR", "ZOO_OFFLINE", "ZOO_REGISTRY", "XDG_CACHE_HOME"] { env[k] = nil }
        env["ZOO_HOME"] = home.path
        env["no_proxy"] = "127.0.0.1"
        env["NO_PROXY"] = "127.0.0.1"
        for (k, v) in extra { env[k] = v }
        return env
    }

    func start(_ args: [String], env: [String: String] = [:], stdout: FileHandle? = nil, stderr: FileHandle? = nil) throws -> Process {
        let bin = try XCTUnwrap(Self.binary, "the zoo binary was not found beside the test bundle")
        let p = Process()
        p.executableURL = bin
        p.arguments = args + ["--registry", registryFile.path]
        p.environment = environment(env)
        p.standardOutput = stdout ?? FileHandle.nullDevice
        p.standardError = stderr ?? FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Runs zoo to completion; its output goes through temporary files (no pipe to drain).
    func zoo(_ args: [String], env: [String: String] = [:]) throws -> Result {
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("zoo-out-\(UUID().uuidString)")
        let errURL = dir.appendingPathComponent("zoo-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = try start(args, env: env, stdout: out, stderr: err)
        p.waitUntilExit()
        try out.close(); try err.close()
        return Result(status: p.terminationStatus,
                      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    func size(of url: URL) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.flatMap { $0 }?.int64Value
    }

    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }

    /// A registry file like the built-in one, with every artifact under `base` (the config too).
    static func registryJSON(_ r: Registry, base: String) throws -> Data {
        let testConfig = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r.testConfig))
        let models: [[String: Any]] = r.models.map { m in
            var artifacts: [String: String] = [:]
            for (k, v) in m.artifacts { artifacts[k.rawValue] = v }
            artifacts["config"] = "configs/\(m.name).py"
            var o: [String: Any] = ["id": m.id, "name": m.name, "backbone": m.backbone, "depth": m.depth,
                                    "schedule": m.schedule, "ms_train": m.msTrain, "pq_val": m.pqVal,
                                    "artifacts": artifacts]
            o["epochs"] = m.epochs ?? NSNull()
            o["pq_test"] = m.pqTest ?? NSNull()
            return o
        }
        let root: [String: Any] = ["schema_version": r.schemaVersion, "base_url": base, "mirrors": [String](),
                                   "classes": r.classes, "num_things": r.numThings, "num_stuff": r.numStuff,
                                   "test_config": testConfig, "models": models]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }
}
