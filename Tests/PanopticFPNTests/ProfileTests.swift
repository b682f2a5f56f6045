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
        XCTAssertTrue(report.contains("faults"), report)
    }

    /// Touching fresh pages inside a stage shows up as that stage's page faults.
    func testStagesCountPageFaults() throws {
        let bytes = 16 << 20, page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let p = StageProfiler()
        try p.measure("touch") {
            guard let m = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  m != MAP_FAILED else { throw POSIXError(.ENOMEM) }
            defer { munmap(m, bytes) }
            let b = m.assumingMemoryBound(to: UInt8.self)
            for i in stride(from: 0, to: bytes, by: page) { b[i] = 1 }
        }
        p.measure("idle") {}
        // One fault per fresh page, or per 2 MB where the kernel hands out transparent huge pages.
        XCTAssertGreaterThanOrEqual(p.stages[0].pageFaults, bytes / (2 << 20))
        XCTAssertLessThan(p.stages[1].pageFaults, 64)
    }
}
