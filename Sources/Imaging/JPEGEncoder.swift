import CTurboJPEG

/// JPEG encoding through libjpeg-turbo (4:2:0, accurate DCT), for synthetic datasets and overlays.
public enum JPEGEncoder {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Encodes interleaved RGB pixels (`width * height * 3` bytes, row-major).
    public static func encode(rgb: [UInt8], width: Int, height: Int, quality: Int = 92) throws -> [UInt8] {
        guard width > 0, height > 0, rgb.count == width * height * 3 else {
            throw Failure(description: "cannot encode a JPEG of \(width)x\(height) from \(rgb.count) bytes")
        }
        guard let handle = tjInitCompress() else { throw Failure(description: "libjpeg-turbo could not start a compressor") }
        defer { tjDestroy(handle) }
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = rgb.withUnsafeBufferPointer { px in
            tjCompress2(handle, px.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue),
                        &out, &size, Int32(TJSAMP_420.rawValue), Int32(max(1, min(100, quality))), TJFLAG_ACCURATEDCT)
        }
        defer { if let out { tjFree(out) } }
        guard status == 0, let out else {
            throw Failure(description: "JPEG encoding failed: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }
}
