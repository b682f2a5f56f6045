import Foundation
import XCTest
@testable import Panoptic

final class FastPNGTests: XCTestCase {
    /// Forward PNG filter of one row (what an encoder writes), to check `unfilter` inverts it.
    func filterRow(_ type: UInt8, _ row: [UInt8], _ up: [UInt8]) -> [UInt8] {
        var out = [type]
        for x in 0..<row.count {
            let a = x >= 4 ? Int(row[x - 4]) : 0, b = Int(up[x]), c = x >= 4 ? Int(up[x - 4]) : 0
            let pred: Int
            switch type {
            case 0: pred = 0
            case 1: pred = a
            case 2: pred = b
            case 3: pred = (a + b) / 2
            default:
                let p = a + b - c
                let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                pred = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
            }
            out.append(UInt8(truncatingIfNeeded: Int(row[x]) - pred))
        }
        return out
    }

    func testUnfilterInvertsEveryFilterType() {
        var rng = SystemRandomNumberGenerator()
        let w = 13, h = 10, stride = w * 4
        let image = (0..<(h * stride)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var raw: [UInt8] = []
        for y in 0..<h {
            let row = Array(image[(y * stride)..<((y + 1) * stride)])
            let up = y > 0 ? Array(image[((y - 1) * stride)..<(y * stride)]) : [UInt8](repeating: 0, count: stride)
            raw += filterRow(UInt8(y % 5), row, up)
        }
        var out = [UInt8](repeating: 0, count: h * stride)
        let ok = raw.withUnsafeBufferPointer { r in out.withUnsafeMutableBufferPointer { FastPNG.unfilter(r, $0, height: h, stride: stride) } }
        XCTAssertTrue(ok)
        XCTAssertEqual(out, image)
        raw[0] = 9 // unknown filter type
        let bad = raw.withUnsafeBufferPointer { r in out.withUnsafeMutableBufferPointer { FastPNG.unfilter(r, $0, height: h, stride: stride) } }
        XCTAssertFalse(bad)
    }

    /// Flat images like bitmasks (pixels from a small palette, so neighbours are often equal, wholly or
    /// in some channels) exercise the shortcuts of the Sub and Paeth filters.
    func testUnfilterInvertsFlatImages() {
        var rng = SystemRandomNumberGenerator()
        let palette: [[UInt8]] = [[0, 0, 0, 0], [7, 0, 0, 1], [7, 0, 0, 2], [9, 1, 0, 2], [255, 255, 1, 0], [7, 1, 0, 1]]
        let w = 31, h = 40, stride = w * 4
        var image: [UInt8] = []
        var current = palette[0]
        for _ in 0..<(w * h) {
            if Int.random(in: 0..<4, using: &rng) == 0 { current = palette.randomElement(using: &rng)! }
            image += current
        }
        for type: UInt8 in 0...4 {
            var raw: [UInt8] = []
            for y in 0..<h {
                let row = Array(image[(y * stride)..<((y + 1) * stride)])
                let up = y > 0 ? Array(image[((y - 1) * stride)..<(y * stride)]) : [UInt8](repeating: 0, count: stride)
                raw += filterRow(type, row, up)
            }
            var out = [UInt8](repeating: 0, count: h * stride)
            let ok = raw.withUnsafeBufferPointer { r in out.withUnsafeMutableBufferPointer { FastPNG.unfilter(r, $0, height: h, stride: stride) } }
            XCTAssertTrue(ok)
            XCTAssertEqual(out, image, "filter \(type)")
        }
    }

    /// Every PNG of the fixtures decodes the same through the evaluator's reader as through libpng.
    func testEvaluatorReaderEqualsLibpng() throws {
        let e = try XCTUnwrap(FileManager.default.enumerator(atPath: Fixtures.path("")))
        let decoder = FastPNG.Decoder()
        var file: [UInt8] = [], pixels: [UInt8] = []
        var compared = 0, fast = 0
        while let rel = e.nextObject() as? String {
            guard rel.hasSuffix(".png"), !rel.contains("rgb_pil") else { continue }
            let path = Fixtures.path(rel)
            let reference = try Bitmask.read(path: path)
            let b = try Bitmask.read(path: path, decoder: decoder, file: &file, pixels: &pixels)
            XCTAssertEqual(b, reference, rel)
            compared += 1
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            var tmp: [UInt8] = []
            if data.withUnsafeBytes({ decoder.decode($0, into: &tmp) }) != nil { fast += 1 }
        }
        XCTAssertGreaterThan(compared, 150)
        // The fast path applies to all of them when the system has libdeflate.
        XCTAssertEqual(fast, decoder.available ? compared : 0)
        // An RGB PNG is refused by the fast path and by libpng.
        XCTAssertThrowsError(try Bitmask.read(path: Fixtures.path("rgb_pil.png"), decoder: decoder, file: &file, pixels: &pixels))
    }

    func testReaderWithoutLibdeflateUsesLibpng() throws {
        let decoder = FastPNG.Decoder(useLibdeflate: false)
        XCTAssertFalse(decoder.available)
        var file: [UInt8] = [], pixels: [UInt8] = []
        let path = Fixtures.path("cases/random_b/gt/r000.png")
        XCTAssertEqual(try Bitmask.read(path: path, decoder: decoder, file: &file, pixels: &pixels), try Bitmask.read(path: path))
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("rgba_pil.rgba"))))
        XCTAssertEqual(try Bitmask.read(path: Fixtures.path("rgba_pil_gamma.png"), decoder: decoder, file: &file, pixels: &pixels).rgba, raw)
    }
}
