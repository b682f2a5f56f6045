/// Errors of image decoding.
public enum ImagingError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The bytes are not an image this module decodes (JPEG or PNG).
    case unknownFormat(String)
    /// libjpeg-turbo or libpng rejected the data.
    case decodeFailed(String)
    /// The header claims more pixels than the limit allows (a decompression bomb, or a huge image).
    case tooLarge(what: String, width: Int, height: Int, maxPixels: Int)
    /// The file is bigger than any image within the pixel limit can be.
    case fileTooLarge(path: String, bytes: Int, maxBytes: Int)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read image \(path): \(reason)"
        case .unknownFormat(let what):
            return "\(what) is neither a JPEG nor a PNG; convert it to one of those"
        case .decodeFailed(let why):
            return "cannot decode image: \(why); is the file complete?"
        case .tooLarge(let what, let width, let height, let maxPixels):
            return "\(what) says it is \(width)x\(height) pixels, over the limit of \(maxPixels) pixels; "
                + "raise it with --max-pixels or ZOO_MAX_PIXELS if the image is genuine"
        case .fileTooLarge(let path, let bytes, let maxBytes):
            return "\(path) is \(bytes) bytes, more than an image within the pixel limit can take (\(maxBytes) bytes); "
                + "raise --max-pixels or ZOO_MAX_PIXELS if the image is genuine"
        }
    }
}
