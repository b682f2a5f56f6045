import Foundation
import XCTest
@testable import Panoptic

final class BitmaskTests: XCTestCase {
    func testReadsTheBytesPILReads() throws {
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("rgba_pil.rgba"))))
        // With and without a gAMA chunk (1.0): PIL ignores it, so must we.
        for name in ["rgba_pil.png", "rgba_pil_gamma.png"] {
            let b = try Bitmask.read(path: Fixtures.path(name))
            XCTAssertEqual(b.height, 9)
            XCTAssertEqual(b.width, 11)
            XCTAssertEqual(b.rgba, raw, name)
        }
    }

    func testRejectsImagesTheOfficialToolCannotRead() throws {
        XCTAssertThrowsError(try Bitmask.read(path: Fixtures.path("rgb_pil.png"))) { e in
            XCTAssertTrue("\(e)".contains("8-bit RGB"), "\(e)")
        }
        XCTAssertThrowsError(try Bitmask.read(path: Fixtures.path("rle_cases.json")))
        XCTAssertThrowsError(try Bitmask.read(path: Fixtures.path("missing.png")))
    }

    func testWriteThenReadRoundTrips() throws {
        var b = Bitmask(height: 5, width: 7)
        var mask = [Bool](repeating: false, count: 35)
        for i in 3..<20 { mask[i] = true }
        b.paint(mask: mask, category: 35, attributes: 2, instanceID: 300)
        XCTAssertEqual(b.instanceID(y: 0, x: 3), 300)
        XCTAssertEqual(b.category(y: 1, x: 0), 35)
        XCTAssertEqual(b.attributes(y: 2, x: 5), 2)
        XCTAssertEqual(b.instanceID(y: 4, x: 6), 0)
        let dir = try Fixtures.tempDirectory(self)
        try b.write(path: dir + "/m.png")
        XCTAssertEqual(try Bitmask.read(path: dir + "/m.png"), b)
    }
}
