import Synchronization

/// A PyTorch checkpoint opened for reading: its unpickled object (`root`) with tensor references, and
/// access to the tensors' bytes. Reading never executes anything from the file.
///
/// Three containers are understood, told apart by their first bytes: the zip form (`torch.save`
/// since 1.6), the legacy stream (`_use_new_zipfile_serialization=False`) and a plain pickle (`.pkl`
/// files of detectron2, whose arrays are numpy arrays). The pre-1.0 tar form is refused.
public final class Checkpoint: Sendable {
    public enum Format: String, Sendable { case zip, legacy, pickle }

    public let format: Format
    public let root: PickleValue
    public let source: ByteSource
    /// The folder all zip records live in (`archive`, or the file name torch saved to).
    public let archivePrefix: String?
    /// Whether the storages are big-endian (`byteorder` record, or the legacy `sys_info`).
    public let bigEndian: Bool
    /// The largest tensor a view may expand to (stride 0 or overlapping views can be larger than their
    /// storage): 16 times the file, at least 1 MiB.
    public var maxMaterializedBytes: Int {
        get { maxMaterialized.load(ordering: .relaxed) }
        set { maxMaterialized.store(newValue, ordering: .relaxed) }
    }
    private let maxMaterialized: Atomic<Int>

    /// Storage key → where its bytes are.
    let storageRecords: [String: Record]
    /// Every record of the container.
    let allRecords: [String: Record]

