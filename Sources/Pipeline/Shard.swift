import Foundation
import ZooFiles

/// One slice of a dataset for a job array: every `count`-th image (sorted by name) starting at `index`.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let whole = Shard(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex: Int, count: Int) { self.index = uncheckedIndex; self.count = count }

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw PipelineError.badShard("the shard count must be at least 1, got \(count)") }
        guard index >= 0, index < count else {
            throw PipelineError.badShard("shard index \(index) is outside 0..<\(count)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N` (0-based I), as given to `--shard`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw PipelineError.badShard("'\(text)' is not of the form I/N (for example 0/4)")
        }
        try self.init(index: i, count: n)
    }

    /// The shard to run, without a record of earlier runs (see `resolve(flag:shards:environment:recorded:)`).
    public static func resolve(flag: String?, shards: Int?, environment: [String: String]) throws -> Shard {
        try resolve(flag: flag, shards: shards, environment: environment, recorded: nil).shard
    }

    /// The shard to run: `--shard I/N` first; else a Slurm job array task (`SLURM_ARRAY_TASK_ID`); else a
    /// Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`) with `--shards N`; else the whole dataset.
    ///
    /// `recorded` is the output folder's `shards.json`, written by the first sharded run into it. With it, a
    /// Slurm task maps through the array recorded there, so a task resubmitted alone
    /// (`sbatch --array=3`, where Slurm reports an array of one task from 3) runs exactly its own shard.
    /// Without it, task `MIN + i*STEP` of an evenly spaced array (`--array=A-B` or `A-B:S`) is shard i of
    /// `SLURM_ARRAY_TASK_COUNT`; an array that is not evenly spaced (`--array=1,2,9`) is refused. Every
    /// disagreement with the record (another count, a task outside the recorded array) is refused.
    ///
    /// - Parameter recordPath: how messages name the record (e.g. `OUT/shards.json`).
    /// - Returns: the shard, and the record the run must make sure exists (nil for a whole run).
    public static func resolve(flag: String?, shards: Int?, environment: [String: String], recorded: ShardRecord?,
                               recordPath: String = ShardRecord.fileName) throws -> ShardChoice {
        let shard: Shard
        var record = recorded
        func agree(_ n: Int, _ what: String) throws {
            guard let r = recorded, r.count != n else { return }
            throw PipelineError.badShard("\(what), but \(recordPath) records that this output folder holds \(r.count) shards; run shards of \(r.count), or use a new output folder for \(n) shards")
        }
        if let flag {
            shard = try Shard(parsing: flag)
            if let shards, shards != shard.count {
                throw PipelineError.badShard("--shard \(flag) and --shards \(shards) disagree; give one of them")
            }
            try agree(shard.count, "--shard \(flag) is a shard of \(shard.count)")
        } else if let array = try SlurmArray(environment: environment) {
            (shard, record) = try array.shard(shards: shards, recorded: recorded, recordPath: recordPath)
        } else if let id = environment["JOB_COMPLETION_INDEX"], !id.isEmpty {
            guard let index = Int(id) else { throw PipelineError.badShard("JOB_COMPLETION_INDEX='\(id)' is not an integer") }
            guard let shards else {
                throw PipelineError.badShard("JOB_COMPLETION_INDEX is set: also pass --shards N (the Job's completions)")
            }
            try agree(shards, "--shards \(shards) was given")
            shard = try Shard(index: index, count: shards)
        } else {
            if let shards, shards != 1 {
                throw PipelineError.badShard("--shards \(shards) needs JOB_COMPLETION_INDEX or --shard I/N")
            }
            shard = .whole
        }
        if shard.count == 1 {
            if let r = recorded {
                throw PipelineError.badShard("this is a whole (unsharded) run, but \(recordPath) records that the output folder holds \(r.count) shards; to redo one shard give --shard I/\(r.count), to run the whole split at once use another output folder")
            }
            return ShardChoice(shard: shard, record: nil)
        }
        return ShardChoice(shard: shard, record: record ?? ShardRecord(count: shard.count))
    }

    /// The names of this shard, taken from the whole list sorted by name.
    public func select<T>(_ items: [T], name: (T) -> String) -> [T] {
        let sorted = items.sorted { name($0) < name($1) }
        return sorted.enumerated().filter { $0.offset % count == index }.map(\.element)
    }

    public var description: String { "\(index)/\(count)" }
}

