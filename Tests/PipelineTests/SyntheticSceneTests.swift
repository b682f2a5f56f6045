import XCTest
import Pipeline

final class SyntheticSceneTests: XCTestCase {
    func testScenesAreDeterministicAndConsistent() {
        let a = SyntheticScene.make(width: 320, height: 180, seed: 7)
        let b = SyntheticScene.make(width: 320, height: 180, seed: 7)
        let c = SyntheticScene.make(width: 320, height: 180, seed: 8)
        XCTAssertEqual(a.rgb, b.rgb)
        XCTAssertEqual(a.instance, b.instance)
        XCTAssertNotEqual(a.rgb, c.rgb)
        // Every pixel is labelled; stuff instance ids equal their category; things are 31, 32, ...
        XCTAssertFalse(a.category.contains(0))
        var thingIDs = Set<UInt16>()
        for p in 0..<(a.width * a.height) {
            let cat = a.category[p], inst = a.instance[p]
            if cat <= 30 { XCTAssertEqual(inst, UInt16(cat)) } else { XCTAssertGreaterThanOrEqual(inst, 31); thingIDs.insert(inst) }
        }
        XCTAssertFalse(thingIDs.isEmpty, "at least one car")
        XCTAssertEqual(thingIDs.sorted(), Array(31..<(31 + UInt16(thingIDs.count))), "visible things numbered in paint order")
        XCTAssertTrue(a.category.contains(SyntheticScene.Category.road))
        XCTAssertTrue(a.category.contains(SyntheticScene.Category.sky))
        let bm = a.bitmaskRGBA
        XCTAssertEqual(bm.count, 320 * 180 * 4)
        XCTAssertEqual(bm[0], SyntheticScene.Category.sky)
        XCTAssertEqual(Int(bm[2]) << 8 | Int(bm[3]), 30)
    }
}
