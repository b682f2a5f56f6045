import Foundation
import Tensors
import ZooRegistry

/// The RPN test settings (`test_cfg.rpn`) and anchors (`anchor_generator`).
/// Read from the registry's `test_config.rpn` (zoo.json); there are no defaults in code.
public struct RPNConfig: Sendable, Equatable {
    public var strides: [Int]
    public var ratios: [Float]
    public var scales: [Float]
    /// Per-level top-k before NMS.
    public var nmsPre: Int
    public var maxPerImage: Int
    public var iouThreshold: Float
    public var minBoxSize: Float

    public init(_ c: TestConfig.RPN) {
        strides = c.anchorStrides
        ratios = c.anchorRatios.map { Float($0) }
        scales = c.anchorScales.map { Float($0) }
        nmsPre = c.nmsPre
        maxPerImage = c.maxPerImg
        iouThreshold = Float(c.nmsIoU)
        minBoxSize = Float(c.minBBoxSize)
    }
}

/// The proposals of one image, and what led to them (for tests and debugging).
public struct RPNProposals: Sendable {
    /// `[N, 5]`: x1, y1, x2, y2 (input pixels), objectness score; at most `maxPerImage`, best first.
    public var proposals: Tensor
    /// Per-level top-k concatenated P2..P6 (before NMS): sigmoid scores and decoded, clipped boxes `[M, 4]`.
    public var preNMSScores: [Float]
    public var preNMSBoxes: [Float]
    public var preNMSLevels: [Int]
}

/// mmdetection's `RPNHead` and its proposal generation (`_get_bboxes_single`, `_bbox_post_process`).
/// Keys `rpn_head.rpn_conv.*`, `rpn_head.rpn_cls.*`, `rpn_head.rpn_reg.*`.
///
/// Per level: a shared 3x3 conv + ReLU, then 1x1 convs to 3 objectness logits and 3 x 4 deltas per
/// position (anchors ordered by ratio 0.5, 1, 2). The cls and reg 1x1 convs run as one 15-channel conv.
public struct RPNHead: Sendable {
    let rpnConv: Conv2d
    /// `A` objectness logits per position.
    let rpnCls: Conv2d
    /// `4A` box deltas per position.
    let rpnReg: Conv2d
    /// `rpnCls` stacked over `rpnReg`: both 1x1 convolutions as one.
    let rpnClsReg: Conv2d
    let numAnchors: Int
    public var config: RPNConfig

    init(binder: WeightBinder, channels: Int = 256, config: RPNConfig) {
        self.config = config
        let a = config.ratios.count * config.scales.count
        numAnchors = a
        rpnConv = binder.conv("rpn_head.rpn_conv", cin: channels, cout: channels, k: 3, padding: 1)
        rpnCls = binder.conv("rpn_head.rpn_cls", cin: channels, cout: a, k: 1)
        rpnReg = binder.conv("rpn_head.rpn_reg", cin: channels, cout: 4 * a, k: 1)
        rpnClsReg = Conv2d(weight: Tensor(shape: [5 * a, channels, 1, 1], data: rpnCls.weight.data + rpnReg.weight.data),
                           bias: rpnCls.bias + rpnReg.bias)
    }

    /// Raw outputs per level: objectness logits `[A, h, w]` and deltas `[4A, h, w]`.
    func callAsFunction(_ features: [Tensor], _ p: Forward = Forward()) -> [(cls: Tensor, reg: Tensor)] {
        features.map { f in
            let t = p.run(rpnConv, f, relu: true)
            let out = p.run(rpnClsReg, t)
            let (_, h, w) = out.chw
            let plane = h * w
            let cls = Tensor(shape: [numAnchors, h, w], data: Array(out.data[0..<(numAnchors * plane)]))
            let reg = Tensor(shape: [4 * numAnchors, h, w], data: Array(out.data[(numAnchors * plane)...]))
            return (cls, reg)
        }
    }

    /// mmdetection's `AnchorGenerator` base anchors for one stride (centre offset 0, scale-major), in
    /// float32 as torch computes them: `w = stride * (1 / sqrt(ratio)) * scale`, `h = stride * sqrt(ratio) * scale`.
    func baseAnchors(stride: Int) -> [Float] {
        var out: [Float] = []
        let s = Float(stride)
        for r in config.ratios {
            let hRatio = r.squareRoot(), wRatio = 1 / hRatio
            for sc in config.scales {
                let w = s * wRatio * sc, h = s * hRatio * sc
                out += [-0.5 * w, -0.5 * h, 0.5 * w, 0.5 * h]
            }
        }
        return out
    }

