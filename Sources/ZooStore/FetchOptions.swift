import Foundation

/// How the store reaches the network. Built from the command line and the environment by
/// `FetchOptions.resolve(mirrors:offline:environment:)`.
public struct FetchOptions: Sendable {
    /// Base URLs tried before the registry's mirrors and its `base_url` (from `--mirror` and `ZOO_MIRROR`).
    public var mirrors: [String] = []
    /// Never touch the network; only cached files are served.
    public var offline = false
    /// Retries of one source after a transient failure (timeout, 5xx, 429, a reset mid-body).
    /// An attempt that received at least `progressResetBytes` does not count, so a flaky but
    /// advancing transfer goes on while a stuck one stops.
    public var retries = 4
    /// Seconds before the first retry; doubled for each further one, capped at `maxRetryDelay`.
    public var retryDelay: Double = 1
    public var maxRetryDelay: Double = 30
    public var progressResetBytes: Int64 = 1 << 20
    public var transfer = TransferSettings()

    public static let mirrorEnvironmentKey = "ZOO_MIRROR"
    public static let offlineEnvironmentKey = "ZOO_OFFLINE"

    public init() {}

    /// Options from the command line plus the environment: `--mirror` first, then `ZOO_MIRROR`
    /// (comma-separated); `--offline` or `ZOO_OFFLINE=1`.
    /// `caBundle` (`--cacert`) overrides `CURL_CA_BUNDLE`, which overrides `SSL_CERT_FILE`; `SSL_CERT_DIR`
    /// names a folder of hashed CA certificates. Without any, the system's CA store is used. A `--cacert` that is
    /// not a readable file throws; an unusable path from the environment is kept as `transfer.caProblem`.
    public static func resolve(mirrors cli: [String], offline: Bool, caBundle: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> FetchOptions {
        var o = FetchOptions()
        func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
        // An explicit --cacert must be usable now; a bad path from the environment only stops https transfers
        // (curl's behaviour): the path is still handed to curl, so an http URL redirected to https fails there.
        if let ca = nonEmpty(caBundle) {
            guard isReadableFile(ca) else { throw StoreError.badCA(ca, folder: false) }
            o.transfer.caBundle = ca
        } else if let ca = nonEmpty(environment["CURL_CA_BUNDLE"]) ?? nonEmpty(environment["SSL_CERT_FILE"]) {
            if !isReadableFile(ca) { o.transfer.caProblem = .badCA(ca, folder: false) }
            o.transfer.caBundle = ca
        }
        if let dir = nonEmpty(environment["SSL_CERT_DIR"]) {
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
                o.transfer.caProblem = o.transfer.caProblem ?? .badCA(dir, folder: true)
            }
            o.transfer.caDirectory = dir
        }
        let env = (environment[mirrorEnvironmentKey] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for m in cli + env {
            guard let u = URL(string: m), let s = u.scheme?.lowercased(), s == "http" || s == "https",
                  u.host.map({ !$0.isEmpty }) == true else { throw StoreError.badMirror(m) }
            o.mirrors.append(m)
        }
        o.offline = offline || isTrue(environment[offlineEnvironmentKey])
        return o
    }

    private static func isReadableFile(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
            && FileManager.default.isReadableFile(atPath: path)
    }

    static func isTrue(_ v: String?) -> Bool {
        guard let v = v?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(v)
    }
}

/// What the store reports while it works, for progress displays and logs.
public enum StoreEvent: Sendable {
    /// The artifact (its path under the cache root, e.g. `models/<name>.pth`) is already cached and verified.
    case alreadyCached(artifact: String, path: URL)
    /// Another process holds the artifact's lock; this one waits for it.
    case waitingForLock(artifact: String, lock: URL)
    /// A partial download from an earlier run is resumed.
    case resuming(artifact: String, bytes: Int64)
    /// A request starts (`offset` > 0: a Range request).
    case started(artifact: String, url: String, offset: Int64)
    case progress(artifact: String, bytes: Int64, total: Int64?)
    /// A source could not serve the artifact; the next one is tried (if any).
    case sourceFailed(artifact: String, url: String, reason: String)
    /// A transient failure; the same source is asked again after `delay` seconds, resuming.
    case retrying(artifact: String, url: String, reason: String, attempt: Int, delay: Double)
    /// The partial download was dropped and the transfer starts again at byte 0.
    case restarted(artifact: String, url: String, reason: String)
    /// All bytes arrived from `url`.
    case downloaded(artifact: String, url: String, bytes: Int64, seconds: Double)
    /// The file is in place under its final name; `expected` is nil when nothing was published to compare.
    case verified(artifact: String, path: URL, md5: String, checked: Bool)
}
