import CZip

/// One stored record of a checkpoint container.
struct Record {
    var name: String
    var dataOffset: Int
    var size: Int
    /// nil when the container has no checksum (the legacy form).
    var crc: UInt32?
    var method: Int = 0
}

/// The zip form `torch.save` writes: records `<prefix>/data.pkl`, `<prefix>/data/<key>`, `byteorder`, ...
///
/// libzip reads and validates the central directory. libzip does not expose where an entry's data
/// starts, and torch pads each local header with an extra field the central directory does not
/// repeat, so the data offset is computed here from the local header itself; CRC-32 is checked by
/// the caller when a record is read (torch never checks it).
struct ZipContainer {
    var prefix: String
    /// Keyed by the name after `<prefix>/`.
    var records: [String: Record]

    static func open(_ src: ByteSource) throws -> ZipContainer {
        let central = try CentralDirectory.parse(src)
        let libzipEntries = try listWithLibzip(src)
        guard central.count == libzipEntries.count else {
            throw CheckpointError.corrupt("the zip central directory lists \(central.count) entries, libzip found \(libzipEntries.count)")
        }
        guard let first = central.first else { throw CheckpointError.corrupt("the zip archive is empty") }
        guard let slash = first.name.firstIndex(of: "/") else {
            throw CheckpointError.unsupportedFormat("a zip archive whose first entry '\(Allowlist.printable(first.name))' is not inside a folder; not a torch.save file")
        }
        let prefix = String(first.name[..<slash])
        var records: [String: Record] = [:]
        for (i, e) in central.enumerated() {
            let z = libzipEntries[i]
            guard z.name == e.name, z.size == e.size, z.compressedSize == e.compressedSize, z.crc == e.crc else {
                throw CheckpointError.corrupt("zip entry \(i) ('\(Allowlist.printable(e.name))') differs between libzip and the central directory")
            }
            guard e.name.hasPrefix(prefix + "/") else {
                throw CheckpointError.corrupt("record '\(Allowlist.printable(e.name))' is outside the archive folder '\(prefix)/'")
            }
            let local = try src.read(e.localHeaderOffset, 30)
            guard le32(local, 0) == 0x0403_4B50 else {
                throw CheckpointError.corrupt("record '\(Allowlist.printable(e.name))' has no local header at offset \(e.localHeaderOffset)")
            }
            let nameLen = Int(le16(local, 26)), extraLen = Int(le16(local, 28))
            let localName = try src.read(e.localHeaderOffset + 30, nameLen)
            guard localName == Array(e.name.utf8) else {
                throw CheckpointError.corrupt("record '\(Allowlist.printable(e.name))': the local header names a different record")
            }
            let dataOffset = e.localHeaderOffset + 30 + nameLen + extraLen
            guard e.compressedSize <= src.size, dataOffset <= src.size - e.compressedSize else {
                throw CheckpointError.corrupt("record '\(Allowlist.printable(e.name))' runs past the end of the file; the file is truncated")
            }
            let key = String(e.name.dropFirst(prefix.count + 1))
            guard records[key] == nil else { throw CheckpointError.corrupt("record '\(Allowlist.printable(e.name))' appears twice") }
            records[key] = Record(name: e.name, dataOffset: dataOffset, size: e.compressedSize, crc: e.crc, method: e.method)
            if e.method != 0 || e.size != e.compressedSize { records[key]?.method = max(e.method, 1) }
        }
        return ZipContainer(prefix: prefix, records: records)
    }

    struct LibzipEntry { var name: String; var size: Int; var compressedSize: Int; var crc: UInt32 }

    private static func listWithLibzip(_ src: ByteSource) throws -> [LibzipEntry] {
        var archive: OpaquePointer?
        var zerr = zip_error_t()
        zip_error_init(&zerr)
        defer { zip_error_fini(&zerr) }
        if let mem = src.memoryBytes {
            guard let source = zip_source_buffer_create(mem.baseAddress, UInt64(mem.count), 0, &zerr) else {
                throw CheckpointError.corrupt("libzip: \(String(cString: zip_error_strerror(&zerr)))")
            }
            archive = zip_open_from_source(source, ZIP_RDONLY, &zerr)
            if archive == nil {
                zip_source_free(source)
                throw CheckpointError.corrupt("not a readable zip archive (libzip: \(String(cString: zip_error_strerror(&zerr))))")
            }
        } else if let path = src.path {
            var code: Int32 = 0
            archive = zip_open(path, ZIP_RDONLY, &code)
            if archive == nil {
                zip_error_init_with_code(&zerr, code)
                throw CheckpointError.corrupt("not a readable zip archive (libzip: \(String(cString: zip_error_strerror(&zerr))))")
            }
        }
        guard let za = archive else { throw CheckpointError.corrupt("cannot open the zip archive") }
        defer { zip_discard(za) }
        let n = zip_get_num_entries(za, 0)
        guard n >= 0 else { throw CheckpointError.corrupt("libzip cannot count the entries") }
        var out: [LibzipEntry] = []
        for i in 0 ..< UInt64(n) {
            var st = zip_stat()
            zip_stat_init(&st)
            guard zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) == 0, let namePtr = st.name else {
                throw CheckpointError.corrupt("libzip cannot read entry \(i)")
            }
            let need = UInt64(ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_CRC)
            guard st.valid & need == need, st.size <= UInt64(Int.max), st.comp_size <= UInt64(Int.max) else {
                throw CheckpointError.corrupt("libzip reports incomplete information for entry \(i)")
            }
            out.append(LibzipEntry(name: String(cString: namePtr), size: Int(st.size), compressedSize: Int(st.comp_size), crc: st.crc))
        }
        return out
    }
}

