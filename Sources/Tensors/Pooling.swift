extension Tensor {
    /// Max pooling of a `[C, H, W]` map (torch `max_pool2d`, `ceil_mode=False`); padding counts as -inf.
    public func maxPool2d(kernel: Int, stride: Int, padding: Int = 0, engine: EngineOptions = .default) -> Tensor {
        let (c, h, w) = chw
        let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
        return Tensor(uninitialized: [c, oh, ow]) { out in
            data.withUnsafeBufferPointer { src in
                let ss = UnsafeSendablePointer(src.baseAddress!), os = UnsafeSendableMutablePointer(out.baseAddress!)
                parallelFor(c, threads: engine.threads) { range in
                    let s = ss.pointer, o = os.pointer
                    for ch in range {
                        let plane = s + ch * h * w
                        for oy in 0..<oh {
                            let y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, h)
                            for ox in 0..<ow {
                                let x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, w)
                                var m = -Float.infinity
                                for y in y0..<y1 {
                                    for x in x0..<x1 { m = max(m, plane[y * w + x]) }
                                }
                                o[(ch * oh + oy) * ow + ox] = m
                            }
                        }
                    }
                }
            }
        }
    }
}
