import Imaging
import Tensors

/// The zoo's test pipeline settings (mmdetection `test_pipeline`): keep-ratio resize into `scale`,
/// normalisation of RGB values, zero padding to a multiple of `sizeDivisor`.
public struct PreprocessConfig: Sendable, Equatable {
    /// `img_scale` as (long edge, short edge) limits: (1280, 720) for BDD100K.
    public var scale: (long: Int, short: Int)
    /// Per RGB channel, in the 0...255 range.
    public var mean: [Float]
    public var std: [Float]
    public var sizeDivisor: Int

    public init(scale: (long: Int, short: Int) = (1280, 720), mean: [Float] = [123.675, 116.28, 103.53],
                std: [Float] = [58.395, 57.12, 57.375], sizeDivisor: Int = 32) {
        self.scale = scale
        self.mean = mean
        self.std = std
        self.sizeDivisor = sizeDivisor
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.scale == b.scale && a.mean == b.mean && a.std == b.std && a.sizeDivisor == b.sizeDivisor
    }
}

/// mmdetection's `img_meta` for one image: sizes as (height, width).
public struct ImageMeta: Sendable, Equatable {
    /// The decoded image.
    public var oriShape: (h: Int, w: Int)
    /// After the keep-ratio resize.
    public var imgShape: (h: Int, w: Int)
    /// After padding: the network input size.
    public var padShape: (h: Int, w: Int)
    /// `new / old` per axis, rounded to float32 as mmdetection stores it (w, h).
    public var scaleFactor: (w: Float, h: Float)

    public static func == (a: Self, b: Self) -> Bool {
        a.oriShape == b.oriShape && a.imgShape == b.imgShape && a.padShape == b.padShape
            && a.scaleFactor == b.scaleFactor
    }
}

/// The network input of one image.
public struct PreprocessedImage: Sendable {
    /// `[3, padH, padW]`: RGB, `(x - mean) / std`, zero padding at the bottom and right.
    public var input: Tensor
    public var meta: ImageMeta
}

public enum Preprocess {
    /// mmcv's `rescale_size`: the factor `min(long / max(h, w), short / min(h, w))`, sizes rounded half up.
    public static func resizedShape(height h: Int, width w: Int, scale: (long: Int, short: Int)) -> (h: Int, w: Int) {
        let long = Double(max(scale.long, scale.short)), short = Double(min(scale.long, scale.short))
        let factor = min(long / Double(max(h, w)), short / Double(min(h, w)))
        return (Int(Double(h) * factor + 0.5), Int(Double(w) * factor + 0.5))
    }

    /// The test pipeline on a decoded image: `LoadImageFromFile(to_float32)`, `Resize(keep_ratio)`,
    /// `Normalize(to_rgb)`, `Pad(size_divisor)`, `ImageToTensor`.
    ///
    /// The normalisation repeats OpenCV's arithmetic in mmcv's `imnormalize_`: the float32 pixel minus the
    /// mean, then times `1 / std`, each in double and rounded to float32.
    public static func run(_ image: BGRImage, config: PreprocessConfig = PreprocessConfig()) -> PreprocessedImage {
        let (h, w) = (image.height, image.width)
        let (nh, nw) = resizedShape(height: h, width: w, scale: config.scale)
        var bgr = image.pixels.map { Float($0) }
        bgr = resizeLinearOpenCV(bgr, width: w, height: h, channels: 3, toWidth: nw, toHeight: nh)
        let d = config.sizeDivisor
        let ph = (nh + d - 1) / d * d, pw = (nw + d - 1) / d * d
        var input = Tensor(zeros: [3, ph, pw])
        let mean = config.mean.map { Double($0) }
        let inv = config.std.map { 1.0 / Double($0) }
        input.data.withUnsafeMutableBufferPointer { out in
            for c in 0..<3 {
                let src = 2 - c  // RGB from BGR
                for y in 0..<nh {
                    for x in 0..<nw {
                        let t = Float(Double(bgr[(y * nw + x) * 3 + src]) - mean[c])
                        out[(c * ph + y) * pw + x] = Float(Double(t) * inv[c])
                    }
                }
            }
        }
        let meta = ImageMeta(oriShape: (h, w), imgShape: (nh, nw), padShape: (ph, pw),
                             scaleFactor: (Float(Double(nw) / Double(w)), Float(Double(nh) / Double(h))))
        return PreprocessedImage(input: input, meta: meta)
    }
}