    /// Proposals from the raw outputs, for an image of `imageShape` (the resized image, not the padding).
    public func proposals(_ raw: [(cls: Tensor, reg: Tensor)], imageShape: (h: Int, w: Int)) -> RPNProposals {
        var scores: [Float] = [], anchors: [Float] = [], deltas: [Float] = [], levels: [Int] = []
        for (level, out) in raw.enumerated() {
            let (a, h, w) = out.cls.chw
            let base = baseAnchors(stride: config.strides[level])
            let plane = h * w
            // Flattened as permute(1, 2, 0): index (y * w + x) * A + anchor.
            var levelScores = [Float](repeating: 0, count: plane * a)
            for k in 0..<a {
                for i in 0..<plane { levelScores[i * a + k] = 1 / (1 + expf(-out.cls.data[k * plane + i])) }
            }
            // Sorted only when the level has more than nms_pre candidates, as mmdetection does.
            let order = 0 < config.nmsPre && config.nmsPre < levelScores.count
                ? topDescending(levelScores, config.nmsPre) : Array(levelScores.indices)
            let s = Float(config.strides[level])
            for idx in order {
                let pos = idx / a, k = idx % a
                let sx = Float(pos % w) * s, sy = Float(pos / w) * s
                scores.append(levelScores[idx])
                anchors += [base[4 * k] + sx, base[4 * k + 1] + sy, base[4 * k + 2] + sx, base[4 * k + 3] + sy]
                for c in 0..<4 { deltas.append(out.reg.data[(k * 4 + c) * plane + pos]) }
                levels.append(level)
            }
        }
        var boxes = RPNHead.decode(anchors: anchors, deltas: deltas, maxShape: imageShape)
        // Keep boxes wider and taller than min_bbox_size.
        var keepIdx: [Int] = []
        for i in 0..<scores.count
        where boxes[4 * i + 2] - boxes[4 * i] > config.minBoxSize && boxes[4 * i + 3] - boxes[4 * i + 1] > config.minBoxSize {
            keepIdx.append(i)
        }
        let preScores = scores, preBoxes = boxes, preLevels = levels
        if keepIdx.count != scores.count {
            scores = keepIdx.map { scores[$0] }
            levels = keepIdx.map { levels[$0] }
            boxes = keepIdx.flatMap { boxes[(4 * $0)..<(4 * $0 + 4)] }
        }
        // mmcv batched_nms: shift each level's boxes apart by level * (max coordinate + 1), one NMS.
        let maxCoordinate = boxes.max() ?? 0
        var shifted = boxes
        for i in 0..<scores.count {
            let off = Float(levels[i]) * (maxCoordinate + 1)
            for c in 0..<4 { shifted[4 * i + c] += off }
        }
        let kept = nms(boxes: shifted, scores: scores, iouThreshold: config.iouThreshold).prefix(config.maxPerImage)
        var out: [Float] = []
        out.reserveCapacity(kept.count * 5)
        for i in kept { out += [boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3], scores[i]] }
        return RPNProposals(proposals: Tensor(shape: [kept.count, 5], data: out), preNMSScores: preScores,
                            preNMSBoxes: preBoxes, preNMSLevels: preLevels)
    }

    /// mmdetection's `delta2bbox` with means 0, stds 1: centre shift by `d * size`, size times
    /// `exp(clamp(dw, ±|log(16/1000)|))`, corners clipped to the image. Float32 throughout.
    static func decode(anchors: [Float], deltas: [Float], maxShape: (h: Int, w: Int)) -> [Float] {
        let maxRatio = Float(abs(log(16.0 / 1000.0)))
        let maxW = Float(maxShape.w), maxH = Float(maxShape.h)
        var out = [Float](repeating: 0, count: anchors.count)
        for i in 0..<(anchors.count / 4) {
            let x1 = anchors[4 * i], y1 = anchors[4 * i + 1], x2 = anchors[4 * i + 2], y2 = anchors[4 * i + 3]
            let px = (x1 + x2) * 0.5, py = (y1 + y2) * 0.5
            let pw = x2 - x1, ph = y2 - y1
            let dw = min(max(deltas[4 * i + 2], -maxRatio), maxRatio)
            let dh = min(max(deltas[4 * i + 3], -maxRatio), maxRatio)
            let gx = px + pw * deltas[4 * i], gy = py + ph * deltas[4 * i + 1]
            let gw = pw * expf(dw), gh = ph * expf(dh)
            out[4 * i] = min(max(gx - gw * 0.5, 0), maxW)
            out[4 * i + 1] = min(max(gy - gh * 0.5, 0), maxH)
            out[4 * i + 2] = min(max(gx + gw * 0.5, 0), maxW)
            out[4 * i + 3] = min(max(gy + gh * 0.5, 0), maxH)
        }
        return out
    }
}
