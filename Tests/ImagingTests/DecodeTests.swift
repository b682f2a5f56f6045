import Crypto
import Foundation
import XCTest
@testable import Imaging

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
