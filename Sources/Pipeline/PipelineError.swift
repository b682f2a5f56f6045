/// What can go wrong running a dataset through the model. Messages say what to do.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    case badShard(String)
    case journalCorrupt(path: String, line: Int, reason: String)
    case journalMismatch(path: String, reason: String)
    case io(path: String, reason: String)
    /// The dataset given is unusable (missing folders, missing ground truth, unreadable images).
    case dataset(String)
    /// Shard outputs that cannot be merged.
    case merge(String)

    public var description: String {
        switch self {
        case let .badShard(s): return "bad shard: \(s)."
        case let .journalCorrupt(path, line, reason):
            return "journal \(path) line \(line) is damaged (\(reason)); delete the line or the file to redo those images."
        case let .journalMismatch(path, reason):
            return "journal \(path) was written by a different run (\(reason)); use another output folder or delete it."
        case let .io(path, reason): return "\(path): \(reason)."
        case let .dataset(m): return m
        case let .merge(m): return "cannot merge: \(m)"
        }
    }
}

