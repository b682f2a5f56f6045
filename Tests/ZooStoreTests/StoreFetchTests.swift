import Crypto
import Foundation
import HTTPTestServer
import XCTest
import ZooRegistry
import ZooStore

/// Downloads against a real HTTP server on 127.0.0.1 with injected faults.
final class StoreFetchTests: StoreTestCase {
    func testSuccessWritesVerifiedFileAndRecord() throws {
        let store = makeStore()
        let path = try store.ensure(.model, for: entry)
        XCTAssertEqual(path, target)
        XCTAssertEqual(fileData(path), payload)
        XCTAssertFalse(FileManager.default.fileExists(atPath: CacheLayout.incompletePath(for: target).path))
        let rec = try XCTUnwrap(VerificationRecord.load(for: target))
        XCTAssertEqual(rec.md5, md5)
        XCTAssertEqual(rec.size, Int64(payload.count))
        XCTAssertEqual(rec.source, server.baseURL + modelPath)
        XCTAssertTrue(rec.matches(fileAt: target))
        XCTAssertNotNil(VerificationRecord.load(for: root.appendingPathComponent("models/\(modelName).md5")))
        XCTAssertTrue(events.contains { if case .verified(_, _, let m, true) = $0 { return m == md5 }; return false })

        // A second call trusts the record: no request at all.
        let before = server.requests.count
        XCTAssertEqual(try makeStore().ensure(.model, for: entry), target)
        XCTAssertEqual(server.requests.count, before)
    }

    func testConnectionDroppedMidBodyIsResumedInTheSameRun() throws {
        server.setBehavior(modelPath, .init(dropAfterBytes: 1_000_000, dropTimes: 2))
        let path = try makeStore().ensure(.model, for: entry)
        XCTAssertEqual(fileData(path), payload)
        let ranges = server.requests(for: modelPath).map(\.range)
        XCTAssertEqual(ranges, [nil, "bytes=1000000-", "bytes=2000000-"])
        XCTAssertEqual(server.requests(for: modelPath).map(\.status), [200, 206, 206])
        XCTAssertEqual(retryCount, 2)
    }

    func testServerErrorThenSuccessIsRetried() throws {
        server.setBehavior(modelPath, .init(failFirst: 2, failStatus: 500))
        XCTAssertEqual(fileData(try makeStore().ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: modelPath).map(\.status), [500, 500, 200])
        XCTAssertEqual(retryCount, 2)
    }

    func testTooManyRequestsIsRetriedButBounded() throws {
        server.setBehavior(modelPath, .init(status: 429))
        XCTAssertThrowsError(try makeStore(retries: 2).ensure(.model, for: entry)) { e in
            guard case let .allSourcesFailed(_, attempts)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(attempts.count, 1)
            XCTAssertTrue(attempts[0].reason.contains("HTTP 429"), attempts[0].reason)
        }
        XCTAssertEqual(server.requests(for: modelPath).count, 3) // one try and two retries
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
    }

    func testNotFoundOnFirstMirrorThenSecondServes() throws {
        let store = makeStore(mirrors: [server.baseURL + "/missing", server.baseURL + "/pan_seg"])
        XCTAssertEqual(fileData(try store.ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: "/missing/models/\(modelName).pth").map(\.status), [404])
        XCTAssertEqual(VerificationRecord.load(for: target)?.source, server.baseURL + modelPath)
        XCTAssertTrue(events.contains { if case let .sourceFailed(_, url, reason) = $0 {
            return url.contains("/missing/") && reason == "HTTP 404" }; return false })
    }

    func testRefusedConnectionGoesToTheNextMirror() throws {
        let closed = try TestHTTPServer()
        let dead = closed.baseURL
        closed.stop()
        let store = makeStore(mirrors: [dead + "/pan_seg"])
        XCTAssertEqual(fileData(try store.ensure(.model, for: entry)), payload)
        XCTAssertEqual(retryCount, 0)
        XCTAssertTrue(events.contains { if case let .sourceFailed(_, url, _) = $0 { return url.hasPrefix(dead) }; return false })
    }

