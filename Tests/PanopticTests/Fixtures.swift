import Foundation
import XCTest

/// Tests/Fixtures/eval, found from this file's path (no bundle resources needed).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/eval")
    static func path(_ rel: String) -> String { root.appendingPathComponent(rel).path }
    static func text(_ rel: String) throws -> String {
        try String(contentsOfFile: path(rel), encoding: .utf8)
    }
    static func exists(_ rel: String) -> Bool { FileManager.default.fileExists(atPath: path(rel)) }

    /// A fresh temporary folder, removed at the end of the test.
    static func tempDirectory(_ test: XCTestCase) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("panoptic-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }
}
