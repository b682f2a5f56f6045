/// The EXIF orientation of a JPEG and its application, as OpenCV's `imread(IMREAD_COLOR)` applies it
/// after decoding (`ApplyExifOrientation`), so the pixels match what mmcv loads.
public enum EXIFOrientation {
    /// The orientation tag (1...8) of the first APP1 "Exif" segment, or 1 when there is none or it is
    /// malformed.
    public static func read(_ b: [UInt8]) -> Int {
        var i = 2
        while i + 4 <= b.count, b[i] == 0xFF {
            let marker = b[i + 1]
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan / end of image
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2, i + 2 + length <= b.count else { break }
            if marker == 0xE1, length >= 16, Array(b[(i + 4)..<(i + 10)]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                return orientation(inTIFF: Array(b[(i + 10)..<(i + 2 + length)]))
            }
            i += 2 + length
        }
        return 1
    }

    private static func orientation(inTIFF t: [UInt8]) -> Int {
        guard t.count >= 8 else { return 1 }
        let little: Bool
        switch (t[0], t[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return 1
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= t.count else { return nil }
            return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return 1 }
        for e in 0..<count {
            let entry = ifd + 2 + 12 * e
            guard let tag = u16(entry) else { return 1 }
            if tag == 0x0112, let v = u16(entry + 8), (1...8).contains(v) { return v }
        }
        return 1
    }

    /// The image as OpenCV orients it: 2 flip left-right, 3 rotate 180, 4 flip top-bottom, 5 transpose,
    /// 6 transpose + flip left-right (rotate 90 clockwise), 7 transpose + rotate 180, 8 transpose + flip
    /// top-bottom (rotate 90 counter-clockwise).
    public static func apply(_ orientation: Int, to img: BGRImage) -> BGRImage {
        guard (2...8).contains(orientation) else { return img }
        let transpose = orientation >= 5
        let w = transpose ? img.height : img.width, h = transpose ? img.width : img.height
        let flipX = [2, 3, 6, 7].contains(orientation), flipY = [3, 4, 7, 8].contains(orientation)
        var out = [UInt8](repeating: 0, count: img.pixels.count)
        for y in 0..<h {
            for x in 0..<w {
                // Position in the (possibly transposed) image before the flips.
                let ty = flipY ? h - 1 - y : y, tx = flipX ? w - 1 - x : x
                let sy = transpose ? tx : ty, sx = transpose ? ty : tx
                let s = (sy * img.width + sx) * 3, d = (y * w + x) * 3
                out[d] = img.pixels[s]
                out[d + 1] = img.pixels[s + 1]
                out[d + 2] = img.pixels[s + 2]
            }
        }
        return BGRImage(width: w, height: h, pixels: out)
    }
}
