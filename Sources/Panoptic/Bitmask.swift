import CPNG
import Foundation
import ZooFiles

/// A BDD100K bitmask: an 8-bit RGBA image, row-major, 4 bytes per pixel.
/// R = category id (0 = unlabeled), G = `truncated<<3 | occluded<<2 | crowd<<1 | ignored`,
/// B = instance id >> 8, A = instance id & 255 (instance id 0 = no segment).
public struct Bitmask: Sendable, Equatable {
    public var height: Int
    public var width: Int
    /// `height * width * 4` bytes.
    public var rgba: [UInt8]

    public init(height: Int, width: Int, rgba: [UInt8]) {
        precondition(rgba.count == height * width * 4, "rgba has \(rgba.count) bytes, expected \(height * width * 4)")
        self.height = height
        self.width = width
        self.rgba = rgba
    }

    /// An all-zero bitmask (no segment).
    public init(height: Int, width: Int) {
        self.init(height: height, width: width, rgba: [UInt8](repeating: 0, count: height * width * 4))
    }

    @inlinable public func category(y: Int, x: Int) -> UInt8 { rgba[(y * width + x) * 4] }
    @inlinable public func attributes(y: Int, x: Int) -> UInt8 { rgba[(y * width + x) * 4 + 1] }
    @inlinable public func instanceID(y: Int, x: Int) -> Int {
        let i = (y * width + x) * 4
        return Int(rgba[i + 2]) << 8 | Int(rgba[i + 3])
    }

    /// Paints a segment (category, attribute bits, instance id) on the pixels where `mask` (row-major) is set.
    public mutating func paint(mask: [Bool], category: UInt8, attributes: UInt8 = 0, instanceID: Int) {
        precondition(mask.count == height * width)
        for i in 0..<mask.count where mask[i] {
            rgba[i * 4] = category
            rgba[i * 4 + 1] = attributes
            rgba[i * 4 + 2] = UInt8(truncatingIfNeeded: instanceID >> 8)
            rgba[i * 4 + 3] = UInt8(truncatingIfNeeded: instanceID)
        }
    }

    // MARK: PNG

    /// Reads an 8-bit RGBA PNG (the only form the official evaluator accepts) without any colour or
    /// gamma conversion.
    public static func read(path: String, maxPixels: Int = PixelLimit.defaultMaxPixels) throws -> Bitmask {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PanopticError.io(path: path, reason: "cannot read: \(SystemError.describe(error))")
        }
        return try decode(png: data, path: path, maxPixels: maxPixels)
    }

    /// Reads a PNG reusing buffers: `file` for the bytes, `pixels` for the image (moved into the result;
    /// let the result go before the next call so the buffer is reused, not copied).
    static func read(path: String, decoder: FastPNG.Decoder, file: inout [UInt8], pixels: inout [UInt8],
                     maxPixels: Int = PixelLimit.defaultMaxPixels) throws -> Bitmask {
        try readFile(path, into: &file, maxBytes: PixelLimit.maxFileBytes(maxPixels))
        try PixelLimit.checkPNG(file, path: path, maxPixels: maxPixels)
        if decoder.available {
            let dims = file.withUnsafeBytes { decoder.decode($0, into: &pixels) }
            if let d = dims { return Bitmask(height: d.height, width: d.width, rgba: pixels) }
        }
        return try decode(png: Data(file), path: path, maxPixels: maxPixels)
    }

    /// Decodes PNG bytes; `path` is only used in messages.
    public static func decode(png data: Data, path: String = "<memory>", maxPixels: Int = PixelLimit.defaultMaxPixels) throws -> Bitmask {
        var bytes = [UInt8](data)
        try PixelLimit.checkPNG(bytes, path: path, maxPixels: maxPixels)
        try sanitize(&bytes, path: path)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let ok = bytes.withUnsafeBytes { buf in
            png_image_begin_read_from_memory(&image, buf.baseAddress, buf.count)
        }
        guard ok != 0 else {
            let msg = message(&image)
            png_image_free(&image)
            throw PanopticError.invalidPNG(path: path, reason: msg)
        }
        image.format = 0x03 // PNG_FORMAT_RGBA
        let w = Int(image.width), h = Int(image.height)
        var out = [UInt8](repeating: 0, count: w * h * 4)
        let done = out.withUnsafeMutableBytes { o in
            bytes.withUnsafeBytes { _ in
                png_image_finish_read(&image, nil, o.baseAddress, Int32(w * 4), nil)
            }
        }
        guard done != 0 else {
            let msg = message(&image)
            png_image_free(&image)
            throw PanopticError.invalidPNG(path: path, reason: msg)
        }
        png_image_free(&image)
        return Bitmask(height: h, width: w, rgba: out)
    }

    /// Checks the header is 8-bit RGBA and drops the colour-space chunks (gAMA, sRGB, iCCP, cHRM) so
    /// libpng's simplified reader passes the bytes through unchanged, as PIL does.
    private static func sanitize(_ b: inout [UInt8], path: String) throws {
        let sig: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
        guard b.count >= 33, Array(b[0..<8]) == sig else { throw PanopticError.invalidPNG(path: path, reason: "not a PNG file") }
        func u32(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        guard String(decoding: b[12..<16], as: UTF8.self) == "IHDR" else {
            throw PanopticError.invalidPNG(path: path, reason: "the first chunk is not IHDR")
        }
        let depth = b[24], colorType = b[25]
        guard depth == 8, colorType == 6 else {
            let kinds: [UInt8: String] = [0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"]
            throw PanopticError.invalidPNG(path: path, reason: "it is \(depth)-bit \(kinds[colorType] ?? "color type \(colorType)")")
        }
        var out: [UInt8] = Array(b[0..<8])
        out.reserveCapacity(b.count)
        var i = 8
        while i + 12 <= b.count {
            let len = u32(i)
            let end = i + 12 + len
            guard len >= 0, len <= Int(Int32.max), end <= b.count else { break }
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            // Only what decoding needs reaches libpng (colour-space chunks would change the values).
            if ["IHDR", "PLTE", "tRNS", "IDAT", "IEND"].contains(type) { out.append(contentsOf: b[i..<end]) }
            i = end
            if type == "IEND" { break }
        }
        b = out
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let chars = raw.bindMemory(to: CChar.self)
            let n = chars.firstIndex(of: 0) ?? chars.count
            return String(decoding: raw.prefix(n), as: UTF8.self)
        }
    }

    /// Writes the bitmask as an 8-bit RGBA PNG (temporary sibling, fsync, rename).
    public func write(path: String) throws {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = 0x03 // PNG_FORMAT_RGBA
        var size: Int = 0
        var ok = rgba.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, Int32(width * 4), nil) }
        guard ok != 0 else { throw PanopticError.io(path: path, reason: "cannot encode PNG: \(Bitmask.message(&image))") }
        var png = [UInt8](repeating: 0, count: size)
        ok = png.withUnsafeMutableBytes { out in
            rgba.withUnsafeBytes { png_image_write_to_memory(&image, out.baseAddress, &size, 0, $0.baseAddress, Int32(width * 4), nil) }
        }
        guard ok != 0 else { throw PanopticError.io(path: path, reason: "cannot encode PNG: \(Bitmask.message(&image))") }
        try writeAtomically(Data(png[0..<size]), to: path)
    }
}

