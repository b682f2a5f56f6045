import Tensors

/// mmdetection's `Shared2FCBBoxHead` (`roi_head.bbox_head.*`): two shared fully connected layers of 1024
/// with ReLU, then `fc_cls` (`num_classes + 1` logits, background last) and `fc_reg` (class-specific
/// deltas, 4 per class). All RoIs go through each layer as one GEMM.
public struct BBoxHead: Sendable {
    /// Two fully connected layers with ReLU, shared by classification and regression.
    var sharedFcs: [Linear]
    /// `num_classes + 1` logits, background last.
    var fcCls: Linear
    /// Class-specific deltas, 4 per class.
    var fcReg: Linear
    /// `fcCls` and `fcReg` stacked into one `[(classes + 1) + 4 * classes, 1024]` layer (one GEMM).
    var fcClsReg: Linear
    public let numClasses: Int
    /// `in_channels * roi_size * roi_size` (256 * 7 * 7).
    public let inputSize: Int

    /// Binds `roi_head.bbox_head.*` (mmdetection keys).
    public init(binder: WeightBinder, numClasses: Int, inChannels: Int = 256, roiSize: Int, fcChannels: Int = 1024) {
        let inSize = inChannels * roiSize * roiSize
        sharedFcs = [inSize, fcChannels].enumerated().map { i, cin in
            binder.linear("roi_head.bbox_head.shared_fcs.\(i)", cin: cin, cout: fcChannels)
        }
        fcCls = binder.linear("roi_head.bbox_head.fc_cls", cin: fcChannels, cout: numClasses + 1)
        fcReg = binder.linear("roi_head.bbox_head.fc_reg", cin: fcChannels, cout: 4 * numClasses)
        fcClsReg = Linear(weight: Tensor(shape: [5 * numClasses + 1, fcChannels], data: fcCls.weight.data + fcReg.weight.data),
                          bias: fcCls.bias + fcReg.bias)
        self.numClasses = numClasses
        self.inputSize = inSize
    }

    /// Multiply-adds of the fully connected layers for one RoI.
    public var multiplyAddsPerRoI: Int {
        let fc = fcCls.weight.shape[1]
        return inputSize * fc + fc * fc + fc * (5 * numClasses + 1)
    }

    /// `roiFeats`: `[n, 256 * 7 * 7]` row-major. Returns `cls_score [n, classes + 1]`, `bbox_pred [n, 4 * classes]`.
    public func forward(_ roiFeats: [Float], count n: Int,
                        engine: EngineOptions = .default) -> (clsScore: [Float], bboxPred: [Float]) {
        precondition(roiFeats.count == n * inputSize, "BBoxHead: \(roiFeats.count) values for \(n) RoIs")
        let nc = numClasses + 1, nr = 4 * numClasses, width = nc + nr
        if n == 0 { return ([], []) }
        var x = Tensor(shape: [n, inputSize], data: roiFeats)
        for fc in sharedFcs { x = fc(x, relu: true, engine: engine) }
        let out = fcClsReg(x, engine: engine).data
        var cls = [Float](repeating: 0, count: n * nc)
        var reg = [Float](repeating: 0, count: n * nr)
        for i in 0..<n {
            for j in 0..<nc { cls[i * nc + j] = out[i * width + j] }
            for j in 0..<nr { reg[i * nr + j] = out[i * width + nc + j] }
        }
        return (cls, reg)
    }
}
