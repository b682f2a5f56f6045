import Foundation
import ZooRegistry

/// What can go wrong fetching, verifying or managing cached artifacts. Messages say what to do.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// The registry has no such artifact for this model.
    case noArtifact(id: String, kind: ArtifactKind)
    /// A `.md5` file does not start with 32 hex digits.
    case malformedChecksumFile(file: String, url: String?, content: String)
    /// The downloaded bytes do not hash to the published MD5; the download was deleted.
    case checksumMismatch(file: String, url: String, expected: String, actual: String)
    /// A cached file no longer matches its record or its published MD5.
    case corruptCache(file: String, expected: String, actual: String)
    /// Every source failed; `attempts` lists each URL with the reason.
    case allSourcesFailed(artifact: String, attempts: [Attempt])
    /// Offline mode and the artifact is not in the cache.
    case offlineMissing(artifact: String, id: String, path: String)
    /// Not enough free space for a download of known size.
    case insufficientSpace(path: String, needed: Int64, available: Int64)
    /// A file-system operation failed.
    case fileSystem(path: String, operation: String, reason: String)
    /// A mirror given on the command line, in `ZOO_MIRROR` or in the registry is not an http(s) URL.
    case badMirror(String)
    /// libcurl could not be initialised.
    case transportUnavailable(String)
    /// `--cacert`, `CURL_CA_BUNDLE`, `SSL_CERT_FILE` (a file) or `SSL_CERT_DIR` (a folder) names nothing usable.
    case badCA(String, folder: Bool)

    public struct Attempt: Equatable, Sendable, CustomStringConvertible {
        public var url: String
        public var reason: String
        public init(url: String, reason: String) { self.url = url; self.reason = reason }
        public var description: String { "\(url): \(reason)" }
    }

    public var description: String {
        switch self {
        case let .noArtifact(id, kind):
            return "the registry lists no '\(kind.rawValue)' artifact for \(id)."
        case let .malformedChecksumFile(file, url, content):
            let from = url.map { " (from \($0))" } ?? ""
            return "checksum file \(file)\(from) does not start with a 32-digit hex MD5 (it begins with \(Self.quote(content))). "
                + "The file was removed; check the mirror serves the right .md5, then run the command again."
        case let .checksumMismatch(file, url, expected, actual):
            return "MD5 mismatch for \(file) downloaded from \(url): expected \(expected), got \(actual). "
                + "The download was deleted; run the command again, or use another mirror (--mirror URL)."
        case let .corruptCache(file, expected, actual):
            return "cached file \(file) is corrupt: expected MD5 \(expected), got \(actual). "
                + "Remove it with `zoo cache rm ID` and fetch it again."
        case let .allSourcesFailed(artifact, attempts):
            return "could not download \(artifact); every source failed:\n"
                + attempts.map { "  \($0.url): \($0.reason)" }.joined(separator: "\n")
                + "\nAdd a mirror that hosts the file with --mirror URL or ZOO_MIRROR"
                + (attempts.contains { URL(string: $0.url)?.host?.lowercased() == "dl.cv.ethz.ch" }
                    ? " (the host dl.cv.ethz.ch has been down since 2026-03)." : ".")
        case let .offlineMissing(artifact, id, path):
            return "offline mode and \(artifact) is not cached (expected at \(path)). "
                + "Run `zoo fetch \(id)` while online, or unset ZOO_OFFLINE / drop --offline."
        case let .insufficientSpace(path, needed, available):
            return "not enough free disk space for \(path): the download needs \(ByteFormat.string(needed)), "
                + "only \(ByteFormat.string(available)) is free. Free some space or point ZOO_HOME at a larger disk."
        case let .fileSystem(path, operation, reason):
            return "cannot \(operation) \(path): \(reason)."
        case let .badMirror(m):
            return "mirror '\(m)' is not an http(s) URL; give a base URL such as https://example.org/bdd100k/pan_seg."
        case let .transportUnavailable(reason):
            return "cannot start the HTTP client (libcurl): \(reason)."
        case let .badCA(path, folder):
            return folder
                ? "SSL_CERT_DIR '\(path)' is not a folder; point it at a folder of CA certificates or unset it."
                : "CA certificate bundle '\(path)' (from --cacert, CURL_CA_BUNDLE or SSL_CERT_FILE) is not a readable file; "
                    + "give a PEM file of CA certificates."
        }
    }

    static func quote(_ s: String) -> String {
        let short = s.prefix(40).map { c -> String in
            c.isASCII && (c.isLetter || c.isNumber || c.isPunctuation || c == " ") ? String(c) : "?"
        }.joined()
        return "\"" + short + (s.count > 40 ? "..." : "") + "\""
    }
}

/// Human-readable byte counts (decimal units, as curl and df -H print them).
public enum ByteFormat {
    public static func string(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(bytes)
        var i = 0
        while v >= 1000, i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(bytes) B" : String(format: "%.1f %@", v, units[i])
    }
}

/// Reads the errno message for a failed POSIX call.
func errnoString(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
