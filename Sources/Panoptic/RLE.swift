/// A binary mask in COCO compressed run-length encoding, exactly as pycocotools writes it.
///
/// The mask is flattened column-major (pixel (y, x) is index `x * height + y`); runs alternate
/// between 0 and 1 starting with a (possibly empty) run of zeros. `counts` is the compressed
/// string form (`rleToString` in pycocotools' maskApi.c); `size` in JSON is `[height, width]`.
public struct RLE: Hashable, Sendable {
    public var counts: String
    public var height: Int
    public var width: Int

    public init(counts: String, height: Int, width: Int) {
        self.counts = counts
        self.height = height
        self.width = width
    }

    /// Builds the RLE of already computed run lengths (first run = zeros).
    public init(runs: [UInt32], height: Int, width: Int) {
        self.counts = RLE.compress(runs)
        self.height = height
        self.width = width
    }

    /// The run lengths encoded in `counts` (pycocotools `rleFrString`).
    public func runs() throws -> [UInt32] {
        try RLE.decompress(counts)
    }

    /// Number of foreground pixels.
    public func area() throws -> Int {
        let r = try runs()
        var a = 0
        var i = 1
        while i < r.count { a += Int(r[i]); i += 2 }
        return a
    }

    /// The mask as `height * width` bytes (1 = foreground) in row-major order.
    public func decodeRowMajor() throws -> [UInt8] {
        let r = try validatedRuns()
        var out = [UInt8](repeating: 0, count: height * width)
        let h = height
        out.withUnsafeMutableBufferPointer { buf in
            var pos = 0
            for (k, len) in r.enumerated() {
                let n = Int(len)
                if k & 1 == 1 {
                    for idx in pos..<(pos + n) {
                        let x = idx / h, y = idx - x * h
                        buf[y * width + x] = 1
                    }
                }
                pos += n
            }
        }
        return out
    }

    /// Runs checked to cover exactly `height * width` pixels.
    public func validatedRuns() throws -> [UInt32] {
        let (pixels, overflow) = height.multipliedReportingOverflow(by: width)
        guard height >= 0, width >= 0, !overflow else {
            throw PanopticError.invalidRLE("size \(height)x\(width) is not a valid mask size (negative or too large)")
        }
        let r = try runs()
        var total = 0
        for v in r { total += Int(v) }
        guard total == pixels else {
            throw PanopticError.invalidRLE("runs cover \(total) pixels but size is \(height)x\(width) (\(height * width) pixels)")
        }
        return r
    }

    // MARK: Encoding

    /// Encodes a row-major mask (`mask[y * width + x] != 0` is foreground).
    public static func encode(mask: UnsafeBufferPointer<UInt8>, height: Int, width: Int) -> RLE {
        precondition(mask.count == height * width, "mask has \(mask.count) bytes, expected \(height * width)")
        var runs: [UInt32] = []
        var current: UInt8 = 0
        var count: UInt32 = 0
        for x in 0..<width {
            var idx = x
            for _ in 0..<height {
                let v: UInt8 = mask[idx] != 0 ? 1 : 0
                if v != current { runs.append(count); count = 0; current = v }
                count += 1
                idx += width
            }
        }
        runs.append(count)
        return RLE(runs: runs, height: height, width: width)
    }

    /// Encodes a row-major boolean mask.
    public static func encode(mask: [Bool], height: Int, width: Int) -> RLE {
        let bytes = mask.map { $0 ? UInt8(1) : 0 }
        return bytes.withUnsafeBufferPointer { encode(mask: $0, height: height, width: width) }
    }

    /// Encodes `labelMap == v` for every value `v` in a row-major label map, in one column-major pass.
    /// Returns one RLE per distinct value (all values, including background ones: drop what you do not want).
    public static func encode(labelMap: UnsafeBufferPointer<Int32>, height: Int, width: Int) -> [Int32: RLE] {
        precondition(labelMap.count == height * width, "label map has \(labelMap.count) values, expected \(height * width)")
        // For each value (by slot): its runs so far and the column-major index where its current state began.
        // Runs are appended in place (no copy of a value's runs at each transition).
        var slotOf: [Int32: Int] = [:]
        var runs: [[UInt32]] = []
        var marks: [Int] = []
        var prevSlot = -1
        var prevValue: Int32 = 0
        var pos = 0
        guard let base = labelMap.baseAddress else { return [:] }
        for x in 0..<width {
            var p = base + x
            for _ in 0..<height {
                let v = p.pointee
                if prevSlot < 0 || v != prevValue {
                    if prevSlot >= 0 {
                        // Leaving the previous value: close its 1-run.
                        runs[prevSlot].append(UInt32(pos - marks[prevSlot]))
                        marks[prevSlot] = pos
                    }
                    // Entering v: close its 0-run.
                    let s: Int
                    if let known = slotOf[v] {
                        s = known
                    } else {
                        s = runs.count
                        slotOf[v] = s
                        runs.append([])
                        marks.append(0)
                    }
                    runs[s].append(UInt32(pos - marks[s]))
                    marks[s] = pos
                    prevSlot = s
                    prevValue = v
                }
                pos += 1
                p += width
            }
        }
        var out: [Int32: RLE] = [:]
        out.reserveCapacity(slotOf.count)
        for (v, s) in slotOf {
            runs[s].append(UInt32(pos - marks[s]))
            out[v] = RLE(runs: runs[s], height: height, width: width)
        }
        return out
    }

    /// Encodes a row-major label map given as a Swift array.
    public static func encode(labelMap: [Int32], height: Int, width: Int) -> [Int32: RLE] {
        labelMap.withUnsafeBufferPointer { encode(labelMap: $0, height: height, width: width) }
    }

    // MARK: The compressed string form

    /// pycocotools `rleToString`.
    public static func compress(_ runs: [UInt32]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(runs.count * 2)
        for i in 0..<runs.count {
            var x = Int64(runs[i])
            if i > 2 { x -= Int64(runs[i - 2]) }
            var more = true
            while more {
                var c = UInt8(truncatingIfNeeded: x & 0x1f)
                x >>= 5
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                bytes.append(c + 48)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// pycocotools `rleFrString`, with checks instead of undefined behaviour on bad input.
    public static func decompress(_ s: String) throws -> [UInt32] {
        var str = s
        return try str.withUTF8 { try decompress(utf8: $0) }
    }

    static func decompress(utf8 b: UnsafeBufferPointer<UInt8>) throws -> [UInt32] {
        var runs: [UInt32] = []
        runs.reserveCapacity(b.count / 2 + 1)
        var p = 0
        let n = b.count
        while p < n {
            var x: Int64 = 0
            var k: Int64 = 0
            while true {
                let c = b[p]
                p += 1
                guard c >= 48, c < 48 + 64 else {
                    throw PanopticError.invalidRLE("character \(UnicodeScalar(c)) is outside the COCO alphabet '0'...'o'")
                }
                let v = Int64(c - 48)
                guard k < 12 else { throw PanopticError.invalidRLE("a run length is too long") }
                x |= (v & 0x1f) << (5 * k)
                k += 1
                if v & 0x20 == 0 {
                    if v & 0x10 != 0 { x |= -1 << (5 * k) }
                    break
                }
                guard p < n else { throw PanopticError.invalidRLE("the string ends inside a run") }
            }
            if runs.count > 2 { x += Int64(runs[runs.count - 2]) }
            guard x >= 0, x <= Int64(UInt32.max) else {
                throw PanopticError.invalidRLE("run \(runs.count) has length \(x)")
            }
            runs.append(UInt32(x))
        }
        return runs
    }
}
