import CCurl
import Crypto
import Foundation
import ZooFiles
import ZooRegistry

/// The zoo's download cache: fetches artifacts from mirrors with libcurl, verifies them by MD5 while
/// streaming, resumes partial downloads, and serialises concurrent processes with a lock file.
///
/// Other commands call `ensure(_:for:)` to get the path of a verified artifact:
/// ```swift
/// let store = Store(registry: registry, options: try FetchOptions.resolve(mirrors: [], offline: false))
/// let pth = try store.ensure(.model, for: entry)   // fetched if missing, MD5-checked
/// ```
public final class Store {
    public let registry: Registry
    public let layout: CacheLayout
    public var options: FetchOptions
    /// Receives progress and status events (see `ProgressPrinter`).
    public var onEvent: (StoreEvent) -> Void

    /// Free bytes on the file system holding a folder (replaceable, e.g. by tests).
    public var freeSpace: (URL) -> Int64? = Store.availableBytes
    /// Waits between retries (replaceable, e.g. by tests).
    public var sleep: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }

    public init(registry: Registry, layout: CacheLayout = CacheLayout(), options: FetchOptions = FetchOptions(),
                onEvent: @escaping (StoreEvent) -> Void = { _ in }) {
        self.registry = registry; self.layout = layout; self.options = options; self.onEvent = onEvent
    }

    // MARK: Sources

    /// The URLs an artifact is fetched from, in order: `--mirror`/`ZOO_MIRROR` bases, the registry's
    /// mirrors, then its `base_url`. An artifact stored as an absolute URL (the config) has only that one.
    public func sources(of kind: ArtifactKind, for entry: ModelEntry) -> [String] {
        guard registry.isRelative(kind, for: entry) else {
            return registry.url(of: kind, for: entry).map { [$0] } ?? []
        }
        var seen = Set<String>()
        var out: [String] = []
        for base in options.mirrors + registry.mirrors + [registry.baseURL] {
            guard let url = registry.url(of: kind, for: entry, base: base), seen.insert(url).inserted else { continue }
            out.append(url)
        }
        return out
    }

    // MARK: Ensure

    /// The path of the artifact, fetched and verified if it is not cached yet. For `.model` the
    /// `.md5` is fetched first and the download must match it. Throws `StoreError`.
    @discardableResult
    public func ensure(_ kind: ArtifactKind, for entry: ModelEntry) throws -> URL {
        guard let target = layout.path(of: kind, for: entry),
              let label = layout.relativePath(of: kind, for: entry) else {
            throw StoreError.noArtifact(id: entry.id, kind: kind)
        }
        var expected: String?
        if kind == .model {
            expected = try publishedMD5(for: entry)
        }
        if let path = trustedCopy(target, expected: expected) {
            onEvent(.alreadyCached(artifact: label, path: path))
            return path
        }
        if options.offline {
            guard FileManager.default.fileExists(atPath: target.path) else {
                throw StoreError.offlineMissing(artifact: label, id: entry.id, path: target.path)
            }
            // Present but never recorded (copied in by hand): hash it here, without the network.
            try adoptExisting(target, expected: expected, kind: kind, label: label)
            return target
        }
        let dir = target.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw StoreError.fileSystem(path: dir.path, operation: "create the folder", reason: error.localizedDescription)
        }
        let lock = try FileLock.acquire(CacheLayout.lockPath(for: target)) {
            onEvent(.waitingForLock(artifact: label, lock: CacheLayout.lockPath(for: target)))
        }
        defer { lock.release() }
        // Another process may have finished it while we waited.
        if let path = trustedCopy(target, expected: expected) {
            onEvent(.alreadyCached(artifact: label, path: path))
            return path
        }
        if FileManager.default.fileExists(atPath: target.path) {
            if (try? adoptExisting(target, expected: expected, kind: kind, label: label)) != nil { return target }
            removeArtifact(target)
        }
        do {
            try download(kind, label: label, to: target, expected: expected, sources: sources(of: kind, for: entry))
        } catch let e as StoreError {
            // The published hash may be the stale part (an outdated mirror): fetch it afresh next time too.
            if case .checksumMismatch = e, kind == .model, let md5 = layout.path(of: .md5, for: entry) {
                removeArtifact(md5)
            }
            throw e
        }
        return target
    }

    /// The MD5 stated by the model's `.md5` file (fetched if needed).
    public func publishedMD5(for entry: ModelEntry) throws -> String {
        let file = try ensure(.md5, for: entry)
        return try readChecksumFile(file, source: VerificationRecord.load(for: file)?.source)
    }

    /// A cached file whose record still matches it (and the expected MD5, if any).
    func trustedCopy(_ target: URL, expected: String?) -> URL? {
        guard let rec = VerificationRecord.load(for: target), rec.matches(fileAt: target),
              expected.map({ $0 == rec.md5 }) ?? true else { return nil }
        return target
    }

    /// Hashes a file found at the final path without a valid record, and records it if it checks out.
    func adoptExisting(_ target: URL, expected: String?, kind: ArtifactKind, label: String) throws {
        let actual = try Checksum.md5(of: target)
        if let expected, actual != expected {
            throw StoreError.corruptCache(file: target.path, expected: expected, actual: actual)
        }
        if kind == .md5 { _ = try readChecksumFile(target, source: nil) }
        try record(target, md5: actual, source: VerificationRecord.load(for: target)?.source ?? "file found in cache")
        onEvent(.verified(artifact: label, path: target, md5: actual, checked: expected != nil))
    }

    func readChecksumFile(_ file: URL, source: String?) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw StoreError.fileSystem(path: file.path, operation: "read", reason: error.localizedDescription)
        }
        guard let md5 = Checksum.parseMD5File(data) else {
            removeArtifact(file)
            throw StoreError.malformedChecksumFile(file: file.path, url: source,
                                                   content: String(decoding: data.prefix(64), as: UTF8.self))
        }
        return md5
    }

    func record(_ target: URL, md5: String, source: String) throws {
        guard let st = FileStat(target) else {
            throw StoreError.fileSystem(path: target.path, operation: "stat", reason: "the file vanished")
        }
        try VerificationRecord(size: st.size, md5: md5, source: source, mtime: st.mtime).save(for: target)
    }

    /// Deletes a final file and its record.
    func removeArtifact(_ target: URL) {
        unlink(target.path)
        unlink(CacheLayout.recordPath(for: target).path)
    }

    // MARK: Download

    private func download(_ kind: ArtifactKind, label: String, to target: URL, expected: String?,
                          sources: [String]) throws {
        let partial = CacheLayout.incompletePath(for: target)
        var hasher = Insecure.MD5()
        var have: Int64 = 0
        if FileManager.default.fileExists(atPath: partial.path) {
            // Left by an earlier (killed) run: hash what is there once, then ask only for the rest.
            have = try Checksum.feed(&hasher, file: partial)
            if have > 0 { onEvent(.resuming(artifact: label, bytes: have)) }
        }
        let fd = open(partial.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError.fileSystem(path: partial.path, operation: "create", reason: errnoString())
        }
        var fdOpen = true
        defer { if fdOpen { close(fd) } }
        guard ftruncate(fd, off_t(have)) == 0, lseek(fd, off_t(have), SEEK_SET) == off_t(have) else {
            throw StoreError.fileSystem(path: partial.path, operation: "seek in", reason: errnoString())
        }
        let ctx = TransferContext(fd: fd, path: partial.path, hasher: PipelinedMD5(hasher), written: have)
        defer { ctx.hasher.close() }
        ctx.maxBytes = ArtifactLimits.maxBytes(kind)
        // A refused download (no space, write error, ...) leaves no empty partial file behind.
        var completed = false
        defer { if !completed, ctx.written == 0 { unlink(partial.path) } }
        let dir = target.deletingLastPathComponent()
        ctx.checkSpace = { [freeSpace] needed in
            guard let free = freeSpace(dir) else { return nil }
            let margin = max(needed / 100, 8 << 20)
            return free < needed + margin ? .insufficientSpace(path: target.path, needed: needed, available: free) : nil
        }
        ctx.progress = { [onEvent] bytes, total in onEvent(.progress(artifact: label, bytes: bytes, total: total)) }

        var attempts: [StoreError.Attempt] = []
        var served: String?
        for url in sources {
            if let err = try fetch(url, label: label, kind: kind, ctx: ctx) {
                attempts.append(.init(url: url, reason: err))
                onEvent(.sourceFailed(artifact: label, url: url, reason: err))
                continue
            }
            served = url
            break
        }
        guard let url = served else {
            // Keep a partial download for the next run to resume, but not an empty file.
            if ctx.written == 0 { unlink(partial.path) }
            throw StoreError.allSourcesFailed(artifact: label, attempts: attempts)
        }
        guard fsync(fd) == 0 else {
            throw StoreError.fileSystem(path: partial.path, operation: "fsync", reason: errnoString())
        }
        close(fd); fdOpen = false
        let actual = ctx.hasher.finalize()
        if let expected, actual != expected {
            unlink(partial.path)
            throw StoreError.checksumMismatch(file: target.path, url: url, expected: expected, actual: actual)
        }
        if kind == .md5 {
            let data = (try? Data(contentsOf: partial)) ?? Data()
            guard Checksum.parseMD5File(data) != nil else {
                unlink(partial.path)
                throw StoreError.malformedChecksumFile(file: target.path, url: url,
                                                       content: String(decoding: data.prefix(64), as: UTF8.self))
            }
        }
        try AtomicFile.rename(partial, to: target)
        completed = true
        try record(target, md5: actual, source: url)
        onEvent(.verified(artifact: label, path: target, md5: actual, checked: expected != nil))
    }

    /// Downloads from one source with retries. Returns nil on success, else why this source failed.
    private func fetch(_ url: String, label: String, kind: ArtifactKind, ctx: TransferContext) throws -> String? {
        var failures = 0
        var restartedAfter416 = false
        while true {
            let start = ctx.written
            ctx.beginRequest()
            onEvent(.started(artifact: label, url: url, offset: start))
            ctx.restarted = { [onEvent] reason in onEvent(.restarted(artifact: label, url: url, reason: reason)) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try HTTPTransfer.get(url, into: ctx, settings: options.transfer)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            var transient: String
            switch r.abort {
            case let .failure(e)?:
                throw e
            case let .tooLarge(announced)?:
                // Not this file: drop what came, and try the next source.
                try ctx.resetToZero()
                let limit = ByteFormat.string(ctx.maxBytes)
                return (announced.map { "the server announced \(ByteFormat.string($0)), " } ?? "the body grew past the limit, ")
                    + "more than the \(limit) limit for \(kind.rawValue) artifacts; the transfer was stopped"
            case let .rangeMismatch(expected, got)?:
                try ctx.resetToZero()
                onEvent(.restarted(artifact: label, url: url,
                                   reason: "the server sent bytes from \(got.map(String.init) ?? "?") instead of \(expected)"))
                transient = "mismatched Content-Range"
            case nil:
                if r.curlCode == CURLE_OK {
                    switch r.status {
                    case 200, 206, 0:
                        if r.status == 200, !ctx.bodyStarted, ctx.written > 0 { try ctx.resetToZero() }
                        if let total = r.total, total != ctx.written {
                            transient = "received \(ctx.written) of \(total) bytes"
                        } else {
                            onEvent(.downloaded(artifact: label, url: url, bytes: ctx.received, seconds: seconds))
                            return nil
                        }
                    case 416:
                        guard ctx.written > 0, !restartedAfter416 else { return "HTTP 416 (range not satisfiable)" }
                        restartedAfter416 = true
                        try ctx.resetToZero()
                        onEvent(.restarted(artifact: label, url: url, reason: "HTTP 416 for the resume range"))
                        continue
                    case 408, 429, 500...599:
                        transient = "HTTP \(r.status)"
                    default:
                        return "HTTP \(r.status)"
                    }
                } else if Self.isPermanent(r.curlCode) || (r.curlCode == CURLE_OPERATION_TIMEDOUT && r.status == 0) {
                    // Includes a connect timeout (no response at all): a connection failure, next source.
                    return r.message
                } else {
                    transient = r.message
                }
            }
            if ctx.written - start >= options.progressResetBytes { failures = 0 }
            failures += 1
            if failures > options.retries {
                return "\(transient) (gave up after \(options.retries) retries)"
            }
            let delay = min(options.retryDelay * pow(2, Double(failures - 1)), options.maxRetryDelay)
            onEvent(.retrying(artifact: label, url: url, reason: transient, attempt: failures, delay: delay))
            sleep(delay)
        }
    }

    /// Failures that another try of the same URL will not fix: go to the next source.
    static func isPermanent(_ code: CURLcode) -> Bool {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT,
             CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_TOO_MANY_REDIRECTS,
             CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_REMOTE_FILE_NOT_FOUND,
             CURLE_REMOTE_ACCESS_DENIED, CURLE_FILE_COULDNT_READ_FILE, CURLE_LOGIN_DENIED:
            return true
        default:
            return false
        }
    }

    public static func availableBytes(_ dir: URL) -> Int64? {
        var s = statvfs()
        guard statvfs(dir.path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }
}

extension TransferContext {
    /// Forgets what the previous response said, before a new request.
    func beginRequest() {
        status = 0; contentLength = nil; rangeStart = nil; rangeTotal = nil
        bodyStarted = false; accepting = false; abort = nil; total = nil
        received = 0
    }

    /// Drops the partial bytes: empty file, fresh MD5.
    func resetToZero() throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw StoreError.fileSystem(path: path, operation: "truncate", reason: errnoString())
        }
        hasher.reset()
        written = 0
    }
}
