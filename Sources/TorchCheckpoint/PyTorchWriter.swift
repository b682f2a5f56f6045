import Foundation
import ZooFiles
import SafeTensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a safetensors file as a PyTorch checkpoint in the zip form `torch.save` writes: records
/// `<stem>/data.pkl` (a protocol-2 pickle of an OrderedDict of `_rebuild_tensor_v2` / `_v3` calls, only
/// allowlisted globals, so `torch.load(weights_only=True)` reads it), `.format_version`,
/// `.storage_alignment`, `byteorder`, `data/<i>` (one storage per tensor, data 64-byte aligned through
/// an `FB` padding extra field) and `version`, then the central directory and the ZIP64 end records.
public enum PyTorchWriter {
    /// Writes the tensors as a bare state dict (an OrderedDict). Returns the number of tensors written.
    @discardableResult
    public static func write(_ st: SafeTensorsFile, to url: URL) throws -> Int {
        try write(st, to: url, wrapper: nil)
    }

    /// Writes the tensors in mmdetection's form: a dict `{"meta": {str: str}, KEY: OrderedDict(tensors)}`
    /// (KEY is usually "state_dict"), so the zoo's `mmdet-panoptic-fpn` layout reads it. Same container
    /// and pickle rules; `torch.load(weights_only=True)` reads it. Returns the number of tensors written.
    @discardableResult
    public static func write(_ st: SafeTensorsFile, to url: URL, stateDictKey: String, meta: [String: String]) throws -> Int {
        try write(st, to: url, wrapper: (stateDictKey, meta))
    }

    private static func write(_ st: SafeTensorsFile, to url: URL, wrapper: (key: String, meta: [String: String])?) throws -> Int {
        let stem = url.deletingPathExtension().lastPathComponent
        let prefix = stem.isEmpty || !stem.allSatisfy({ $0.isASCII }) ? "archive" : stem
        var pickle = PickleWriter()
        pickle.op(0x80); pickle.byte(2)
        if let wrapper {
            pickle.op(0x7D)                       // EMPTY_DICT (the checkpoint)
            pickle.op(0x28)                       // MARK
            pickle.string("meta")
            pickle.op(0x7D)                       // EMPTY_DICT
            if !wrapper.meta.isEmpty {
                pickle.op(0x28)
                for (k, v) in wrapper.meta.sorted(by: { $0.key < $1.key }) { pickle.string(k); pickle.string(v) }
                pickle.op(0x75)                   // SETITEMS
            }
            pickle.string(wrapper.key)
        }
        pickle.global("collections", "OrderedDict"); pickle.op(0x29); pickle.op(0x52)
        var storages: [(key: String, name: String)] = []
        let names = st.names
        for batchStart in stride(from: 0, to: names.count, by: 1000) {
            pickle.op(0x28) // MARK
            for name in names[batchStart ..< min(names.count, batchStart + 1000)] {
                let info = try st.info(name)
                let key = String(storages.count)
                storages.append((key, name))
                try pickle.tensor(name: name, info: info, key: key)
            }
            pickle.op(0x75) // SETITEMS
        }
        if wrapper != nil { pickle.op(0x75) }     // SETITEMS (meta, state_dict)
        pickle.op(0x2E)                           // STOP

        var zip = try ZipWriter(url: url)
        do {
            try zip.add(prefix + "/data.pkl", pickle.bytes)
            try zip.add(prefix + "/.format_version", Array("1".utf8))
            try zip.add(prefix + "/.storage_alignment", Array("64".utf8))
            try zip.add(prefix + "/byteorder", Array("little".utf8))
            for (key, name) in storages {
                try st.withBytes(name) { try zip.add(prefix + "/data/" + key, $0) }
            }
            try zip.add(prefix + "/version", Array("3\n".utf8))
            try zip.finish()
        } catch {
            zip.cancel()
            throw error
        }
        return storages.count
    }
}

