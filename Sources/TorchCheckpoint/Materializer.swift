/// Copies a strided view out of its storage into row-major, little-endian bytes, applying conj/neg.
enum Materializer {
    static func with<R>(_ t: TensorRef, name: String, base: UnsafeRawBufferPointer, limit: Int, swap: Bool,
                        _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try TensorBounds.check(t, storageBytes: base.count, name: name)
        let es = t.dtype.size
        let n = t.numel
        let total = n * es
        if t.isContiguous && !(swap && t.dtype.swapUnit > 1) && !t.conj && !t.neg {
            let start = t.storageOffset * es
            if total == 0 { return try body(UnsafeRawBufferPointer(start: base.baseAddress, count: 0)) }
            return try body(UnsafeRawBufferPointer(rebasing: base[start ..< start + total]))
        }
        guard total <= max(limit, base.count) else {
            throw CheckpointError.limitExceeded("'\(name)' is a broadcast view of \(total) bytes (more than \(limit)); not materialising it")
        }
        let out = OwnedBytes(count: total)
        let dst = out.buffer
        if total > 0, let src = base.baseAddress, let d = dst.baseAddress {
            if t.isContiguous {
                d.copyMemory(from: src + t.storageOffset * es, byteCount: total)
            } else {
                gather(t, src: src, dst: d)
            }
            if swap { byteSwap(dst, count: total, unit: t.dtype.swapUnit) }
            if t.neg { try negate(dst, count: n, dtype: t.dtype, name: name) }
            if t.conj { conjugate(dst, count: n, dtype: t.dtype) }
        }
        return try body(out.bytes)
    }

    private static func gather(_ t: TensorRef, src: UnsafeRawPointer, dst: UnsafeMutableRawPointer) {
        let es = t.dtype.size
        let nd = t.shape.count
        if nd == 0 {
            dst.copyMemory(from: src + t.storageOffset * es, byteCount: es)
            return
        }
        // Wrapping arithmetic: an offset one step past a dimension's end (never dereferenced) may
        // not fit an Int when that dimension has size 1 and an arbitrary stride.
        let inner = t.shape[nd - 1], innerStride = t.strides[nd - 1] &* es
        var idx = [Int](repeating: 0, count: nd - 1)
        var outPos = 0
        var rowStart = t.storageOffset * es
        while true {
            var s = rowStart
            for _ in 0 ..< inner {
                (dst + outPos).copyMemory(from: src + s, byteCount: es)
                outPos += es
                s = s &+ innerStride
            }
            // Next row (odometer over the outer dimensions).
            var k = nd - 2
            while k >= 0 {
                idx[k] += 1
                rowStart = rowStart &+ t.strides[k] &* es
                if idx[k] < t.shape[k] { break }
                rowStart = rowStart &- t.strides[k] &* es &* idx[k]
                idx[k] = 0
                k -= 1
            }
            if k < 0 { return }
        }
    }

    static func byteSwap(_ p: UnsafeMutableRawBufferPointer, count: Int, unit: Int) {
        guard unit > 1 else { return }
        var i = 0
        while i + unit <= count {
            var a = i, b = i + unit - 1
            while a < b { p.swapAt(a, b); a += 1; b -= 1 }
            i += unit
        }
    }

    private static func negate(_ p: UnsafeMutableRawBufferPointer, count n: Int, dtype: DType, name: String) throws {
        let es = dtype.size
        switch dtype {
        case .float64, .float32, .float16, .bfloat16, .float8_e4m3fn, .float8_e5m2, .complex32, .complex64, .complex128:
            let unit = dtype.swapUnit
            var i = unit - 1
            while i < n * es { p[i] ^= 0x80; i += unit }
        case .float8_e4m3fnuz, .float8_e5m2fnuz:
            for i in 0 ..< n where p[i] != 0 { p[i] ^= 0x80 } // no negative zero: 0x80 is NaN
        case .float4_e2m1fn_x2:
            for i in 0 ..< n { p[i] ^= 0x88 }
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
            for e in 0 ..< n {
                // Two's complement: invert, add one, little-endian.
                var carry = 1
                for b in 0 ..< es {
                    let v = Int(~p[e * es + b]) & 0xFF + carry
                    p[e * es + b] = UInt8(v & 0xFF)
                    carry = v >> 8
                }
            }
        case .bool, .float8_e8m0fnu:
            throw CheckpointError.unsupportedTensor("'\(name)' is a negative view of \(dtype.rawValue), which has no negation")
        }
    }

    private static func conjugate(_ p: UnsafeMutableRawBufferPointer, count n: Int, dtype: DType) {
        let es = dtype.size
        for e in 0 ..< n { p[e * es + es - 1] ^= 0x80 } // the sign bit of the imaginary half
    }
}
