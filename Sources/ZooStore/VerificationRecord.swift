import Foundation

/// What a verified download left behind, as the JSON sidecar `<file>.verified.json`:
/// later commands trust a file whose size and modification time still match, without re-hashing.
public struct VerificationRecord: Codable, Equatable, Sendable {
    public var size: Int64
    public var md5: String
    /// When the file was verified (ISO 8601).
    public var verifiedAt: String
    /// Where the bytes came from.
    public var source: String
    /// The file's modification time when it was verified (seconds since 1970), to notice later edits.
    public var mtime: Double

    enum CodingKeys: String, CodingKey {
        case size, md5, source, mtime
        case verifiedAt = "verified_at"
    }

    public init(size: Int64, md5: String, verifiedAt: Date = Date(), source: String, mtime: Double) {
        self.size = size; self.md5 = md5; self.source = source; self.mtime = mtime
        self.verifiedAt = ISO8601DateFormatter().string(from: verifiedAt)
    }

    /// The record of a target, if present and readable.
    public static func load(for target: URL) -> VerificationRecord? {
        guard let data = try? Data(contentsOf: CacheLayout.recordPath(for: target)) else { return nil }
        return try? JSONDecoder().decode(VerificationRecord.self, from: data)
    }

    /// Whether the file on disk still has the recorded size and modification time.
    public func matches(fileAt target: URL) -> Bool {
        guard let st = FileStat(target) else { return false }
        return st.size == size && abs(st.mtime - mtime) < 0.001
    }

    /// Writes the record atomically beside its target.
    public func save(for target: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try enc.encode(self) } catch {
            throw StoreError.fileSystem(path: target.path, operation: "encode the record of", reason: "\(error)")
        }
        try AtomicFile.write(data, to: CacheLayout.recordPath(for: target))
    }
}

/// Size and modification time of a file (stat(2)).
struct FileStat {
    var size: Int64
    var mtime: Double

    init?(_ url: URL) {
        var st = stat()
        guard stat(url.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        size = Int64(st.st_size)
        mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
    }
}

/// Writes that land at a final path only when complete: temporary sibling, fsync, rename, fsync of the folder.
public enum AtomicFile {
    public static func write(_ data: Data, to target: URL) throws {
        let dir = target.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))-" + target.lastPathComponent)
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.fileSystem(path: tmp.path, operation: "create", reason: errnoString()) }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, raw.baseAddress.map { $0 + off }, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
        let reason = ok ? "" : errnoString()
        if ok, fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok else {
            unlink(tmp.path)
            throw StoreError.fileSystem(path: target.path, operation: "write", reason: reason.isEmpty ? errnoString() : reason)
        }
        try rename(tmp, to: target)
    }

    /// rename(2) then fsync of the containing folder, so the new name survives a crash.
    public static func rename(_ from: URL, to target: URL) throws {
        guard Foundation.rename(from.path, target.path) == 0 else {
            let reason = errnoString()
            unlink(from.path)
            throw StoreError.fileSystem(path: target.path, operation: "rename \(from.lastPathComponent) to", reason: reason)
        }
        let dfd = open(target.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}
