import Foundation
import XCTest

/// One array of a fixture manifest (Tests/Fixtures/*/manifest.json, written by make_fixtures.py): a
/// strided subset of the reference values plus statistics of the whole array.
struct FixtureArray: Decodable {
    var shape: [Int]
    var dtype: String
    var stride: Int
    var file: String
    var sum: Double
    var abs_sum: Double
    var max_abs: Double
}

enum FixtureError: Error { case missing(String) }

/// The folder Tests/Fixtures/<area>, found from this source file (tests run from the source tree).
func fixtureDirectory(_ area: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(area)
}

func loadManifest(_ area: String) throws -> [String: FixtureArray] {
    let data = try Data(contentsOf: fixtureDirectory(area).appendingPathComponent("manifest.json"))
    return try JSONDecoder().decode([String: FixtureArray].self, from: data)
}

func loadValues(_ area: String, _ a: FixtureArray) throws -> [Float] {
    let data = try Data(contentsOf: fixtureDirectory(area).appendingPathComponent(a.file))
    if a.dtype == "uint8" { return data.map { Float($0) } }
    return data.withUnsafeBytes { raw in
        (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }
}

/// Checks `ours` (row-major, the reference's layout) against a fixture array: each sampled value within
/// `rel * max|ref|`, and the sums of x and |x| over the whole array within `rel` of the sum of |ref|.
func assertMatches(_ ours: [Float], _ name: String, _ manifest: [String: FixtureArray], rel: Float,
                   file: StaticString = #filePath, line: UInt = #line) throws {
    guard let ref = manifest[name] else { throw FixtureError.missing(name) }
    XCTAssertEqual(ours.count, ref.shape.reduce(1, *), "\(name): element count", file: file, line: line)
    guard ours.count == ref.shape.reduce(1, *) else { return }
    let want = try loadValues("reference", ref)
    var worst: Float = 0
    for (k, v) in want.enumerated() { worst = max(worst, abs(ours[k * ref.stride] - v)) }
    let tol = rel * Float(ref.max_abs)
    XCTAssertLessThanOrEqual(worst, tol, "\(name): max |ours - mmdet| over \(want.count) samples", file: file, line: line)
    let sum = ours.reduce(0.0) { $0 + Double($1) }, absSum = ours.reduce(0.0) { $0 + Double(abs($1)) }
    XCTAssertEqual(sum, ref.sum, accuracy: Double(rel) * ref.abs_sum, "\(name): sum", file: file, line: line)
    XCTAssertEqual(absSum, ref.abs_sum, accuracy: Double(rel) * ref.abs_sum, "\(name): sum |x|", file: file, line: line)
}
