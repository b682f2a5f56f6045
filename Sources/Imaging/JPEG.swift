import CTurboJPEG

/// JPEG decoding through libjpeg-turbo's TurboJPEG API with its defaults (accurate integer DCT, fancy
/// upsampling) into BGR: the same bytes OpenCV's `imread` gives with the same libjpeg-turbo, turned
/// by the EXIF orientation as OpenCV turns it.
///
/// CMYK and YCCK files decode as OpenCV decodes them: libjpeg-turbo gives the stored CMYK values (for
/// YCCK after its YCC->RGB step; Adobe files store them inverted, and neither libjpeg nor OpenCV undoes
/// that), and OpenCV's `icvCvt_CMYK2BGR_8u_C4C3R` turns them into `B = k - (((255 - y) * k) >> 8)` (G from
/// m, R from c). A damaged file that libjpeg completes with a warning (a truncated one gets a grey rest,
/// as OpenCV returns it) is decoded, and `options.warningHandler` is told once.
public enum JPEG {
    public static func decode(_ bytes: [UInt8], what: String = "the data", options: DecodeOptions = DecodeOptions()) throws -> BGRImage {
        guard let handle = tjInitDecompress() else { throw ImagingError.decodeFailed("libjpeg-turbo did not start") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let size = UInt(bytes.count)
        let header = bytes.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, size, &width, &height, &subsamp, &colorspace)
        }
        guard header == 0 else { throw ImagingError.decodeFailed("\(what): \(message(handle))") }
        // Before any pixel buffer exists (libjpeg's own buffers come with tjDecompress2, after this).
        try options.check(width: Int(width), height: Int(height), what: what)
        let w = Int(width), h = Int(height)
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = cmyk ? 4 : 3
        var failure: String?
        var warning: String?
        var pixels = [UInt8](unsafeUninitializedCapacity: w * h * channels) { out, count in
            let rc = bytes.withUnsafeBufferPointer {
                tjDecompress2(handle, $0.baseAddress, size, out.baseAddress, width, 0, height,
                              Int32((cmyk ? TJPF_CMYK : TJPF_BGR).rawValue), 0)
            }
            if rc != 0 {
                // A warning (e.g. a truncated file that libjpeg completes with grey) still fills the buffer.
                if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) { warning = message(handle) } else { failure = message(handle) }
            }
            if failure != nil { out.initialize(repeating: 0) }
            count = w * h * channels
        }
        if let failure { throw ImagingError.decodeFailed("\(what): \(failure)") }
        if let warning, let handler = options.warningHandler {
            handler("\(what): the JPEG is damaged (\(warning)); decoded as OpenCV does, the missing part grey")
        }
        if cmyk { pixels = cmykToBGR(pixels, count: w * h) }
        return EXIFOrientation.apply(EXIFOrientation.read(bytes), to: BGRImage(width: w, height: h, pixels: pixels))
    }

    /// OpenCV's CMYK -> BGR (`icvCvt_CMYK2BGR_8u_C4C3R`), on the values as libjpeg gives them.
    static func cmykToBGR(_ cmyk: [UInt8], count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count * 3) { out, n in
            cmyk.withUnsafeBufferPointer { src in
                for i in 0..<count {
                    let c = Int(src[4 * i]), m = Int(src[4 * i + 1]), y = Int(src[4 * i + 2]), k = Int(src[4 * i + 3])
                    out[3 * i] = UInt8(truncatingIfNeeded: k - (((255 - y) * k) >> 8))
                    out[3 * i + 1] = UInt8(truncatingIfNeeded: k - (((255 - m) * k) >> 8))
                    out[3 * i + 2] = UInt8(truncatingIfNeeded: k - (((255 - c) * k) >> 8))
                }
            }
            n = count * 3
        }
    }

    private static func message(_ handle: tjhandle) -> String {
        guard let c = tjGetErrorStr2(handle) else { return "libjpeg-turbo error" }
        return String(cString: c)
    }
}
