import Foundation

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

    /// The shard to run: `--shard I/N` first; else a Slurm job array (`SLURM_ARRAY_TASK_ID`,
    /// `SLURM_ARRAY_TASK_COUNT`, offset by `SLURM_ARRAY_TASK_MIN` so `--array=1-4` works); else a
    /// Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`) with `--shards N`; else the whole dataset.
    public static func resolve(flag: String?, shards: Int?, environment: [String: String]) throws -> Shard {
        if let flag { return try Shard(parsing: flag) }
        if let id = environment["SLURM_ARRAY_TASK_ID"], !id.isEmpty {
            guard let task = Int(id) else { throw PipelineError.badShard("SLURM_ARRAY_TASK_ID='\(id)' is not an integer") }
            guard let countText = environment["SLURM_ARRAY_TASK_COUNT"], let count = Int(countText) else {
                throw PipelineError.badShard("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is missing; pass --shard I/N")
            }
            let minimum = environment["SLURM_ARRAY_TASK_MIN"].flatMap { Int($0) } ?? 0
            return try Shard(index: task - minimum, count: shards ?? count)
        }
        if let id = environment["JOB_COMPLETION_INDEX"], !id.isEmpty {
            guard let index = Int(id) else { throw PipelineError.badShard("JOB_COMPLETION_INDEX='\(id)' is not an integer") }
            guard let shards else {
                throw PipelineError.badShard("JOB_COMPLETION_INDEX is set: also pass --shards N (the Job's completions)")
            }
            return try Shard(index: index, count: shards)
        }
        if let shards, shards != 1 {
            throw PipelineError.badShard("--shards \(shards) needs JOB_COMPLETION_INDEX or --shard I/N")
        }
        return .whole
    }

    /// The names of this shard, taken from the whole list sorted by name.
    public func select<T>(_ items: [T], name: (T) -> String) -> [T] {
        let sorted = items.sorted { name($0) < name($1) }
        return sorted.enumerated().filter { $0.offset % count == index }.map(\.element)
    }

    public var description: String { "\(index)/\(count)" }
}
