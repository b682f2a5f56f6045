/// Errors of the Panoptic FPN runner.
public enum PanopticFPNError: Error, Equatable, CustomStringConvertible {
    /// A weight store has no tensor under this key.
    case weightMissing(String)
    /// The weights do not fit the model: every missing, unexpected and mis-shaped key.
    case weightBinding(WeightBindingReport)
    /// The backbone depth could not be inferred from the keys.
    case unknownDepth(String)
    /// An input the model cannot take (wrong rank, channel count or size).
    case badInput(String)
    /// The built-in converter layout does not describe the model (a broken build).
    case modelSpec(String)

    public var description: String {
        switch self {
        case .weightMissing(let key):
            return "no weight tensor '\(key)' in the store; is this a Panoptic FPN checkpoint?"
        case .weightBinding(let report):
            return "the weights do not fit the Panoptic FPN model: \(report). "
                + "Convert the checkpoint again with `zoo convert`, or check that it is an R-50/R-101 Panoptic FPN."
        case .unknownDepth(let why):
            return "cannot tell the ResNet depth from the weights: \(why)"
        case .badInput(let why):
            return "bad model input: \(why)"
        case .modelSpec(let why):
            return "the built-in model key list is unusable: \(why). Rebuild zoo from an unmodified Converters/ folder."
        }
    }
}
