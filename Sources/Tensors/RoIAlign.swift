import Dispatch

/// RoIAlign as mmcv's CPU kernel computes it (`roi_align_cpu.cpp`, average pooling), the `RoIAlign` layer
/// mmdetection's `SingleRoIExtractor` uses.
///
/// With `aligned` the box is shifted by half a pixel (`x * spatialScale - 0.5`) and not grown to one pixel;
/// with `samplingRatio == 0` each output bin averages an adaptive `ceil(roi_h / out) x ceil(roi_w / out)`
/// grid of bilinear samples. Samples outside `[-1, size]` count as 0; samples in `(-1, 0]` clamp to the border.
/// Every product and sum is float32, in the C++ kernel's order, so the results match it to the last bits.
public enum RoIAlign {
    /// The pooling geometry of one box, shared by all channels (mmcv's `pre_calc`).
    public struct Plan {
        /// For each (bin y, bin x, sample) the four flat input offsets and bilinear weights.
        var pos: [Int32]
        var weights: [Float]
        var samplesPerBin: Int
        var count: Float
        let outputSize: Int
    }

    /// The sampling plan of one box `(x1, y1, x2, y2)` in input pixels on a `height x width` map.
    public static func plan(box: (Float, Float, Float, Float), spatialScale: Float, height: Int, width: Int,
                            outputSize: Int, samplingRatio: Int, aligned: Bool) -> Plan {
        let offset: Float = aligned ? 0.5 : 0
        let startW = box.0 * spatialScale - offset
        let startH = box.1 * spatialScale - offset
        let endW = box.2 * spatialScale - offset
        let endH = box.3 * spatialScale - offset
        var roiW = endW - startW
        var roiH = endH - startH
        if !aligned {
            roiW = max(roiW, 1)
            roiH = max(roiH, 1)
        }
        let pooled = Float(outputSize)
        let binH = roiH / pooled
        let binW = roiW / pooled
        let gridH = samplingRatio > 0 ? samplingRatio : Int((roiH / pooled).rounded(.up))
        let gridW = samplingRatio > 0 ? samplingRatio : Int((roiW / pooled).rounded(.up))
        let samples = max(gridH, 0) * max(gridW, 0)
        var pos = [Int32](repeating: 0, count: outputSize * outputSize * samples * 4)
        var weights = [Float](repeating: 0, count: outputSize * outputSize * samples * 4)
        let fh = Float(height), fw = Float(width)
        var k = 0
        for ph in 0..<outputSize {
            for pw in 0..<outputSize {
                for iy in 0..<max(gridH, 0) {
                    let yy = startH + Float(ph) * binH + (Float(iy) + 0.5) * binH / Float(gridH)
                    for ix in 0..<max(gridW, 0) {
                        let xx = startW + Float(pw) * binW + (Float(ix) + 0.5) * binW / Float(gridW)
                        defer { k += 4 }
                        var y = yy, x = xx
                        if y < -1 || y > fh || x < -1 || x > fw { continue }
                        if y <= 0 { y = 0 }
                        if x <= 0 { x = 0 }
                        var yLow = Int(y), xLow = Int(x)
                        let yHigh: Int, xHigh: Int
                        if yLow >= height - 1 {
                            yLow = height - 1; yHigh = yLow; y = Float(yLow)
                        } else {
                            yHigh = yLow + 1
                        }
                        if xLow >= width - 1 {
                            xLow = width - 1; xHigh = xLow; x = Float(xLow)
                        } else {
                            xHigh = xLow + 1
                        }
                        let ly = y - Float(yLow), lx = x - Float(xLow)
                        let hy: Float = 1 - ly, hx: Float = 1 - lx
                        pos[k] = Int32(yLow * width + xLow)
                        pos[k + 1] = Int32(yLow * width + xHigh)
                        pos[k + 2] = Int32(yHigh * width + xLow)
                        pos[k + 3] = Int32(yHigh * width + xHigh)
                        weights[k] = hy * hx
                        weights[k + 1] = hy * lx
                        weights[k + 2] = ly * hx
                        weights[k + 3] = ly * lx
                    }
                }
            }
        }
        return Plan(pos: pos, weights: weights, samplesPerBin: samples, count: Float(max(samples, 1)),
                    outputSize: outputSize)
    }