    func testEverySourceFailingListsThemAll() throws {
        let store = makeStore(mirrors: [server.baseURL + "/a"])
        server.setBehavior(modelPath, .init(status: 404))
        XCTAssertThrowsError(try store.ensure(.model, for: entry)) { e in
            guard case let .allSourcesFailed(artifact, attempts)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(artifact, "models/\(modelName).pth")
            XCTAssertEqual(attempts.map(\.url), [server.baseURL + "/a/models/\(modelName).pth", server.baseURL + modelPath])
            XCTAssertTrue("\(e)".contains("--mirror"))
        }
    }

    func testPartialFromAnEarlierRunIsResumedWithRange() throws {
        try writePartial(payload.prefix(1_234_567))
        XCTAssertEqual(fileData(try makeStore().ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: modelPath).map(\.range), ["bytes=1234567-"])
        XCTAssertEqual(server.requests(for: modelPath).map(\.status), [206])
        XCTAssertTrue(events.contains { if case .resuming(_, 1_234_567) = $0 { return true }; return false })
    }

    func testServerIgnoringRangeRestartsFromZero() throws {
        try writePartial(Data(repeating: 0xAB, count: 500_000)) // wrong bytes: only a restart can fix them
        server.setBehavior(modelPath, .init(ignoreRange: true))
        XCTAssertEqual(fileData(try makeStore().ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: modelPath).map(\.range), ["bytes=500000-"])
        XCTAssertEqual(server.requests(for: modelPath).map(\.status), [200])
        XCTAssertEqual(restartCount, 1)
    }

    func testRangeNotSatisfiableRestartsFromZero() throws {
        try writePartial(Data(repeating: 1, count: payload.count + 10))
        XCTAssertEqual(fileData(try makeStore().ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: modelPath).map(\.status), [416, 200])
        XCTAssertEqual(server.requests(for: modelPath).map(\.range), ["bytes=\(payload.count + 10)-", nil])
    }

    func testWrongMD5DeletesTheDownloadAndTheNextRunStartsClean() throws {
        let wrong = String(repeating: "0", count: 32)
        server.serve(md5Path, Data(wrong.utf8))
        XCTAssertThrowsError(try makeStore().ensure(.model, for: entry)) { e in
            XCTAssertEqual(e as? StoreError, .checksumMismatch(file: target.path, url: server.baseURL + modelPath,
                                                                expected: wrong, actual: md5))
            let text = "\(e)"
            XCTAssertTrue(text.contains(wrong) && text.contains(md5) && text.contains(server.baseURL + modelPath), text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: CacheLayout.incompletePath(for: target).path))
        // The mirror fixes its .md5: the next run fetches both afresh, from byte 0.
        server.serve(md5Path, Data(md5.utf8))
        XCTAssertEqual(fileData(try makeStore().ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: modelPath).map(\.range), [nil, nil])
    }

