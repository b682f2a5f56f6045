import CPNG

/// PNG decoding through libpng's simplified API into BGR as OpenCV's `imread(IMREAD_COLOR)` gives it:
/// palette expanded, grey replicated to three channels, alpha dropped (not composited), and no colour
/// management: only IHDR, PLTE, tRNS, IDAT and IEND reach libpng (see `PNGChunks`), so a gAMA, sRGB,
/// iCCP or cHRM chunk does not change the values, as OpenCV ignores them. 16-bit files without alpha
/// keep the high byte of each sample, as OpenCV's `png_set_strip_16`; 16-bit files with alpha come
/// out of libpng premultiplied and may differ from OpenCV where alpha is not opaque.
public enum PNG {
    public static func decode(_ bytes: [UInt8], what: String = "the data", options: DecodeOptions = DecodeOptions()) throws -> BGRImage {
        let header = try ImageHeader.parse(bytes, what: what)
        try options.check(width: header.width, height: header.height, what: what)
        let png = try PNGChunks.filtered(bytes, what: what)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let ok = png.withUnsafeBufferPointer { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw ImagingError.decodeFailed("\(what): \(errorText(&image))") }
        defer { png_image_free(&image) }
        let w = Int(image.width), h = Int(image.height)
        // libpng read the same IHDR; check again in case it disagrees with our reading.
        try options.check(width: w, height: h, what: what)
        let sixteen = image.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
        var bgr = [UInt8](repeating: 0, count: w * h * 3)
        if sixteen {
            // Linear (16-bit) output keeps a 16-bit file's samples as stored (no gamma step); the high
            // byte is what png_set_strip_16 keeps.
            image.format = UInt32(PNG_FORMAT_BGRA) | UInt32(PNG_FORMAT_FLAG_LINEAR)
            var bgra = [UInt16](repeating: 0, count: w * h * 4)
            let done = bgra.withUnsafeMutableBufferPointer {
                png_image_finish_read(&image, nil, $0.baseAddress, Int32(w * 4), nil)
            }
            guard done != 0 else { throw ImagingError.decodeFailed("\(what): \(errorText(&image))") }
            for i in 0..<(w * h) {
                for c in 0..<3 { bgr[3 * i + c] = UInt8(truncatingIfNeeded: bgra[4 * i + c] >> 8) }
            }
        } else {
            // Read with alpha so libpng keeps colours as stored instead of blending them over a background.
            image.format = UInt32(PNG_FORMAT_BGRA)
            var bgra = [UInt8](repeating: 0, count: w * h * 4)
            let done = bgra.withUnsafeMutableBufferPointer {
                png_image_finish_read(&image, nil, $0.baseAddress, Int32(w * 4), nil)
            }
            guard done != 0 else { throw ImagingError.decodeFailed("\(what): \(errorText(&image))") }
            for i in 0..<(w * h) {
                bgr[3 * i] = bgra[4 * i]
                bgr[3 * i + 1] = bgra[4 * i + 1]
                bgr[3 * i + 2] = bgra[4 * i + 2]
            }
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
