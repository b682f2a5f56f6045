/// Errors of image decoding.
public enum ImagingError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The bytes are not an image this module decodes (JPEG or PNG).
    case unknownFormat(String)
    /// libjpeg-turbo or libpng rejected the data.
    case decodeFailed(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read image \(path): \(reason)"
        case .unknownFormat(let what):
            return "\(what) is neither a JPEG nor a PNG; convert it to one of those"
        case .decodeFailed(let why):
            return "cannot decode image: \(why); is the file complete?"
        }
    }
}