struct PickleWriter {
    var bytes: [UInt8] = []
    mutating func op(_ b: UInt8) { bytes.append(b) }
    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63); bytes += Array(module.utf8); bytes.append(0x0A); bytes += Array(name.utf8); bytes.append(0x0A)
    }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        bytes.append(0x58)
        withUnsafeBytes(of: UInt32(u.count).littleEndian) { bytes += $0 }
        bytes += u
    }
    mutating func int(_ v: Int) {
        if v >= 0 && v < 256 { bytes += [0x4B, UInt8(v)]; return }
        if v >= Int(Int32.min) && v <= Int(Int32.max) {
            bytes.append(0x4A)
            withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 }
            return
        }
        bytes += [0x8A, 8]
        withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
    }
    mutating func tuple(_ xs: [Int]) {
        bytes.append(0x28)
        for x in xs { int(x) }
        bytes.append(0x74)
    }

    mutating func tensor(name: String, info: SafeTensorInfo, key: String) throws {
        var shape = info.shape
        let legacy: String?
        let dtype: String
        switch info.dtype {
        case .F64: legacy = "DoubleStorage"; dtype = "float64"
        case .F32: legacy = "FloatStorage"; dtype = "float32"
        case .F16: legacy = "HalfStorage"; dtype = "float16"
        case .BF16: legacy = "BFloat16Storage"; dtype = "bfloat16"
        case .I64: legacy = "LongStorage"; dtype = "int64"
        case .I32: legacy = "IntStorage"; dtype = "int32"
        case .I16: legacy = "ShortStorage"; dtype = "int16"
        case .I8: legacy = "CharStorage"; dtype = "int8"
        case .U8: legacy = "ByteStorage"; dtype = "uint8"
        case .BOOL: legacy = "BoolStorage"; dtype = "bool"
        case .C64: legacy = "ComplexFloatStorage"; dtype = "complex64"
        case .U16: legacy = nil; dtype = "uint16"
        case .U32: legacy = nil; dtype = "uint32"
        case .U64: legacy = nil; dtype = "uint64"
        case .F8_E4M3: legacy = nil; dtype = "float8_e4m3fn"
        case .F8_E5M2: legacy = nil; dtype = "float8_e5m2"
        case .F8_E4M3FNUZ: legacy = nil; dtype = "float8_e4m3fnuz"
        case .F8_E5M2FNUZ: legacy = nil; dtype = "float8_e5m2fnuz"
        case .F8_E8M0: legacy = nil; dtype = "float8_e8m0fnu"
        case .F4:
            legacy = nil; dtype = "float4_e2m1fn_x2"
            guard let last = shape.last, last % 2 == 0 else { throw CheckpointError.unsupportedTensor("'\(name)': F4 with an odd last dimension") }
            shape[shape.count - 1] = last / 2
        case .F6_E2M3, .F6_E3M2:
            throw CheckpointError.unsupportedTensor("'\(name)' is \(info.dtype.rawValue), which torch cannot store")
        }
        let es = DType(rawValue: dtype)?.size ?? 1
        string(name)
        global("torch._utils", legacy == nil ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2")
        bytes.append(0x28) // MARK (arguments)
        bytes.append(0x28) // MARK (persistent id)
        string("storage")
        if let l = legacy { global("torch", l) } else { global("torch.storage", "UntypedStorage") }
        string(key)
        string("cpu")
        int(legacy == nil ? info.byteCount : info.byteCount / es)
        bytes.append(0x74) // TUPLE
        bytes.append(0x51) // BINPERSID
        int(0)
        tuple(shape)
        tuple(TensorRef.rowMajorStrides(shape))
        bytes.append(0x89) // False
        global("collections", "OrderedDict"); bytes += [0x29, 0x52]
        if legacy == nil { global("torch", dtype) }
        bytes.append(0x74) // TUPLE
        bytes.append(0x52) // REDUCE
    }
}

/// A minimal stored-only zip writer with torch's 64-byte data alignment; temp file, fsync, rename.
struct ZipWriter {
    struct Entry { var name: [UInt8]; var crc: UInt32; var size: Int; var offset: Int }
    let url: URL
    let tempPath: String
    var fd: Int32
    var offset = 0
    var entries: [Entry] = []

