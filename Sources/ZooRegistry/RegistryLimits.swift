/// The one table of what a registry may contain. Every field of `test_config` and of each model is checked
/// against it when the registry is loaded, so a hostile or mistyped registry fails with a message naming the
/// field instead of dividing by zero, corrupting memory or allocating without bound later in the runner.
public enum RegistryLimits {
    /// `img_scale` sides (long, short), in pixels.
    public static let scaleSide = 32...4096
    /// `pad_size_divisor`.
    public static let padSizeDivisor = 1...128
    /// Pixel `mean` per channel (8-bit pixel values).
    public static let pixelMean = 0.0...255.0
    /// Pixel `std` per channel: strictly positive.
    public static let pixelStd = 1e-3...1000.0
    /// Anchor scales and ratios.
    public static let anchorScale = 1e-3...1024.0
    public static let anchorRatio = 1e-3...1000.0
    public static let listLength = 1...16
    /// Feature strides (anchor strides: the 5 FPN levels P2..P6; RoI strides: the 4 levels P2..P5).
    public static let stride = 1...256
    public static let anchorStrideCount = 5
    public static let featmapStrideCount = 4
    /// RPN `nms_pre` and `max_per_img`.
    public static let proposals = 1...100_000
    /// Box sizes (`min_bbox_size`, `finest_scale`), in pixels.
    public static let boxSize = 0.0...4096.0
    /// Box-coder means (absolute value) and stds (strictly positive).
    public static let coderMean = -100.0...100.0
    public static let coderStd = 1e-6...100.0
    public static let coderCount = 4
    /// RoIAlign output sides and the mask side.
    public static let roiSize = 1...64
    public static let samplingRatio = 0...16
    public static let maskSize = 1...256
    /// Panoptic `max_per_img` (instances per image).
    public static let instances = 1...10_000
    /// `stuff_area_limit`, in pixels.
    public static let stuffArea = 0...(4096 * 4096)
    /// `instance_offset`: larger than the class count, and small enough that class * offset + instance fits
    /// in a 32-bit id.
    public static let instanceOffsetMax = 1_000_000
    /// Thresholds and IoUs.
    public static let unit = 0.0...1.0
    /// Model fields.
    public static let depths: Set<Int> = [50, 101]
    public static let epochs = 1...10_000
    public static let pq = 0.0...100.0
    /// At most this many classes.
    public static let classCount = 1...1000
}

extension TestConfig {
    /// Checks every field against `RegistryLimits`; `classes` is the registry's class count.
    func validate(file: String, classes: Int) throws {
        func fail(_ field: String, _ problem: String) -> RegistryError {
            .invalid(file: file, entry: "(top level)", field: "test_config." + field, problem: problem)
        }
        func int(_ field: String, _ v: Int, _ r: ClosedRange<Int>) throws {
            guard r.contains(v) else { throw fail(field, "\(v) is outside \(r.lowerBound)...\(r.upperBound)") }
        }
        func num(_ field: String, _ v: Double, _ r: ClosedRange<Double>) throws {
            guard v.isFinite else { throw fail(field, "\(v) is not a finite number") }
            guard r.contains(v) else { throw fail(field, "\(v) is outside \(r.lowerBound)...\(r.upperBound)") }
        }
        func count<T>(_ field: String, _ a: [T], _ n: ClosedRange<Int>) throws {
            guard n.contains(a.count) else {
                throw fail(field, n.lowerBound == n.upperBound ? "expected \(n.lowerBound) values, found \(a.count)"
                                  : "expected \(n.lowerBound)...\(n.upperBound) values, found \(a.count)")
            }
        }
        func ints(_ field: String, _ a: [Int], _ n: ClosedRange<Int>, _ r: ClosedRange<Int>) throws {
            try count(field, a, n)
            for (i, v) in a.enumerated() { try int("\(field)[\(i)]", v, r) }
        }
        func nums(_ field: String, _ a: [Double], _ n: ClosedRange<Int>, _ r: ClosedRange<Double>) throws {
            try count(field, a, n)
            for (i, v) in a.enumerated() { try num("\(field)[\(i)]", v, r) }
        }
        typealias L = RegistryLimits
        try ints("img_scale", imgScale, 2...2, L.scaleSide)
        try nums("mean", mean, 3...3, L.pixelMean)
        try nums("std", std, 3...3, L.pixelStd)
        try int("pad_size_divisor", padSizeDivisor, L.padSizeDivisor)

        try nums("rpn.anchor_scales", rpn.anchorScales, L.listLength, L.anchorScale)
        try nums("rpn.anchor_ratios", rpn.anchorRatios, L.listLength, L.anchorRatio)
        try ints("rpn.anchor_strides", rpn.anchorStrides, L.anchorStrideCount...L.anchorStrideCount, L.stride)
        try int("rpn.nms_pre", rpn.nmsPre, L.proposals)
        try int("rpn.max_per_img", rpn.maxPerImg, L.proposals)
        try num("rpn.nms_iou", rpn.nmsIoU, L.unit)
        try num("rpn.min_bbox_size", rpn.minBBoxSize, L.boxSize)
        try nums("rpn.target_means", rpn.targetMeans, L.coderCount...L.coderCount, L.coderMean)
        try nums("rpn.target_stds", rpn.targetStds, L.coderCount...L.coderCount, L.coderStd)

        try int("rcnn.roi_output_size", rcnn.roiOutputSize, L.roiSize)
        try int("rcnn.mask_roi_output_size", rcnn.maskRoiOutputSize, L.roiSize)
        try int("rcnn.sampling_ratio", rcnn.samplingRatio, L.samplingRatio)
        try ints("rcnn.featmap_strides", rcnn.featmapStrides, L.featmapStrideCount...L.featmapStrideCount, L.stride)
        try num("rcnn.finest_scale", rcnn.finestScale, L.boxSize)
        guard rcnn.finestScale > 0 else { throw fail("rcnn.finest_scale", "must be greater than 0") }
        try nums("rcnn.target_means", rcnn.targetMeans, L.coderCount...L.coderCount, L.coderMean)
        try nums("rcnn.target_stds", rcnn.targetStds, L.coderCount...L.coderCount, L.coderStd)
        try int("rcnn.mask_size", rcnn.maskSize, L.maskSize)

        try num("panoptic.score_thr", panoptic.scoreThr, L.unit)
        try num("panoptic.nms_iou", panoptic.nmsIoU, L.unit)
        try int("panoptic.max_per_img", panoptic.maxPerImg, L.instances)
        try num("panoptic.mask_thr_binary", panoptic.maskThrBinary, L.unit)
        try num("panoptic.mask_overlap", panoptic.maskOverlap, L.unit)
        try int("panoptic.stuff_area_limit", panoptic.stuffAreaLimit, L.stuffArea)
        guard panoptic.instanceOffset > classes, panoptic.instanceOffset <= L.instanceOffsetMax else {
            throw fail("panoptic.instance_offset", "\(panoptic.instanceOffset) must be larger than the class count "
                       + "(\(classes)) and at most \(L.instanceOffsetMax)")
        }
        // Panoptic ids are class + instance * offset in 32 bits.
        guard (panoptic.maxPerImg + 1) * panoptic.instanceOffset + classes <= Int(Int32.max) else {
            throw fail("panoptic.instance_offset", "\(panoptic.instanceOffset) times panoptic.max_per_img "
                       + "(\(panoptic.maxPerImg)) does not fit in a 32-bit panoptic id")
        }
    }
}
