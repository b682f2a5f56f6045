import Foundation

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

    /// Decodes a JPEG or PNG file as OpenCV's `imread(path, IMREAD_COLOR)` does (see `decode(_:)`).
    public static func load(path: String) throws -> BGRImage {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ImagingError.unreadable(path: path, reason: error.localizedDescription)
        }
        do {
            return try decode([UInt8](data))
        } catch ImagingError.unknownFormat {
            throw ImagingError.unknownFormat(path)
        }
    }

    /// Decodes JPEG (by its SOI marker) or PNG (by its signature) bytes.
    public static func decode(_ bytes: [UInt8]) throws -> BGRImage {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
            return try JPEG.decode(bytes)
        }
        if bytes.count >= 8 && bytes.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try PNG.decode(bytes)
        }
        throw ImagingError.unknownFormat("the data")
    }
}
