import Foundation
import ZooFiles

/// What one run (or one shard of a run) was asked to do, written beside its journal as `run.json`, so
/// `zoo merge` can tell whether the shards it is given cover the whole selection.
public struct RunManifest: Codable, Equatable, Sendable {
    public var model: String
    public var weights: String
    public var split: String
    /// "I/N".
    public var shard: String
    /// The images this shard was to run, sorted.
    public var images: [String]
    /// True when `--images` or `--limit` narrowed the split (the whole run is then partial).
    public var narrowed: Bool

    public init(model: String, weights: String, split: String, shard: Shard, images: [String], narrowed: Bool = false) {
        self.model = model; self.weights = weights; self.split = split
        self.shard = shard.description; self.images = images; self.narrowed = narrowed
    }

    public static let fileName = "run.json"
    public static let journalName = "journal.jsonl"

    public func write(to directory: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try AtomicFile.write(try e.encode(self), to: "\(directory)/\(Self.fileName)")
    }

    public static func read(from directory: String) throws -> RunManifest {
        let path = "\(directory)/\(fileName)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError.io(path: path, reason: "cannot read the run manifest")
        }
        do { return try JSONDecoder().decode(RunManifest.self, from: data) } catch {
            throw PipelineError.io(path: path, reason: "not a run manifest: \(DecodingErrorText.describe(error)); it is written by `zoo reproduce`: run that shard again into a new folder")
        }
    }
}

/// Combines the journals of shard outputs into one set of frames, checking that they belong to one
/// run and together cover it.
public enum ShardMerge {
    public struct Merged: Sendable {
        public var header: Journal.Header
        public var split: String
        public var frames: [FrameRecord]
        public var shardCount: Int
        /// True when some shard ran with `--images` or `--limit`.
        public var narrowed: Bool
    }

    /// The run folders under `paths`: each path that holds a journal, else its subfolders that do
    /// (so `zoo merge OUT` finds `OUT/shard-0-of-4`, ...).
    public static func runDirectories(_ paths: [String]) throws -> [String] {
        let fm = FileManager.default
        var out: [String] = []
        for p in paths {
            let subs = ((try? fm.contentsOfDirectory(atPath: p)) ?? []).sorted()
                .map { "\(p)/\($0)" }
                .filter { fm.fileExists(atPath: "\($0)/\(RunManifest.journalName)") }
            let own = ShardFolders.holdsOwnRun(p)
            let shardNames = ShardFolders.shardFolders(in: p)
            if own && (!subs.isEmpty || !shardNames.isEmpty || fm.fileExists(atPath: "\(p)/\(ShardRecord.fileName)")) {
                let listed = (shardNames.isEmpty ? subs.map { ($0 as NSString).lastPathComponent } : shardNames)
                throw PipelineError.merge("\(p) holds both a whole run of its own (\(RunManifest.journalName) or \(RunManifest.fileName)) and shards (\(listed.prefix(3).joined(separator: ", "))\(listed.count > 3 ? ", ..." : "")); an array task may have run every image unsharded there. Give the shard folders themselves (\(p)/shard-*), or move the whole run's files (\(RunManifest.journalName), \(RunManifest.fileName), pan_seg.json) out of \(p)")
            }
            if own { out.append(p); continue }
            guard !subs.isEmpty else {
                throw PipelineError.merge("\(p) holds no \(RunManifest.journalName) (nor do its subfolders); give the output folders of `zoo reproduce`")
            }
            out += subs
        }
        return out
    }

    public static func merge(_ directories: [String]) throws -> Merged {
        guard !directories.isEmpty else { throw PipelineError.merge("no shard folders given") }
        var header: Journal.Header?
        var split: String?
        var frames: [String: FrameRecord] = [:]
        var shards: [Int: String] = [:]
        var count: Int?
        var narrowed = false
        for dir in directories {
            let manifest = try RunManifest.read(from: dir)
            let (h, records) = try Journal.read(URL(fileURLWithPath: "\(dir)/\(RunManifest.journalName)"))
            if let first = header, first != h {
                throw PipelineError.merge("\(dir) was made by \(h.model) with \(h.weights), the others by \(first.model) with \(first.weights)")
            }
            header = h
            if let s = split, s != manifest.split { throw PipelineError.merge("\(dir) is the \(manifest.split) split, the others \(s)") }
            split = manifest.split
            let shard = try Shard(parsing: manifest.shard)
            if let n = count, n != shard.count {
                throw PipelineError.merge("\(dir) is shard \(shard) but the others are of \(n) shards")
            }
            count = shard.count
            if let other = shards[shard.index] {
                throw PipelineError.merge("\(dir) and \(other) are both shard \(shard)")
            }
            shards[shard.index] = dir
            narrowed = narrowed || manifest.narrowed
            let byName = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { _, b in b })
            let missing = manifest.images.filter { byName[$0] == nil }
            if !missing.isEmpty {
                throw PipelineError.merge("shard \(shard) in \(dir) is unfinished: \(missing.count) of its \(manifest.images.count) images are not done (first: \(missing[0])); rerun that shard, it resumes")
            }
            for name in manifest.images {
                guard let r = byName[name] else { continue }
                if let prev = frames[name], prev.labels != r.labels {
                    throw PipelineError.merge("\(name) has different results in two shards")
                }
                frames[name] = r
            }
        }
        let n = count ?? 1
        // The split the shards' parent folders recorded when the shards started.
        let parents = Set(directories.map { ($0 as NSString).deletingLastPathComponent })
        for parent in parents.sorted() where n > 1 {
            if let r = try ShardRecord.read(from: parent), r.count != n {
                throw PipelineError.merge("\(parent)/\(ShardRecord.fileName) records \(r.count) shards, but the folders given are shards of \(n)")
            }
        }
        let absent = (0..<n).filter { shards[$0] == nil }
        if !absent.isEmpty {
            throw PipelineError.merge("shard(s) \(absent.map { "\($0)/\(n)" }.joined(separator: ", ")) missing: give the output folders of all \(n) shards")
        }
        guard let h = header, let s = split else { throw PipelineError.merge("no shard folders given") }
        return Merged(header: h, split: s, frames: frames.values.sorted { $0.name < $1.name }, shardCount: n, narrowed: narrowed)
    }
}
