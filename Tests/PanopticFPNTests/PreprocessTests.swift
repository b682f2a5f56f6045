import Imaging
import XCTest
import ZooRegistry
import PanopticFPN

final class PreprocessTests: XCTestCase {
    func testKeepRatioRuleOfMMCV() {
        let s = (long: 1280, short: 720)
        XCTAssertTrue(Preprocess.resizedShape(height: 720, width: 1280, scale: s) == (720, 1280))
        XCTAssertTrue(Preprocess.resizedShape(height: 375, width: 500, scale: s) == (720, 960))
        XCTAssertTrue(Preprocess.resizedShape(height: 1000, width: 500, scale: s) == (1280, 640))
        XCTAssertTrue(Preprocess.resizedShape(height: 1440, width: 2560, scale: s) == (720, 1280))
        XCTAssertTrue(Preprocess.resizedShape(height: 192, width: 320, scale: (320, 192)) == (192, 320))
    }

    func testNormalisesRGBAndPadsWithZeros() throws {
        // One BGR pixel (10, 20, 30), scaled up to 32x32 (a constant image stays constant), padded to 32.
        let img = BGRImage(width: 1, height: 1, pixels: [10, 20, 30])
        let out = Preprocess.run(img, config: try PreprocessConfig(try Registry.builtIn().testConfig).scaled(to: (40, 20)))
        XCTAssertEqual(out.input.shape, [3, 32, 32])
        XCTAssertTrue(out.meta.imgShape == (20, 20) && out.meta.padShape == (32, 32))
        XCTAssertEqual(out.input.data[0], (30 - 123.675) / 58.395, accuracy: 1e-6)          // R first
        XCTAssertEqual(out.input.data[32 * 32], (20 - 116.28) / 57.12, accuracy: 1e-6)
        XCTAssertEqual(out.input.data[2 * 32 * 32], (10 - 103.53) / 57.375, accuracy: 1e-6)
        XCTAssertEqual(out.input.data[19 * 32 + 19], out.input.data[0])
        XCTAssertEqual(out.input.data[20 * 32], 0)
        XCTAssertEqual(out.input.data[19 * 32 + 20], 0)
    }
}
