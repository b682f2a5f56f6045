import Foundation
import ZooFiles

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

