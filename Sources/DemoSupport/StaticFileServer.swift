import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 file server bound to 127.0.0.1 on an ephemeral port, serving one folder with
/// `Range` support. `zoo demo` uses it as a local mirror so the real download path (libcurl, MD5,
/// rename) runs with no network at all. It never listens on any other address.
public final class StaticFileServer: Sendable {
    public let root: URL
    private struct State {
        var port: UInt16 = 0
        var listener: Int32 = -1
        var stopped = false
    }
    private let state = Mutex(State())

    /// The port listened on (0 before `start`).
    public var port: UInt16 { state.withLock { $0.port } }

    public init(root: URL) { self.root = root.standardizedFileURL }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func start() throws {
        let (fd, chosen): (Int32, UInt16)
        do { (fd, chosen) = try LoopbackSocket.listen(backlog: 16) } catch {
            throw LoopbackSocket.Failure(description: "127.0.0.1: \(error).")
        }
        state.withLock { $0.port = chosen; $0.listener = fd }
        let t = Thread { [weak self] in self?.acceptLoop(fd) }
        t.stackSize = 1 << 20
        t.start()
    }

    public func stop() {
        state.withLock { s in
            guard !s.stopped else { return }
            s.stopped = true
            guard s.listener >= 0 else { return }
            shutdown(s.listener, Int32(SHUT_RDWR))
            close(s.listener)
        }
    }

    deinit { stop() }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                let done = state.withLock { $0.stopped }
                if done || (errno != EINTR && errno != ECONNABORTED) { return }
                continue
            }
            let t = Thread { [weak self] in
                self?.serve(c)
                close(c)
            }
            t.start()
        }
    }

    private func serve(_ c: Int32) {
        var request = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while request.count < 65536 {
            let n = read(c, &buf, buf.count)
            if n <= 0 { return }
            request += buf[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] || String(decoding: request, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let text = String(decoding: request, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2, parts[0] == "GET" || parts[0] == "HEAD" else {
            return respond(c, status: "405 Method Not Allowed", headers: [:], body: nil)
        }
        let head = parts[0] == "HEAD"
        let rawPath = String(parts[1].split(separator: "?").first ?? "")
        let path = rawPath.removingPercentEncoding ?? rawPath
        let file = root.appendingPathComponent(path).standardizedFileURL
        guard file.path.hasPrefix(root.path + "/"),
              let attrs = try? FileManager.default.attributesOfItem(atPath: file.path),
              (attrs[.type] as? FileAttributeType) == .typeRegular,
              let size = (attrs[.size] as? NSNumber)?.intValue,
              let handle = try? FileHandle(forReadingFrom: file) else {
            return respond(c, status: "404 Not Found", headers: [:], body: Data("not found\n".utf8))
        }
        defer { try? handle.close() }
        var start = 0, end = size - 1, status = "200 OK"
        if let range = lines.first(where: { $0.lowercased().hasPrefix("range:") }) {
            let spec = range.split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
            let bounds = spec.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 2, let a = Int(bounds[0].trimmingCharacters(in: .whitespaces)) {
                let b = Int(bounds[1].trimmingCharacters(in: .whitespaces)) ?? (size - 1)
                guard a < size else {
                    return respond(c, status: "416 Range Not Satisfiable", headers: ["Content-Range": "bytes */\(size)"], body: nil)
                }
                start = a; end = min(b, size - 1); status = "206 Partial Content"
            }
        }
        var headers = ["Content-Length": "\(max(0, end - start + 1))", "Accept-Ranges": "bytes",
                       "Content-Type": "application/octet-stream"]
        if status.hasPrefix("206") { headers["Content-Range"] = "bytes \(start)-\(end)/\(size)" }
        respond(c, status: status, headers: headers, body: nil, contentLengthSet: true)
        guard !head, end >= start else { return }
        try? handle.seek(toOffset: UInt64(start))
        var remaining = end - start + 1
        while remaining > 0 {
            let chunk = (try? handle.read(upToCount: min(remaining, 1 << 20))) ?? Data()
            if chunk.isEmpty || !writeAll(c, chunk) { return }
            remaining -= chunk.count
        }
    }

    private func respond(_ c: Int32, status: String, headers: [String: String], body: Data?, contentLengthSet: Bool = false) {
        var h = headers
        if !contentLengthSet { h["Content-Length"] = "\(body?.count ?? 0)" }
        h["Connection"] = "close"
        var head = "HTTP/1.1 \(status)\r\n"
        for (k, v) in h.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        _ = writeAll(c, Data(head.utf8))
        if let body { _ = writeAll(c, body) }
    }

    private func writeAll(_ c: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }
            var off = 0
            while off < raw.count {
                let n = send(c, base + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                off += n
            }
            return true
        }
    }
}
