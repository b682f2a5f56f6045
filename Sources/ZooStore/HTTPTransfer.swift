import CCurl
import Crypto
import Foundation

/// Connection settings for every transfer.
public struct TransferSettings: Sendable {
    /// Seconds to wait for a TCP/TLS connection.
    public var connectTimeout: Int = 30
    /// A transfer slower than `lowSpeedLimit` bytes/s for `lowSpeedTime` seconds is abandoned (and retried).
    public var lowSpeedLimit: Int = 1024
    public var lowSpeedTime: Int = 30
    public var userAgent = "bdd100k-zoo"
    /// A PEM bundle of CA certificates to trust instead of the system's (`--cacert`, `CURL_CA_BUNDLE`,
    /// `SSL_CERT_FILE`).
    public var caBundle: String?
    /// A folder of hashed CA certificates (`SSL_CERT_DIR`).
    public var caDirectory: String?
    /// Set when `CURL_CA_BUNDLE`, `SSL_CERT_FILE` or `SSL_CERT_DIR` from the environment names nothing usable:
    /// like curl, plain-http transfers go on, and an https source fails with this error (the next one is tried).
    public var caProblem: StoreError?

    public init() {}
}

/// The result of one GET, before the store decides what it means.
struct TransferResult {
    var curlCode: CURLcode
    /// The final HTTP status after redirects (0 for file:// or when no response arrived).
    var status: Int
    var message: String
    var abort: TransferContext.Abort?
    /// The size of the whole file, when the server said so.
    var total: Int64?
}

/// State shared with libcurl's C callbacks through an unmanaged pointer: the open file, the running
/// MD5 and what the response headers said. The MD5 always covers exactly the bytes in the file.
final class TransferContext {
    enum Abort {
        case failure(StoreError), rangeMismatch(expected: Int64, got: Int64?)
        /// The file would be larger than `maxBytes` (`announced`: the size the server stated, if it did).
        case tooLarge(announced: Int64?)
    }

    let fd: Int32
    let path: String
    let hasher: PipelinedMD5
    /// Bytes in the file, all of them already hashed.
    var written: Int64
    var status = 0
    var contentLength: Int64?
    var rangeStart: Int64?
    var rangeTotal: Int64?
    var bodyStarted = false
    var accepting = false
    var abort: Abort?
    var total: Int64?
    /// The most bytes the file may have (see `ArtifactLimits`): a larger announced size or body is refused
    /// before it is written, and the transfer hung up.
    var maxBytes: Int64 = .max
    /// Returns an error when `bytes` more would not fit on the disk.
    var checkSpace: (Int64) -> StoreError? = { _ in nil }
    var progress: (Int64, Int64?) -> Void = { _, _ in }
    /// Told when the partial bytes are dropped because the server sent the whole file.
    var restarted: (String) -> Void = { _ in }
    /// Body bytes written during the current request.
    var received: Int64 = 0
    private var lastProgress: UInt64 = 0

    init(fd: Int32, path: String, hasher: PipelinedMD5, written: Int64) {
        self.fd = fd; self.path = path; self.hasher = hasher; self.written = written
    }

    /// Called for each header line; returns false to hang up (a file announced larger than `maxBytes`).
    func header(_ line: String) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            // The end of a response's headers: refuse an oversized file before any of its body arrives.
            let announced: Int64? = status == 200 ? contentLength
                : status == 206 ? (rangeTotal ?? contentLength.map { $0 + written }) : nil
            if let announced, announced > maxBytes {
                abort = .tooLarge(announced: announced)
                return false
            }
            return true
        }
        if trimmed.hasPrefix("HTTP/") {
            // A new response (after a redirect or a 100 Continue): forget the previous one's headers.
            let parts = trimmed.split(separator: " ")
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            contentLength = nil; rangeStart = nil; rangeTotal = nil
            return true
        }
        guard let colon = trimmed.firstIndex(of: ":") else { return true }
        let name = trimmed[..<colon].lowercased()
        let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        if name == "content-length" {
            contentLength = Int64(value)
        } else if name == "content-range" {
            // bytes START-END/TOTAL (TOTAL may be *)
            let spec = value.lowercased().hasPrefix("bytes ") ? value.dropFirst(6) : Substring(value)
            let halves = spec.split(separator: "/", maxSplits: 1)
            if let first = halves.first, let dash = first.firstIndex(of: "-") {
                rangeStart = Int64(first[..<dash])
            }
            if halves.count == 2 { rangeTotal = Int64(halves[1]) }
        }
        return true
    }

    /// Called for each body chunk; returns false to abort the transfer.
    func body(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if !bodyStarted {
            bodyStarted = true
            switch status {
            case 206:
                guard rangeStart == written else {
                    abort = .rangeMismatch(expected: written, got: rangeStart)
                    return false
                }
                total = rangeTotal ?? contentLength.map { $0 + written }
                accepting = true
            case 200, 0:
                if status == 200, written > 0 {
                    // The server ignored our Range and sends the whole file: start over.
                    guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
                        abort = .failure(.fileSystem(path: path, operation: "truncate", reason: errnoString()))
                        return false
                    }
                    hasher.reset()
                    written = 0
                    restarted("the server ignored the Range request (HTTP 200)")
                }
                total = contentLength.map { $0 + (status == 0 ? written : 0) }
                accepting = true
            default:
                accepting = false // an error page: not part of the file
            }
            if accepting, let total, total > maxBytes {
                abort = .tooLarge(announced: total)
                return false
            }
            if accepting, let total, let err = checkSpace(total - written) {
                abort = .failure(err)
                return false
            }
        }
        guard accepting else { return true }
        guard Int64(bytes.count) <= maxBytes - written else {
            abort = .tooLarge(announced: nil)
            return false
        }
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress.map { $0 + off }, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                abort = .failure(code == ENOSPC
                    ? .insufficientSpace(path: path, needed: (total ?? 0) - written, available: 0)
                    : .fileSystem(path: path, operation: "write", reason: errnoString(code)))
                return false
            }
            off += n
        }
        hasher.update(bytes)
        written += Int64(bytes.count)
        received += Int64(bytes.count)
        let now = DispatchTime.now().uptimeNanoseconds
        if now - lastProgress > 100_000_000 {
            lastProgress = now
            progress(written, total)
        }
        return true
    }
}

