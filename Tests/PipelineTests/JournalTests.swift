import Foundation
import XCTest
import Pipeline

final class JournalTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func frame(_ name: String, _ n: Int) -> FrameRecord {
        FrameRecord(name: name, labels: (0..<n).map {
            SegmentRecord(id: "\(1000 * ($0 + 1) + 4)", category: "car", counts: "ab\($0)", size: [720, 1280])
        })
    }

    func testResumeKeepsRecordsAndDropsAPartialLine() throws {
        let url = dir.appendingPathComponent("journal.jsonl")
        let header = Journal.Header(model: "r50_1x", weights: "abc")
        do {
            let j = try Journal(url: url, header: header)
            try j.record(frame("b.jpg", 2))
            try j.record(frame("a.jpg", 1))
        }
        // A crash in the middle of the next record.
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd()
        try h.write(contentsOf: Data("{\"name\":\"c.jpg\",\"lab".utf8))
        try h.close()

        let (readHeader, frames) = try Journal.read(url)
        XCTAssertEqual(readHeader, header)
        XCTAssertEqual(frames.map(\.name), ["a.jpg", "b.jpg"])

        let j = try Journal(url: url, header: header)
        XCTAssertTrue(j.contains("a.jpg") && j.contains("b.jpg"))
        XCTAssertFalse(j.contains("c.jpg"))
        try j.record(frame("c.jpg", 3))
        XCTAssertEqual(j.sortedFrames.map(\.name), ["a.jpg", "b.jpg", "c.jpg"])
        let again = try Journal.read(url).1
        XCTAssertEqual(again, j.sortedFrames)
        XCTAssertEqual(again[2].labels.count, 3)
    }

    func testRefusesAnotherRunsJournal() throws {
        let url = dir.appendingPathComponent("journal.jsonl")
        _ = try Journal(url: url, header: .init(model: "r50_1x", weights: "abc"))
        XCTAssertThrowsError(try Journal(url: url, header: .init(model: "r101_5x", weights: "def"))) { e in
            guard case PipelineError.journalMismatch = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("r50_1x"))
        }
    }

    func testDamagedMiddleLineIsAnError() throws {
        let url = dir.appendingPathComponent("journal.jsonl")
        do {
            let j = try Journal(url: url, header: .init(model: "m", weights: "w"))
            try j.record(frame("a.jpg", 1))
        }
        var text = try String(contentsOf: url, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"a.jpg\"", with: "\"a.jpg") + "{\"name\":\"b.jpg\",\"labels\":[]}\n"
        try text.write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Journal(url: url, header: .init(model: "m", weights: "w"))) { e in
            guard case let PipelineError.journalCorrupt(_, line, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(line, 2)
        }
        XCTAssertThrowsError(try Journal.read(url))
    }
}
