import CPNG

/// PNG decoding through libpng's simplified API into BGR as OpenCV's `imread(IMREAD_COLOR)` gives it for
/// 8-bit files: palette expanded, grey replicated to three channels, alpha dropped (not composited).
/// 16-bit files are reduced by libpng's simplified API, which may round differently from OpenCV.
public enum PNG {
    public static func decode(_ bytes: [UInt8]) throws -> BGRImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let ok = bytes.withUnsafeBufferPointer { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw ImagingError.decodeFailed(errorText(&image)) }
        defer { png_image_free(&image) }
        // Read with alpha so libpng keeps colours as stored instead of blending them over a background.
        image.format = UInt32(PNG_FORMAT_BGRA)
        let w = Int(image.width), h = Int(image.height)
        var bgra = [UInt8](repeating: 0, count: w * h * 4)
        let done = bgra.withUnsafeMutableBufferPointer {
            png_image_finish_read(&image, nil, $0.baseAddress, Int32(w * 4), nil)
        }
        guard done != 0 else { throw ImagingError.decodeFailed(errorText(&image)) }
        var bgr = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            bgr[3 * i] = bgra[4 * i]
            bgr[3 * i + 1] = bgra[4 * i + 1]
            bgr[3 * i + 2] = bgra[4 * i + 2]
        }
        return BGRImage(width: w, height: h, pixels: bgr)
    }

    private static func errorText(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let chars = raw.bindMemory(to: CChar.self)
            let end = chars.firstIndex(of: 0) ?? chars.count
            return String(decoding: raw.prefix(end), as: UTF8.self)
        }
    }
}
