import Foundation

/// One array of a fixture manifest (Tests/Fixtures/*/manifest.json, written by make_fixtures.py): a
/// strided subset of the reference values plus statistics of the whole array.
public struct FixtureArray: Decodable {
    public var shape: [Int]
    public var dtype: String
    public var stride: Int
    public var file: String
    public var sum: Double
    public var abs_sum: Double
    public var max_abs: Double
}

public enum FixtureError: Error { case missing(String) }

/// The folder Tests/Fixtures/<area>, found from this source file (tests run from the source tree).
/// Shared by the test targets that compare with the mmdetection reference arrays.
public func fixtureDirectory(_ area: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(area)
}

public func loadManifest(_ area: String) throws -> [String: FixtureArray] {
    let data = try Data(contentsOf: fixtureDirectory(area).appendingPathComponent("manifest.json"))
    return try JSONDecoder().decode([String: FixtureArray].self, from: data)
}

public func loadValues(_ area: String, _ a: FixtureArray) throws -> [Float] {
    let data = try Data(contentsOf: fixtureDirectory(area).appendingPathComponent(a.file))
    if a.dtype == "uint8" { return data.map { Float($0) } }
    return data.withUnsafeBytes { raw in
        (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }
}
