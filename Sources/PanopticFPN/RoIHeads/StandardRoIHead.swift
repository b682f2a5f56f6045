import Foundation
import Tensors
import ZooRegistry

/// One detection of the panoptic detection step, in original-image pixels.
public struct Detection: Sendable, Equatable {
    public var x1: Float, y1: Float, x2: Float, y2: Float
    public var score: Float
    /// The thing class, 0 ..< num_things.
    public var label: Int

    public init(x1: Float, y1: Float, x2: Float, y2: Float, score: Float, label: Int) {
        self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2; self.score = score; self.label = label
    }
}

/// What the box branch computed for a set of proposals (kept for tests and `--profile`).
public struct BBoxResults: Sendable {
    /// `[n, classes + 1]` logits, background last.
    public var clsScore: [Float]
    /// `[n, 4 * classes]` deltas.
    public var bboxPred: [Float]
    /// `[n, classes + 1]` softmax.
    public var scores: [Float]
    /// `[n, 4 * classes]` decoded, clipped boxes in original-image pixels.
    public var bboxes: [Float]
}

/// The FPN levels the RoI extractor reads (P2..P5), channels-last so each bilinear tap is one vector.
public struct RoIFeatureMaps: Sendable {
    public struct Level: Sendable {
        public var data: [Float]
        public var height: Int
        public var width: Int
    }
    public var levels: [Level]
    public var channels: Int

    /// From `[C, H, W]` (or `[1, C, H, W]`) maps, finest first.
    public init(_ features: [Tensor], engine: EngineOptions = .default) {
        levels = features.map { t in
            Level(data: RoIAlign.channelsLast(t, engine: engine), height: t.shape[t.rank - 2], width: t.shape[t.rank - 1])
        }
        channels = features.first.map { $0.shape[$0.rank - 3] } ?? 0
    }
}

/// mmdetection's `StandardRoIHead` on the panoptic test path: RoI feature extraction (`SingleRoIExtractor`),
/// the box head, the panoptic detection step (`multiclass_nms` with the panoptic test cfg) and the mask head.
public struct StandardRoIHead: Sendable {
    public var bboxHead: BBoxHead
    public var maskHead: FCNMaskHead
    public var rcnn: TestConfig.RCNN
    public var panoptic: TestConfig.Panoptic

    public init(bboxHead: BBoxHead, maskHead: FCNMaskHead, rcnn: TestConfig.RCNN, panoptic: TestConfig.Panoptic) {
        self.bboxHead = bboxHead; self.maskHead = maskHead; self.rcnn = rcnn; self.panoptic = panoptic
    }

    /// Binds `roi_head.bbox_head.*` and `roi_head.mask_head.*`.
    public init(binder: WeightBinder, numClasses: Int, config: TestConfig) {
        self.init(bboxHead: BBoxHead(binder: binder, numClasses: numClasses, roiSize: config.rcnn.roiOutputSize),
                  maskHead: FCNMaskHead(binder: binder, numClasses: numClasses),
                  rcnn: config.rcnn, panoptic: config.panoptic)
    }

    // MARK: RoI feature extraction

    /// `SingleRoIExtractor.map_roi_levels`: level = floor(log2(sqrt(w * h) / finest_scale + 1e-6)), clamped
    /// to the available levels. Float32 as torch computes it.
    public static func roiLevel(_ b: (Float, Float, Float, Float), finestScale: Float, levels: Int) -> Int {
        let scale = ((b.2 - b.0) * (b.3 - b.1)).squareRoot()
        let lvl = log2(scale / finestScale + Float(1e-6)).rounded(.down)
        if !(lvl > 0) { return 0 }
        return min(Int(lvl), levels - 1)
    }

