import TorchCheckpoint

/// The element type of a checkpoint tensor, as the converter layouts name it.
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
/// Read from the converter layout `Converters/mmdet-panoptic-fpn.json` (built into the binary), the one
/// list of keys and shapes: the runner builds synthetic weights from it and `zoo convert` checks real
/// checkpoints against it.
public enum ModelSpec {
    /// The layout in `Converters/` that describes the zoo's checkpoints.
    public static let layoutName = "mmdet-panoptic-fpn"

    /// The keys of the R-50 model (383 tensors).
    public static var r50: [ParameterSpec] { get throws { try variant("R-50") } }
    /// The keys of the R-101 model (689 tensors).
    public static var r101: [ParameterSpec] { get throws { try variant("R-101") } }

    /// The layout for a backbone depth (50 or 101).
    public static func forDepth(_ depth: Int) throws -> [ParameterSpec] {
        guard depth == 50 || depth == 101 else {
            throw PanopticFPNError.badInput("depth \(depth): the zoo has R-50 and R-101 models only")
        }
        return try variant("R-\(depth)")
    }

    /// The tensors of a variant (`R-50`, `R-101`) of the built-in layout.
    public static func variant(_ name: String) throws -> [ParameterSpec] {
        let layouts = try CheckpointLayout.builtIn()
        guard let layout = layouts.first(where: { $0.name == layoutName }) else {
            throw PanopticFPNError.modelSpec("no built-in converter layout '\(layoutName)' "
                + "(built in: \(layouts.map(\.name).joined(separator: ", ")))")
        }
        guard let v = layout.variants.first(where: { $0.name == name }) else {
            throw PanopticFPNError.modelSpec("the layout '\(layoutName)' has no variant '\(name)' "
                + "(it has \(layout.variants.map(\.name).joined(separator: ", ")))")
        }
        return try v.tensors.map { t in
            guard let dtype = ParameterDType(rawValue: t.dtype) else {
                throw PanopticFPNError.modelSpec("\(layoutName) \(name): '\(t.key)' has dtype '\(t.dtype)'; "
                    + "the model reads float32 and int64")
            }
            return ParameterSpec(key: t.key, shape: t.shape, dtype: dtype)
        }
    }
}