    public convenience init(path: String) throws {
        try self.init(source: ByteSource(path: path))
    }

    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(source: ByteSource(bytes: bytes, name: name))
    }

    public init(source: ByteSource) throws {
        self.source = source
        self.maxMaterialized = Atomic(max(source.size &* 16, 1 << 20))
        let head = try source.read(0, min(source.size, 512))
        switch FileKind.detect(head) {
        case .zip:
            let zip = try ZipContainer.open(source)
            if zip.records["constants.pkl"] != nil {
                throw CheckpointError.unsupportedFormat("a TorchScript archive (torch.jit.save); save the model's state_dict with torch.save instead")
            }
            guard let pkl = zip.records["data.pkl"] else { throw CheckpointError.recordMissing(zip.prefix + "/data.pkl") }
            var big = false
            if let bo = zip.records["byteorder"] {
                let text = String(decoding: try Checkpoint.readVerified(bo, source), as: UTF8.self)
                switch text {
                case "little": big = false
                case "big": big = true
                default: throw CheckpointError.corrupt("the byteorder record says '\(Allowlist.printable(String(text.prefix(20))))', not little or big")
                }
            }
            for name in ["version", ".data/version", ".format_version", ".storage_alignment", ".data/serialization_id"] {
                if let r = zip.records[name], r.size <= 4096 { _ = try Checkpoint.readVerified(r, source) }
            }
            let pickle = try Checkpoint.readVerified(pkl, source)
            var storages: [String: StorageInfo] = [:]
            let value = try Checkpoint.unpickle(pickle) { pid in
                try Checkpoint.zipPersistentLoad(pid, &storages)
            }
            var recs: [String: Record] = [:]
            for (key, st) in storages {
                guard let r = zip.records["data/" + key] else { throw CheckpointError.recordMissing("\(zip.prefix)/data/\(key)") }
                guard r.size == st.byteCount else {
                    throw CheckpointError.corrupt("record '\(r.name)' holds \(r.size) bytes but its storage needs \(st.byteCount)")
                }
                recs[key] = r
            }
            format = .zip; root = value; archivePrefix = zip.prefix; bigEndian = big; storageRecords = recs; allRecords = zip.records
        case .legacy:
            let (value, recs, big) = try LegacyContainer.read(source)
            format = .legacy; root = value; archivePrefix = nil; bigEndian = big; storageRecords = recs; allRecords = recs
        case .pickle:
            let pickle = try source.read(0, source.size)
            let value = try Checkpoint.unpickle(pickle) { _ in
                throw CheckpointError.unsupportedFormat("a plain pickle with persistent ids (storages outside the pickle)")
            }
            format = .pickle; root = value; archivePrefix = nil; bigEndian = false; storageRecords = [:]; allRecords = [:]
        case .tar:
            throw CheckpointError.unsupportedFormat("the pre-1.0 tar checkpoint format; load it with torch <= 1.x and re-save it with torch.save")
        case .safetensors:
            throw CheckpointError.unsupportedFormat("this is a safetensors file, not a PyTorch checkpoint")
        case .unknown:
            throw CheckpointError.unsupportedFormat("\(source.name) is neither a zip checkpoint, a legacy checkpoint nor a pickle (first bytes \(head.prefix(8).map { String(format2: $0) }.joined(separator: " ")))")
        }
    }

    /// Where each record of the container is (zip records by name after the archive folder; legacy
    /// storages by key). For tools and tests.
    public var records: [(name: String, dataOffset: Int, size: Int)] {
        allRecords.map { ($0.key, $0.value.dataOffset, $0.value.size) }.sorted { $0.dataOffset < $1.dataOffset }
    }

    /// The bytes of a zip record (`data.pkl`, `byteorder`, `data/0`, ...), CRC-checked.
    public func recordBytes(_ name: String) throws -> [UInt8] {
        guard let r = allRecords[name] else { throw CheckpointError.recordMissing(name) }
        return try Checkpoint.readVerified(r, source)
    }

    /// Decodes a bare pickle with the same restricted machine, accepting torch's zip storage ids
    /// (the storages themselves are not read). For tools and fuzzing.
    public static func decodePickle(_ bytes: [UInt8]) throws -> PickleValue {
        var storages: [String: StorageInfo] = [:]
        return try unpickle(bytes) { try zipPersistentLoad($0, &storages) }
    }

    /// Every tensor reachable from the root, named by its dotted path.
    public var allTensors: [(name: String, tensor: TensorRef)] { root.allTensors() }

    static func readVerified(_ r: Record, _ source: ByteSource) throws -> [UInt8] {
        guard r.method == 0 else { throw CheckpointError.unsupportedFormat("record '\(r.name)' is compressed; torch.save never compresses") }
        let bytes = try source.read(r.dataOffset, r.size)
        if let crc = r.crc {
            let actual = bytes.withUnsafeBytes { CRC32.checksum($0) }
            guard actual == crc else { throw CheckpointError.crcMismatch(record: r.name, expected: crc, actual: actual) }
        }
        return bytes
    }

    static func unpickle(_ pickle: [UInt8], start: Int = 0, end: UnsafeMutablePointer<Int>? = nil,
                         persistentLoad: @escaping (Obj) throws -> Obj) throws -> PickleValue {
        try pickle.withUnsafeBytes { raw in
            var u = Unpickler(bytes: raw, start: start, persistentLoad: persistentLoad)
            var result: Obj?
            defer { u.releaseAll(result) }
            let obj = try u.run()
            result = obj
            end?.pointee = u.pos
            var conv = TreeBuilder(limits: PickleLimits(maxNodes: max(100_000, (pickle.count - start) &* 4)))
            return try conv.value(obj, depth: 0)
        }
    }

    static func storageType(_ cls: Obj) throws -> DType? {
        guard case let .global(g) = cls else { throw CheckpointError.corrupt("a storage persistent id without a storage type") }
        if g == "torch.storage.UntypedStorage" { return nil }
        var name = g
        for p in ["torch.cuda.", "torch."] where name.hasPrefix(p) { name = String(name.dropFirst(p.count)); break }
        guard let d = DType(storageClass: name) else { throw CheckpointError.unsupportedTensor("storage type \(g)") }
        return d
    }

    static func zipPersistentLoad(_ pid: Obj, _ storages: inout [String: StorageInfo]) throws -> Obj {
        guard let t = pid.tupleItems, t.count == 5, case .string("storage") = t[0], case let .string(key) = t[2],
              case let .int(numel) = t[4], numel >= 0 else {
            throw CheckpointError.corrupt("a persistent id that is not ('storage', type, key, location, numel)")
        }
        let dtype = try storageType(t[1])
        let (bytes, o) = Int(numel).multipliedReportingOverflow(by: dtype?.size ?? 1)
        guard !o else { throw CheckpointError.corrupt("storage '\(key)' is impossibly large") }
        if let prev = storages[key], prev.byteCount != bytes {
            throw CheckpointError.corrupt("storage '\(Allowlist.printable(key))' is declared with two sizes (\(prev.byteCount) and \(bytes) bytes)")
        }
        let info = StorageInfo(key: key, dtype: dtype, byteOffset: 0, byteCount: bytes)
        storages[key] = info
        return .storage(info)
    }

    // MARK: - Tensor bytes

    /// The whole record behind a storage key, CRC-checked.
    public func storageBytes(key: String) throws -> OwnedBytes {
        let out = OwnedBytes(count: try storageSize(key: key))
        _ = try readStorage(key: key, into: out.buffer)
        return out
    }

    /// The byte size of a storage record.
    public func storageSize(key: String) throws -> Int {
        guard let r = storageRecords[key] else { throw CheckpointError.recordMissing("data/\(key)") }
        return r.size
    }

    /// Reads a storage record into the start of `buffer` (at least `storageSize` bytes), CRC-checked;
    /// returns the filled part. Lets a caller reuse one buffer for many storages.
    public func readStorage(key: String, into buffer: UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard let r = storageRecords[key] else { throw CheckpointError.recordMissing("data/\(key)") }
        guard r.method == 0 else { throw CheckpointError.unsupportedFormat("record '\(r.name)' is compressed; torch.save never compresses") }
        guard buffer.count >= r.size else { throw CheckpointError.limitExceeded("buffer too small for record '\(r.name)'") }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0 ..< r.size])
        try source.read(into: target, at: r.dataOffset)
        let filled = UnsafeRawBufferPointer(target)
        if let crc = r.crc {
            let actual = CRC32.checksum(filled)
            guard actual == crc else { throw CheckpointError.crcMismatch(record: r.name, expected: crc, actual: actual) }
        }
        return filled
    }

    /// The storage keys tensors use, for callers that load each storage once.
    public func storageKey(of t: TensorRef) -> String? {
        if case let .storage(key, _, _) = t.data { return key }
        return nil
    }

    /// Calls `body` with the tensor's bytes: row-major, little-endian, conj/neg applied. Zero-copy
    /// when the view is one contiguous slice of a little-endian storage. `storage` is the tensor's
    /// storage record if the caller already holds it (else it is read here).
    public func withTensorBytes<R>(_ t: TensorRef, name: String, storage: OwnedBytes? = nil,
                                   _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if case let .storage(key, _, _) = t.data, storage == nil {
            let st = try storageBytes(key: key)
            return try withTensorBytes(t, name: name, storageBytes: st.bytes, body)
        }
        return try withTensorBytes(t, name: name, storageBytes: storage?.bytes, body)
    }

    /// As above, with the storage record's bytes given (from `readStorage`).
    public func withTensorBytes<R>(_ t: TensorRef, name: String, storageBytes: UnsafeRawBufferPointer?,
                                   _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        switch t.data {
        case let .inline(data):
            return try data.withUnsafeBytes { try Materializer.with(t, name: name, base: $0, limit: maxMaterializedBytes, swap: t.bigEndian, body) }
        case let .storage(key, byteOffset, byteCount):
            guard let st = storageBytes else { throw CheckpointError.recordMissing("data/\(key)") }
            guard byteOffset >= 0, byteCount >= 0, byteOffset <= st.count, byteCount <= st.count - byteOffset else {
                throw CheckpointError.viewOutOfBounds("'\(name)': its storage view lies outside record data/\(key)")
            }
            let base = UnsafeRawBufferPointer(rebasing: st[byteOffset ..< byteOffset + byteCount])
            return try Materializer.with(t, name: name, base: base, limit: maxMaterializedBytes, swap: bigEndian || t.bigEndian, body)
        }
    }

    /// Whether `streamTensor` can hand out this tensor's bytes: one contiguous slice of a stored,
    /// uncompressed, little-endian record, with no conj/neg to apply.
    public func isStreamable(_ t: TensorRef) -> Bool {
        guard case let .storage(key, _, _) = t.data, let r = storageRecords[key], r.method == 0 else { return false }
        // A pickle may give sizes and strides of different lengths: not streamable (the bounds check names it).
        guard t.shape.count == t.strides.count else { return false }
        return t.isContiguous && !t.conj && !t.neg && !((bigEndian || t.bigEndian) && t.dtype.swapUnit > 1)
    }

    /// Hands `body` the bytes of a streamable tensor (`isStreamable`) straight from its record, in
    /// pieces of at most `buffer.count` bytes read into `buffer`: the whole record is read once, in
    /// file order, and its CRC-32 checked at the end. `body` sees the tensor's bytes before the check:
    /// a caller that writes them must discard the output when this throws. Memory: `buffer` only.
    public func streamTensor(_ t: TensorRef, name: String, buffer: UnsafeMutableRawBufferPointer,
                             _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard isStreamable(t), case let .storage(key, byteOffset, byteCount) = t.data, let r = storageRecords[key] else {
            throw CheckpointError.unsupportedTensor("'\(name)' cannot be streamed from its record")
        }
        guard byteOffset >= 0, byteCount >= 0, byteOffset <= r.size, byteCount <= r.size - byteOffset else {
            throw CheckpointError.viewOutOfBounds("'\(name)': its storage view lies outside record data/\(key)")
        }
        try TensorBounds.check(t, storageBytes: byteCount, name: name)
        guard buffer.count > 0 else { throw CheckpointError.limitExceeded("an empty buffer to stream '\(name)' through") }
        // The tensor's bytes within the record (bounds checked just above).
        let start = byteOffset + t.storageOffset * t.dtype.size
        let end = start + t.numel * t.dtype.size
        var crc: UInt32 = 0
        var at = 0
        while at < r.size {
            let n = min(buffer.count, r.size - at)
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0 ..< n])
            try source.read(into: piece, at: r.dataOffset + at)
            if r.crc != nil { crc = CRC32.checksum(UnsafeRawBufferPointer(piece), seed: crc) }
            let lo = max(at, start), hi = min(at + n, end)
            if lo < hi { try body(UnsafeRawBufferPointer(rebasing: piece[(lo - at) ..< (hi - at)])) }
            at += n
        }
        if let expected = r.crc, crc != expected {
            throw CheckpointError.crcMismatch(record: r.name, expected: expected, actual: crc)
        }
    }

    /// The tensor's bytes as an array (tests, small tensors).
    public func tensorBytes(_ t: TensorRef, name: String = "tensor") throws -> [UInt8] {
        try withTensorBytes(t, name: name) { Array($0) }
    }
}

/// What a file is, from its first bytes.
public enum FileKind: String, Sendable {
    case zip, legacy, pickle, tar, safetensors, unknown

    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    public static func detect(_ head: [UInt8]) -> FileKind {
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .zip }
        if head.starts(with: legacyMagic) { return .legacy }
        if head.count >= 262, Array(head[257 ..< 262]) == Array("ustar".utf8) { return .tar }
        if head.count >= 9, head[8] == UInt8(ascii: "{"), head[4 ..< 8].allSatisfy({ $0 == 0 }) { return .safetensors }
        if head.count >= 2, head[0] == 0x80, (2 ... 5).contains(head[1]) { return .pickle }
        return .unknown
    }
}
