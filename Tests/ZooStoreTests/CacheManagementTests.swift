import Foundation
import XCTest
import ZooRegistry
import ZooStore

final class CacheManagementTests: StoreTestCase {
    func testASecondFetcherWaitsForTheLockThenFindsTheVerifiedFile() throws {
        let lockPath = CacheLayout.lockPath(for: target)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = try makeStore().ensure(.md5, for: entry)
        // Another "process" holds the lock and finishes the download once we are waiting for it.
        let held = try FileLock.acquire(lockPath) { XCTFail("the lock was free") }
        let waiting = DispatchSemaphore(value: 0)
        let payload = self.payload, target = self.target, md5 = self.md5
        let finisher = Thread {
            _ = waiting.wait(timeout: .now() + 20)
            try? payload.write(to: target)
            if let attrs = try? FileManager.default.attributesOfItem(atPath: target.path),
               let size = (attrs[.size] as? NSNumber)?.int64Value,
               let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 {
                try? VerificationRecord(size: size, md5: md5, source: "other process", mtime: mtime).save(for: target)
            }
            held.release()
        }
        finisher.start()
        let store = makeStore()
        store.onEvent = { [weak self] e in
            self?.events.append(e)
            if case .waitingForLock = e { waiting.signal() }
        }
        XCTAssertEqual(try store.ensure(.model, for: entry), target)
        XCTAssertTrue(events.contains { if case .waitingForLock = $0 { return true }; return false })
        XCTAssertTrue(server.requests(for: modelPath).isEmpty, "the waiter must not download again")
        XCTAssertEqual(VerificationRecord.load(for: target)?.source, "other process")
    }

    func testVerifyFindsACorruptedFileAndTheNextFetchReplacesIt() throws {
        let store = makeStore()
        _ = try store.ensure(.model, for: entry)
        XCTAssertTrue(try store.verify(entry).allSatisfy(\.ok))
        var bad = payload; bad[100] ^= 1
        try bad.write(to: target)
        let outcomes = try store.verify(entry)
        let model = try XCTUnwrap(outcomes.first { $0.kind == .model })
        XCTAssertFalse(model.ok)
        XCTAssertEqual(model.expected, md5)
        XCTAssertNil(VerificationRecord.load(for: target))
        XCTAssertEqual(fileData(try makeStore().ensure(.model, for: entry)), payload)
        XCTAssertEqual(server.requests(for: modelPath).count, 2)
    }

    func testInventoryRemoveAndPrune() throws {
        let store = makeStore()
        _ = try store.ensure(.model, for: entry)
        let other = registry.models[1]
        let otherTarget = try XCTUnwrap(store.layout.path(of: .model, for: other))
        try Data(count: 1000).write(to: CacheLayout.incompletePath(for: otherTarget))
        // A pid above any pid_max: the writer of this temporary file is gone (a live writer's file stays).
        try Data(count: 10).write(to: root.appendingPathComponent("models/.tmp-2147483646-2-x"))

        let items = store.inventory()
        XCTAssertEqual(items.filter { $0.id == entry.id }.map(\.kind), [.model, .md5])
        XCTAssertTrue(items.filter { $0.id == entry.id }.allSatisfy { $0.record != nil })
        XCTAssertEqual(items.first { $0.id == other.id }?.partialBytes, 1000)

        let pruned = try store.prune()
        XCTAssertEqual(Set(pruned.removed.map(\.lastPathComponent)), [otherTarget.lastPathComponent + ".incomplete", ".tmp-2147483646-2-x"])
        XCTAssertEqual(pruned.bytes, 1010)
        XCTAssertTrue(FileManager.default.fileExists(atPath: target.path), "prune keeps verified files")

        let removed = try store.remove(entry)
        XCTAssertTrue(removed.contains(target))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: CacheLayout.recordPath(for: target).path))
        XCTAssertTrue(store.inventory().isEmpty)
    }

    func testRemoveRefusesWhileAFetchHoldsTheLock() throws {
        let store = makeStore()
        _ = try store.ensure(.model, for: entry)
        let held = try FileLock.acquire(CacheLayout.lockPath(for: target)) {}
        defer { held.release() }
        XCTAssertThrowsError(try store.remove(entry))
        XCTAssertTrue(FileManager.default.fileExists(atPath: target.path))
    }
}