    func testMalformedMD5FileIsAnErrorNamingTheFile() throws {
        server.serve(md5Path, Data("<html>mirror error page</html>".utf8))
        XCTAssertThrowsError(try makeStore().ensure(.model, for: entry)) { e in
            guard case let .malformedChecksumFile(file, url, content)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(file, root.appendingPathComponent("models/\(modelName).md5").path)
            XCTAssertEqual(url, server.baseURL + md5Path)
            XCTAssertTrue(content.hasPrefix("<html>"))
            XCTAssertTrue("\(e)".contains(file))
        }
        XCTAssertTrue(server.requests(for: modelPath).isEmpty, "the model must not be downloaded without a hash")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("models/\(modelName).md5").path))
    }

    func testOfflineNeverTouchesTheNetwork() throws {
        XCTAssertThrowsError(try makeStore(offline: true).ensure(.model, for: entry)) { e in
            guard case .offlineMissing? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("zoo fetch \(entry.id)"))
        }
        XCTAssertTrue(server.requests.isEmpty)
        _ = try makeStore().ensure(.model, for: entry)
        let count = server.requests.count
        XCTAssertEqual(try makeStore(offline: true).ensure(.model, for: entry), target)
        XCTAssertEqual(server.requests.count, count)
    }

    func testOfflineAdoptsAFileCopiedInByHand() throws {
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try payload.write(to: target)
        try Data("\(md5)\n".utf8).write(to: root.appendingPathComponent("models/\(modelName).md5"))
        XCTAssertEqual(try makeStore(offline: true).ensure(.model, for: entry), target)
        XCTAssertEqual(VerificationRecord.load(for: target)?.md5, md5)
        XCTAssertTrue(server.requests.isEmpty)
        // A corrupt copy is refused.
        var bad = payload; bad[0] ^= 0xFF
        try bad.write(to: target)
        XCTAssertThrowsError(try makeStore(offline: true).ensure(.model, for: entry)) { e in
            guard case .corruptCache? = e as? StoreError else { return XCTFail("\(e)") }
        }
    }

    func testTooLittleDiskSpaceRefusesTheDownload() throws {
        let store = makeStore()
        _ = try store.ensure(.md5, for: entry)
        store.freeSpace = { _ in 2_000_000 }
        XCTAssertThrowsError(try store.ensure(.model, for: entry)) { e in
            guard case let .insufficientSpace(_, needed, available)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(needed, Int64(payload.count))
            XCTAssertEqual(available, 2_000_000)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
    }

    func testTooSlowSourceTimesOutAndTheNextOneServes() throws {
        let slow = server.baseURL + "/slow"
        server.serve("/slow/models/\(modelName).pth", payload, .init(bytesPerSecond: 20_000))
        let store = makeStore(mirrors: [slow], retries: 1)
        store.options.transfer.lowSpeedLimit = 200_000
        store.options.transfer.lowSpeedTime = 1
        XCTAssertEqual(fileData(try store.ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: "/slow/models/\(modelName).pth").count, 2)
        XCTAssertEqual(VerificationRecord.load(for: target)?.source, server.baseURL + modelPath)
    }

    func testASourceThatNeverAnswersIsLeftWithoutRetries() throws {
        server.serve("/hang/models/\(modelName).pth", payload, .init(stallSeconds: 3))
        let store = makeStore(mirrors: [server.baseURL + "/hang"], retries: 3)
        store.options.transfer.lowSpeedTime = 1
        XCTAssertEqual(fileData(try store.ensure(.model, for: entry)), payload)
        XCTAssertEqual(retryCount, 0)
        XCTAssertTrue(events.contains { if case let .sourceFailed(_, url, _) = $0 { return url.contains("/hang/") }; return false })
    }

    func testRedirectsAreFollowed() throws {
        server.serve("/moved/models/\(modelName).pth", payload)
        server.setBehavior(modelPath, .init(redirect: server.baseURL + "/moved/models/\(modelName).pth"))
        XCTAssertEqual(fileData(try makeStore().ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: modelPath).map(\.status), [302])
        XCTAssertEqual(server.requests(for: "/moved/models/\(modelName).pth").map(\.status), [200])
    }

    func testAbsoluteConfigURLAndOtherArtifacts() throws {
        let config = Data("model = dict(type='PanopticFPN')\n".utf8)
        server.serve("/github/configs/\(modelName).py", config)
        let scores = Data("{\"PQ\": 21.5}".utf8)
        server.serve("/pan_seg/scores-val/\(modelName).json", scores)
        let store = makeStore(mirrors: [server.baseURL + "/nothing-here"])
        let c = try store.ensure(.config, for: entry)
        XCTAssertEqual(c, root.appendingPathComponent("configs/\(modelName).py"))
        XCTAssertEqual(fileData(c), config)
        XCTAssertTrue(server.requests.filter { $0.path.hasPrefix("/nothing-here") }.isEmpty, "mirrors apply to relative paths only")
        XCTAssertEqual(fileData(try store.ensure(.scores_val, for: entry)), scores)
        XCTAssertEqual(VerificationRecord.load(for: c)?.md5, Checksum.hex(Insecure.MD5.hash(data: config)))
    }

    func writePartial(_ data: Data) throws {
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: CacheLayout.incompletePath(for: target))
    }
}
