import Foundation
import SafeTensors

/// `--dtype`: the type floating-point tensors are written as.
public enum TargetDType: String, CaseIterable, Sendable {
    case f16, bf16, f32
    var dtype: DType {
        switch self {
        case .f16: return .float16
        case .bf16: return .bfloat16
        case .f32: return .float32
        }
    }
}

/// Writes checkpoint tensors to a safetensors file, storage by storage: each storage record is read
/// (and CRC-checked) once, its tensors are written, and it is released after its last tensor. Peak
/// memory is about one storage plus one converted tensor.
public enum SafeTensorsExport {
    public struct Summary: Sendable {
        public var tensors: Int
        public var bytes: Int
        public var largestTensorBytes: Int
        public var checked: Bool
    }

    /// The piece a streamed tensor is read and written in: small enough to stay in a core's L2 cache
    /// between the read, the CRC and the write.
    static let streamPiece = 512 << 10

    struct Planned {
        var name: String
        var source: TensorRef
        var out: DType
        var entry: SafeTensorsWriter.Entry
    }

    static func plan(_ tensors: [(name: String, tensor: TensorRef)], dtype: TargetDType?) throws -> [Planned] {
        var seen = Set<String>()
        return try tensors.map { name, t in
            guard seen.insert(name).inserted else { throw CheckpointError.layout("two tensors are named '\(name)'") }
            let out = (dtype != nil && t.dtype.isFloatingPoint) ? dtype!.dtype : t.dtype
            guard let stName = out.safetensorsName, let st = SafeTensorsDType(rawValue: stName) else {
                throw CheckpointError.unsupportedTensor("'\(name)' is \(t.dtype.rawValue), which safetensors cannot hold")
            }
            var shape = t.shape
            if out == .float4_e2m1fn_x2 { // safetensors counts fp4 values, two per byte
                guard let last = shape.last else { throw CheckpointError.unsupportedTensor("'\(name)': a 0-d float4_e2m1fn_x2 tensor") }
                shape[shape.count - 1] = last * 2
            }
            return Planned(name: name, source: t, out: out, entry: .init(name: name, dtype: st, shape: shape))
        }
    }

    /// Writes the file atomically. `finalMetadata` is called after the tensors, before the rename:
    /// it returns values that replace same-length placeholders given in `metadata`.
    @discardableResult
    public static func write(_ c: Checkpoint, tensors: [(name: String, tensor: TensorRef)], to url: URL,
                             dtype: TargetDType? = nil, metadata: [String: String] = [:], check: Bool = false,
                             finalMetadata: (() throws -> [String: String])? = nil) throws -> Summary {
        let planned = try plan(tensors, dtype: dtype)
        let writer = try SafeTensorsWriter(url: url, tensors: planned.map(\.entry), metadata: metadata)
        var remainingUses: [String: Int] = [:]
        for p in planned { if let k = c.storageKey(of: p.source) { remainingUses[k, default: 0] += 1 } }
        // A tensor alone on its storage, written as stored (nearly all), is streamed from the file through
        // one small buffer; other storages used by one tensor share one reused buffer; shared ones are
        // held until their last tensor is written.
        func streamed(_ p: Planned) -> Bool {
            guard let k = c.storageKey(of: p.source), remainingUses[k] == 1 else { return false }
            return p.out == p.source.dtype && c.isStreamable(p.source)
        }
        var scratchSize = 0, singleUseSize = 0
        for p in planned {
            guard let k = c.storageKey(of: p.source), remainingUses[k] == 1 else { continue }
            let size = try c.storageSize(key: k)
            singleUseSize = max(singleUseSize, size)
            if !streamed(p) { scratchSize = max(scratchSize, size) }
        }
        let scratch = OwnedBytes(count: scratchSize)
        let pieces = OwnedBytes(count: streamPiece)
        var held: [String: OwnedBytes] = [:]
        var total = 0, largest = 0
        for p in planned {
            let write = { (raw: UnsafeRawBufferPointer) throws in try convert(raw, from: p.source.dtype, to: p.out) { try writer.write($0) } }
            if let key = c.storageKey(of: p.source) {
                if streamed(p) {
                    try c.streamTensor(p.source, name: p.name, buffer: pieces.buffer) { try writer.write($0) }
                } else if remainingUses[key] == 1 && held[key] == nil {
                    let bytes = try c.readStorage(key: key, into: scratch.buffer)
                    try c.withTensorBytes(p.source, name: p.name, storageBytes: bytes, write)
                } else {
                    if held[key] == nil { held[key] = try c.storageBytes(key: key) }
                    try c.withTensorBytes(p.source, name: p.name, storage: held[key], write)
                }
                remainingUses[key, default: 1] -= 1
                if remainingUses[key] == 0 { held[key] = nil }
            } else {
                try c.withTensorBytes(p.source, name: p.name, storageBytes: nil, write)
            }
            total += p.entry.dtype.byteCount(elements: p.entry.shape.reduce(1, *)) ?? 0
            largest = max(largest, p.source.byteCount)
        }
        if let f = finalMetadata {
            // The tensors reach the disk while the caller may still be computing the final values.
            try writer.syncData()
            for (k, v) in try f() { try writer.replaceMetadata(k, with: v) }
        }
        try writer.finish()
        if check { try verify(c, planned, url, scratch: scratchSize == singleUseSize ? scratch : OwnedBytes(count: singleUseSize)) }
        return Summary(tensors: planned.count, bytes: total, largestTensorBytes: largest, checked: check)
    }

