import XCTest
import Imaging

final class OverlayTests: XCTestCase {
    func testPaletteMatchesBDD100K() {
        XCTAssertTrue(BDD100KPalette.color(of: "road") == (128, 64, 128))
        XCTAssertTrue(BDD100KPalette.color(of: "car") == (0, 0, 142))
        XCTAssertTrue(BDD100KPalette.color(of: "sky") == (70, 130, 180))
        XCTAssertEqual(BDD100KPalette.colors.count, 41)
        // Unknown names get a stable grey.
        XCTAssertTrue(BDD100KPalette.color(of: "hovercraft") == BDD100KPalette.color(of: "hovercraft"))
    }

    func testTintOutlineAndLegend() {
        let w = 64, h = 48
        var rgb = [UInt8](repeating: 200, count: w * h * 3)
        // Left half road (stuff), a 10x10 car (thing) in the middle, the rest void.
        var seg = [Int32](repeating: -1, count: w * h)
        for y in 0..<h { for x in 0..<(w / 2) { seg[y * w + x] = 0 } }
        for y in 20..<30 { for x in 40..<50 { seg[y * w + x] = 1 } }
        let segments = [OverlaySegment(category: "road", isThing: false), OverlaySegment(category: "car", isThing: true)]
        Overlay.draw(rgb: &rgb, width: w, height: h, segmentIndex: seg, segments: segments, legend: false)
        func px(_ x: Int, _ y: Int) -> [UInt8] { Array(rgb[(3 * (y * w + x))..<(3 * (y * w + x) + 3)]) }
        XCTAssertEqual(px(5, 40), [164, 132, 164])           // (200 + road) / 2
        XCTAssertEqual(px(45, 25), [100, 100, 171])          // (200 + car) / 2, inside the car
        XCTAssertEqual(px(40, 25), [255, 255, 255])          // the car's outline
        XCTAssertEqual(px(60, 5), [200, 200, 200])           // void stays untouched
        XCTAssertEqual(px(31, 10), [164, 132, 164])          // stuff has no outline

        var withLegend = [UInt8](repeating: 200, count: w * h * 3)
        Overlay.draw(rgb: &withLegend, width: w, height: h, segmentIndex: seg, segments: segments, legend: true)
        // The legend lists car then road (sorted); its swatch at the top left has the car colour.
        XCTAssertEqual(Array(withLegend[(3 * (4 * w + 4))..<(3 * (4 * w + 4) + 3)]), [0, 0, 142])
        let textRow = 3 + 10  // second line: road
        XCTAssertEqual(Array(withLegend[(3 * ((textRow + 1) * w + 4))..<(3 * ((textRow + 1) * w + 4) + 3)]), [128, 64, 128])
        // Some white text pixels exist in the legend box.
        var white = 0
        for y in 0..<20 { for x in 10..<w where withLegend[3 * (y * w + x)] == 255 && withLegend[3 * (y * w + x) + 2] == 255 { white += 1 } }
        XCTAssertGreaterThan(white, 10)
    }
}
