import Tensors

/// mmdetection's `Shared2FCBBoxHead` (`roi_head.bbox_head.*`): two shared fully connected layers of 1024
/// with ReLU, then `fc_cls` (`num_classes + 1` logits, background last) and `fc_reg` (class-specific
/// deltas, 4 per class). All RoIs go through each layer as one GEMM.
public struct BBoxHead: Sendable {
    /// `shared_fcs.0`, `shared_fcs.1`.
    var fc1: Linear
    var fc2: Linear
    /// `fc_cls` and `fc_reg` stacked into one `[(classes + 1) + 4 * classes, 1024]` layer (one GEMM).
    var heads: Linear
    public let numClasses: Int
    /// `in_channels * roi_size * roi_size` (256 * 7 * 7).
    public let inputSize: Int

    /// Binds `roi_head.bbox_head.*` (mmdetection keys).
    public init(binder: WeightBinder, prefix: String = "roi_head.bbox_head", numClasses: Int, inChannels: Int = 256,
                roiSize: Int, fcChannels: Int = 1024) {
        let inSize = inChannels * roiSize * roiSize
        fc1 = Linear(weight: binder.take("\(prefix).shared_fcs.0.weight", shape: [fcChannels, inSize]),
                     bias: binder.take("\(prefix).shared_fcs.0.bias", shape: [fcChannels]).data)
        fc2 = Linear(weight: binder.take("\(prefix).shared_fcs.1.weight", shape: [fcChannels, fcChannels]),
                     bias: binder.take("\(prefix).shared_fcs.1.bias", shape: [fcChannels]).data)
        let clsW = binder.take("\(prefix).fc_cls.weight", shape: [numClasses + 1, fcChannels])
        let clsB = binder.take("\(prefix).fc_cls.bias", shape: [numClasses + 1])
        let regW = binder.take("\(prefix).fc_reg.weight", shape: [4 * numClasses, fcChannels])
        let regB = binder.take("\(prefix).fc_reg.bias", shape: [4 * numClasses])
        heads = Linear(weight: Tensor(shape: [5 * numClasses + 1, fcChannels], data: clsW.data + regW.data),
                       bias: clsB.data + regB.data)
        self.numClasses = numClasses
        self.inputSize = inSize
    }

    /// Multiply-adds of the fully connected layers for one RoI.
    public var multiplyAddsPerRoI: Int {
        let fc = fc1.weight.shape[0]
        return inputSize * fc + fc * fc + fc * (5 * numClasses + 1)
    }

    /// `roiFeats`: `[n, 256 * 7 * 7]` row-major. Returns `cls_score [n, classes + 1]`, `bbox_pred [n, 4 * classes]`.
    public func forward(_ roiFeats: [Float], count n: Int,
                        engine: EngineOptions = .default) -> (clsScore: [Float], bboxPred: [Float]) {
        precondition(roiFeats.count == n * inputSize, "BBoxHead: \(roiFeats.count) values for \(n) RoIs")
        let nc = numClasses + 1, nr = 4 * numClasses, width = nc + nr
        if n == 0 { return ([], []) }
        let x = fc2(fc1(Tensor(shape: [n, inputSize], data: roiFeats), relu: true, engine: engine), relu: true, engine: engine)
        let out = heads(x, engine: engine).data
        var cls = [Float](repeating: 0, count: n * nc)
        var reg = [Float](repeating: 0, count: n * nr)
        for i in 0..<n {
            for j in 0..<nc { cls[i * nc + j] = out[i * width + j] }
            for j in 0..<nr { reg[i * nr + j] = out[i * width + nc + j] }
        }
        return (cls, reg)
    }
}
