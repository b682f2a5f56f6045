/// The test-time configuration of the zoo's models (mmdetection's `test_pipeline` and `test_cfg`).
/// The runner reads every scale and threshold from here; nothing is a literal in the model code.
public struct TestConfig: Codable, Sendable, Equatable {
    public struct RPN: Codable, Sendable, Equatable {
        public var anchorScales: [Double]
        public var anchorRatios: [Double]
        public var anchorStrides: [Int]
        public var nmsPre: Int
        public var maxPerImg: Int
        public var nmsIoU: Double
        public var minBBoxSize: Double
        public var targetMeans: [Double]
        public var targetStds: [Double]
        enum CodingKeys: String, CodingKey {
            case anchorScales = "anchor_scales", anchorRatios = "anchor_ratios", anchorStrides = "anchor_strides"
            case nmsPre = "nms_pre", maxPerImg = "max_per_img", nmsIoU = "nms_iou", minBBoxSize = "min_bbox_size"
            case targetMeans = "target_means", targetStds = "target_stds"
        }
    }
    public struct RCNN: Codable, Sendable, Equatable {
        public var roiOutputSize: Int
        public var maskRoiOutputSize: Int
        public var samplingRatio: Int
        public var featmapStrides: [Int]
        public var finestScale: Double
        public var targetMeans: [Double]
        public var targetStds: [Double]
        public var maskSize: Int
        enum CodingKeys: String, CodingKey {
            case roiOutputSize = "roi_output_size", maskRoiOutputSize = "mask_roi_output_size"
            case samplingRatio = "sampling_ratio", featmapStrides = "featmap_strides"
            case finestScale = "finest_scale", targetMeans = "target_means", targetStds = "target_stds"
            case maskSize = "mask_size"
        }
    }
    public struct Panoptic: Codable, Sendable, Equatable {
        public var scoreThr: Double
        public var nmsIoU: Double
        public var classAgnostic: Bool
        public var maxPerImg: Int
        public var maskThrBinary: Double
        public var maskOverlap: Double
        public var stuffAreaLimit: Int
        public var instanceOffset: Int
        enum CodingKeys: String, CodingKey {
            case scoreThr = "score_thr", nmsIoU = "nms_iou", classAgnostic = "class_agnostic"
            case maxPerImg = "max_per_img", maskThrBinary = "mask_thr_binary", maskOverlap = "mask_overlap"
            case stuffAreaLimit = "stuff_area_limit", instanceOffset = "instance_offset"
        }
    }
    /// (long side, short side) as mmdetection writes `img_scale`: (1280, 720).
    public var imgScale: [Int]
    public var keepRatio: Bool
    public var toRGB: Bool
    public var mean: [Double]
    public var std: [Double]
    public var padSizeDivisor: Int
    public var rpn: RPN
    public var rcnn: RCNN
    public var panoptic: Panoptic

    enum CodingKeys: String, CodingKey {
        case imgScale = "img_scale", keepRatio = "keep_ratio", toRGB = "to_rgb", mean, std
        case padSizeDivisor = "pad_size_divisor", rpn, rcnn, panoptic
    }
}
