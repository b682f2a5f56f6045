import Foundation
import ZooRegistry

/// One artifact as the cache holds it, for `zoo cache list` and `zoo verify`.
public struct CachedArtifact: Sendable {
    public var id: String
    public var kind: ArtifactKind
    public var path: URL
    /// Size of the final file; nil when only a partial download exists.
    public var size: Int64?
    /// The record written after verification, if it still matches the file.
    public var record: VerificationRecord?
    /// Bytes of a partial download beside it, if any.
    public var partialBytes: Int64?
    /// Whether a process is fetching it now (its lock is held).
    public var inProgress: Bool
}

/// The outcome of re-hashing one cached artifact.
public struct VerifyOutcome: Sendable {
    public var id: String
    public var kind: ArtifactKind
    public var path: URL
    public var actual: String
    /// The published MD5 (for the model) or the recorded one; nil when there is nothing to compare.
    public var expected: String?
    public var ok: Bool { expected.map { $0 == actual } ?? true }
}

extension Store {
    /// Every artifact of the registry's models that has a final file or a partial download.
    public func inventory(_ entries: [ModelEntry]? = nil) -> [CachedArtifact] {
        var out: [CachedArtifact] = []
        for entry in entries ?? registry.models {
            for kind in ArtifactKind.allCases {
                guard let target = layout.path(of: kind, for: entry) else { continue }
                let st = FileStat(target)
                let partial = FileStat(CacheLayout.incompletePath(for: target))
                guard st != nil || partial != nil else { continue }
                let rec = VerificationRecord.load(for: target).flatMap { $0.matches(fileAt: target) ? $0 : nil }
                out.append(CachedArtifact(id: entry.id, kind: kind, path: target, size: st?.size,
                                          record: st == nil ? nil : rec, partialBytes: partial?.size,
                                          inProgress: FileLock.isHeld(CacheLayout.lockPath(for: target))))
            }
        }
        return out
    }

    /// Re-hashes the cached artifacts of a model (all kinds present) and compares them with the
    /// published MD5 (the model) or their record. A mismatch drops the record, so the next
    /// `ensure` re-checks and re-downloads; a match refreshes it.
    public func verify(_ entry: ModelEntry) throws -> [VerifyOutcome] {
        var out: [VerifyOutcome] = []
        for kind in ArtifactKind.allCases {
            guard let target = layout.path(of: kind, for: entry), FileStat(target) != nil else { continue }
            let rec = VerificationRecord.load(for: target)
            var expected = rec?.md5
            if kind == .model, let md5File = layout.path(of: .md5, for: entry), FileStat(md5File) != nil {
                expected = try readChecksumFile(md5File, source: VerificationRecord.load(for: md5File)?.source)
            }
            let actual = try Checksum.md5(of: target)
            let outcome = VerifyOutcome(id: entry.id, kind: kind, path: target, actual: actual, expected: expected)
            if outcome.ok {
                try record(target, md5: actual, source: rec?.source ?? "file found in cache")
            } else {
                unlink(CacheLayout.recordPath(for: target).path)
            }
            out.append(outcome)
        }
        return out
    }

    /// Deletes everything cached for a model: artifacts, records, partial downloads and the converted
    /// `.safetensors`. Refuses while another process is fetching one of them. Lock files stay: deleting
    /// one while another process opens it would let two processes hold "the" lock at once.
    /// Returns the removed paths.
    @discardableResult
    public func remove(_ entry: ModelEntry) throws -> [URL] {
        var targets = ArtifactKind.allCases.compactMap { layout.path(of: $0, for: entry) }
        if let st = layout.safetensorsPath(for: entry) { targets.append(st) }
        var removed: [URL] = []
        for t in targets {
            let paths = [t, CacheLayout.recordPath(for: t), CacheLayout.incompletePath(for: t)]
                .filter { FileManager.default.fileExists(atPath: $0.path) }
            guard !paths.isEmpty else { continue }
            guard let lock = FileLock.tryAcquire(CacheLayout.lockPath(for: t)) else {
                throw StoreError.fileSystem(path: t.path, operation: "remove",
                                            reason: "another zoo process is downloading it; try again when it has finished")
            }
            defer { lock.release() }
            for p in paths {
                guard unlink(p.path) == 0 else {
                    throw StoreError.fileSystem(path: p.path, operation: "remove", reason: errnoString())
                }
                removed.append(p)
            }
        }
        return removed
    }

    /// Whether a `.tmp-<pid>-...` name belongs to a process that is alive now.
    static func isLiveWriter(_ name: String) -> Bool {
        let digits = name.dropFirst(".tmp-".count).prefix { $0.isNumber }
        guard let pid = Int32(digits), pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Removes leftovers: partial downloads, temporary files and records whose file is gone. Files in
    /// use by a running fetch are kept (the target's lock is taken first); lock files stay (see `remove`).
    /// Returns the removed paths and bytes.
    public func prune() throws -> (removed: [URL], bytes: Int64) {
        var removed: [URL] = []
        var bytes: Int64 = 0
        for rel in layout.allFiles() {
            let url = layout.root.appendingPathComponent(rel)
            let name = url.lastPathComponent
            let target: URL
            if name.hasSuffix(CacheLayout.incompleteSuffix) {
                target = URL(fileURLWithPath: String(url.path.dropLast(CacheLayout.incompleteSuffix.count)))
            } else if name.hasSuffix(CacheLayout.recordSuffix) {
                target = URL(fileURLWithPath: String(url.path.dropLast(CacheLayout.recordSuffix.count)))
                if FileStat(target) != nil { continue }
            } else if name.hasPrefix(".tmp-") {
                target = url
            } else {
                continue
            }
            var lock: FileLock?
            if name.hasPrefix(".tmp-") {
                // `.tmp-<pid>-...` (AtomicFile): stray unless that process is still running.
                if Self.isLiveWriter(name) { continue }
            } else {
                // Never create a lock file here: no lock file means no fetch has it open.
                switch FileLock.tryAcquireExisting(CacheLayout.lockPath(for: target)) {
                case let .acquired(l): lock = l
                case .absent: break
                case .busy: continue
                }
            }
            defer { lock?.release() }
            let size = FileStat(url)?.size ?? 0
            guard unlink(url.path) == 0 else {
                throw StoreError.fileSystem(path: url.path, operation: "remove", reason: errnoString())
            }
            removed.append(url)
            bytes += size
        }
        return (removed, bytes)
    }
}
