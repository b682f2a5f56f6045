#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The size and kind of a JPEG or PNG, read from its header alone (the PNG IHDR chunk; the JPEG SOF
/// segment, found by walking the marker segments with a few small reads): cheap enough to check every
/// input of a run before the model loads.
public struct ImageHeader: Sendable, Equatable {
    public enum Format: String, Sendable { case jpeg, png }

    public var format: Format
    public var width: Int
    public var height: Int
    /// JPEG: the number of components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK); PNG: the colour type.
    public var components: Int

    public init(format: Format, width: Int, height: Int, components: Int) {
        self.format = format
        self.width = width
        self.height = height
        self.components = components
    }

    /// Reads the header of the file at `path`; throws `unreadable`, `unknownFormat` or `decodeFailed`.
    /// With `options`, also throws `tooLarge` / `fileTooLarge` for an image over the limits.
    public static func read(path: String, options: DecodeOptions? = nil) throws -> ImageHeader {
        let (fd, size) = try ImageFile.openRegular(path)
        defer { close(fd) }
        if let o = options, size > o.maxFileBytes { throw ImagingError.fileTooLarge(path: path, bytes: size, maxBytes: o.maxFileBytes) }
        let header = try parse(size: size, what: path) { offset, count in
            guard offset >= 0, count > 0, offset < size else { return [] }
            var buf = [UInt8](repeating: 0, count: min(count, size - offset))
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            return n > 0 ? Array(buf.prefix(n)) : []
        }
        try options?.check(width: header.width, height: header.height, what: path)
        return header
    }

    /// Parses the header of image bytes in memory.
    public static func parse(_ bytes: [UInt8], what: String = "the data") throws -> ImageHeader {
        try parse(size: bytes.count, what: what) { offset, count in
            guard offset >= 0, count > 0, offset < bytes.count else { return [] }
            return Array(bytes[offset..<min(bytes.count, offset + count)])
        }
    }

    /// `at(offset, count)` returns up to `count` bytes at `offset` (fewer at the end of the data).
    static func parse(size: Int, what: String, at: (Int, Int) -> [UInt8]) throws -> ImageHeader {
        let head = at(0, 33)
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF {
            return try jpeg(size: size, what: what, at: at)
        }
        if head.count >= 8, head.prefix(8).elementsEqual(PNGChunks.signature) {
            guard head.count >= 33, head[12..<16].elementsEqual(Array("IHDR".utf8)) else {
                throw ImagingError.decodeFailed("\(what): the PNG does not start with an IHDR chunk")
            }
            func u32(_ i: Int) -> Int { Int(head[i]) << 24 | Int(head[i + 1]) << 16 | Int(head[i + 2]) << 8 | Int(head[i + 3]) }
            return ImageHeader(format: .png, width: u32(16), height: u32(20), components: Int(head[25]))
        }
        throw ImagingError.unknownFormat(what)
    }

    /// Walks the marker segments from SOI to the first SOFn (frame header: precision, height, width,
    /// components).
    private static func jpeg(size: Int, what: String, at: (Int, Int) -> [UInt8]) throws -> ImageHeader {
        var i = 2
        // Each step moves forward by at least 2 bytes, so the walk ends within the file.
        while i < size {
            let m = at(i, 2)
            guard m.count == 2 else { break }
            guard m[0] == 0xFF else { throw ImagingError.decodeFailed("\(what): a JPEG marker was expected at byte \(i)") }
            let marker = m[1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0x01 || marker == 0xD8 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            if marker == 0xD9 || marker == 0xDA { break }  // end of image / start of scan before any frame
            let lengthBytes = at(i + 2, 2)
            guard lengthBytes.count == 2 else { break }
            let length = Int(lengthBytes[0]) << 8 | Int(lengthBytes[1])
            guard length >= 2 else { throw ImagingError.decodeFailed("\(what): a JPEG segment has length \(length)") }
            let isSOF = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isSOF {
                let f = at(i + 4, 6)
                guard length >= 8, f.count == 6 else { break }
                let height = Int(f[1]) << 8 | Int(f[2]), width = Int(f[3]) << 8 | Int(f[4])
                guard height > 0 else { throw ImagingError.decodeFailed("\(what): the JPEG leaves its height to a DNL marker, which is not supported") }
                return ImageHeader(format: .jpeg, width: width, height: height, components: Int(f[5]))
            }
            i += 2 + length
        }
        throw ImagingError.decodeFailed("\(what): the JPEG has no frame header (SOF) before its data; is the file complete?")
    }
}

/// The chunks of a PNG that decoding needs: IHDR, PLTE, tRNS, IDAT, IEND. Colour-space chunks (gAMA,
/// sRGB, iCCP, cHRM) are dropped, as OpenCV's `imread` ignores them and gives the stored values; text,
/// time and private chunks are dropped unread. Each chunk's length is checked against the file.
enum PNGChunks {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let kept: Set<String> = ["IHDR", "PLTE", "tRNS", "IDAT", "IEND"]

    static func filtered(_ b: [UInt8], what: String) throws -> [UInt8] {
        guard b.count >= 8 + 25, b.prefix(8).elementsEqual(signature) else {
            throw ImagingError.decodeFailed("\(what): not a complete PNG")
        }
        func u32(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        var out = signature
        out.reserveCapacity(b.count)
        var i = 8
        var first = true
        while i + 12 <= b.count {
            let length = u32(i)
            // The PNG specification caps a chunk at 2^31 - 1 bytes; the chunk must also fit in the file.
            guard length <= Int(Int32.max), length <= b.count - i - 12 else {
                // A truncated last chunk: libpng reports the damage (or decodes what is there).
                out.append(contentsOf: b[i...])
                break
            }
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            if first && type != "IHDR" { throw ImagingError.decodeFailed("\(what): the PNG does not start with an IHDR chunk") }
            first = false
            let end = i + 12 + length
            if kept.contains(type) { out.append(contentsOf: b[i..<end]) }
            i = end
            if type == "IEND" { break }
        }
        return out
    }
}

/// Opening an image file for reading: a regular file, its size taken before anything is read (both the
/// header reader and the decoder bound what they read by it).
enum ImageFile {
    static func openRegular(_ path: String) throws -> (fd: Int32, size: Int) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ImagingError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ImagingError.unreadable(path: path, reason: reason)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { close(fd); throw ImagingError.unreadable(path: path, reason: "not a regular file") }
        return (fd, Int(st.st_size))
    }
}
