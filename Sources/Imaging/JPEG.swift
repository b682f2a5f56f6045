import CTurboJPEG

/// JPEG decoding through libjpeg-turbo's TurboJPEG API with its defaults (accurate integer DCT, fancy
/// upsampling) into BGR: the same bytes OpenCV's `imread` gives with the same libjpeg-turbo, turned
/// by the EXIF orientation as OpenCV turns it.
public enum JPEG {
    public static func decode(_ bytes: [UInt8]) throws -> BGRImage {
        guard let handle = tjInitDecompress() else { throw ImagingError.decodeFailed("libjpeg-turbo did not start") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let size = UInt(bytes.count)
        let header = bytes.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, size, &width, &height, &subsamp, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else { throw ImagingError.decodeFailed(message(handle)) }
        let w = Int(width), h = Int(height)
        var failure: String?
        let pixels = [UInt8](unsafeUninitializedCapacity: w * h * 3) { out, count in
            let rc = bytes.withUnsafeBufferPointer {
                tjDecompress2(handle, $0.baseAddress, size, out.baseAddress, width, 0, height,
                              Int32(TJPF_BGR.rawValue), 0)
            }
            // A warning (e.g. a truncated file that libjpeg completes with grey) still fills the buffer.
            if rc != 0 && tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) { failure = message(handle) }
            if failure != nil { out.initialize(repeating: 0) }
            count = w * h * 3
        }
        if let failure { throw ImagingError.decodeFailed(failure) }
        return EXIFOrientation.apply(EXIFOrientation.read(bytes), to: BGRImage(width: w, height: h, pixels: pixels))
    }

    private static func message(_ handle: tjhandle) -> String {
        guard let c = tjGetErrorStr2(handle) else { return "libjpeg-turbo error" }
        return String(cString: c)
    }
}
