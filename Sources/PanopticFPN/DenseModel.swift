import Tensors
import ZooRegistry

/// Everything Panoptic FPN computes on the whole image, for one preprocessed image.
public struct DenseOutputs: Sendable {
    /// C2..C5 `[C, h, w]` (kept for tests and debugging).
    public var backbone: [Tensor]
    /// P2..P6 `[256, h, w]` at strides 4, 8, 16, 32, 64 of the padded input.
    public var features: [Tensor]
    /// Raw RPN outputs per level: objectness logits `[3, h, w]`, deltas `[12, h, w]`.
    public var rpnRaw: [(cls: Tensor, reg: Tensor)]
    /// Proposals `[N, 5]` (x1, y1, x2, y2, score) in input pixels, at most 1000, best first.
    public var rpn: RPNProposals
    /// `[31, padH/4, padW/4]` semantic logits (stride 4 of the padded input); see
    /// `PanopticFPNHead.logitsAtOriginalSize` for the full-size map.
    public var semanticLogits: Tensor
}

/// The dense part of mmdetection's `PanopticFPN`: backbone, neck, RPN and semantic head, bound to weights.
public struct DenseModel: Sendable {
    public let backbone: ResNet
    public let neck: FPN
    public let rpnHead: RPNHead
    public let semanticHead: PanopticFPNHead

    /// Binds `backbone.*`, `neck.*`, `rpn_head.*`, `semantic_head.*` from `binder` (the RoI heads take the
    /// rest from the same binder; call `binder.finish()` once all parts are bound).
    /// `semanticClasses`: the semantic head's channels, the registry's stuff classes plus one for all things.
    public init(binder: WeightBinder, config: TestConfig, semanticClasses: Int) throws {
        MemoryTuning.keepFreedMemory()
        backbone = try ResNet(binder: binder)
        neck = FPN(binder: binder)
        rpnHead = RPNHead(binder: binder, config: RPNConfig(config.rpn))
        semanticHead = PanopticFPNHead(binder: binder, numClasses: semanticClasses)
    }

    /// The dense model of a registry (its test configuration and classes).
    public init(binder: WeightBinder, registry: Registry) throws {
        try self.init(binder: binder, config: registry.testConfig, semanticClasses: registry.numStuff + 1)
    }

    /// Runs the dense stages on `image.input` (`[3, H, W]`, H and W multiples of 32). With a profiler,
    /// records the stages "backbone", "fpn", "rpn" (head and proposals), "semantic_head". Without
    /// `keepBackbone`, C2..C5 are released once the FPN has read them (`backbone` is then empty), so the
    /// later stages reuse their memory. Every kernel runs with `engine`.
    public func callAsFunction(_ image: PreprocessedImage, profiler: StageProfiler? = nil,
                               keepBackbone: Bool = true, engine: EngineOptions = .default) -> DenseOutputs {
        let p = Forward(profiler, engine: engine)
        var c = p.stage("backbone") { backbone(image.input, p) }
        let f = p.stage("fpn") { neck(c, p) }
        if !keepBackbone { c = [] }
        let (raw, props) = p.stage("rpn") { () -> ([(cls: Tensor, reg: Tensor)], RPNProposals) in
            let raw = rpnHead(f, p)
            return (raw, rpnHead.proposals(raw, imageShape: image.meta.imgShape))
        }
        let sem = p.stage("semantic_head") { semanticHead(Array(f.prefix(4)), p) }
        return DenseOutputs(backbone: c, features: f, rpnRaw: raw, rpn: props, semanticLogits: sem)
    }
}
