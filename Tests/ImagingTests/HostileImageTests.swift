import FixtureSupport
import Foundation
import Synchronization
import XCTest
import Imaging

private struct DecodeRef: Decodable {
    var shape: [Int]
    var bgr: String
}

/// Images as OpenCV 5.1's `imread(IMREAD_COLOR)` decodes them (Tests/Fixtures/imaging/make_decode_fixtures.py),
/// and images that must be refused before their pixels are allocated.
final class HostileImageTests: XCTestCase {
    private let dir = fixtureDirectory("imaging").appendingPathComponent("decode")

    private func reference(_ name: String) throws -> (shape: [Int], bgr: [UInt8]) {
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as? [String: Any]
        let entry = try XCTUnwrap(m?[name] as? [String: Any])
        let shape = try XCTUnwrap(entry["shape"] as? [Int])
        let file = try XCTUnwrap(entry["bgr"] as? String)
        return (shape, [UInt8](try Data(contentsOf: dir.appendingPathComponent(file))))
    }

    /// Exact: the same libjpeg-turbo integer IDCT and OpenCV's integer CMYK->BGR formula.
    func testCMYKAndYCCKMatchOpenCV() throws {
        for name in ["cmyk_23x17.jpg", "ycck_30x21.jpg", "gama_11x9.png", "rgb16_5x7.png"] {
            let ref = try reference(name)
            let img = try BGRImage.load(path: dir.appendingPathComponent(name).path)
            XCTAssertEqual([img.height, img.width, 3], ref.shape, name)
            XCTAssertEqual(img.pixels, ref.bgr, name)
        }
    }

    func testTruncatedJPEGDecodesAsOpenCVWithOneWarning() throws {
        let ref = try reference("truncated_64x48.jpg")
        let path = dir.appendingPathComponent("truncated_64x48.jpg").path
        final class Box: Sendable { let messages = Mutex<[String]>([]) }
        let box = Box()
        let img = try BGRImage.load(path: path, options: DecodeOptions(warningHandler: { m in box.messages.withLock { $0.append(m) } }))
        XCTAssertEqual(img.pixels, ref.bgr)
        let messages = box.messages.withLock { $0 }
        XCTAssertEqual(messages.count, 1)
        XCTAssertTrue(messages.first?.contains(path) ?? false, "\(messages)")
    }

    func testPNGBombRefusedFromItsHeader() throws {
        // A 74-byte-class PNG claiming 100000x100000.
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        png += [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 6, 0, 0, 0, 0, 0, 0, 0]
        png += [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82]
        XCTAssertEqual(try ImageHeader.parse(png), ImageHeader(format: .png, width: 100_000, height: 100_000, components: 6))
        XCTAssertThrowsError(try BGRImage.decode(png)) { e in
            guard case ImagingError.tooLarge(_, 100_000, 100_000, DecodeOptions.defaultMaxPixels) = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("--max-pixels"))
        }
    }

    func testJPEGBombRefusedFromItsHeader() throws {
        var jpeg = [UInt8](try Data(contentsOf: fixtureDirectory("imaging").appendingPathComponent("small_192x320.jpg")))
        let h0 = try ImageHeader.parse(jpeg)
        XCTAssertEqual([h0.width, h0.height, h0.components], [320, 192, 3])
        // Patch the frame header to 65500x65500.
        var i = 2
        while i + 9 < jpeg.count {
            let m = jpeg[i + 1], len = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            if m == 0xC0 || m == 0xC2 { jpeg[i + 5] = 0xFF; jpeg[i + 6] = 0xDC; jpeg[i + 7] = 0xFF; jpeg[i + 8] = 0xDC; break }
            i += 2 + len
        }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("bomb-\(getpid()).jpg")
        try Data(jpeg).write(to: tmp)
        defer { try? FileManager.default.removeItem(at: tmp) }
        XCTAssertEqual(try ImageHeader.read(path: tmp.path).width, 65500)
        XCTAssertThrowsError(try ImageHeader.read(path: tmp.path, options: DecodeOptions()))
        XCTAssertThrowsError(try BGRImage.load(path: tmp.path)) { e in
            guard case ImagingError.tooLarge(let what, 65500, 65500, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(what, tmp.path)
        }
        // A lower limit refuses the honest image too; the file-size cap follows the pixel limit.
        let small = fixtureDirectory("imaging").appendingPathComponent("small_192x320.jpg").path
        XCTAssertThrowsError(try BGRImage.load(path: small, options: DecodeOptions(maxPixels: 1000)))
        XCTAssertThrowsError(try BGRImage.load(path: small, options: DecodeOptions(maxPixels: 1_000_000, maxFileBytes: 100))) { e in
            guard case ImagingError.fileTooLarge = e else { return XCTFail("\(e)") }
        }
    }

    func testNotAnImageIsFoundFromTheHeader() throws {
        XCTAssertThrowsError(try ImageHeader.parse(Array("{\"frames\": []}".utf8), what: "x.jpg")) { e in
            XCTAssertEqual(e as? ImagingError, .unknownFormat("x.jpg"))
        }
    }
}
