/// The element type of a checkpoint tensor, as the reference spec files name it.
public enum ParameterDType: String, Sendable {
    case float32
    case int64
}

/// One entry of a checkpoint layout: a `state_dict` key with its shape and element type.
public struct ParameterSpec: Sendable, Equatable {
    public var key: String
    public var shape: [Int]
    public var dtype: ParameterDType

    public init(key: String, shape: [Int], dtype: ParameterDType) {
        self.key = key
        self.shape = shape
        self.dtype = dtype
    }

    /// Element count; a 0-d tensor holds one value.
    public var count: Int { shape.reduce(1, *) }
}

/// The checkpoint layouts of the zoo's Panoptic FPN (mmdetection 2.x keys), in `state_dict` order.
///
/// Embedded from the reference `spec_r50.json` / `spec_r101.json` (see `scripts/embed-model-specs.py`), so
/// the runner can build synthetic weights and check a converted checkpoint with no file at hand.
public enum ModelSpec {
    /// The keys of the R-50 model (383 tensors).
    public static let r50: [ParameterSpec] = parse(EmbeddedSpecs.r50)
    /// The keys of the R-101 model (689 tensors).
    public static let r101: [ParameterSpec] = parse(EmbeddedSpecs.r101)

    /// The layout for a backbone depth (50 or 101), nil for any other.
    public static func forDepth(_ depth: Int) -> [ParameterSpec]? {
        switch depth {
        case 50: return r50
        case 101: return r101
        default: return nil
        }
    }

    static func parse(_ text: String) -> [ParameterSpec] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count >= 2, let dtype = ParameterDType(rawValue: String(parts[1])) else { return nil }
            let dims = parts.count > 2 ? parts[2].split(separator: ",").compactMap { Int($0) } : []
            return ParameterSpec(key: String(parts[0]), shape: dims, dtype: dtype)
        }
    }
}