func le16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
func le32(_ b: [UInt8], _ o: Int) -> UInt32 { UInt32(le16(b, o)) | UInt32(le16(b, o + 2)) << 16 }
func le64(_ b: [UInt8], _ o: Int) -> UInt64 { UInt64(le32(b, o)) | UInt64(le32(b, o + 4)) << 32 }

/// The central directory, read directly (for the local header offsets libzip keeps to itself).
enum CentralDirectory {
    struct Entry {
        var name: String
        var method: Int
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    static func parse(_ src: ByteSource) throws -> [Entry] {
        let tailLen = min(src.size, 22 + 65535 + 20)
        let tail = try src.read(src.size - tailLen, tailLen)
        var eocd = -1
        var p = tail.count - 22
        while p >= 0 {
            if tail[p] == 0x50, tail[p + 1] == 0x4B, tail[p + 2] == 5, tail[p + 3] == 6 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else {
            throw CheckpointError.corrupt("no zip end-of-central-directory record (the file is truncated or not a zip)")
        }
        var count = UInt64(le16(tail, eocd + 10))
        var cdSize = UInt64(le32(tail, eocd + 12))
        var cdOffset = UInt64(le32(tail, eocd + 16))
        if eocd >= 20, le32(tail, eocd - 20) == 0x0706_4B50 {
            let z64Offset = le64(tail, eocd - 20 + 8)
            guard z64Offset <= UInt64(src.size), z64Offset + 56 <= UInt64(src.size) else {
                throw CheckpointError.corrupt("the ZIP64 end record lies outside the file")
            }
            let z = try src.read(Int(z64Offset), 56)
            guard le32(z, 0) == 0x0606_4B50 else { throw CheckpointError.corrupt("no ZIP64 end-of-central-directory record where the locator points") }
            count = le64(z, 32)
            cdSize = le64(z, 40)
            cdOffset = le64(z, 48)
        }
        guard cdSize <= UInt64(src.size), cdOffset <= UInt64(src.size) - cdSize, count <= cdSize / 46 + 1 else {
            throw CheckpointError.corrupt("the zip central directory lies outside the file (the file is truncated)")
        }
        let cd = try src.read(Int(cdOffset), Int(cdSize))
        var entries: [Entry] = []
        var o = 0
        for _ in 0 ..< count {
            guard o + 46 <= cd.count, le32(cd, o) == 0x0201_4B50 else { throw CheckpointError.corrupt("malformed zip central directory") }
            let nameLen = Int(le16(cd, o + 28)), extraLen = Int(le16(cd, o + 30)), commentLen = Int(le16(cd, o + 32))
            guard o + 46 + nameLen + extraLen + commentLen <= cd.count else { throw CheckpointError.corrupt("malformed zip central directory") }
            var csize = UInt64(le32(cd, o + 20)), usize = UInt64(le32(cd, o + 24)), lho = UInt64(le32(cd, o + 42))
            // ZIP64 extra: each 64-bit field present only where the 32-bit one is 0xFFFFFFFF.
            var e = o + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = le16(cd, e), len = Int(le16(cd, e + 2))
                guard e + 4 + len <= extraEnd else { break }
                if id == 1 {
                    var f = e + 4
                    func next() throws -> UInt64 {
                        guard f + 8 <= e + 4 + len else { throw CheckpointError.corrupt("short ZIP64 extra field") }
                        defer { f += 8 }
                        return le64(cd, f)
                    }
                    if usize == 0xFFFF_FFFF { usize = try next() }
                    if csize == 0xFFFF_FFFF { csize = try next() }
                    if lho == 0xFFFF_FFFF { lho = try next() }
                }
                e += 4 + len
            }
            guard usize <= UInt64(Int.max), csize <= UInt64(src.size), lho <= UInt64(src.size) else {
                throw CheckpointError.corrupt("a zip entry is larger than the file")
            }
            let name = String(decoding: cd[(o + 46) ..< (o + 46 + nameLen)], as: UTF8.self)
            entries.append(Entry(name: name, method: Int(le16(cd, o + 10)), crc: le32(cd, o + 16),
                                 compressedSize: Int(csize), size: Int(usize), localHeaderOffset: Int(lho)))
            o += 46 + nameLen + extraLen + commentLen
        }
        return entries
    }
}
