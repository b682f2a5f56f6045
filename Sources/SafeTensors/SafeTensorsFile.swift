import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file, memory-mapped, with its header fully validated on open: size limit, JSON,
/// known dtypes, shapes, offsets that start at 0 and follow each other with no gap or overlap, byte
/// sizes that match the shapes, and a file exactly as long as the header says.
///
/// ```swift
/// let w = try SafeTensorsFile(url: url)
/// for name in w.names { let (dtype, shape) = try w.info(name).pair }
/// let conv1 = try w.floats("backbone.conv1.weight")   // F32, F16 or BF16 → [Float]
/// try w.withBytes("backbone.conv1.weight") { raw in ... } // zero-copy, valid inside the closure
/// ```
public final class SafeTensorsFile: @unchecked Sendable {
    public static let maxHeaderBytes = 100_000_000

    /// `__metadata__` (string to string).
    public let metadata: [String: String]
    /// Tensor names in file (offset) order.
    public let names: [String]
    public let tensors: [String: SafeTensorInfo]
    /// Start of the data section within the file.
    public let dataStart: Int

    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let owned: UnsafeMutableRawBufferPointer?
    public let fileSize: Int

    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError.io(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size >= 8 else { throw SafeTensorsError.invalidHeader("\(path) is \(size) bytes, shorter than the 8-byte header length") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw SafeTensorsError.io(path: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        let raw = UnsafeRawBufferPointer(start: p, count: size)
        do {
            (metadata, names, tensors, dataStart) = try SafeTensorsFile.parseHeader(raw)
        } catch {
            munmap(p, size)
            throw error
        }
        base = UnsafeRawPointer(p)
        mappedLength = size
        fileSize = size
        owned = nil
    }

    /// A file held in memory (tests, fuzzing).
    public init(bytes: [UInt8]) throws {
        let m = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { if $0.count > 0 { m.copyMemory(from: $0) } }
        do {
            (metadata, names, tensors, dataStart) = try SafeTensorsFile.parseHeader(UnsafeRawBufferPointer(rebasing: m[0 ..< bytes.count]))
        } catch {
            m.deallocate()
            throw error
        }
        owned = m
        base = UnsafeRawPointer(m.baseAddress!)
        mappedLength = 0
        fileSize = bytes.count
    }

    deinit {
        if let o = owned { o.deallocate() } else { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }
    }

    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let t = tensors[name] else { throw SafeTensorsError.noSuchTensor(name) }
        return t
    }

    /// The raw little-endian bytes of a tensor, zero-copy; the pointer is valid inside `body` only.
    public func withBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let t = try info(name)
        return try body(UnsafeRawBufferPointer(start: base + dataStart + t.dataOffsets.lowerBound, count: t.byteCount))
    }

    public func bytes(_ name: String) throws -> [UInt8] { try withBytes(name) { Array($0) } }

    /// Lets the kernel drop the mapped pages of a tensor that is no longer needed (they are read
    /// again from the file if touched), so walking a large file does not keep it all resident.
    public func evict(_ name: String) {
        guard owned == nil, let t = tensors[name], t.byteCount > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = dataStart + t.dataOffsets.lowerBound
        let first = (start + page - 1) / page * page // only whole pages inside this tensor
        let end = (start + t.byteCount) / page * page
        if end > first { madvise(UnsafeMutableRawPointer(mutating: base + first), end - first, MADV_DONTNEED) }
    }

