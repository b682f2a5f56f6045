/// The legacy stream (`torch.save(..., _use_new_zipfile_serialization=False)`): five pickles (magic
/// number, protocol version, sys_info, the object, the sorted storage keys), then each storage as an
/// 8-byte element count and its raw bytes.
enum LegacyContainer {
    static func read(_ source: ByteSource) throws -> (PickleValue, [String: Record], Bool) {
        // The pickles come first and their length is unknown: read a prefix, grow it if a pickle is cut.
        var chunk = min(source.size, 1 << 20)
        while true {
            let head = try source.read(0, chunk)
            do {
                return try parse(head, source)
            } catch let CheckpointError.unpickling(_, reason) where reason.hasPrefix("truncated") && chunk < source.size {
                chunk = min(source.size, chunk > source.size / 4 ? source.size : chunk * 4)
            }
        }
    }

    private static func parse(_ head: [UInt8], _ source: ByteSource) throws -> (PickleValue, [String: Record], Bool) {
        var pos = 0
        let noPid: (Obj) throws -> Obj = { _ in throw CheckpointError.corrupt("a persistent id in a legacy header pickle") }
        _ = try Checkpoint.unpickle(head, start: pos, end: &pos, persistentLoad: noPid) // magic number
        let proto = try Checkpoint.unpickle(head, start: pos, end: &pos, persistentLoad: noPid)
        guard proto == .int(1001) else { throw CheckpointError.unsupportedFormat("legacy checkpoint protocol \(proto.shortDescription) (only 1001 exists)") }
        let sysInfo = try Checkpoint.unpickle(head, start: pos, end: &pos, persistentLoad: noPid)
        var big = false
        if case .bool(false)? = sysInfo["little_endian"] { big = true }

        var storages: [String: StorageInfo] = [:]
        let root = try Checkpoint.unpickle(head, start: pos, end: &pos) { pid in
            try persistentLoad(pid, &storages)
        }
        let keysValue = try Checkpoint.unpickle(head, start: pos, end: &pos, persistentLoad: noPid)
        guard case let .list(keyItems) = keysValue else { throw CheckpointError.corrupt("the legacy storage key list is missing") }

        var records: [String: Record] = [:]
        var offset = pos
        for item in keyItems {
            guard case let .string(key) = item else { throw CheckpointError.corrupt("a legacy storage key is not a string") }
            guard let st = storages[key] else { throw CheckpointError.corrupt("legacy storage '\(Allowlist.printable(key))' is listed but no tensor names it") }
            let countBytes = try source.read(offset, 8)
            var count = le64(countBytes, 0)
            if big { count = count.byteSwapped }
            let es = st.dtype?.size ?? 1
            guard count <= UInt64(source.size / es) else {
                throw CheckpointError.corrupt("legacy storage '\(Allowlist.printable(key))' claims \(count) elements, more than the file holds; the file is truncated or corrupt")
            }
            let bytes = Int(count) * es
            guard bytes == st.byteCount else {
                throw CheckpointError.corrupt("legacy storage '\(Allowlist.printable(key))' holds \(bytes) bytes but its tensors declare \(st.byteCount)")
            }
            guard offset + 8 <= source.size - bytes else {
                throw CheckpointError.corrupt("legacy storage '\(Allowlist.printable(key))' runs past the end of the file; the file is truncated")
            }
            guard records[key] == nil else { throw CheckpointError.corrupt("legacy storage '\(Allowlist.printable(key))' is listed twice") }
            records[key] = Record(name: key, dataOffset: offset + 8, size: bytes, crc: nil)
            offset += 8 + bytes
        }
        for key in storages.keys where records[key] == nil {
            throw CheckpointError.recordMissing("legacy storage \(key)")
        }
        return (root, records, big)
    }

    /// `('storage', type, root_key, location, numel, view_metadata)`; a view is `(view_key, offset, size)`.
    private static func persistentLoad(_ pid: Obj, _ storages: inout [String: StorageInfo]) throws -> Obj {
        guard let t = pid.tupleItems, t.count == 6, case .string("storage") = t[0], case let .string(key) = t[2],
              case let .int(numel) = t[4], numel >= 0 else {
            throw CheckpointError.corrupt("a legacy persistent id that is not ('storage', type, key, location, numel, view)")
        }
        let dtype = try Checkpoint.storageType(t[1])
        let es = dtype?.size ?? 1
        let (bytes, o) = Int(numel).multipliedReportingOverflow(by: es)
        guard !o else { throw CheckpointError.corrupt("storage '\(key)' is impossibly large") }
        if let prev = storages[key], prev.byteCount != bytes {
            throw CheckpointError.corrupt("legacy storage '\(Allowlist.printable(key))' is declared with two sizes")
        }
        let rootInfo = StorageInfo(key: key, dtype: dtype, byteOffset: 0, byteCount: bytes)
        storages[key] = rootInfo
        switch t[5] {
        case .none: return .storage(rootInfo)
        case let .tuple(box) where box.items.count == 3:
            let v = box.items
            guard case let .int(off) = v[1], case let .int(size) = v[2], off >= 0, size >= 0,
                  off <= numel, size <= numel - off else {
                throw CheckpointError.viewOutOfBounds("legacy storage view outside storage '\(Allowlist.printable(key))'")
            }
            return .storage(StorageInfo(key: key, dtype: dtype, byteOffset: Int(off) * es, byteCount: Int(size) * es))
        default:
            throw CheckpointError.corrupt("malformed legacy storage view metadata")
        }
    }
}