    /// RoIAlign features `[n, C, size, size]` of `boxes` (`[n * 4]`, input pixels) from `maps`, each box on
    /// its level. RoIs are spread over the cores.
    public func extract(_ maps: RoIFeatureMaps, boxes: [Float], outputSize: Int,
                        engine: EngineOptions = .default) -> [Float] {
        let n = boxes.count / 4
        let levels = min(maps.levels.count, rcnn.featmapStrides.count)
        precondition(levels > 0, "StandardRoIHead: no feature maps")
        let channels = maps.channels
        let per = channels * outputSize * outputSize
        var out = [Float](repeating: 0, count: n * per)
        if n == 0 { return out }
        let finest = Float(rcnn.finestScale)
        let scales = rcnn.featmapStrides.map { 1 / Float($0) }
        let sampling = rcnn.samplingRatio
        out.withUnsafeMutableBufferPointer { outBuf in
            guard let outBase = outBuf.baseAddress else { return }
            // Each chunk writes the features of its RoIs.
            let outs = UnsafeSendableMutablePointer(outBase)
            let chunks = min(n, engine.threads)
            concurrentFor(chunks, threads: chunks) { chunk in
                let outBase = outs.pointer
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: channels)
                defer { scratch.deallocate() }
                let lo = n * chunk / chunks, hi = n * (chunk + 1) / chunks
                for i in lo..<hi {
                    let b = (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3])
                    let lvl = StandardRoIHead.roiLevel(b, finestScale: finest, levels: levels)
                    let map = maps.levels[lvl]
                    let plan = RoIAlign.plan(box: b, spatialScale: scales[lvl], height: map.height, width: map.width,
                                             outputSize: outputSize, samplingRatio: sampling, aligned: true)
                    map.data.withUnsafeBufferPointer { f in
                        guard let fp = f.baseAddress else { return }
                        RoIAlign.poolChannelsLast(features: fp, channels: channels, plan: plan,
                                                  output: outBase + i * per, scratch: scratch)
                    }
                }
            }
        }
        return out
    }

    /// Convenience for `[C, H, W]` (or `[1, C, H, W]`) maps P2, P3, ...: converts them, then extracts.
    public func extract(features: [Tensor], boxes: [Float], outputSize: Int,
                        engine: EngineOptions = .default) -> [Float] {
        extract(RoIFeatureMaps(features, engine: engine), boxes: boxes, outputSize: outputSize, engine: engine)
    }

    // MARK: Boxes

    /// `simple_test_bboxes` with `rcnn_test_cfg=None`: the box head on `proposals` (`[n * 4]`, input pixels),
    /// softmax, class-specific decoding clipped to `imageShape` (h, w of the resized image) and division by
    /// `scaleFactor` (w, h, w, h) back to original pixels.
    public func boxes(_ maps: RoIFeatureMaps, proposals: [Float], imageShape: (Int, Int),
                      scaleFactor: [Float], engine: EngineOptions = .default) -> BBoxResults {
        let n = proposals.count / 4
        let feats = extract(maps, boxes: proposals, outputSize: rcnn.roiOutputSize, engine: engine)
        let (cls, reg) = bboxHead.forward(feats, count: n, engine: engine)
        let scores = StandardRoIHead.softmax(cls, rows: n, columns: bboxHead.numClasses + 1)
        var bboxes = StandardRoIHead.decode(rois: proposals, deltas: reg, numClasses: bboxHead.numClasses,
                                            means: rcnn.targetMeans.map { Float($0) },
                                            stds: rcnn.targetStds.map { Float($0) }, maxShape: imageShape)
        if scaleFactor.count == 4 {
            for i in bboxes.indices { bboxes[i] = bboxes[i] / scaleFactor[i % 4] }
        }
        return BBoxResults(clsScore: cls, bboxPred: reg, scores: scores, bboxes: bboxes)
    }

    /// Row-wise softmax, as torch computes it in float32 (max subtracted).
    public static func softmax(_ x: [Float], rows: Int, columns: Int) -> [Float] {
        var y = x
        for r in 0..<rows {
            let row = r * columns
            var m = -Float.infinity
            for j in 0..<columns { m = max(m, x[row + j]) }
            var s: Float = 0
            for j in 0..<columns {
                let e = expf(x[row + j] - m)
                y[row + j] = e
                s += e
            }
            for j in 0..<columns { y[row + j] /= s }
        }
        return y
    }

    /// mmdetection's `delta2bbox` (DeltaXYWHBBoxCoder, `wh_ratio_clip = 16 / 1000`, clipping to `maxShape`).
    /// `rois` `[n * 4]`, `deltas` `[n, 4 * numClasses]`; returns `[n, 4 * numClasses]` boxes.
    public static func decode(rois: [Float], deltas: [Float], numClasses: Int, means: [Float], stds: [Float],
                              maxShape: (Int, Int)?) -> [Float] {
        let n = rois.count / 4
        let maxRatio = Float(abs(log(16.0 / 1000.0)))
        var out = [Float](repeating: 0, count: deltas.count)
        for i in 0..<n {
            let rx1 = rois[4 * i], ry1 = rois[4 * i + 1], rx2 = rois[4 * i + 2], ry2 = rois[4 * i + 3]
            let px = (rx1 + rx2) * 0.5, py = (ry1 + ry2) * 0.5
            let pw = rx2 - rx1, ph = ry2 - ry1
            for c in 0..<numClasses {
                let d = (i * numClasses + c) * 4
                let dx = deltas[d] * stds[0] + means[0]
                let dy = deltas[d + 1] * stds[1] + means[1]
                let dw = min(max(deltas[d + 2] * stds[2] + means[2], -maxRatio), maxRatio)
                let dh = min(max(deltas[d + 3] * stds[3] + means[3], -maxRatio), maxRatio)
                let gx = px + pw * dx, gy = py + ph * dy
                let gw = pw * expf(dw), gh = ph * expf(dh)
                var x1 = gx - gw * 0.5, y1 = gy - gh * 0.5, x2 = gx + gw * 0.5, y2 = gy + gh * 0.5
                if let (h, w) = maxShape {
                    let fw = Float(w), fh = Float(h)
                    x1 = min(max(x1, 0), fw); x2 = min(max(x2, 0), fw)
                    y1 = min(max(y1, 0), fh); y2 = min(max(y2, 0), fh)
                }
                out[d] = x1; out[d + 1] = y1; out[d + 2] = x2; out[d + 3] = y2
            }
        }
        return out
    }

    /// The panoptic detection step (`multiclass_nms` with the panoptic test cfg): every (RoI, class) with a
    /// score strictly above `score_thr`, NMS (class-agnostic unless configured otherwise), at most
    /// `max_per_img`, highest score first.
    public func detections(_ r: BBoxResults) -> [Detection] {
        StandardRoIHead.detections(scores: r.scores, bboxes: r.bboxes, numClasses: bboxHead.numClasses,
                                   config: panoptic)
    }

    /// `multiclass_nms(bboxes [n, 4 * classes], scores [n, classes + 1], score_thr, nms, max_per_img)`.
    public static func detections(scores: [Float], bboxes: [Float], numClasses nc: Int,
                                  config: TestConfig.Panoptic) -> [Detection] {
        let n = scores.count / (nc + 1)
        let thr = Float(config.scoreThr)
        var boxes: [Float] = [], kept: [Float] = [], labels: [Int] = []
        for i in 0..<n {
            for c in 0..<nc where scores[i * (nc + 1) + c] > thr {
                let d = (i * nc + c) * 4
                boxes.append(contentsOf: bboxes[d..<d + 4])
                kept.append(scores[i * (nc + 1) + c])
                labels.append(c)
            }
        }
        let iou = Float(config.nmsIoU)
        var keep = config.classAgnostic
            ? NMS.keep(boxes: boxes, scores: kept, iouThreshold: iou)
            : NMS.batchedKeep(boxes: boxes, scores: kept, groups: labels, iouThreshold: iou)
        if config.maxPerImg > 0 && keep.count > config.maxPerImg { keep = Array(keep.prefix(config.maxPerImg)) }
        return keep.map { k in
            Detection(x1: boxes[4 * k], y1: boxes[4 * k + 1], x2: boxes[4 * k + 2], y2: boxes[4 * k + 3],
                      score: kept[k], label: labels[k])
        }
    }

    // MARK: Masks

    /// The mask branch on the detections: RoIs are the detection boxes times `scaleFactor` (input pixels);
    /// returns the mask logits `[k, classes, 28, 28]`.
    public func maskLogits(_ maps: RoIFeatureMaps, detections: [Detection], scaleFactor: [Float],
                           engine: EngineOptions = .default) -> [Float] {
        let s = scaleFactor.count == 4 ? scaleFactor : [1, 1, 1, 1]
        var rois: [Float] = []
        rois.reserveCapacity(detections.count * 4)
        for d in detections {
            rois.append(d.x1 * s[0]); rois.append(d.y1 * s[1]); rois.append(d.x2 * s[2]); rois.append(d.y2 * s[3])
        }
        let feats = extract(maps, boxes: rois, outputSize: rcnn.maskRoiOutputSize, engine: engine)
        return maskHead.forward(feats, count: detections.count, roiSize: rcnn.maskRoiOutputSize, engine: engine)
    }
}

