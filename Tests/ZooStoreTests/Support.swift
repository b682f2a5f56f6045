import Crypto
import Foundation
import HTTPTestServer
import XCTest
import ZooRegistry
import ZooStore

/// A temp cache, a loopback server serving one model's artifacts, and a registry pointing at it.
class StoreTestCase: XCTestCase {
    var server: TestHTTPServer!
    var root: URL!
    var registry: Registry!
    var entry: ModelEntry { registry.models[0] }
    var events: [StoreEvent] = []
    /// The model file the server serves (3 MiB of deterministic bytes).
    let payload = StoreTestCase.bytes(3 << 20, seed: 7)
    var md5: String { Checksum.hex(Insecure.MD5.hash(data: payload)) }

    var modelName: String { entry.name }
    var modelPath: String { "/pan_seg/models/\(modelName).pth" }
    var md5Path: String { "/pan_seg/models/\(modelName).md5" }
    var target: URL { root.appendingPathComponent("models/\(modelName).pth") }

    override func setUpWithError() throws {
        setenv("no_proxy", "127.0.0.1", 1)
        server = try TestHTTPServer()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var r = try Registry.builtIn()
        r.baseURL = server.baseURL + "/pan_seg"
        r.mirrors = []
        for i in r.models.indices {
            r.models[i].artifacts[.config] = server.baseURL + "/github/configs/\(r.models[i].name).py"
        }
        registry = r
        server.serve(modelPath, payload)
        server.serve(md5Path, Data("\(md5)  \(modelName).pth\n".utf8))
        events = []
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(at: root)
    }

    func makeStore(mirrors: [String] = [], offline: Bool = false, retries: Int = 3) -> Store {
        var o = FetchOptions()
        o.mirrors = mirrors
        o.offline = offline
        o.retries = retries
        o.retryDelay = 0.01
        o.transfer.connectTimeout = 5
        o.transfer.lowSpeedTime = 5
        let store = Store(registry: registry, layout: CacheLayout(root: root), options: o) { [weak self] e in
            self?.events.append(e)
        }
        store.sleep = { _ in }
        return store
    }

    /// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
    static func bytes(_ n: Int, seed: UInt64) -> Data {
        var x = seed &* 0x9E3779B97F4A7C15 | 1
        var d = Data(count: n)
        d.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            for i in 0..<n {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
                raw[i] = UInt8(truncatingIfNeeded: x)
            }
        }
        return d
    }

    func fileData(_ url: URL) -> Data? { try? Data(contentsOf: url) }

    var retryCount: Int { events.filter { if case .retrying = $0 { return true }; return false }.count }
    var restartCount: Int { events.filter { if case .restarted = $0 { return true }; return false }.count }
}
