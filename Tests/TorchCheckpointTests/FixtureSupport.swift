import Crypto
import Foundation
import XCTest
import TorchCheckpoint

/// The fixtures written by `Tests/Fixtures/checkpoints/make_fixtures.py` with real torch, and their
/// expectations (`expected.json`).
enum Fixtures {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/checkpoints")

    static func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: dir.appendingPathComponent(name))) }

    struct ExpectedTensor: Decodable { var dtype: String; var shape: [Int]; var sha256: String }
    struct Expected: Decodable { var tensors: [String: ExpectedTensor]?; var error: String?; var torch_load: String }

    static func expected() throws -> [String: Expected] {
        try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: dir.appendingPathComponent("expected.json")))
    }

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

extension Checkpoint {
    /// Every tensor's (dtype, shape, sha256), reading each storage once.
    func digests() throws -> [String: (String, [Int], String)] {
        var out: [String: (String, [Int], String)] = [:]
        var cache: [String: OwnedBytes] = [:]
        for (name, t) in allTensors {
            var st: OwnedBytes?
            if let key = storageKey(of: t) {
                if cache[key] == nil { cache[key] = try storageBytes(key: key) }
                st = cache[key]
            }
            let sha = try withTensorBytes(t, name: name, storage: st) { Fixtures.sha256($0) }
            out[name] = (t.dtype.rawValue, t.shape, sha)
        }
        return out
    }
}
