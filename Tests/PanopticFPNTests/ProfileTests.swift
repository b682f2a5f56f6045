import XCTest
import PanopticFPN

final class ProfileTests: XCTestCase {
    func testStagesRecordTimeAndArithmetic() {
        let p = StageProfiler()
        let v = p.measure("first") { () -> Int in
            p.count(2_000_000_000)
            usleep(20_000)
            return 7
        }
        p.measure("second") {}
        XCTAssertEqual(v, 7)
        XCTAssertEqual(p.stages.map(\.name), ["first", "second"])
        XCTAssertEqual(p.stages[0].multiplyAdds, 2_000_000_000)
        XCTAssertEqual(p.stages[1].multiplyAdds, 0)
        XCTAssertGreaterThanOrEqual(p.stages[0].seconds, 0.02)
        XCTAssertLessThanOrEqual(p.stages[0].gflops, 4 / 0.02)
        let report = p.report()
        XCTAssertTrue(report.contains("first") && report.contains("total"), report)
        XCTAssertEqual(report.split(separator: "\n").count, 4)
    }
}
