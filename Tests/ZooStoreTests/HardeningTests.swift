import Foundation
import HTTPTestServer
import XCTest
import ZooRegistry
@testable import ZooStore

/// Size caps, URL schemes, messages and cache housekeeping against a misbehaving loopback server.
final class HardeningTests: StoreTestCase {
    private var md5Target: URL { root.appendingPathComponent("models/\(modelName).md5") }

    private func files(under dir: URL) -> [String] {
        CacheLayout(root: dir).allFiles()
    }

    private func assertNothingLeft(_ target: URL, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path), "final file exists", line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: CacheLayout.incompletePath(for: target).path),
                       ".incomplete left behind", line: line)
    }

    // MARK: Caps on small artifacts

    func testMD5WithHugeContentLengthIsRefusedBeforeWriting() throws {
        // Headers only, no body: the refusal comes from Content-Length alone.
        server.serve(md5Path, Data(), .init(announceLength: 10_000_000_000))
        let store = makeStore(retries: 0)
        XCTAssertThrowsError(try store.ensure(.md5, for: entry)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("announced 10.0 GB"), s)
            XCTAssertTrue(s.contains("65.5 kB limit for md5 artifacts"), s)
        }
        assertNothingLeft(md5Target)
    }

    func testMD5WithHugeContentLengthAndABodyIsRefused() throws {
        server.serve(md5Path, Data("\(md5)  x.pth\n".utf8), .init(announceLength: 10_000_000_000))
        XCTAssertThrowsError(try makeStore(retries: 0).ensure(.md5, for: entry)) { e in
            XCTAssertTrue("\(e)".contains("limit for md5 artifacts"), "\(e)")
        }
        assertNothingLeft(md5Target)
    }

    func testMD5WithEndlessBodyIsCutAtTheCap() throws {
        server.serve(md5Path, Data(), .init(endless: true))
        let store = makeStore(retries: 0)
        XCTAssertThrowsError(try store.ensure(.md5, for: entry)) { e in
            XCTAssertTrue("\(e)".contains("grew past the limit, more than the 65.5 kB limit for md5"), "\(e)")
        }
        assertNothingLeft(md5Target)
        // The model download that needs it did not start either.
        XCTAssertThrowsError(try store.ensure(.model, for: entry))
        XCTAssertTrue(server.requests(for: modelPath).isEmpty)
    }

    func testScoresAndConfigCapIsOneMiB() throws {
        let path = "/pan_seg/scores-val/\(modelName).json"
        server.serve(path, Data(), .init(endless: true))
        XCTAssertThrowsError(try makeStore(retries: 0).ensure(.scores_val, for: entry)) { e in
            XCTAssertTrue("\(e)".contains("1.0 MB limit for scores_val"), "\(e)")
        }
        // Exactly at the cap is accepted.
        server.serve(path, Data(count: 1 << 20))
        XCTAssertNoThrow(try makeStore(retries: 0).ensure(.scores_val, for: entry))
        XCTAssertEqual(ArtifactLimits.maxBytes(.md5), 64 << 10)
        XCTAssertEqual(ArtifactLimits.maxBytes(.config), 1 << 20)
        XCTAssertEqual(ArtifactLimits.maxBytes(.preds), 2 << 30)
        XCTAssertEqual(ArtifactLimits.maxBytes(.model), 4 << 30)
    }

    func testOversizedMirrorFallsBackToTheNextSource() throws {
        // The first mirror lies about the size; the registry's base URL serves the real file.
        let bad = "/bad/models/\(modelName).md5"
        server.serve(bad, Data(), .init(announceLength: 1 << 40))
        let store = makeStore(mirrors: [server.baseURL + "/bad"], retries: 0)
        XCTAssertEqual(try store.publishedMD5(for: entry), md5)
        XCTAssertTrue(events.contains { if case .sourceFailed = $0 { return true }; return false })
    }

    // MARK: URL schemes

    func testRedirectToFileIsRefused() throws {
        let secret = root.appendingPathComponent("secret.md5")
        try Data("\(md5)  x.pth\n".utf8).write(to: secret)
        server.serve(md5Path, Data(), .init(redirect: "file://" + secret.path))
        XCTAssertThrowsError(try makeStore(retries: 0).ensure(.md5, for: entry)) { e in
            guard case let StoreError.allSourcesFailed(_, attempts) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(attempts.count, 1)
            XCTAssertTrue(attempts[0].reason.lowercased().contains("protocol"), attempts[0].reason)
        }
        assertNothingLeft(md5Target)
    }

    // MARK: CA settings from the environment

    /// A store whose transfer settings come from `FetchOptions.resolve` with `environment`.
    private func makeStore(environment: [String: String]) throws -> Store {
        var o = try FetchOptions.resolve(mirrors: [], offline: false, environment: environment)
        o.retries = 0
        o.transfer.connectTimeout = 5
        let store = Store(registry: registry, layout: CacheLayout(root: root), options: o)
        store.sleep = { _ in }
        return store
    }

    func testMissingCABundleFromTheEnvironmentDoesNotStopPlainHTTP() throws {
        // curl's behaviour: CURL_CA_BUNDLE only matters for https.
        let missing = root.appendingPathComponent("no-such-ca.pem").path
        for key in ["CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"] {
            let o = try FetchOptions.resolve(mirrors: [], offline: false, environment: [key: missing])
            XCTAssertEqual(o.transfer.caProblem, .badCA(missing, folder: key == "SSL_CERT_DIR"), key)
        }
        let path = try makeStore(environment: ["CURL_CA_BUNDLE": missing]).ensure(.md5, for: entry)
        XCTAssertEqual(path, md5Target)
        XCTAssertEqual(fileData(md5Target), Data("\(md5)  \(modelName).pth\n".utf8))
    }

    func testAnHTTPSSourceWithAMissingCABundleFromTheEnvironmentFallsToTheNextSource() throws {
        // The https mirror fails on the CA setting; the http base URL serves.
        let missing = root.appendingPathComponent("no-such-ca.pem").path
        var o = try FetchOptions.resolve(mirrors: ["https://127.0.0.1:1/pan_seg"], offline: false,
                                         environment: ["CURL_CA_BUNDLE": missing])
        o.retries = 0
        o.transfer.connectTimeout = 5
        let store = Store(registry: registry, layout: CacheLayout(root: root), options: o) { [weak self] e in
            self?.events.append(e)
        }
        store.sleep = { _ in }
        XCTAssertEqual(try store.ensure(.md5, for: entry), md5Target)
        let failures = events.compactMap { e -> String? in
            if case let .sourceFailed(_, url, reason) = e, url.hasPrefix("https:") { return reason }
            return nil
        }
        XCTAssertEqual(failures, [StoreError.badCA(missing, folder: false).description])
    }

    func testMissingCABundleFromTheEnvironmentStopsARedirectToHTTPS() throws {
        // The http URL answers with a redirect to https: curl is handed the unreadable bundle and stops there.
        let missing = root.appendingPathComponent("no-such-ca.pem").path
        let port = server.baseURL.split(separator: ":").last.map(String.init) ?? "1"
        server.serve(md5Path, Data(), .init(redirect: "https://127.0.0.1:\(port)/elsewhere.md5"))
        XCTAssertThrowsError(try makeStore(environment: ["CURL_CA_BUNDLE": missing]).ensure(.md5, for: entry)) { e in
            XCTAssertTrue("\(e)".contains("CA certificates could not be read"), "\(e)")
            XCTAssertTrue("\(e)".contains("--cacert FILE"), "\(e)")
        }
        assertNothingLeft(md5Target)
    }

    func testRedirectToFTPIsRefused() throws {
        server.serve(md5Path, Data(), .init(redirect: "ftp://127.0.0.1:1/x.md5"))
        XCTAssertThrowsError(try makeStore(retries: 0).ensure(.md5, for: entry)) { e in
            XCTAssertTrue("\(e)".lowercased().contains("protocol"), "\(e)")
        }
        assertNothingLeft(md5Target)
    }

    func testFileURLArtifactIsNotFetchedEvenIfTheRegistryWasBuiltInMemory() throws {
        // The registry loader refuses file:// (RegistryTests); libcurl refuses it too, as a second line.
        let secret = root.appendingPathComponent("config-source.py")
        try Data("secret".utf8).write(to: secret)
        registry.models[0].artifacts[.config] = "file://" + secret.path
        let store = makeStore(retries: 0)
        XCTAssertThrowsError(try store.ensure(.config, for: entry))
        XCTAssertNil(layoutFiles().first { $0.hasSuffix(".py") })
    }

    private func layoutFiles() -> [String] { files(under: root).filter { !$0.hasPrefix("config-source") } }

    // MARK: Messages

    func testDownHostNoteOnlyWhenThatHostFailed() throws {
        server.serve(md5Path, Data(), .init(status: 404))
        XCTAssertThrowsError(try makeStore(retries: 0).ensure(.md5, for: entry)) { e in
            XCTAssertFalse("\(e)".contains("dl.cv.ethz.ch"), "\(e)")
            XCTAssertTrue("\(e)".contains("--mirror URL"), "\(e)")
        }
        let e = StoreError.allSourcesFailed(artifact: "models/x.md5", attempts: [
            .init(url: "https://mirror.example/x.md5", reason: "HTTP 404"),
            .init(url: "https://dl.cv.ethz.ch/bdd100k/pan_seg/models/x.md5", reason: "Could not connect"),
        ])
        XCTAssertTrue("\(e)".contains("the host dl.cv.ethz.ch has been down"), "\(e)")
    }

    func testRefusedDownloadLeavesNoEmptyPartialFile() throws {
        let store = makeStore(retries: 0)
        _ = try store.ensure(.md5, for: entry)
        store.freeSpace = { _ in 1000 }
        XCTAssertThrowsError(try store.ensure(.model, for: entry)) { e in
            guard case StoreError.insufficientSpace = e else { return XCTFail("\(e)") }
        }
        assertNothingLeft(target)
    }

    // MARK: Prune

    func testPruneCreatesNoLockFilesAndRemovesStrayTemporaries() throws {
        let models = root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        let strayRecord = models.appendingPathComponent("gone.pth" + CacheLayout.recordSuffix)
        let strayPartial = models.appendingPathComponent("half.pth" + CacheLayout.incompleteSuffix)
        // A pid above any pid_max: its writer is gone.
        let strayTmp = models.appendingPathComponent(".tmp-2147483646-77-x.safetensors")
        let liveTmp = models.appendingPathComponent(".tmp-\(getpid())-1-y.safetensors")
        for f in [strayRecord, strayPartial, strayTmp, liveTmp] { try Data("x".utf8).write(to: f) }
        let store = makeStore()
        let result = try store.prune()
        XCTAssertEqual(Set(result.removed.map(\.lastPathComponent)),
                       [strayRecord.lastPathComponent, strayPartial.lastPathComponent, strayTmp.lastPathComponent])
        XCTAssertTrue(FileManager.default.fileExists(atPath: liveTmp.path), "a running writer's file was removed")
        XCTAssertEqual(files(under: root).filter { $0.hasSuffix(CacheLayout.lockSuffix) }, [], "prune created lock files")
    }

    func testPruneKeepsAPartialWhoseLockIsHeld() throws {
        let models = root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        let t = models.appendingPathComponent("busy.pth")
        try Data("x".utf8).write(to: CacheLayout.incompletePath(for: t))
        let lock = try FileLock.acquire(CacheLayout.lockPath(for: t)) {}
        defer { lock.release() }
        // flock locks are per open file description: a second open in this process conflicts too.
        XCTAssertEqual(try makeStore().prune().removed, [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: CacheLayout.incompletePath(for: t).path))
    }
}
