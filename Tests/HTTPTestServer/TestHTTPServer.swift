import Foundation
import DemoSupport
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 file server on 127.0.0.1 (an ephemeral port) for the download tests: GET and
/// HEAD, single `Range: bytes=N-` / `bytes=N-M` requests, and injected faults. One thread accepts,
/// one thread serves each connection; every response closes its connection.
public final class TestHTTPServer: @unchecked Sendable {
    /// How one path misbehaves.
    public struct Behavior: Sendable {
        /// Answer every request with this status and a short error page.
        public var status: Int?
        /// The first `failFirst` requests get `failStatus`.
        public var failFirst = 0
        public var failStatus = 500
        /// The first `dropTimes` requests announce the full length, send `dropAfterBytes` bytes of
        /// the body and close the connection.
        public var dropAfterBytes: Int?
        public var dropTimes = 1
        /// Answer Range requests with the whole file and 200.
        public var ignoreRange = false
        /// Send the body at about this rate.
        public var bytesPerSecond: Int?
        /// Wait this long before answering at all (a server that accepts and hangs).
        public var stallSeconds: Double?
        /// Answer with a 302 redirect to this URL.
        public var redirect: String?
        /// Announce this Content-Length (a lie: the body sent is the real one, then the connection closes).
        public var announceLength: Int64?
        /// No Content-Length and a body of zeros that never ends (until the client hangs up).
        public var endless = false

        public init(status: Int? = nil, failFirst: Int = 0, failStatus: Int = 500, dropAfterBytes: Int? = nil,
                    dropTimes: Int = 1, ignoreRange: Bool = false, bytesPerSecond: Int? = nil,
                    stallSeconds: Double? = nil, redirect: String? = nil, announceLength: Int64? = nil,
                    endless: Bool = false) {
            self.announceLength = announceLength; self.endless = endless
            self.status = status; self.failFirst = failFirst; self.failStatus = failStatus
            self.dropAfterBytes = dropAfterBytes; self.dropTimes = dropTimes
            self.ignoreRange = ignoreRange; self.bytesPerSecond = bytesPerSecond
            self.stallSeconds = stallSeconds; self.redirect = redirect
        }
    }