private let curlReady: CURLcode = zoo_curl_global_init()

private let writeCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userdata in
    guard let userdata else { return 0 }
    let ctx = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    guard n > 0, let data else { return n }
    return ctx.body(UnsafeRawBufferPointer(start: data, count: n)) ? n : 0
}

private let headerCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userdata in
    let n = size * count
    guard let userdata, let data else { return n }
    let ctx = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
    return ctx.header(line) ? n : 0
}

enum HTTPTransfer {
    /// GETs `url` into the context's file, asking for the bytes from `context.written` on.
    static func get(_ url: String, into context: TransferContext, settings: TransferSettings) throws -> TransferResult {
        guard curlReady == CURLE_OK else {
            throw StoreError.transportUnavailable(String(cString: curl_easy_strerror(curlReady)))
        }
        if let problem = settings.caProblem, url.lowercased().hasPrefix("https:") {
            // What curl reports for an unreadable CA file, without asking it: this source fails, the next is tried.
            return TransferResult(curlCode: CURLE_SSL_CACERT_BADFILE, status: 0, message: problem.description,
                                  abort: nil, total: nil)
        }
        guard let h = curl_easy_init() else { throw StoreError.transportUnavailable("curl_easy_init failed") }
        defer { curl_easy_cleanup(h) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        let me = Unmanaged.passUnretained(context).toOpaque()

        zoo_curl_setopt_string(h, CURLOPT_URL, url)
        zoo_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer)
        zoo_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 1)
        zoo_curl_setopt_long(h, CURLOPT_MAXREDIRS, 10)
        zoo_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
        zoo_curl_setopt_string(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        zoo_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        zoo_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT, settings.connectTimeout)
        zoo_curl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, settings.lowSpeedLimit)
        zoo_curl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, settings.lowSpeedTime)
        zoo_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        zoo_curl_setopt_long(h, CURLOPT_BUFFERSIZE, 512 * 1024)
        zoo_curl_setopt_string(h, CURLOPT_USERAGENT, settings.userAgent)
        zoo_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
        zoo_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
        if let ca = settings.caBundle { zoo_curl_setopt_string(h, CURLOPT_CAINFO, ca) }
        if let dir = settings.caDirectory { zoo_curl_setopt_string(h, CURLOPT_CAPATH, dir) }
        zoo_curl_setopt_write(h, writeCallback)
        zoo_curl_setopt_pointer(h, CURLOPT_WRITEDATA, me)
        zoo_curl_setopt_header(h, headerCallback)
        zoo_curl_setopt_pointer(h, CURLOPT_HEADERDATA, me)
        if context.written > 0 {
            // A plain Range header rather than CURLOPT_RESUME_FROM: curl would fail on a 200 reply,
            // and we want to restart from zero instead.
            zoo_curl_setopt_string(h, CURLOPT_RANGE, "\(context.written)-")
        }
        let code = curl_easy_perform(h)
        var status = 0
        zoo_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        let detail = String(cString: errorBuffer)
        var message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if code == CURLE_SSL_CACERT_BADFILE {
            message = "the CA certificates could not be read (\(message)); give a readable PEM file with --cacert FILE "
                + "(or fix CURL_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR)"
        } else if code == CURLE_PEER_FAILED_VERIFICATION {
            message = "TLS certificate not trusted (\(message)); if the server uses a private CA, give its certificate "
                + "with --cacert FILE (or CURL_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR)"
        } else if code == CURLE_SSL_CONNECT_ERROR {
            message = "TLS handshake failed (\(message))"
        }
        return TransferResult(curlCode: code, status: status, message: message, abort: context.abort,
                              total: context.total)
    }
}
