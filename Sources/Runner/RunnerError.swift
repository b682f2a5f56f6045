import Foundation

/// What can go wrong between the weights, the images and the written results. Messages say what was
/// wrong and what to do.
public enum RunnerError: Error, CustomStringConvertible, Equatable {
    /// A weights file that cannot be used.
    case weights(path: String, reason: String)
    /// An image that cannot be read (decode failure after its header passed).
    case image(path: String, reason: String)
    /// A bad option value (`--pipelines`, ...).
    case option(String)
    /// Anything else, already phrased for the user.
    case message(String)

    public var description: String {
        switch self {
        case let .weights(path, reason): return "\(path): \(reason)"
        case let .image(path, reason): return "\(path): cannot read the image (\(reason))"
        case let .option(m): return m
        case let .message(m): return m
        }
    }
}
