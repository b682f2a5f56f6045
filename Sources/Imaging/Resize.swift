/// OpenCV's `cv2.resize(src, (w, h), interpolation=INTER_LINEAR)` on a float32 `[H, W, C]` image:
/// source coordinate `(d + 0.5) * in / out - 0.5`, its floor and fraction (in double, the fraction then
/// rounded to float) as the two taps, clamped at the borders; a horizontal pass then a vertical one.
/// Agrees with OpenCV 4's output to a few float ulps (its SIMD code rounds its sums differently).
/// A same-size resize is a copy, as in OpenCV.
public func resizeLinearOpenCV(_ src: [Float], width: Int, height: Int, channels: Int,
                               toWidth ow: Int, toHeight oh: Int) -> [Float] {
    precondition(src.count == width * height * channels, "resizeLinearOpenCV: size mismatch")
    if ow == width && oh == height { return src }
    let xs = openCVTaps(out: ow, in: width), ys = openCVTaps(out: oh, in: height)
    var dst = [Float](repeating: 0, count: ow * oh * channels)
    var row0 = [Float](repeating: 0, count: ow * channels), row1 = row0
    func horizontal(_ sy: Int, into row: inout [Float]) {
        let base = sy * width * channels
        for dx in 0..<ow {
            let t = xs[dx]
            for c in 0..<channels {
                row[dx * channels + c] = src[base + t.i0 * channels + c] * t.w0 + src[base + t.i1 * channels + c] * t.w1
            }
        }
    }
    for dy in 0..<oh {
        let t = ys[dy]
        horizontal(t.i0, into: &row0)
        horizontal(t.i1, into: &row1)
        let out = dy * ow * channels
        for i in 0..<(ow * channels) { dst[out + i] = row0[i] * t.w0 + row1[i] * t.w1 }
    }
    return dst
}

struct OpenCVTap {
    var i0: Int
    var i1: Int
    var w0: Float
    var w1: Float
}

func openCVTaps(out: Int, in size: Int) -> [OpenCVTap] {
    let scale = Double(size) / Double(out)
    return (0..<out).map { d in
        let f = (Double(d) + 0.5) * scale - 0.5
        var s = Int(f.rounded(.down))
        var frac = Float(f - Double(s))
        if s < 0 { s = 0; frac = 0 }
        if s >= size - 1 { s = size - 1; frac = 0 }
        return OpenCVTap(i0: s, i1: min(s + 1, size - 1), w0: 1 - frac, w1: frac)
    }
}
