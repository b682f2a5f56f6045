import Foundation
import XCTest
import ZooStore

final class ProgressPrinterTests: XCTestCase {
    func run(_ mode: ProgressPrinter.Mode) -> String {
        var out = ""
        let p = ProgressPrinter(mode: mode) { out += $0 }
        p.handle(.started(artifact: "models/a.pth", url: "http://127.0.0.1/a.pth", offset: 0))
        for i in 1...100 {
            p.handle(.progress(artifact: "models/a.pth", bytes: Int64(i) * 1_000_000, total: 100_000_000))
            if mode == .bar { Thread.sleep(forTimeInterval: 0.002) }
        }
        p.handle(.downloaded(artifact: "models/a.pth", url: "http://127.0.0.1/a.pth", bytes: 100_000_000, seconds: 2))
        p.handle(.verified(artifact: "models/a.pth", path: URL(fileURLWithPath: "/c/models/a.pth"),
                           md5: String(repeating: "a", count: 32), checked: true))
        return out
    }

    func testPlainLinesForLogs() {
        let out = run(.lines)
        XCTAssertFalse(out.contains("\r"))
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.count, 6, out) // start, 25, 50, 75 %, done, verified
        XCTAssertTrue(lines[1].hasPrefix("models/a.pth: 25% (25.0 MB of 100.0 MB"), String(lines[1]))
        XCTAssertTrue(lines[4].contains("100.0 MB in 2.0 s (50.0 MB/s), served by http://127.0.0.1/a.pth"), String(lines[4]))
    }

    func testBarOnATerminal() {
        let out = run(.bar)
        XCTAssertTrue(out.contains("\r\u{1B}[K"))
        XCTAssertTrue(out.contains("%"))
        XCTAssertTrue(out.contains("MB/s  ETA "), out)
        XCTAssertTrue(out.hasSuffix("saved to /c/models/a.pth\n"))
    }

    func testQuietPrintsNothing() {
        XCTAssertEqual(run(.quiet), "")
    }
}