    /// A request as the server saw it.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var range: String?
        public var status: Int
    }

    private struct Route {
        var body: Data
        var behavior: Behavior
        var count = 0
    }

    public let port: Int
    private let listenFD: Int32
    private let lock = NSLock()
    private var routes: [String: Route] = [:]
    private var log: [Request] = []
    private var stopped = false

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init() throws {
        signal(SIGPIPE, SIG_IGN)
        let (fd, chosen): (Int32, UInt16)
        do { (fd, chosen) = try LoopbackSocket.listen() } catch { throw ServerError.socket("\(error)") }
        listenFD = fd
        port = Int(chosen)
        let t = Thread { [weak self] in self?.acceptLoop() }
        t.start()
    }

    deinit { stop() }

    public enum ServerError: Error { case socket(String) }

    /// Serves `body` at `path` (e.g. `/pan_seg/models/x.pth`).
    public func serve(_ path: String, _ body: Data, _ behavior: Behavior = Behavior()) {
        lock.lock(); defer { lock.unlock() }
        routes[path] = Route(body: body, behavior: behavior)
    }

    /// Changes how a path behaves from now on (its request count restarts).
    public func setBehavior(_ path: String, _ behavior: Behavior) {
        lock.lock(); defer { lock.unlock() }
        routes[path]?.behavior = behavior
        routes[path]?.count = 0
    }

    /// The requests received so far, in order.
    public var requests: [Request] {
        lock.lock(); defer { lock.unlock() }
        return log
    }

    public func requests(for path: String) -> [Request] { requests.filter { $0.path == path } }

    public func stop() {
        lock.lock()
        let wasStopped = stopped
        stopped = true
        lock.unlock()
        if !wasStopped {
            shutdown(listenFD, Int32(SHUT_RDWR))
            close(listenFD)
        }
    }

    private func acceptLoop() {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            let t = Thread { [weak self] in
                self?.handle(c)
                close(c)
            }
            t.start()
        }
    }

    private func handle(_ fd: Int32) {
        var head = Data()
        var buf = [UInt8](repeating: 0, count: 4096)
        while head.range(of: Data("\r\n\r\n".utf8)) == nil {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return }
            head.append(contentsOf: buf[0..<n])
            if head.count > 65536 { return }
        }
        let text = String(decoding: head, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return }
        let method = String(parts[0])
        let path = String(parts[1])
        var range: String?
        for l in lines.dropFirst() {
            if let colon = l.firstIndex(of: ":"), l[..<colon].lowercased() == "range" {
                range = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }

        lock.lock()
        if routes[path] != nil { routes[path]?.count += 1 }
        let route = routes[path]
        lock.unlock()

        func record(_ status: Int) {
            lock.lock(); log.append(Request(method: method, path: path, range: range, status: status)); lock.unlock()
        }
        guard let r = route else {
            record(404)
            sendSimple(fd, 404, "not found")
            return
        }
        let b = r.behavior
        let count = r.count
        if let stall = b.stallSeconds { Thread.sleep(forTimeInterval: stall) }
        if let to = b.redirect {
            record(302)
            send(fd, "HTTP/1.1 302 Found\r\nLocation: \(to)\r\nContent-Length: 5\r\nConnection: close\r\n\r\nmoved")
            return
        }
        if let s = b.status {
            record(s); sendSimple(fd, s, "injected status"); return
        }
        if b.endless {
            record(200)
            guard send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n") else { return }
            let zeros = [UInt8](repeating: 0, count: 65536)
            var sent = 0
            // Stops when the client hangs up (or after 1 GiB, so a broken client cannot hang the test run).
            while sent < 1 << 30, !isStopped, zeros.withUnsafeBytes({ sendAll(fd, $0.baseAddress!, $0.count) }) {
                sent += zeros.count
            }
            return
        }
        if let announced = b.announceLength {
            record(200)
            guard send(fd, "HTTP/1.1 200 OK\r\nContent-Length: \(announced)\r\nConnection: close\r\n\r\n") else { return }
            r.body.withUnsafeBytes { raw in _ = raw.baseAddress.map { sendAll(fd, $0, raw.count) } }
            shutdown(fd, Int32(SHUT_RDWR))
            return
        }
        if count <= b.failFirst {
            record(b.failStatus); sendSimple(fd, b.failStatus, "injected failure"); return
        }
        let size = r.body.count
        var start = 0
        var end = size - 1
        var status = 200
        if let range, !b.ignoreRange, range.hasPrefix("bytes=") {
            let spec = range.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            if spec.count == 2, let s = Int(spec[0]) {
                if s >= size {
                    record(416)
                    send(fd, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */\(size)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                }
                start = s
                if let e = Int(spec[1]) { end = min(e, size - 1) }
                status = 206
            }
        }
        record(status)
        let length = max(0, end - start + 1)
        var header = "HTTP/1.1 \(status) \(status == 206 ? "Partial Content" : "OK")\r\n"
        header += "Content-Length: \(length)\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n"
        if status == 206 { header += "Content-Range: bytes \(start)-\(end)/\(size)\r\n" }
        header += "Connection: close\r\n\r\n"
        guard send(fd, header), method != "HEAD", length > 0 else { return }
        let dropCount = count - b.failFirst
        var limit = length
        if let d = b.dropAfterBytes, dropCount <= b.dropTimes { limit = min(length, d) }
        r.body.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var off = 0
            let chunk = b.bytesPerSecond.map { max(1, min(65536, $0 / 20)) } ?? (1 << 20)
            while off < limit {
                let n = min(chunk, limit - off)
                if !sendAll(fd, base + start + off, n) { return }
                off += n
                if let bps = b.bytesPerSecond { usleep(UInt32(Double(n) / Double(bps) * 1e6)) }
                if isStopped { return }
            }
        }
        if limit < length {
            shutdown(fd, Int32(SHUT_RDWR)) // cut mid-body
        }
    }

    private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

    private func sendSimple(_ fd: Int32, _ status: Int, _ body: String) {
        _ = send(fd, "HTTP/1.1 \(status) Status\r\nContent-Length: \(body.utf8.count)\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n\(body)")
    }

    @discardableResult
    private func send(_ fd: Int32, _ s: String) -> Bool {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBytes { raw in raw.baseAddress.map { sendAll(fd, $0, raw.count) } ?? true }
    }

    private func sendAll(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Bool {
        var off = 0
        while off < n {
            let w = Glibc.send(fd, p + off, n - off, Int32(MSG_NOSIGNAL))
            if w < 0 { if errno == EINTR { continue }; return false }
            off += w
        }
        return true
    }
}