/// A shard and the record of the shard layout its output folder must hold.
public struct ShardChoice: Equatable, Sendable {
    public var shard: Shard
    /// To be created as OUT/shards.json if absent (`ShardRecord.commit(in:)`); nil for a whole run.
    public var record: ShardRecord?

    public init(shard: Shard, record: ShardRecord?) { self.shard = shard; self.record = record }
}

/// A Slurm job array task, from the variables Slurm sets (slurmctld: `SLURM_ARRAY_TASK_COUNT`, `_MIN`,
/// `_MAX`, and `_STEP`, the number after ':' in `--array`, else 1).
public struct SlurmArray: Equatable, Sendable {
    public var taskID: Int
    public var count: Int
    public var min: Int
    public var max: Int
    public var step: Int

    /// Nil when `SLURM_ARRAY_TASK_ID` is not set.
    public init?(environment env: [String: String]) throws {
        guard let idText = env["SLURM_ARRAY_TASK_ID"], !idText.isEmpty else { return nil }
        func number(_ name: String, _ text: String) throws -> Int {
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                throw PipelineError.badShard("\(name)='\(text)' is not a non-negative integer")
            }
            return v
        }
        taskID = try number("SLURM_ARRAY_TASK_ID", idText)
        guard let countText = env["SLURM_ARRAY_TASK_COUNT"], !countText.isEmpty else {
            throw PipelineError.badShard("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is missing; pass --shard I/N")
        }
        count = try number("SLURM_ARRAY_TASK_COUNT", countText)
        guard count >= 1 else { throw PipelineError.badShard("SLURM_ARRAY_TASK_COUNT is 0") }
        min = try env["SLURM_ARRAY_TASK_MIN"].map { try number("SLURM_ARRAY_TASK_MIN", $0) } ?? 0
        step = try env["SLURM_ARRAY_TASK_STEP"].map { try number("SLURM_ARRAY_TASK_STEP", $0) } ?? 1
        guard step >= 1 else { throw PipelineError.badShard("SLURM_ARRAY_TASK_STEP is 0") }
        let (span, o1) = step.multipliedReportingOverflow(by: count - 1)
        let (last, o2) = min.addingReportingOverflow(span)
        guard !o1, !o2 else { throw PipelineError.badShard("the Slurm array (\(count) tasks from \(min), step \(step)) is too large") }
        max = try env["SLURM_ARRAY_TASK_MAX"].map { try number("SLURM_ARRAY_TASK_MAX", $0) } ?? last
        guard min <= taskID, taskID <= max else {
            throw PipelineError.badShard("SLURM_ARRAY_TASK_ID \(taskID) is outside the array's \(min)-\(max)")
        }
    }

    public init(taskID: Int, count: Int, min: Int, max: Int, step: Int) {
        self.taskID = taskID; self.count = count; self.min = min; self.max = max; self.step = step
    }

    /// `--array` as Slurm would print it.
    public var spec: String {
        count == 1 ? "\(min)" : (isEvenlySpaced ? "\(min)-\(max)" + (step > 1 ? ":\(step)" : "") : "\(count) tasks from \(min) to \(max)")
    }

    /// Whether the tasks are exactly MIN, MIN+STEP, ..., MAX (`--array=A-B` or `A-B:S`), as opposed to a
    /// list such as `1,2,9`, whose order Slurm does not report.
    public var isEvenlySpaced: Bool { max - min == step * (count - 1) }

    func shard(shards: Int?, recorded: ShardRecord?, recordPath: String) throws -> (Shard, ShardRecord?) {
        if let r = recorded {
            if let shards, shards != r.count {
                throw PipelineError.badShard("--shards \(shards) was given, but \(recordPath) records that this output folder holds \(r.count) shards; drop --shards, or use a new output folder")
            }
            if let first = r.slurmFirstTask, let rstep = r.slurmTaskStep {
                let tasks = "\(first)-\(first + rstep * (r.count - 1))" + (rstep > 1 ? ":\(rstep)" : "")
                func index(_ id: Int) -> Int? {
                    let d = id - first
                    guard d >= 0, d % rstep == 0, d / rstep < r.count else { return nil }
                    return d / rstep
                }
                guard let i = index(taskID) else {
                    throw PipelineError.badShard("array task \(taskID) is not one of the tasks \(tasks) that \(recordPath) records for this output folder (\(r.count) shards); resubmit with --array=I for I in \(tasks), or use a new output folder")
                }
                guard index(min) != nil, index(max) != nil else {
                    throw PipelineError.badShard("this array (--array=\(spec)) reaches beyond the tasks \(tasks) that \(recordPath) records for this output folder (\(r.count) shards); resubmit only tasks of \(tasks), or use a new output folder")
                }
                return (try Shard(index: i, count: r.count), r)
            }
            // The folder's shards were first run without an array (--shard, an Indexed Job): an array of
            // exactly that size maps as a fresh one; a lone task cannot be placed.
            guard isEvenlySpaced, count == r.count, (taskID - min) % step == 0 else {
                throw PipelineError.badShard("\(recordPath) records \(r.count) shards run without a Slurm array, so array task \(taskID) (--array=\(spec)) cannot be mapped to one; give --shard I/\(r.count) on the zoo line")
            }
            return (try Shard(index: (taskID - min) / step, count: r.count), r)
        }
        guard isEvenlySpaced else {
            throw PipelineError.badShard("the Slurm array (\(spec), step \(step)) is not evenly spaced, so its tasks cannot be numbered as shards; use --array=A-B or --array=A-B:S, or give --shard I/N on the zoo line")
        }
        guard (taskID - min) % step == 0 else {
            throw PipelineError.badShard("array task \(taskID) is not on the array's step (\(spec)); give --shard I/N on the zoo line")
        }
        let n = shards ?? count
        if let shards, shards != count {
            throw PipelineError.badShard("--shards \(shards) was given but this Slurm array has \(count) task(s) (--array=\(spec)) and the output folder records no shards (\(recordPath)); submit \(shards) tasks, or for one task resubmitted alone give --shard I/\(shards)")
        }
        let shard = try Shard(index: (taskID - min) / step, count: n)
        return (shard, n > 1 ? ShardRecord(count: n, slurmFirstTask: min, slurmTaskStep: step) : nil)
    }
}

