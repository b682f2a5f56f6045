import Foundation
import XCTest
import ZooRegistry
@testable import ZooStore

/// HTTPS for real: a CA and a server certificate for 127.0.0.1 made here with the openssl CLI, served by
/// `openssl s_server -WWW` on loopback. A fetch succeeds when the CA is given (`--cacert`'s setting or
/// `SSL_CERT_DIR`) and fails with a TLS message, leaving nothing, when it is not.
final class TLSTests: XCTestCase {
    var dir: URL!
    var server: Process?
    var port = 0
    let md5 = "0123456789abcdef0123456789abcdef"

    static let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @discardableResult
    func sh(_ script: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else { throw NSError(domain: "sh", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: text]) }
        return text
    }

    /// A free loopback port (bound, read, released; s_server binds it right after).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: a.sin_port))
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    override func setUpWithError() throws {
        guard let openssl = Self.openssl else { throw XCTSkip("the openssl CLI is not installed (apt-get install openssl)") }
        setenv("no_proxy", "127.0.0.1", 1)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try sh("""
        set -e
        \(openssl) req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=zoo test CA' \
          -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        \(openssl) req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1' 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf
        \(openssl) x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
          -extfile ext.cnf 2>/dev/null
        mkdir -p www/pan_seg/models certs
        cp ca.pem certs/
        \(openssl) rehash certs 2>/dev/null || c_rehash certs >/dev/null
        """)
        port = Self.freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: openssl)
        p.arguments = ["s_server", "-quiet", "-WWW", "-accept", "127.0.0.1:\(port)", "-cert", dir.appendingPathComponent("server.pem").path,
                       "-key", dir.appendingPathComponent("server.key").path]
        p.currentDirectoryURL = dir.appendingPathComponent("www")
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        server = p
        let deadline = Date().addingTimeInterval(10)
        while !Self.canConnect(port) {
            guard Date() < deadline, p.isRunning else { throw XCTSkip("openssl s_server did not start on port \(port)") }
            usleep(50_000)
        }
    }

    override func tearDownWithError() throws {
        if let server, server.isRunning { server.terminate(); server.waitUntilExit() }
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    func fetchMD5(_ transfer: (inout TransferSettings) -> Void) throws -> (Store, URL) {
        var r = try Registry.builtIn()
        r.baseURL = "https://127.0.0.1:\(port)/pan_seg"
        r.mirrors = []
        let entry = r.models[0]
        try Data("\(md5)  \(entry.name).pth\n".utf8)
            .write(to: dir.appendingPathComponent("www/pan_seg/models/\(entry.name).md5"))
        var o = FetchOptions()
        o.retries = 0
        o.transfer.connectTimeout = 5
        transfer(&o.transfer)
        let cache = dir.appendingPathComponent("cache-\(UUID().uuidString)")
        let store = Store(registry: r, layout: CacheLayout(root: cache), options: o)
        store.sleep = { _ in }
        return (store, cache.appendingPathComponent("models/\(entry.name).md5"))
    }

    func testFetchOverHTTPSWithTheCABundle() throws {
        let (store, target) = try fetchMD5 { $0.caBundle = self.dir.appendingPathComponent("ca.pem").path }
        XCTAssertEqual(try store.publishedMD5(for: store.registry.models[0]), md5)
        XCTAssertTrue(FileManager.default.fileExists(atPath: target.path))
    }

    func testFetchOverHTTPSWithACertificateFolder() throws {
        // SSL_CERT_DIR's setting: a folder of hashed CA certificates (openssl rehash).
        let (store, target) = try fetchMD5 { $0.caDirectory = self.dir.appendingPathComponent("certs").path }
        XCTAssertEqual(try store.publishedMD5(for: store.registry.models[0]), md5)
        XCTAssertTrue(FileManager.default.fileExists(atPath: target.path))
    }

    func testUntrustedCertificateFailsClearlyAndLeavesNothing() throws {
        // The system's CA store does not know the test CA.
        let (store, target) = try fetchMD5 { _ in }
        XCTAssertThrowsError(try store.ensure(.md5, for: store.registry.models[0])) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("TLS certificate not trusted"), s)
            XCTAssertTrue(s.contains("--cacert FILE"), s)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: CacheLayout.incompletePath(for: target).path))
    }

    func testCAOptionsResolveInOrder() throws {
        let ca = dir.appendingPathComponent("ca.pem").path
        let other = dir.appendingPathComponent("server.pem").path
        XCTAssertEqual(try FetchOptions.resolve(mirrors: [], offline: false, caBundle: ca,
                                                environment: ["CURL_CA_BUNDLE": other]).transfer.caBundle, ca)
        XCTAssertEqual(try FetchOptions.resolve(mirrors: [], offline: false,
                                                environment: ["CURL_CA_BUNDLE": ca, "SSL_CERT_FILE": other]).transfer.caBundle, ca)
        XCTAssertEqual(try FetchOptions.resolve(mirrors: [], offline: false,
                                                environment: ["SSL_CERT_FILE": other]).transfer.caBundle, other)
        let certs = dir.appendingPathComponent("certs").path
        let o = try FetchOptions.resolve(mirrors: [], offline: false, environment: ["SSL_CERT_DIR": certs])
        XCTAssertEqual(o.transfer.caDirectory, certs)
        XCTAssertNil(o.transfer.caBundle)
        XCTAssertThrowsError(try FetchOptions.resolve(mirrors: [], offline: false, caBundle: "/nonexistent/ca.pem",
                                                      environment: [:])) { e in
            XCTAssertEqual(e as? StoreError, .badCA("/nonexistent/ca.pem", folder: false))
            XCTAssertTrue("\(e)".contains("--cacert"), "\(e)")
        }
        // From the environment an unusable path does not throw here (plain http goes on); https stops on it.
        XCTAssertEqual(try FetchOptions.resolve(mirrors: [], offline: false, environment: ["SSL_CERT_DIR": ca])
            .transfer.caProblem, .badCA(ca, folder: true))
        XCTAssertNil(try FetchOptions.resolve(mirrors: [], offline: false, environment: ["CURL_CA_BUNDLE": ca])
            .transfer.caProblem)
    }

    func testHTTPSStopsOnAnUnusableCABundleFromTheEnvironment() throws {
        let missing = dir.appendingPathComponent("no-such-ca.pem").path
        let resolved = try FetchOptions.resolve(mirrors: [], offline: false, environment: ["CURL_CA_BUNDLE": missing])
        let (store, target) = try fetchMD5 { $0 = resolved.transfer; $0.connectTimeout = 5 }
        XCTAssertThrowsError(try store.ensure(.md5, for: store.registry.models[0])) { e in
            guard case let StoreError.allSourcesFailed(_, attempts) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(attempts.count, 1)
            XCTAssertEqual(attempts.first?.reason, StoreError.badCA(missing, folder: false).description)
            XCTAssertTrue("\(e)".contains("CURL_CA_BUNDLE"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: CacheLayout.incompletePath(for: target).path))
    }
}