extension StandardRoIHead {
    /// The binary masks of `detections` at original size: sigmoid of each detection's class channel of
    /// `logits` (`[k, classes, m, m]`), pasted into its box and thresholded at `mask_thr_binary`.
    /// Masks are pasted in parallel.
    public func binaryMasks(logits: [Float], detections: [Detection], imageHeight: Int,
                            imageWidth: Int, engine: EngineOptions = .default) -> [InstanceMask] {
        let m = 2 * rcnn.maskRoiOutputSize, per = m * m, nc = maskHead.numClasses
        let thr = Float(panoptic.maskThrBinary)
        var out = [InstanceMask](repeating: InstanceMask(x0: 0, y0: 0, width: 0, height: 0, bits: []),
                                 count: detections.count)
        out.withUnsafeMutableBufferPointer { o in
            guard let b = o.baseAddress else { return }
            // Each iteration writes its own mask.
            let bs = UnsafeSendableMutablePointer(b)
            concurrentFor(detections.count, threads: engine.threads) { i in
                let base = bs.pointer
                let d = detections[i]
                let off = (i * nc + d.label) * per
                base[i] = MaskPaste.binary(probs: MaskPaste.sigmoid(logits[off..<off + per]), size: m,
                                           box: (d.x1, d.y1, d.x2, d.y2), imageHeight: imageHeight,
                                           imageWidth: imageWidth, threshold: thr)
            }
        }
        return out
    }
}
