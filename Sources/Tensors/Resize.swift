/// Resizing of `[C, H, W]` maps as torch's `F.interpolate` does it on the CPU in float32.
extension Tensor {
    /// Bilinear, `align_corners=False`: source coordinate `(dst + 0.5) * scale - 0.5`, clamped at 0, with
    /// `scale = in / out` (or `1 / scaleFactor` when the caller passed a scale factor, as torch does).
    ///
    /// With `cropHeight` / `cropWidth`, only the top-left `cropHeight x cropWidth` of that output is
    /// computed (the same values as resizing, then cropping).
    public func resizedBilinear(height fullH: Int, width fullW: Int, scaleFactor: Float? = nil,
                                cropHeight: Int? = nil, cropWidth: Int? = nil, engine: EngineOptions = .default) -> Tensor {
        let (c, h, w) = chw
        let sy = scaleFactor.map { 1 / $0 } ?? Float(h) / Float(fullH)
        let sx = scaleFactor.map { 1 / $0 } ?? Float(w) / Float(fullW)
        let oh = min(cropHeight ?? fullH, fullH), ow = min(cropWidth ?? fullW, fullW)
        let ys = linearTaps(out: oh, in: h, scale: sy)
        let xs = linearTaps(out: ow, in: w, scale: sx)
        return Tensor(uninitialized: [c, oh, ow]) { out in
            data.withUnsafeBufferPointer { src in
            xs.withUnsafeBufferPointer { xb in
                let ss = UnsafeSendablePointer(src.baseAddress!), os = UnsafeSendableMutablePointer(out.baseAddress!)
                let xts = UnsafeSendablePointer(xb.baseAddress!)
                parallelFor(c * oh, threads: engine.threads, minPerThread: 16) { range in
                    let s = ss.pointer, o = os.pointer, xt = xts.pointer
                    for r in range {
                        let ch = r / oh, y = r % oh
                        let ty = ys[y]
                        let row0 = s + (ch * h + ty.i0) * w, row1 = s + (ch * h + ty.i1) * w
                        let dst = o + r * ow
                        for x in 0..<ow {
                            let tx = xt[x]
                            dst[x] = ty.w0 * (tx.w0 * row0[tx.i0] + tx.w1 * row0[tx.i1])
                                + ty.w1 * (tx.w0 * row1[tx.i0] + tx.w1 * row1[tx.i1])
                        }
                    }
                }
            }
            }
        }
    }

    /// Nearest neighbour with an output size (torch `mode='nearest'`): source `floor(dst * in / out)`.
    public func resizedNearest(height oh: Int, width ow: Int, engine: EngineOptions = .default) -> Tensor {
        let (c, h, w) = chw
        let yi = nearestIndices(out: oh, in: h), xi = nearestIndices(out: ow, in: w)
        return Tensor(uninitialized: [c, oh, ow]) { out in
            data.withUnsafeBufferPointer { src in
                let ss = UnsafeSendablePointer(src.baseAddress!), os = UnsafeSendableMutablePointer(out.baseAddress!)
                parallelFor(c * oh, threads: engine.threads, minPerThread: 16) { range in
                    let s = ss.pointer, o = os.pointer
                    for r in range {
                        let ch = r / oh, y = r % oh
                        let row = s + (ch * h + yi[y]) * w, dst = o + r * ow
                        for x in 0..<ow { dst[x] = row[xi[x]] }
                    }
                }
            }
        }
    }
}

struct LinearTap {
    var i0: Int
    var i1: Int
    var w0: Float
    var w1: Float
}

/// torch's `area_pixel_compute_source_index` (linear, align_corners False) and its two taps, in float.
func linearTaps(out: Int, in size: Int, scale: Float) -> [LinearTap] {
    (0..<out).map { d in
        let src = max(scale * (Float(d) + 0.5) - 0.5, 0)
        let i0 = min(Int(src), size - 1)
        let i1 = i0 < size - 1 ? i0 + 1 : i0
        let l1 = min(max(src - Float(i0), 0), 1)
        return LinearTap(i0: i0, i1: i1, w0: 1 - l1, w1: l1)
    }
}

/// torch's `nearest_idx`: exact copies and doublings by index arithmetic, otherwise `floor(d * in/out)`.
func nearestIndices(out: Int, in size: Int) -> [Int] {
    if out == size { return Array(0..<out) }
    if out == 2 * size { return (0..<out).map { $0 >> 1 } }
    let scale = Float(size) / Float(out)
    return (0..<out).map { min(Int((Float($0) * scale).rounded(.down)), size - 1) }
}