    /// Pools all `channels` of a `[channels, height, width]` map (`features`) under `plan` into
    /// `output[c * out * out + ph * out + pw]`.
    public static func pool(features: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                            plan: Plan, output: UnsafeMutablePointer<Float>) {
        let bins = plan.outputSize * plan.outputSize
        let spb = plan.samplesPerBin
        let plane = height * width
        plan.pos.withUnsafeBufferPointer { pos in
            plan.weights.withUnsafeBufferPointer { w in
                for c in 0..<channels {
                    let input = features + c * plane
                    let out = output + c * bins
                    var k = 0
                    for bin in 0..<bins {
                        var acc: Float = 0
                        for _ in 0..<spb {
                            let v = w[k] * input[Int(pos[k])] + w[k + 1] * input[Int(pos[k + 1])]
                                + w[k + 2] * input[Int(pos[k + 2])] + w[k + 3] * input[Int(pos[k + 3])]
                            acc += v
                            k += 4
                        }
                        out[bin] = acc / plan.count
                    }
                }
            }
        }
    }

    /// The same pooling over a channels-last map (`[height, width, channels]`): each bilinear tap reads one
    /// contiguous channel vector, so the per-channel arithmetic vectorises. Per channel the operations and
    /// their order are those of `pool` (and mmcv): `w1 v1 + w2 v2 + w3 v3 + w4 v4`, summed over the samples,
    /// divided by the count. `scratch` holds `channels` floats.
    public static func poolChannelsLast(features: UnsafePointer<Float>, channels: Int, plan: Plan,
                                        output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let bins = plan.outputSize * plan.outputSize
        let spb = plan.samplesPerBin
        let count = plan.count
        plan.pos.withUnsafeBufferPointer { pos in
            plan.weights.withUnsafeBufferPointer { w in
                var k = 0
                for bin in 0..<bins {
                    let acc = scratch
                    acc.update(repeating: 0, count: channels)
                    for _ in 0..<spb {
                        let w1 = w[k], w2 = w[k + 1], w3 = w[k + 2], w4 = w[k + 3]
                        let v1 = features + Int(pos[k]) * channels, v2 = features + Int(pos[k + 1]) * channels
                        let v3 = features + Int(pos[k + 2]) * channels, v4 = features + Int(pos[k + 3]) * channels
                        for c in 0..<channels {
                            acc[c] += w1 * v1[c] + w2 * v2[c] + w3 * v3[c] + w4 * v4[c]
                        }
                        k += 4
                    }
                    for c in 0..<channels { output[c * bins + bin] = acc[c] / count }
                }
            }
        }
    }

    /// `[C, H, W]` to `[H, W, C]` (the layout `poolChannelsLast` reads).
    public static func channelsLast(_ t: Tensor, engine: EngineOptions = .default) -> [Float] {
        let c = t.shape[t.rank - 3], h = t.shape[t.rank - 2], w = t.shape[t.rank - 1]
        let plane = h * w
        return [Float](unsafeUninitializedCapacity: c * plane) { dst, count in
            t.data.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = dst.baseAddress, plane > 0 else { return }
                // Blocks of 16 pixels: each channel's 16 values are one contiguous read, and the 16 output
                // pixels (16 x C floats) stay in cache while the channels are scattered into them.
                let block = 16
                let blocks = (plane + block - 1) / block
                let ss = UnsafeSendablePointer(s), ds = UnsafeSendableMutablePointer(d)
                parallelFor(blocks, threads: engine.threads, minPerThread: 64) { range in
                    let s = ss.pointer, d = ds.pointer
                    for b in range {
                        let p0 = b * block, n = min(block, plane - p0)
                        let o = d + p0 * c
                        for ch in 0..<c {
                            let i = s + ch * plane + p0
                            for j in 0..<n { o[j * c + ch] = i[j] }
                        }
                    }
                }
            }
            count = c * plane
        }
    }

    /// RoIAlign of one box over a `[C, H, W]` tensor: `[C, outputSize, outputSize]` values.
    public static func forward(features: Tensor, box: (Float, Float, Float, Float), spatialScale: Float,
                               outputSize: Int, samplingRatio: Int, aligned: Bool) -> [Float] {
        precondition(features.rank == 3, "RoIAlign: features must be [C, H, W], got \(features.shape)")
        let c = features.shape[0], h = features.shape[1], w = features.shape[2]
        let p = plan(box: box, spatialScale: spatialScale, height: h, width: w, outputSize: outputSize,
                     samplingRatio: samplingRatio, aligned: aligned)
        var out = [Float](repeating: 0, count: c * outputSize * outputSize)
        features.data.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer { o in
                guard let fp = f.baseAddress, let op = o.baseAddress else { return }
                pool(features: fp, channels: c, height: h, width: w, plan: p, output: op)
            }
        }
        return out
    }
}