    /// Re-reads the written file and compares every tensor (name, dtype, shape, bytes) with the source.
    static func verify(_ c: Checkpoint, _ planned: [Planned], _ url: URL, scratch: OwnedBytes) throws {
        let f = try SafeTensorsFile(url: url)
        guard f.names.count == planned.count else {
            throw CheckpointError.layout("check failed: \(url.path) holds \(f.names.count) tensors, expected \(planned.count)")
        }
        for p in planned {
            let info = try f.info(p.name)
            guard info.dtype == p.entry.dtype, info.shape == p.entry.shape else {
                throw CheckpointError.layout("check failed: '\(p.name)' is \(info.dtype.rawValue) \(info.shape) in the output, expected \(p.entry.dtype.rawValue) \(p.entry.shape)")
            }
            var storage: UnsafeRawBufferPointer?
            var held: OwnedBytes?
            if let key = c.storageKey(of: p.source) {
                let size = try c.storageSize(key: key)
                if size <= scratch.count { storage = try c.readStorage(key: key, into: scratch.buffer) } else {
                    held = try c.storageBytes(key: key)
                    storage = held?.bytes
                }
            }
            let same = try c.withTensorBytes(p.source, name: p.name, storageBytes: storage) { raw in
                try f.withBytes(p.name) { written in
                    var offset = 0, equal = true
                    try convert(raw, from: p.source.dtype, to: p.out) { chunk in
                        if equal { equal = chunk.count <= written.count - offset && memcmp(chunk.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, written.baseAddress! + offset, chunk.count) == 0 }
                        offset += chunk.count
                    }
                    return equal && offset == written.count
                }
            }
            guard same else { throw CheckpointError.layout("check failed: the bytes of '\(p.name)' differ from the source") }
            f.evict(p.name)
        }
    }

    /// Hands `body` little-endian `from` values converted to `to` (floating-point dtypes; round to
    /// nearest even), in chunks; the input itself when nothing changes.
    public static func convert(_ raw: UnsafeRawBufferPointer, from: DType, to: DType, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if from == to || raw.count == 0 { return try body(raw) }
        let n = raw.count / from.size
        let chunk = 1 << 16
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk * to.size, alignment: 16)
        defer { out.deallocate() }
        var i = 0
        while i < n {
            let m = min(chunk, n - i)
            for j in 0 ..< m {
                let k = i + j
                switch to {
                case .float32:
                    out.storeBytes(of: readFloat(raw, k, from).bitPattern.littleEndian, toByteOffset: 4 * j, as: UInt32.self)
                case .float16:
                    let h: Float16 = from == .float64 ? Float16(raw.loadUnaligned(fromByteOffset: 8 * k, as: Double.self)) : Float16(readFloat(raw, k, from))
                    out.storeBytes(of: h.bitPattern.littleEndian, toByteOffset: 2 * j, as: UInt16.self)
                case .bfloat16:
                    let f: Float = from == .float64 ? roundToOdd(raw.loadUnaligned(fromByteOffset: 8 * k, as: Double.self)) : readFloat(raw, k, from)
                    out.storeBytes(of: bfloat16Bits(f).littleEndian, toByteOffset: 2 * j, as: UInt16.self)
                default:
                    throw CheckpointError.unsupportedTensor("conversion from \(from.rawValue) to \(to.rawValue)")
                }
            }
            try body(UnsafeRawBufferPointer(rebasing: out[0 ..< m * to.size]))
            i += m
        }
    }

    static func readFloat(_ raw: UnsafeRawBufferPointer, _ k: Int, _ d: DType) -> Float {
        switch d {
        case .float64: return Float(raw.loadUnaligned(fromByteOffset: 8 * k, as: Double.self))
        case .float16: return Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))))
        case .bfloat16: return Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) << 16)
        default: return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
        }
    }

    /// Round to nearest even, keeping NaN a (quiet) NaN.
    static func bfloat16Bits(_ f: Float) -> UInt16 {
        let b = f.bitPattern
        if f.isNaN { return UInt16(b >> 16) | 0x0040 }
        let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
        return UInt16(rounded >> 16)
    }

    /// Double → Float rounding to odd, so a second rounding (to bfloat16) is exact.
    static func roundToOdd(_ d: Double) -> Float {
        var f = Float(d)
        guard f.isFinite, Double(f) != d else { return f }
        if abs(Double(f)) > abs(d) { f = Float(bitPattern: f.bitPattern - 1) } // toward zero
        return Float(bitPattern: f.bitPattern | 1)
    }
}