    init(url: URL) throws {
        self.url = url
        tempPath = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".\(getpid()).tmp"
        fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError.io(path: tempPath, reason: String(cString: strerror(errno))) }
    }

    mutating func put(_ b: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < b.count {
            let r = posixWrite(fd, b.baseAddress! + done, b.count - done)
            if r < 0 { if errno == EINTR { continue }; throw CheckpointError.io(path: tempPath, reason: String(cString: strerror(errno))) }
            done += r
        }
        offset += b.count
    }
    mutating func put(_ b: [UInt8]) throws { try b.withUnsafeBytes { try put($0) } }

    mutating func add(_ name: String, _ data: [UInt8]) throws { try data.withUnsafeBytes { try add(name, $0) } }

    mutating func add(_ name: String, _ data: UnsafeRawBufferPointer) throws {
        let n = Array(name.utf8)
        guard data.count < 0xFFFF_FFFF, offset < 0xFFFF_FFFF else {
            throw CheckpointError.unsupportedFormat("this writer does not write checkpoints over 4 GiB")
        }
        let crc = CRC32.checksum(data)
        let pad = (64 - (offset + 30 + n.count + 4) % 64) % 64
        var h: [UInt8] = []
        h += le32(0x0403_4B50); h += le16(0); h += le16(0x0800); h += le16(0); h += le16(0); h += le16(0)
        h += le32(crc); h += le32(UInt32(data.count)); h += le32(UInt32(data.count))
        h += le16(UInt16(n.count)); h += le16(UInt16(4 + pad))
        h += n
        h += le16(0x4246); h += le16(UInt16(pad)); h += [UInt8](repeating: UInt8(ascii: "Z"), count: pad)
        entries.append(Entry(name: n, crc: crc, size: data.count, offset: offset))
        try put(h)
        try put(data)
    }

    mutating func finish() throws {
        let cdStart = offset
        for e in entries {
            var c: [UInt8] = []
            c += le32(0x0201_4B50); c += le16(0); c += le16(0); c += le16(0x0800); c += le16(0); c += le16(0); c += le16(0)
            c += le32(e.crc); c += le32(UInt32(e.size)); c += le32(UInt32(e.size))
            c += le16(UInt16(e.name.count)); c += le16(0); c += le16(0); c += le16(0); c += le16(0); c += le32(0)
            c += le32(UInt32(e.offset)); c += e.name
            try put(c)
        }
        let cdSize = offset - cdStart
        let z64 = offset
        var t: [UInt8] = []
        t += le32(0x0606_4B50); t += le64(44); t += le16(0x031E); t += le16(45); t += le32(0); t += le32(0)
        t += le64(UInt64(entries.count)); t += le64(UInt64(entries.count)); t += le64(UInt64(cdSize)); t += le64(UInt64(cdStart))
        t += le32(0x0706_4B50); t += le32(0); t += le64(UInt64(z64)); t += le32(1)
        t += le32(0x0605_4B50); t += le16(0); t += le16(0)
        t += le16(UInt16(min(entries.count, 0xFFFF))); t += le16(UInt16(min(entries.count, 0xFFFF)))
        t += le32(UInt32(cdSize)); t += le32(UInt32(cdStart)); t += le16(0)
        try put(t)
        guard fsync(fd) == 0 else { throw CheckpointError.io(path: tempPath, reason: String(cString: strerror(errno))) }
        close(fd)
        fd = -1
        guard rename(tempPath, url.path) == 0 else {
            unlink(tempPath)
            throw CheckpointError.io(path: url.path, reason: String(cString: strerror(errno)))
        }
    }

    mutating func cancel() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(tempPath)
    }

    private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private func le32(_ v: UInt32) -> [UInt8] { le16(UInt16(v & 0xFFFF)) + le16(UInt16(v >> 16)) }
    private func le64(_ v: UInt64) -> [UInt8] { le32(UInt32(v & 0xFFFF_FFFF)) + le32(UInt32(v >> 32)) }
}
