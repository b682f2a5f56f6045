import Tensors

/// mmdetection's `FCNMaskHead` (`roi_head.mask_head.*`): `convs.0..3` (3x3, 256, ReLU), `upsample`
/// (ConvTranspose2d 2x2 stride 2, ReLU) and `conv_logits` (1x1, one channel per class), giving 28x28 logits
/// per RoI from 14x14 RoI features.
///
/// The RoIs of a chunk are laid side by side in one wide map `[C, s, m * (s + 1)]` with a zero column
/// after each RoI, so each layer is one large convolution while the 3x3 kernels still see every RoI
/// zero-padded on its own; the separator columns are cleared after each convolution. (Side by side rather
/// than stacked: the Winograd transforms run along rows, so a wide map gives them long vectors.)
public struct FCNMaskHead: Sendable {
    /// `convs.i.conv`.
    var convs: [Conv2d]
    /// `upsample`.
    var upsample: ConvTranspose2d
    /// `conv_logits`.
    var convLogits: Conv2d
    public let numClasses: Int
    public let channels: Int

    /// RoIs per wide map: bounds the activations to a few tens of MB.
    static let chunk = 50

    public init(binder: WeightBinder, numClasses: Int, channels: Int = 256, numConvs: Int = 4) {
        convs = (0..<numConvs).map { i in
            binder.conv("roi_head.mask_head.convs.\(i).conv", cin: channels, cout: channels, k: 3, padding: 1)
        }
        let up = "roi_head.mask_head.upsample"
        upsample = ConvTranspose2d(weight: binder.take(up + ".weight", shape: [channels, channels, 2, 2]),
                                   bias: binder.take(up + ".bias", shape: [channels]).data)
        convLogits = binder.conv("roi_head.mask_head.conv_logits", cin: channels, cout: numClasses, k: 1)
        self.numClasses = numClasses
        self.channels = channels
    }

    /// Multiply-adds of the convolutions for one RoI of `s x s` (the separator rows not counted).
    public func multiplyAddsPerRoI(roiSize s: Int) -> Int {
        let plane = s * s
        return convs.count * plane * channels * channels * 9 + plane * channels * channels * 4
            + 4 * plane * channels * numClasses
    }

    /// `roiFeats`: `[n, C, s, s]` (RoIAlign output). Returns logits `[n, classes, 2s, 2s]`.
    public func forward(_ roiFeats: [Float], count n: Int, roiSize s: Int, engine: EngineOptions = .default) -> [Float] {
        let plane = s * s, cols = s + 1, s2 = 2 * s, out2 = s2 * s2
        let classes = numClasses, channels = self.channels
        var result = [Float](repeating: 0, count: n * classes * out2)
        var start = 0
        while start < n {
            let m = min(FCNMaskHead.chunk, n - start)
            let wide = m * cols, area = s * wide
            let first = start
            // Lay the RoIs side by side (separator columns zero), channels split over the threads.
            var x = Tensor(uninitialized: [channels, s, wide]) { xp in
                roiFeats.withUnsafeBufferPointer { fp in
                    guard let fb = fp.baseAddress, let xbb = xp.baseAddress else { return }
                    // Each worker writes its channels.
                    let fs = UnsafeSendablePointer(fb), xs = UnsafeSendableMutablePointer(xbb)
                    parallelFor(channels, threads: engine.threads, minPerThread: 16) { range in
                        let f = fs.pointer, xb = xs.pointer
                        for c in range {
                            for y in 0..<s {
                                let row = xb + c * area + y * wide
                                for r in 0..<m {
                                    (row + r * cols).update(from: f + ((first + r) * channels + c) * plane + y * s,
                                                            count: s)
                                    row[r * cols + s] = 0
                                }
                            }
                        }
                    }
                }
            }
            for conv in convs {
                x = conv(x, relu: true, engine: engine)
                x.data.withUnsafeMutableBufferPointer { xp in
                    guard let xb = xp.baseAddress else { return }
                    for c in 0..<channels {
                        for y in 0..<s {
                            let row = xb + c * area + y * wide + s
                            for r in 0..<m { row[r * cols] = 0 }
                        }
                    }
                }
            }
            // Separator columns become output columns 2s, 2s + 1 of each RoI's band: dropped below.
            let logits = convLogits(upsample(x, relu: true, engine: engine), engine: engine)
            let wide2 = 2 * wide, area2 = s2 * wide2
            logits.data.withUnsafeBufferPointer { lp in
                result.withUnsafeMutableBufferPointer { rp in
                    guard let lb = lp.baseAddress, let rb = rp.baseAddress else { return }
                    // Each worker writes the (RoI, class) planes of its range.
                    let ls = UnsafeSendablePointer(lb), rs = UnsafeSendableMutablePointer(rb)
                    parallelFor(m * classes, threads: engine.threads, minPerThread: 64) { range in
                        let l = ls.pointer, res = rs.pointer
                        for i in range {
                            let r = i / classes, k = i % classes
                            let src = l + k * area2 + r * 2 * cols
                            let dst = res + ((first + r) * classes + k) * out2
                            for y in 0..<s2 { (dst + y * s2).update(from: src + y * wide2, count: s2) }
                        }
                    }
                }
            }
            start += m
        }
        return result
    }
}
