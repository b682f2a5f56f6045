import Foundation
import Imaging
import Tensors
import ZooRegistry

/// The panoptic segmentation of one image.
public struct PanopticResult: Sendable {
    /// The original image size.
    public var height: Int
    public var width: Int
    /// `[height * width]` row-major panoptic values: stuff `num_things + channel`, things
    /// `label + instance_offset * instance id`, VOID `num_things + num_stuff` (mmdetection's `pan_results`).
    public var panoptic: [Int32]
    /// The `instance_offset` of `panoptic` (the test config's `panoptic.instance_offset`).
    public var instanceOffset: Int32
    /// The detections of the panoptic detection step, best first (original pixels).
    public var detections: [Detection]
    /// `[k, 28 * 28]`: the mask logits of each detection's class (what is pasted), for checks and debugging.
    public var maskLogits: [Float]

    public init(height: Int, width: Int, panoptic: [Int32], instanceOffset: Int32, detections: [Detection],
                maskLogits: [Float] = []) {
        self.height = height; self.width = width; self.panoptic = panoptic; self.instanceOffset = instanceOffset
        self.detections = detections; self.maskLogits = maskLogits
    }
}

/// mmdetection's `PanopticFPN` (`TwoStagePanopticSegmentor.simple_test`), read top to bottom like the paper's
/// figure: preprocess ▸ ResNet ▸ FPN ▸ RPN ▸ RoI heads (boxes, then masks on the detections) ▸ semantic head
/// ▸ heuristic fusion. Every scale and threshold comes from the registry's `TestConfig`.
public struct PanopticFPN: Sendable {
    public let dense: DenseModel
    public let roiHead: StandardRoIHead
    public let fusionHead: HeuristicFusionHead
    public let preprocess: PreprocessConfig
    /// The ResNet depth, inferred from the weights (50 or 101).
    public var depth: Int { dense.backbone.depth }

    /// Binds every key of `weights` exactly once (throws `PanopticFPNError.weightBinding` listing all missing,
    /// unexpected and mis-shaped keys otherwise).
    public init(weights: WeightStore, config: TestConfig, numThings: Int, numStuff: Int) throws {
        let binder = WeightBinder(store: weights)
        dense = try DenseModel(binder: binder, config: config, semanticClasses: numStuff + 1)
        roiHead = StandardRoIHead(binder: binder, numClasses: numThings, config: config)
        try binder.finish()
        fusionHead = HeuristicFusionHead(numThings: numThings, numStuff: numStuff, config: config.panoptic)
        preprocess = try PreprocessConfig(config)
    }

    /// The model of a registry (its classes and test configuration).
    public init(weights: WeightStore, registry: Registry) throws {
        try self.init(weights: weights, config: registry.testConfig, numThings: registry.numThings,
                      numStuff: registry.numStuff)
    }

    /// Runs the whole model on a decoded image. With a profiler, records the stages "preprocess",
    /// "backbone", "fpn", "rpn", "semantic_head", "bbox_head" (RoIAlign 7x7, box head, decoding, NMS),
    /// "mask_head" (RoIAlign 14x14, FCN), "mask_paste", "semantic_resize" and "fusion". Every kernel runs
    /// with `engine`.
    public func callAsFunction(_ image: BGRImage, profiler: StageProfiler? = nil,
                               engine: EngineOptions = .default) -> PanopticResult {
        let p = Forward(profiler, engine: engine)
        let input = p.stage("preprocess") { Preprocess.run(image, config: preprocess) }
        return run(input, profiler: profiler, engine: engine)
    }

