import Foundation

/// A binary instance mask at original-image size, stored only over the rectangle where it can be non-zero.
public struct InstanceMask: Sendable, Equatable {
    /// The rectangle `[x0, x0 + width) x [y0, y0 + height)` in image pixels.
    public var x0: Int, y0: Int, width: Int, height: Int
    /// `height * width` flags, row-major over the rectangle (1 = in the mask).
    public var bits: [UInt8]

    public init(x0: Int, y0: Int, width: Int, height: Int, bits: [UInt8]) {
        precondition(bits.count == width * height, "InstanceMask: \(bits.count) flags for \(width)x\(height)")
        self.x0 = x0; self.y0 = y0; self.width = width; self.height = height; self.bits = bits
    }

    /// Whether image pixel (x, y) is in the mask.
    @inlinable public func contains(x: Int, y: Int) -> Bool {
        let cx = x - x0, cy = y - y0
        guard cx >= 0, cy >= 0, cx < width, cy < height else { return false }
        return bits[cy * width + cx] != 0
    }

    public var area: Int { bits.reduce(0) { $0 + Int($1) } }
}

/// mmdetection's `_do_paste_mask(skip_empty=False)` followed by `>= mask_thr_binary`: each image pixel centre
/// is mapped into the box, normalised to [-1, 1] and sampled from the 28x28 probability map with
/// `grid_sample(bilinear, zeros, align_corners=False)`, float32 as torch's CPU kernel computes it.
public enum MaskPaste {
    /// The grid coordinate of every pixel along one axis (`img_x` of `_do_paste_mask`, then unnormalised to
    /// the mask's pixel space as `grid_sample` does): `((i + 0.5 - lo) / (hi - lo) * 2 - 1 + 1) * size / 2 - 0.5`.
    static func sourceCoordinates(count: Int, lo: Float, hi: Float, size: Int) -> [Float] {
        let half = Float(size) * 0.5
        let extent = hi - lo
        return (0..<count).map { i in
            var g = (Float(i) + 0.5 - lo) / extent * 2 - 1
            if g.isInfinite { g = 0 }
            return (g + 1) * half - 0.5
        }
    }

    /// The contiguous index range whose coordinates can get a non-zero bilinear weight (`-1 < c < size`).
    static func support(_ coords: [Float], size: Int) -> Range<Int> {
        guard let first = coords.firstIndex(where: { $0 > -1 && $0 < Float(size) }) else { return 0..<0 }
        var last = first
        while last + 1 < coords.count, coords[last + 1] > -1, coords[last + 1] < Float(size) { last += 1 }
        return first..<(last + 1)
    }

    /// Bilinear sample of `probs` (`size x size`) at (x, y) with zero padding, as torch's vectorised CPU
    /// `grid_sample` combines the four taps.
    @inline(__always)
    static func sample(_ probs: UnsafePointer<Float>, size: Int, x: Float, y: Float) -> Float {
        let xw = x.rounded(.down), yn = y.rounded(.down)
        let w = x - xw, e = 1 - w, n = y - yn, s = 1 - n
        let nw = s * e, ne = s * w, sw = n * e, se = n * w
        let ixw = Int(xw), iyn = Int(yn), ixe = ixw + 1, iys = iyn + 1
        @inline(__always) func at(_ yy: Int, _ xx: Int) -> Float {
            (xx > -1 && xx < size && yy > -1 && yy < size) ? probs[yy * size + xx] : 0
        }
        return at(iyn, ixw) * nw + at(iyn, ixe) * ne + at(iys, ixw) * sw + at(iys, ixe) * se
    }

    /// The sigmoid of a `size x size` logit map (`1 / (1 + exp(-x))`).
    public static func sigmoid(_ logits: ArraySlice<Float>) -> [Float] {
        logits.map { 1 / (1 + expf(-$0)) }
    }

    /// The pasted probabilities over the whole `imageHeight x imageWidth` image (as `_do_paste_mask` returns).
    public static func probabilities(probs: [Float], size: Int, box: (Float, Float, Float, Float),
                                     imageHeight: Int, imageWidth: Int) -> [Float] {
        let xs = sourceCoordinates(count: imageWidth, lo: box.0, hi: box.2, size: size)
        let ys = sourceCoordinates(count: imageHeight, lo: box.1, hi: box.3, size: size)
        var out = [Float](repeating: 0, count: imageHeight * imageWidth)
        probs.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            for yy in support(ys, size: size) {
                for xx in support(xs, size: size) {
                    out[yy * imageWidth + xx] = sample(base, size: size, x: xs[xx], y: ys[yy])
                }
            }
        }
        return out
    }

    /// The binary mask `pasted >= threshold`, stored over its support rectangle only.
    public static func binary(probs: [Float], size: Int, box: (Float, Float, Float, Float), imageHeight: Int,
                              imageWidth: Int, threshold: Float) -> InstanceMask {
        let xs = sourceCoordinates(count: imageWidth, lo: box.0, hi: box.2, size: size)
        let ys = sourceCoordinates(count: imageHeight, lo: box.1, hi: box.3, size: size)
        let rx = support(xs, size: size), ry = support(ys, size: size)
        var bits = [UInt8](repeating: 0, count: rx.count * ry.count)
        probs.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            for (j, yy) in ry.enumerated() {
                for (i, xx) in rx.enumerated() where sample(base, size: size, x: xs[xx], y: ys[yy]) >= threshold {
                    bits[j * rx.count + i] = 1
                }
            }
        }
        return InstanceMask(x0: rx.lowerBound, y0: ry.lowerBound, width: rx.count, height: ry.count, bits: bits)
    }
}
