import Imaging
import Tensors
import ZooRegistry

/// The zoo's test pipeline settings (mmdetection `test_pipeline`): keep-ratio resize into `scale`,
/// normalisation of RGB values, zero padding to a multiple of `sizeDivisor`.
public struct PreprocessConfig: Sendable, Equatable {
    /// `img_scale` as (long edge, short edge) limits: (1280, 720) for BDD100K.
    public var scale: (long: Int, short: Int)
    /// Per RGB channel, in the 0...255 range.
    public var mean: [Float]
    public var std: [Float]
    public var sizeDivisor: Int

    public init(scale: (long: Int, short: Int), mean: [Float], std: [Float], sizeDivisor: Int) {
        self.scale = scale
        self.mean = mean
        self.std = std
        self.sizeDivisor = sizeDivisor
    }

    /// From the registry's `test_config` (zoo.json), the only source of these values.
    public init(_ c: TestConfig) throws {
        guard c.imgScale.count == 2, c.mean.count == 3, c.std.count == 3 else {
            throw PanopticFPNError.badInput("test_config needs img_scale [long, short] and 3 values of mean and std; found \(c.imgScale), \(c.mean), \(c.std)")
        }
        self.init(scale: (c.imgScale[0], c.imgScale[1]), mean: c.mean.map { Float($0) }, std: c.std.map { Float($0) },
                  sizeDivisor: c.padSizeDivisor)
    }

    /// The same settings at another scale (tests and developer runs at reduced size).
    public func scaled(to scale: (long: Int, short: Int)) -> PreprocessConfig {
        var c = self
        c.scale = scale
        return c
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
    public static func run(_ image: BGRImage, config: PreprocessConfig) -> PreprocessedImage {
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