/// The pixel limit of bitmasks and RLE masks: sizes from PNG headers and JSON are checked against it
/// before any mask is allocated.
public enum PixelLimit {
    /// 100 megapixels, as the image decoder's default.
    public static let defaultMaxPixels = 100_000_000

    /// The largest PNG read into memory: 8 bytes per allowed pixel plus 16 MiB.
    static func maxFileBytes(_ maxPixels: Int) -> Int {
        let (b, o) = maxPixels.multipliedReportingOverflow(by: 8)
        return o || b > Int.max - (16 << 20) ? Int.max : b + (16 << 20)
    }

    /// Throws when the PNG's IHDR claims more than `maxPixels` pixels.
    static func checkPNG(_ b: [UInt8], path: String, maxPixels: Int) throws {
        guard b.count >= 24 else { return }  // too short: the decoder reports it
        func u32(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        let w = u32(16), h = u32(20)
        let (pixels, overflow) = w.multipliedReportingOverflow(by: h)
        if overflow || pixels > maxPixels {
            throw PanopticError.invalidPNG(path: path, reason: "its header says \(w)x\(h) pixels, over the limit of \(maxPixels) (raise it with --max-pixels or ZOO_MAX_PIXELS if genuine)")
        }
    }
}

/// Reads a whole file into a reused buffer.
func readFile(_ path: String, into buffer: inout [UInt8], maxBytes: Int = Int.max) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw PanopticError.io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw PanopticError.io(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
    let size = Int(st.st_size)
    guard size <= maxBytes else {
        throw PanopticError.io(path: path, reason: "the file is \(size) bytes, more than a bitmask within the pixel limit can be (\(maxBytes)); raise --max-pixels or ZOO_MAX_PIXELS if genuine")
    }
    if buffer.count != size { buffer = [UInt8](repeating: 0, count: size) }
    var done = 0
    try buffer.withUnsafeMutableBytes { b in
        while done < size {
            let n = read(fd, b.baseAddress.map { $0 + done }, size - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PanopticError.io(path: path, reason: "cannot read: \(n < 0 ? String(cString: strerror(errno)) : "file shrank")") }
            done += n
        }
    }
}

/// Writes `data` to a temporary sibling of `path`, fsyncs it and renames it onto `path`.
func writeAtomically(_ data: Data, to path: String) throws {
    do { try AtomicFile.write(data, to: path) } catch {
        throw PanopticError.io(path: path, reason: "\(error)")
    }
}