/// `OUT/shards.json`: how the output folder is split, written once by the first sharded run into it
/// (created only if absent, atomically, so concurrent array tasks agree on one), read by every later
/// run and by `zoo merge`. For a Slurm array it keeps the array's first task and step, so a task
/// resubmitted alone finds its shard.
public struct ShardRecord: Codable, Equatable, Sendable {
    public var kind = ShardRecord.kindName
    public var version = 1
    public var count: Int
    /// The Slurm array task that ran shard 0 (`SLURM_ARRAY_TASK_MIN` of the first run), if any.
    public var slurmFirstTask: Int?
    /// Task `slurmFirstTask + i * slurmTaskStep` runs shard i.
    public var slurmTaskStep: Int?

    public static let kindName = "bdd100k-zoo shards"
    public static let fileName = "shards.json"
    /// No record is larger; a bigger file is not one.
    static let maxBytes = 4096

    public init(count: Int, slurmFirstTask: Int? = nil, slurmTaskStep: Int? = nil) {
        self.count = count; self.slurmFirstTask = slurmFirstTask; self.slurmTaskStep = slurmTaskStep
    }

    /// The record in `directory`, nil when there is none.
    public static func read(from directory: String) throws -> ShardRecord? {
        let path = "\(directory)/\(fileName)"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes, let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError.io(path: path, reason: "not a shard record (unreadable or larger than \(maxBytes) bytes); it is written by `zoo reproduce`: restore it, or use a new output folder")
        }
        return try decode(data, path: path)
    }

    static func decode(_ data: Data, path: String) throws -> ShardRecord {
        let r: ShardRecord
        do { r = try JSONDecoder().decode(ShardRecord.self, from: data) } catch {
            throw PipelineError.io(path: path, reason: "not a shard record: \(DecodingErrorText.describe(error)); restore it, or use a new output folder")
        }
        guard r.kind == kindName, r.version == 1 else {
            throw PipelineError.io(path: path, reason: "not a shard record of this zoo (kind '\(r.kind)', version \(r.version))")
        }
        guard (2...1_000_000).contains(r.count), (r.slurmFirstTask == nil) == (r.slurmTaskStep == nil),
              (r.slurmFirstTask ?? 0) >= 0, (r.slurmFirstTask ?? 0) <= 1 << 40, (1...1 << 20).contains(r.slurmTaskStep ?? 1) else {
            throw PipelineError.io(path: path, reason: "the shard record is out of range (count \(r.count)); restore it, or use a new output folder")
        }
        return r
    }

    /// Makes sure `directory` holds this record: creates it if absent; if another run created one first,
    /// accepts it when it describes the same split (and returns it), else refuses.
    @discardableResult
    public func commit(in directory: String) throws -> ShardRecord {
        let path = "\(directory)/\(Self.fileName)"
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        let created: Bool
        do { created = try AtomicFile.createIfAbsent(try e.encode(self), at: URL(fileURLWithPath: path)) } catch {
            throw PipelineError.io(path: path, reason: "cannot record the shards (\(SystemError.describe(error)))")
        }
        if created { return self }
        guard let existing = try Self.read(from: directory) else {
            throw PipelineError.io(path: path, reason: "the shard record vanished while it was being created; run again")
        }
        let sameArray = existing.slurmFirstTask == nil || slurmFirstTask == nil
            || (existing.slurmFirstTask == slurmFirstTask && existing.slurmTaskStep == slurmTaskStep)
        guard existing.count == count, sameArray else {
            throw PipelineError.badShard("\(path) records \(existing.count) shards\(existing.slurmFirstTask.map { " from array task \($0)" } ?? ""), another run's split than this one's (\(count) shards\(slurmFirstTask.map { " from array task \($0)" } ?? "")); use a new output folder")
        }
        return existing
    }
}

