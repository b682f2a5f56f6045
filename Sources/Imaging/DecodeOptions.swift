/// Limits and callbacks of image decoding. Images come from users and mirrors: a 74-byte PNG may claim
/// 100000x100000 pixels, so the size in the header is checked against `maxPixels` before any pixel
/// buffer is allocated, and a file is read into memory only up to `maxFileBytes`.
public struct DecodeOptions: Sendable {
    /// The default pixel limit, 100 megapixels (a 10000x10000 image; BDD100K's are 1280x720).
    public static let defaultMaxPixels = 100_000_000

    /// The most pixels (width * height) an image may have.
    public var maxPixels: Int
    /// The largest file read into memory: by default 8 bytes per allowed pixel (a 16-bit RGBA PNG stored
    /// without compression) plus 16 MiB of metadata; no honest image of `maxPixels` is bigger.
    public var maxFileBytes: Int
    /// Called once per decoded file that libjpeg-turbo completed despite damage (e.g. a truncated JPEG,
    /// whose missing rest is grey as OpenCV gives it), with a message naming the file.
    public var warningHandler: (@Sendable (String) -> Void)?

    public init(maxPixels: Int = DecodeOptions.defaultMaxPixels, maxFileBytes: Int? = nil,
                warningHandler: (@Sendable (String) -> Void)? = nil) {
        self.maxPixels = max(1, maxPixels)
        let (bytes, overflow) = self.maxPixels.multipliedReportingOverflow(by: 8)
        self.maxFileBytes = maxFileBytes ?? (overflow ? Int.max : bytes.addingReportingOverflow(16 << 20).overflow ? Int.max : bytes + (16 << 20))
        self.warningHandler = warningHandler
    }

    /// Throws `ImagingError.tooLarge` when `width x height` is over the limit (or not a positive size).
    public func check(width: Int, height: Int, what: String) throws {
        guard width > 0, height > 0 else { throw ImagingError.decodeFailed("\(what) has an empty size (\(width)x\(height))") }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > maxPixels {
            throw ImagingError.tooLarge(what: what, width: width, height: height, maxPixels: maxPixels)
        }
    }
}
