import Foundation
import XCTest
import TorchCheckpoint

/// Protocol-2 numpy pickles (Python 3) and Python 2 pickles (byte strings as BINSTRING, read as latin-1), made
/// by real pickle and numpy (Tests/Fixtures/checkpoints/make_pkl_fixtures.py), load with numpy's values; the
/// two new globals are accepted in their harmless form only.
final class NumpyPickleTests: XCTestCase {
    struct Expected: Decodable { var shape: [Int]; var dtype: String; var values: [Double] }

    func values(_ c: Checkpoint, _ name: String) throws -> (shape: [Int], values: [Double]) {
        struct Missing: Error { var name: String }
        guard case let .tensor(t)? = c.root.value(atPath: name) else { throw Missing(name: name) }
        let v: [Double] = try c.withTensorBytes(t, name: name) { raw in
            switch t.dtype {
            case .float32: return stride(from: 0, to: raw.count, by: 4).map { Double(raw.loadUnaligned(fromByteOffset: $0, as: Float.self)) }
            case .float64: return stride(from: 0, to: raw.count, by: 8).map { raw.loadUnaligned(fromByteOffset: $0, as: Double.self) }
            case .int64: return stride(from: 0, to: raw.count, by: 8).map { Double(raw.loadUnaligned(fromByteOffset: $0, as: Int64.self)) }
            default: return []
            }
        }
        return (t.shape, v)
    }

    func testProtocol2AndPython2NumpyPicklesLoadWithNumpysValues() throws {
        let expected = try JSONDecoder().decode([String: Expected].self, from: Data(try Fixtures.bytes("f_np_values.json")))
        for file in ["f_np_p2.pkl", "f_py2.pkl"] {
            let c = try Checkpoint(path: Fixtures.path(file))
            XCTAssertEqual(c.format, .pickle)
            for (name, e) in expected {
                let got = try values(c, "model." + name)
                XCTAssertEqual(got.shape, e.shape, "\(file) \(name)")
                XCTAssertEqual(got.values, e.values, "\(file) \(name)")
            }
        }
    }

    func testOnlyTheHarmlessFormsAreAccepted() {
        XCTAssertThrowsError(try Checkpoint(path: Fixtures.path("h_bytes_args.pkl"))) { e in
            XCTAssertTrue("\(e)".contains("bytes() with arguments"), "\(e)")
        }
        XCTAssertThrowsError(try Checkpoint(path: Fixtures.path("h_codecs_rot13.pkl"))) { e in
            XCTAssertTrue("\(e)".contains("rot13"), "\(e)")
        }
    }
}
