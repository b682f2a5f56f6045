import Foundation
import PanopticFPN
import Tensors
import XCTest
import ZooRegistry

/// The reference arrays under `Tests/Fixtures/reference-heads/` (made by `make_fixtures.py` there from
/// mmdetection's outputs): raw little-endian float32 / int32, packed bits and run-length maps.
enum HeadsFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reference-heads")

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent(name))
    }

    static func floats(_ name: String) throws -> [Float] {
        let d = try data(name)
        return d.withUnsafeBytes { raw in
            (0..<(d.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    static func ints(_ name: String) throws -> [Int32] {
        let d = try data(name)
        return d.withUnsafeBytes { raw in
            (0..<(d.count / 4)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        }
    }

    static func bits(_ name: String, count: Int) throws -> [UInt8] {
        let d = try data(name)
        return (0..<count).map { i in (d[i >> 3] >> UInt8(i & 7)) & 1 }
    }

    static func runs(_ name: String) throws -> [Int32] {
        let pairs = try ints(name)
        var out: [Int32] = []
        for p in stride(from: 0, to: pairs.count, by: 2) {
            out.append(contentsOf: repeatElement(pairs[p], count: Int(pairs[p + 1])))
        }
        return out
    }

    /// Detections as the reference wrote them (`det_bboxes [k, 5]`, `det_labels [k]`).
    static func detections(_ dir: String) throws -> [Detection] {
        let b = try floats("\(dir)/det_bboxes.f32"), l = try ints("\(dir)/det_labels.i32")
        return l.indices.map { i in
            Detection(x1: b[5 * i], y1: b[5 * i + 1], x2: b[5 * i + 2], y2: b[5 * i + 3], score: b[5 * i + 4],
                      label: Int(l[i]))
        }
    }

    static var registry: Registry {
        get throws { try Registry.builtIn() }
    }
}

/// `max |a - b| <= rel * max |b|`, with the numbers in the failure message.
func assertClose(_ a: [Float], _ b: [Float], rel: Float, _ what: String, file: StaticString = #filePath,
                 line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes", file: file, line: line)
    guard a.count == b.count, !b.isEmpty else { return }
    var maxDiff: Float = 0, maxRef: Float = 0
    for i in a.indices {
        maxDiff = max(maxDiff, abs(a[i] - b[i]))
        maxRef = max(maxRef, abs(b[i]))
    }
    XCTAssertLessThanOrEqual(maxDiff, rel * maxRef, "\(what): max |diff| \(maxDiff), max |ref| \(maxRef)",
                             file: file, line: line)
}
