import Foundation

/// Everything that can go wrong while reading, writing or scoring panoptic results.
public enum PanopticError: Error, CustomStringConvertible, Equatable {
    /// A COCO RLE string or size is malformed.
    case invalidRLE(String)
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// A Scalabel JSON file does not have the expected structure.
    case invalidJSON(path: String, reason: String)
    /// A bitmask PNG is not the expected RGBA 8-bit image.
    case invalidPNG(path: String, reason: String)
    /// Inputs that cannot be scored together (sizes, routes, ids).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .invalidRLE(let m): return "invalid COCO RLE: \(m)"
        case .io(let p, let r): return "\(p): \(r)"
        case .invalidJSON(let p, let r): return "\(p): not a Scalabel frames file: \(r)"
        case .invalidPNG(let p, let r): return "\(p): not a BDD100K bitmask PNG: \(r) (expected an 8-bit RGBA PNG: R category, G attributes, B/A instance id)"
        case .invalidInput(let m): return m
        }
    }
}