    /// The values of an F32, F16 or BF16 tensor as Float, row-major.
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        let n = t.numel
        return try withBytes(name) { raw in
            if t.dtype == .F32 {
                guard raw.count == 4 * n else {
                    throw SafeTensorsError.invalidHeader("'\(name)' holds \(raw.count) bytes for \(n) float32 values")
                }
                // Copied straight into uninitialised storage (no zero fill first).
                return [Float](unsafeUninitializedCapacity: n) { buf, count in
                    UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw.prefix(4 * n)))
                    count = n
                }
            }
            var out = [Float](repeating: 0, count: n)
            switch t.dtype {
            case .F16:
                for i in 0 ..< n { out[i] = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)) }
            case .BF16:
                for i in 0 ..< n { out[i] = Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
            default:
                throw SafeTensorsError.unsupported("'\(name)' is \(t.dtype.rawValue); floats() reads F32, F16 and BF16")
            }
            return out
        }
    }

    static func parseHeader(_ file: UnsafeRawBufferPointer) throws -> ([String: String], [String], [String: SafeTensorInfo], Int) {
        guard file.count >= 8 else { throw SafeTensorsError.invalidHeader("shorter than the 8-byte header length") }
        let n = file.loadUnaligned(as: UInt64.self).littleEndian
        guard n <= UInt64(maxHeaderBytes) else { throw SafeTensorsError.invalidHeader("header of \(n) bytes (at most \(maxHeaderBytes))") }
        guard n <= UInt64(file.count - 8) else { throw SafeTensorsError.invalidHeader("header of \(n) bytes runs past the end of the file (\(file.count) bytes); the file is truncated") }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8 ..< 8 + Int(n)])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw SafeTensorsError.invalidHeader("the header is not UTF-8") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: []) } catch {
            throw SafeTensorsError.invalidHeader("the header is not valid JSON")
        }
        guard let top = json as? [String: Any] else { throw SafeTensorsError.invalidHeader("the header is not a JSON object") }
        var metadata: [String: String] = [:]
        var infos: [SafeTensorInfo] = []
        for (name, v) in top {
            if name == "__metadata__" {
                guard let m = v as? [String: Any] else { throw SafeTensorsError.invalidHeader("__metadata__ is not an object") }
                for (k, x) in m {
                    guard let s = x as? String else { throw SafeTensorsError.invalidHeader("__metadata__ value '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let o = v as? [String: Any] else { throw SafeTensorsError.invalidHeader("entry '\(name)' is not an object") }
            guard let ds = o["dtype"] as? String, let dtype = SafeTensorsDType(rawValue: ds) else {
                throw SafeTensorsError.invalidHeader("tensor '\(name)' has an unknown dtype")
            }
            guard let shapeAny = o["shape"] as? [Any], let offAny = o["data_offsets"] as? [Any], offAny.count == 2 else {
                throw SafeTensorsError.invalidHeader("tensor '\(name)' lacks a shape or a pair of data_offsets")
            }
            let shape = try shapeAny.map { try nonNegativeInt($0, "shape of '\(name)'") }
            let begin = try nonNegativeInt(offAny[0], "data_offsets of '\(name)'"), end = try nonNegativeInt(offAny[1], "data_offsets of '\(name)'")
            guard end >= begin else { throw SafeTensorsError.invalidHeader("tensor '\(name)' ends before it begins") }
            var numel = 1
            for s in shape {
                let (p, of) = numel.multipliedReportingOverflow(by: s)
                guard !of else { throw SafeTensorsError.invalidHeader("tensor '\(name)' has an overflowing shape") }
                numel = p
            }
            guard let bytes = dtype.byteCount(elements: numel) else {
                throw SafeTensorsError.invalidHeader("tensor '\(name)': \(numel) \(dtype.rawValue) elements are too many or not a whole number of bytes")
            }
            guard end - begin == bytes else {
                throw SafeTensorsError.invalidHeader("tensor '\(name)' has \(end - begin) bytes but \(dtype.rawValue) \(shape) needs \(bytes)")
            }
            infos.append(SafeTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin ..< end))
        }
        infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name) }
        var cursor = 0
        for t in infos {
            guard t.dataOffsets.lowerBound == cursor else {
                throw SafeTensorsError.invalidHeader("tensor '\(t.name)' starts at \(t.dataOffsets.lowerBound), expected \(cursor) (gap or overlap)")
            }
            cursor = t.dataOffsets.upperBound
        }
        let dataStart = 8 + Int(n)
        guard case (let end, false) = dataStart.addingReportingOverflow(cursor), end == file.count else {
            throw SafeTensorsError.invalidHeader("the file is \(file.count) bytes but the header describes \(dataStart) + \(cursor)")
        }
        var byName: [String: SafeTensorInfo] = [:]
        for t in infos { byName[t.name] = t }
        return (metadata, infos.map(\.name), byName, dataStart)
    }

    private static func nonNegativeInt(_ v: Any, _ what: String) throws -> Int {
        // JSON numbers arrive as NSNumber; `as? Int` only succeeds for exact integers.
        if let i = v as? Int, i >= 0, !(v is String) {
            if let d = v as? Double, d != Double(i) { throw SafeTensorsError.invalidHeader("\(what) holds a fraction") }
            return i
        }
        throw SafeTensorsError.invalidHeader("\(what) holds something other than a non-negative integer")
    }
}

extension SafeTensorInfo {
    /// (dtype, shape), the pair a weight loader checks.
    public var pair: (SafeTensorsDType, [Int]) { (dtype, shape) }
}
