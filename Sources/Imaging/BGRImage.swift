#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An 8-bit image in OpenCV's default layout: rows top to bottom, pixels left to right, channels B, G, R
/// (`[H, W, 3]`, the array `cv2.imread` returns).
public struct BGRImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `height * width * 3` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "BGRImage: \(pixels.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Decodes a JPEG or PNG file as OpenCV's `imread(path, IMREAD_COLOR)` does (see `decode(_:)`). The
    /// file's size is checked against `options.maxFileBytes` before it is read, and the image's against
    /// `options.maxPixels` before its pixels are allocated. Messages name the file.
    public static func load(path: String, options: DecodeOptions = DecodeOptions()) throws -> BGRImage {
        let (fd, size) = try ImageFile.openRegular(path)
        defer { close(fd) }
        guard size <= options.maxFileBytes else {
            throw ImagingError.fileTooLarge(path: path, bytes: size, maxBytes: options.maxFileBytes)
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress.map { $0 + done }, size - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw ImagingError.unreadable(path: path, reason: n < 0 ? String(cString: strerror(errno)) : "the file shrank while being read")
            }
            done += n
        }
        return try decode(bytes, what: path, options: options)
    }

    /// Decodes JPEG (by its SOI marker) or PNG (by its signature) bytes; `what` names them in messages.
    public static func decode(_ bytes: [UInt8], what: String = "the data", options: DecodeOptions = DecodeOptions()) throws -> BGRImage {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
            return try JPEG.decode(bytes, what: what, options: options)
        }
        if bytes.count >= 8 && bytes.prefix(8).elementsEqual(PNGChunks.signature) {
            return try PNG.decode(bytes, what: what, options: options)
        }
        throw ImagingError.unknownFormat(what)
    }
}