/// What an output folder may hold: its own (whole) run, or shard folders, never both; `zoo merge` could
/// not tell which is meant.
public enum ShardFolders {
    public static func name(_ shard: Shard) -> String { "shard-\(shard.index)-of-\(shard.count)" }

    /// The subfolders of `directory` named as shard folders (`shard-I-of-N`), sorted.
    public static func shardFolders(in directory: String) -> [String] {
        let subs = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return subs.filter(isShardFolderName).sorted()
    }

    static func isShardFolderName(_ s: String) -> Bool {
        let p = s.split(separator: "-", omittingEmptySubsequences: false)
        return p.count == 4 && p[0] == "shard" && p[2] == "of" && Int(p[1]) != nil && Int(p[3]) != nil
    }

    /// Whether `directory` holds a run of its own (a journal or a run manifest).
    public static func holdsOwnRun(_ directory: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: "\(directory)/\(RunManifest.journalName)") || fm.fileExists(atPath: "\(directory)/\(RunManifest.fileName)")
    }

    /// Refuses a run of `shard` into `base` when it would mix a whole run and shards there.
    public static func check(base: String, for shard: Shard) throws {
        if shard.count == 1 {
            let folders = shardFolders(in: base)
            guard folders.isEmpty else {
                throw PipelineError.badShard("\(base) holds shard folders (\(folders.prefix(3).joined(separator: ", "))\(folders.count > 3 ? ", ..." : "")), and this is a whole (unsharded) run; give --shard I/N (or run it as its array task) to redo a shard, or use another output folder for a whole run")
            }
        } else if holdsOwnRun(base) {
            throw PipelineError.badShard("\(base) holds a whole (unsharded) run of its own (\(RunManifest.journalName) or \(RunManifest.fileName)), and this is shard \(shard); use another output folder for the shards, or move that run's files away")
        }
    }
}
