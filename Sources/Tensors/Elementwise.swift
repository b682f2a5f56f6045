extension Tensor {
    /// `max(x, 0)` element-wise, in place.
    public mutating func applyReLU(engine: EngineOptions = .default) {
        data.withUnsafeMutableBufferPointer { p in
            let bs = UnsafeSendableMutablePointer(p.baseAddress!)
            parallelFor(p.count, threads: engine.threads, minPerThread: 1 << 16) { r in
                let base = bs.pointer
                for i in r { base[i] = max(base[i], 0) }
            }
        }
    }

    /// `max(x, 0)` element-wise.
    public func relu(engine: EngineOptions = .default) -> Tensor {
        var t = self
        t.applyReLU(engine: engine)
        return t
    }

    /// `self += other`, same shapes.
    public mutating func add(_ other: Tensor, engine: EngineOptions = .default) {
        precondition(shape == other.shape, "Tensor.add: \(shape) + \(other.shape)")
        data.withUnsafeMutableBufferPointer { p in
            other.data.withUnsafeBufferPointer { q in
                let sa = UnsafeSendableMutablePointer(p.baseAddress!), sb = UnsafeSendablePointer(q.baseAddress!)
                parallelFor(p.count, threads: engine.threads, minPerThread: 1 << 16) { r in
                    let a = sa.pointer, b = sb.pointer
                    for i in r { a[i] += b[i] }
                }
            }
        }
    }

    /// The `[C, h, w]` top-left crop of a `[C, H, W]` map.
    public func cropped(height h: Int, width w: Int) -> Tensor {
        let (c, oh, ow) = chw
        precondition(h <= oh && w <= ow, "Tensor.cropped: \(h)x\(w) from \(shape)")
        if h == oh && w == ow { return rank == 3 ? self : reshaped([c, h, w]) }
        return Tensor(uninitialized: [c, h, w]) { out in
            data.withUnsafeBufferPointer { src in
                for ch in 0..<c {
                    for y in 0..<h {
                        for x in 0..<w { out[(ch * h + y) * w + x] = src[(ch * oh + y) * ow + x] }
                    }
                }
            }
        }
    }
}
