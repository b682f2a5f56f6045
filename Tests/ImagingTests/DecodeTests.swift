import FixtureSupport
import Crypto
import Foundation
import XCTest
import Imaging

struct ImageRef: Decodable {
    var shape: [Int]
    var sha256: String
}

final class DecodeTests: XCTestCase {
    private func sha(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// OpenCV's decoded bytes (reference `decoded_bgr_uint8`), compared through their SHA-256.
    func testJPEGDecodesBitIdenticalToOpenCV() throws {
        let data = try Data(contentsOf: fixtureDirectory("imaging").appendingPathComponent("images.json"))
        let refs = try JSONDecoder().decode([String: ImageRef].self, from: data)
        XCTAssertEqual(refs.count, 2)
        for (name, ref) in refs {
            let img = try BGRImage.load(path: fixtureDirectory("imaging").appendingPathComponent(name + ".jpg").path)
            XCTAssertEqual([img.height, img.width, 3], ref.shape, name)
            XCTAssertEqual(sha(img.pixels), ref.sha256, name)
        }
    }

    func testPNGDropsAlphaAndReplicatesGrey() throws {
        let m = try loadManifest("imaging")
        for name in ["rgba_5x7", "grey_3x4"] {
            let ref = try XCTUnwrap(m[name + "_bgr"])
            let img = try BGRImage.load(path: fixtureDirectory("imaging").appendingPathComponent(name + ".png").path)
            XCTAssertEqual([img.height, img.width, 3], ref.shape)
            XCTAssertEqual(img.pixels.map(Float.init), try loadValues("imaging", ref), name)
        }
    }

    func testOpenCVLinearResizeOfFloatImage() throws {
        let img = try BGRImage.load(path: fixtureDirectory("imaging").appendingPathComponent("coffee_375x500.jpg").path)
        let ref = try XCTUnwrap(try loadManifest("imaging")["coffee_resized_bgr"])
        let out = resizeLinearOpenCV(img.pixels.map(Float.init), width: img.width, height: img.height, channels: 3,
                                     toWidth: 960, toHeight: 720)
        XCTAssertEqual(ref.shape, [720, 960, 3])
        let want = try loadValues("imaging", ref)
        var worst: Float = 0
        for (k, v) in want.enumerated() { worst = max(worst, abs(out[k * ref.stride] - v)) }
        XCTAssertLessThanOrEqual(worst, 1e-4, "max |ours - OpenCV| over the sampled pixels")
        XCTAssertEqual(out.reduce(0.0) { $0 + Double($1) }, ref.sum, accuracy: 1e-6 * ref.abs_sum)
    }

    func testRejectsOtherFormatsAndTruncatedFiles() throws {
        XCTAssertThrowsError(try BGRImage.decode([0x47, 0x49, 0x46, 0x38])) { e in
            XCTAssertEqual(e as? ImagingError, .unknownFormat("the data"))
        }
        let jpeg = try Data(contentsOf: fixtureDirectory("imaging").appendingPathComponent("small_192x320.jpg"))
        XCTAssertThrowsError(try BGRImage.decode([UInt8](jpeg.prefix(200))))
        XCTAssertThrowsError(try BGRImage.load(path: "/nonexistent/x.jpg")) { e in
            guard case ImagingError.unreadable = e else { return XCTFail("\(e)") }
        }
    }
}

final class EXIFOrientationTests: XCTestCase {
    /// The small JPEG with an APP1 Exif segment (big-endian TIFF, IFD0 holding only the orientation).
    private func withOrientation(_ o: UInt8, _ jpeg: [UInt8]) -> [UInt8] {
        let tiff: [UInt8] = [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0]
        let payload: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0] + tiff
        let len = payload.count + 2
        return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(len >> 8), UInt8(len & 0xFF)] + payload + jpeg.dropFirst(2)
    }

    func testOrientationsTurnTheImageAsOpenCV() throws {
        let jpeg = [UInt8](try Data(contentsOf: fixtureDirectory("imaging").appendingPathComponent("small_192x320.jpg")))
        let plain = try BGRImage.decode(jpeg)
        func px(_ img: BGRImage, _ x: Int, _ y: Int) -> [UInt8] { Array(img.pixels[((y * img.width + x) * 3)...].prefix(3)) }
        XCTAssertEqual(EXIFOrientation.read(withOrientation(6, jpeg)), 6)
        XCTAssertEqual(try BGRImage.decode(withOrientation(1, jpeg)), plain)
        let (w, h) = (plain.width, plain.height)
        // Where source pixel (x, y) lands, per orientation.
        let cases: [(UInt8, (Int, Int) -> (Int, Int))] = [
            (2, { x, y in (w - 1 - x, y) }), (3, { x, y in (w - 1 - x, h - 1 - y) }), (4, { x, y in (x, h - 1 - y) }),
            (5, { x, y in (y, x) }), (6, { x, y in (h - 1 - y, x) }), (7, { x, y in (h - 1 - y, w - 1 - x) }),
            (8, { x, y in (y, w - 1 - x) }),
        ]
        for (o, map) in cases {
            let turned = try BGRImage.decode(withOrientation(o, jpeg))
            XCTAssertEqual([turned.width, turned.height], o >= 5 ? [h, w] : [w, h], "orientation \(o)")
            for (x, y) in [(0, 0), (5, 17), (w - 1, 3), (100, h - 1)] {
                let (tx, ty) = map(x, y)
                XCTAssertEqual(px(turned, tx, ty), px(plain, x, y), "orientation \(o), pixel (\(x), \(y))")
            }
        }
    }
}
