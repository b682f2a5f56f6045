import Foundation
import XCTest
@testable import Panoptic

/// An RLE's `size` comes from any Scalabel file (a mirror's predictions included): a size over the pixel
/// limit, negative, overflowing or not an integer is refused with a message naming it, before anything
/// the size of the mask is allocated (a 10^10-pixel claim would trap if it were allocated).
final class RLESizeLimitTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rle-limit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A one-frame Scalabel file whose only label has this `size` text and `counts`.
    private func file(size: String, counts: String = "0") throws -> String {
        let path = dir.appendingPathComponent("f\(UUID().uuidString).json").path
        let json = #"[{"name": "a.jpg", "labels": [{"id": "1", "category": "road", "rle": {"counts": "\#(counts)", "size": \#(size)}}]}]"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Opens the file and parses every frame (labels may be parsed lazily).
    private func load(_ path: String, maxPixels: Int = PixelLimit.defaultMaxPixels) throws -> [ScalabelFrame] {
        let s = try ScalabelSource(path: path, maxPixels: maxPixels)
        return try (0..<s.frames.count).map { try s.frame(at: $0) }
    }

    private func assertRefused(_ path: String, maxPixels: Int = PixelLimit.defaultMaxPixels, saying text: String,
                               line: UInt = #line) {
        XCTAssertThrowsError(try load(path, maxPixels: maxPixels), line: line) {
            XCTAssertTrue(String(describing: $0).contains(text), "\($0)", line: line)
        }
    }

    func testSizeOverTheLimitIsRefusedAndAtTheLimitAccepted() throws {
        // 4x5 = 20 pixels, one run of 20 foreground pixels ("0" then 20 in COCO's alphabet).
        let mask = RLE.encode(mask: [Bool](repeating: true, count: 20), height: 4, width: 5)
        let path = try file(size: "[4, 5]", counts: mask.counts)
        let frames = try load(path, maxPixels: 20)
        XCTAssertEqual(frames.first?.labels?.first?.rle, mask)
        assertRefused(path, maxPixels: 19, saying: "an rle size is 4x5, over the limit of 19 pixels (raise it with --max-pixels or ZOO_MAX_PIXELS if genuine)")

        // The default limit, 100 megapixels, against a 10^10-pixel claim.
        assertRefused(try file(size: "[100000, 100000]"), saying: "an rle size is 100000x100000, over the limit of 100000000 pixels")
    }

    func testNegativeOverflowingAndNonIntegerSizesAreRefused() throws {
        assertRefused(try file(size: "[-1, 5]"), saying: "\"size\" ([height, width])")
        assertRefused(try file(size: "[5]"), saying: "\"size\" ([height, width])")
        assertRefused(try file(size: "[\(Int.max), 2]"), saying: "an rle size is \(Int.max)x2, over the limit")
        assertRefused(try file(size: "[4611686018427387904, 4611686018427387904]"), saying: "over the limit")
        assertRefused(try file(size: "[99999999999999999999999, 1]"), saying: "an rle size is not an integer")
        assertRefused(try file(size: "[4.5, 2]"), saying: "an rle size is not an integer")
    }

    func testAnRLEBuiltInMemoryWithABadSizeIsRefusedBeforeDecoding() {
        // Journals and other in-memory masks reach RLE directly: validatedRuns checks the size first.
        for (h, w) in [(-1, 5), (Int.max, 2), (1 << 32, 1 << 32)] {
            XCTAssertThrowsError(try RLE(counts: "0", height: h, width: w).decodeRowMajor()) {
                XCTAssertTrue(String(describing: $0).contains("not a valid mask size"), "\($0)")
            }
        }
        // Runs that do not cover the claimed size.
        XCTAssertThrowsError(try RLE(runs: [0, 7], height: 4, width: 5).decodeRowMajor()) {
            XCTAssertTrue(String(describing: $0).contains("runs cover 7 pixels but size is 4x5"), "\($0)")
        }
    }
}
