import Foundation
import XCTest
@testable import Panoptic

final class RLETests: XCTestCase {
    struct Case { let h: Int, w: Int, mask: [UInt8], counts: String }

    /// rle_cases.json: masks (np.packbits of the row-major mask, hex) and pycocotools' strings.
    func loadCases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("rle_cases.json")))
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        return try list.map { d in
            let h = try XCTUnwrap(d["height"] as? Int), w = try XCTUnwrap(d["width"] as? Int)
            let hex = Array(try XCTUnwrap(d["bits"] as? String).utf8)
            var mask = [UInt8](repeating: 0, count: h * w)
            for i in 0..<(h * w) {
                let byteHex = hex[(i / 8) * 2..<(i / 8) * 2 + 2]
                let byte = UInt8(String(decoding: byteHex, as: UTF8.self), radix: 16) ?? 0
                mask[i] = (byte >> (7 - UInt8(i % 8))) & 1
            }
            return Case(h: h, w: w, mask: mask, counts: try XCTUnwrap(d["counts"] as? String))
        }
    }

    func testEncodeGivesPycocotoolsStrings() throws {
        let cases = try loadCases()
        XCTAssertEqual(cases.count, 9)
        for c in cases {
            let rle = c.mask.withUnsafeBufferPointer { RLE.encode(mask: $0, height: c.h, width: c.w) }
            XCTAssertEqual(rle.counts, c.counts, "\(c.h)x\(c.w)")
            XCTAssertEqual(RLE.encode(mask: c.mask.map { $0 != 0 }, height: c.h, width: c.w).counts, c.counts)
        }
    }

    func testDecodeInvertsPycocotoolsStrings() throws {
        for c in try loadCases() {
            let rle = RLE(counts: c.counts, height: c.h, width: c.w)
            XCTAssertEqual(try rle.decodeRowMajor(), c.mask)
            XCTAssertEqual(try rle.area(), c.mask.reduce(0) { $0 + Int($1) })
            XCTAssertEqual(RLE.compress(try rle.runs()), c.counts)
        }
    }

    func testLongRunsUseSeveralCharacters() throws {
        // 200x240 all ones but two pixels: runs longer than 2^15 need four 5-bit groups.
        let c = try loadCases()[7]
        XCTAssertEqual(c.h * c.w, 48000)
        let runs = try RLE(counts: c.counts, height: c.h, width: c.w).runs()
        XCTAssertEqual(runs.reduce(0) { $0 + Int($1) }, 48000)
        XCTAssertEqual(runs.count, 6)
        XCTAssertEqual(runs[0], 0)
    }

    func testLabelMapEncodingEqualsOneMaskPerValue() {
        let h = 37, w = 23
        var rng = SystemRandomNumberGenerator()
        var map = [Int32](repeating: 0, count: h * w)
        for i in 0..<map.count { map[i] = [7, 16, 1004, 2004, 40][Int(rng.next() % 5)] }
        // Some long stretches too.
        for i in 100..<300 { map[i] = 16 }
        let all = RLE.encode(labelMap: map, height: h, width: w)
        XCTAssertEqual(Set(all.keys), Set(map))
        for (v, rle) in all {
            let mask = map.map { $0 == v }
            XCTAssertEqual(rle, RLE.encode(mask: mask, height: h, width: w), "value \(v)")
        }
    }

    func testMalformedStringsThrow() {
        XCTAssertThrowsError(try RLE.decompress("0P")) // ends inside a run (continuation bit set)
        XCTAssertThrowsError(try RLE.decompress("0 1")) // space is outside the alphabet
        XCTAssertThrowsError(try RLE(counts: "05", height: 2, width: 2).validatedRuns()) // covers 5 pixels, not 4
        XCTAssertThrowsError(try RLE.decompress("0O")) // 'O' = 31 carries the sign bit: a run of -1
        XCTAssertEqual(try RLE.decompress(""), [])
    }
}