    /// The model on an already preprocessed image.
    public func run(_ input: PreprocessedImage, profiler: StageProfiler? = nil,
                    engine: EngineOptions = .default) -> PanopticResult {
        let p = Forward(profiler, engine: engine)
        let meta = input.meta
        var dense = self.dense(input, profiler: profiler, keepBackbone: false, engine: engine)
        let scale = [meta.scaleFactor.w, meta.scaleFactor.h, meta.scaleFactor.w, meta.scaleFactor.h]
        let levels = min(dense.features.count, roiHead.rcnn.featmapStrides.count)
        let (detections, maps) = p.stage("bbox_head") { () -> ([Detection], RoIFeatureMaps) in
            let maps = RoIFeatureMaps(Array(dense.features.prefix(levels)), engine: engine)
            let props = dense.rpn.proposals
            let n = props.shape[0], cols = props.shape[1]
            var boxes = [Float](repeating: 0, count: 4 * n)
            for i in 0..<n { for k in 0..<4 { boxes[4 * i + k] = props.data[i * cols + k] } }
            let r = roiHead.boxes(maps, proposals: boxes, imageShape: (meta.imgShape.h, meta.imgShape.w),
                                  scaleFactor: scale, engine: engine)
            p.count(n * roiHead.bboxHead.multiplyAddsPerRoI)
            return (roiHead.detections(r), maps)
        }
        // The RoI heads read the channels-last copies from here on.
        dense.features = []
        let logits = p.stage("mask_head") { () -> [Float] in
            p.count(detections.count * roiHead.maskHead.multiplyAddsPerRoI(roiSize: roiHead.rcnn.maskRoiOutputSize))
            return roiHead.maskLogits(maps, detections: detections, scaleFactor: scale, engine: engine)
        }
        let (h, w) = (meta.oriShape.h, meta.oriShape.w)
        let masks = p.stage("mask_paste") {
            roiHead.binaryMasks(logits: logits, detections: detections, imageHeight: h, imageWidth: w, engine: engine)
        }
        let semantic = p.stage("semantic_resize") {
            PanopticFPN.argmax(PanopticFPNHead.logitsAtOriginalSize(dense.semanticLogits, meta: meta, engine: engine),
                               engine: engine)
        }
        let pan = p.stage("fusion") { () -> [Int32] in
            let (ids, labels) = fusionHead.layMasks(detections: detections, masks: masks, height: h, width: w)
            return fusionHead.fuse(idMap: ids, labels: labels, semantic: semantic)
        }
        let per = 4 * roiHead.rcnn.maskRoiOutputSize * roiHead.rcnn.maskRoiOutputSize, nc = roiHead.maskHead.numClasses
        var own = [Float]()
        own.reserveCapacity(detections.count * per)
        for (i, d) in detections.enumerated() { own += logits[(i * nc + d.label) * per..<(i * nc + d.label + 1) * per] }
        return PanopticResult(height: h, width: w, panoptic: pan, instanceOffset: fusionHead.instanceOffset,
                              detections: detections, maskLogits: own)
    }

    /// Channel argmax of `[C, H, W]` logits (the first channel wins a tie, as torch's `argmax`).
    public static func argmax(_ logits: Tensor, engine: EngineOptions = .default) -> [UInt8] {
        let c = logits.shape[0], plane = logits.count / max(c, 1)
        var best = [UInt8](repeating: 0, count: plane)
        // Pixel ranges on both cores; within a range, class by class over contiguous rows.
        let parts = max(1, min(4 * engine.threads, plane / 65_536))
        logits.data.withUnsafeBufferPointer { lb in
            best.withUnsafeMutableBufferPointer { bb in
                // Each part writes its own pixel range.
                let ls = UnsafeSendablePointer(lb.baseAddress!), bs = UnsafeSendableMutablePointer(bb.baseAddress!)
                concurrentFor(parts, threads: engine.threads) { part in
                    let l = ls.pointer, b = bs.pointer
                    let lo = plane * part / parts, hi = plane * (part + 1) / parts
                    let top = UnsafeMutablePointer<Float>.allocate(capacity: max(hi - lo, 1))
                    defer { top.deallocate() }
                    top.update(from: l + lo, count: hi - lo)
                    for k in 1..<max(c, 1) {
                        let row = l + k * plane
                        for i in lo..<hi where row[i] > top[i - lo] {
                            top[i - lo] = row[i]
                            b[i] = UInt8(k)
                        }
                    }
                }
            }
        }
        return best
    }
}
