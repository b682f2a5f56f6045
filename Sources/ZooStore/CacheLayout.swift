import Foundation
import ZooRegistry

/// Where the zoo's files live on disk, in the layout of the original host:
/// `<root>/models/<name>.pth`, `<root>/scores-val/<name>.json`, `<root>/configs/<name>.py`, ...
///
/// The root is `$ZOO_HOME`, else `$XDG_CACHE_HOME/bdd100k-zoo`, else `~/.cache/bdd100k-zoo`.
public struct CacheLayout: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let home = environment["ZOO_HOME"], !home.isEmpty {
            root = URL(fileURLWithPath: home, isDirectory: true)
        } else if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            root = URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("bdd100k-zoo", isDirectory: true)
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            root = URL(fileURLWithPath: home, isDirectory: true)
                .appendingPathComponent(".cache/bdd100k-zoo", isDirectory: true)
        }
    }

    /// The relative path of an artifact inside the cache: its path under the base URL, or for
    /// absolute URLs (the config on GitHub) `configs/<file name>`.
    public func relativePath(of kind: ArtifactKind, for entry: ModelEntry) -> String? {
        guard let loc = entry.artifacts[kind] else { return nil }
        if loc.contains("://") {
            let file = loc.split(separator: "/").last.map(String.init) ?? "\(entry.name).\(kind.rawValue)"
            return "\(kind == .config ? "configs" : kind.rawValue)/\(file)"
        }
        return loc
    }

    /// The final path of an artifact (present only once verified).
    public func path(of kind: ArtifactKind, for entry: ModelEntry) -> URL? {
        relativePath(of: kind, for: entry).map { root.appendingPathComponent($0) }
    }

    /// The converted weights beside the `.pth`: `models/<name>.safetensors`.
    public func safetensorsPath(for entry: ModelEntry) -> URL? {
        path(of: .model, for: entry).map { $0.deletingPathExtension().appendingPathExtension("safetensors") }
    }

    /// Whether the final file of an artifact exists.
    public func isCached(_ kind: ArtifactKind, for entry: ModelEntry) -> Bool {
        guard let p = path(of: kind, for: entry) else { return false }
        return FileManager.default.fileExists(atPath: p.path)
    }
}


// MARK: - Working files beside a target

extension CacheLayout {
    /// Suffix of a download in progress; it becomes the target only after verification.
    public static let incompleteSuffix = ".incomplete"
    /// Suffix of the advisory lock file that serialises fetches of one target across processes.
    public static let lockSuffix = ".lock"
    /// Suffix of the verification record (size, MD5, time, source URL) written after a verified download.
    public static let recordSuffix = ".verified.json"

    /// `<target>.incomplete`: the partial download, kept across runs so the next one resumes it.
    public static func incompletePath(for target: URL) -> URL { sibling(target, incompleteSuffix) }
    /// `<target>.lock`.
    public static func lockPath(for target: URL) -> URL { sibling(target, lockSuffix) }
    /// `<target>.verified.json`.
    public static func recordPath(for target: URL) -> URL { sibling(target, recordSuffix) }

    static func sibling(_ target: URL, _ suffix: String) -> URL {
        target.deletingLastPathComponent().appendingPathComponent(target.lastPathComponent + suffix)
    }

    /// Whether a file name is one of the cache's working files rather than an artifact.
    public static func isWorkingFile(_ name: String) -> Bool {
        name.hasSuffix(incompleteSuffix) || name.hasSuffix(lockSuffix) || name.hasSuffix(recordSuffix)
            || name.hasPrefix(".tmp-")
    }

    /// Every file under the root, as paths relative to it, sorted.
    public func allFiles() -> [String] {
        guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        var out: [String] = []
        let prefix = root.standardizedFileURL.path.hasSuffix("/") ? root.standardizedFileURL.path
            : root.standardizedFileURL.path + "/"
        for case let url as URL in e {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let p = url.standardizedFileURL.path
            out.append(p.hasPrefix(prefix) ? String(p.dropFirst(prefix.count)) : p)
        }
        return out.sorted()
    }
}
