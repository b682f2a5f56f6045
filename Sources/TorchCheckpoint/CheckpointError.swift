/// Everything that can go wrong reading a PyTorch checkpoint. Each message says what was wrong and,
/// where there is one, what to do.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case unsupportedFormat(String)
    case corrupt(String)
    case crcMismatch(record: String, expected: UInt32, actual: UInt32)
    case recordMissing(String)
    case globalNotAllowed(String)
    case unpickling(offset: Int, reason: String)
    case unsupportedTensor(String)
    case viewOutOfBounds(String)
    case limitExceeded(String)
    case layout(String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "cannot read \(path): \(reason)"
        case let .unsupportedFormat(s): return "unsupported checkpoint format: \(s)"
        case let .corrupt(s): return "corrupt checkpoint: \(s); re-download the file"
        case let .crcMismatch(record, e, a):
            return "corrupt checkpoint: record '\(record)' fails its CRC-32 check (expected \(hex8(e)), got \(hex8(a))); re-download the file"
        case let .recordMissing(s): return "corrupt checkpoint: record '\(s)' is missing from the archive"
        case let .globalNotAllowed(s):
            return "\(s) is not allowed: the checkpoint names a Python global outside the weights-only allowlist; refusing to load it (nothing was executed)"
        case let .unpickling(offset, reason): return "malformed pickle at byte \(offset): \(reason)"
        case let .unsupportedTensor(s): return "unsupported tensor: \(s)"
        case let .viewOutOfBounds(s): return "tensor view out of bounds: \(s)"
        case let .limitExceeded(s): return "limit exceeded: \(s)"
        case let .layout(s): return s
        }
    }
}

func hex8(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
