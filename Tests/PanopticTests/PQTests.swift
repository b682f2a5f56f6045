import Foundation
import Synchronization
import XCTest
@testable import Panoptic

/// Compares zoo's evaluation with the official toolkit's own outputs (Tests/Fixtures/eval/cases,
/// made by make_fixtures.py running `python -m bdd100k.eval.run -t pan_seg ... --nproc 1`).
final class PQTests: XCTestCase {
    static let cases = ["basic", "crowd_ignored", "stuff_split", "missing_extra", "overlap", "unknown_categories",
                        "gt_stuff_overlap", "bitmask_category0", "random_a", "random_b", "random_c"]

    final class Warnings: Sendable {
        private let list = Mutex<[EvalWarning]>([])
        func add(_ w: EvalWarning) { list.withLock { $0.append(w) } }
        var all: [EvalWarning] { list.withLock { $0 } }
    }

    func evaluate(_ c: String, _ route: PQResult.Route, threads: Int = 2) throws -> (PQResult, [EvalWarning]) {
        let w = Warnings()
        let ev = PanopticEvaluator(threads: threads, warningHandler: { w.add($0) })
        let r = route == .rle
            ? try ev.evaluate(gt: Fixtures.path("cases/\(c)/gt.json"), result: Fixtures.path("cases/\(c)/pred.json"))
            : try ev.evaluate(gt: Fixtures.path("cases/\(c)/gt"), result: Fixtures.path("cases/\(c)/pred"))
        XCTAssertEqual(r.route, route)
        return (r, w.all)
    }

    func testOfficialOutputsByteForByteOnBothRoutes() throws {
        var compared = 0
        for c in PQTests.cases {
            for route in [PQResult.Route.rle, .bitmask] where Fixtures.exists("cases/\(c)/official_\(route.rawValue).json") {
                let (r, _) = try evaluate(c, route)
                XCTAssertEqual(r.json(), try Fixtures.text("cases/\(c)/official_\(route.rawValue).json"), "\(c) \(route)")
                XCTAssertEqual(r.table(), try Fixtures.text("cases/\(c)/official_\(route.rawValue).table.txt"), "\(c) \(route)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, 18)
    }

    func testNumbersMatchWithinTolerance() throws {
        // Independent of formatting: parse the official JSON and compare every value within 1e-9.
        for c in ["random_a", "random_b", "random_c"] {
            for route in [PQResult.Route.rle, .bitmask] {
                let (r, _) = try evaluate(c, route)
                let data = Data(try Fixtures.text("cases/\(c)/official_\(route.rawValue).json").utf8)
                let off = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: [[String: Double]]])
                for (k, path) in [("PQ", \PQScores.pq), ("SQ", \PQScores.sq), ("RQ", \PQScores.rq)] {
                    let groups = try XCTUnwrap(off[k])
                    for (name, s) in r.perCategory {
                        XCTAssertEqual(s[keyPath: path], try XCTUnwrap(groups[0][name]), accuracy: 1e-9)
                    }
                    XCTAssertEqual(r.stuff[keyPath: path], try XCTUnwrap(groups[1]["STUFF"]), accuracy: 1e-9)
                    XCTAssertEqual(r.thing[keyPath: path], try XCTUnwrap(groups[1]["THING"]), accuracy: 1e-9)
                    XCTAssertEqual(r.overall[keyPath: path], try XCTUnwrap(groups[2]["OVERALL"]), accuracy: 1e-9)
                }
                XCTAssertGreaterThan(r.overall.pq, 5, "\(c): the random cases should not be trivial")
            }
        }
    }

    func testRoutesDifferOnlyWhereStuffIsSplit() throws {
        let (rle, _) = try evaluate("stuff_split", .rle)
        let (bm, _) = try evaluate("stuff_split", .bitmask)
        XCTAssertEqual(rle.stats.categories[7].tp, 1)   // road merged: matched
        XCTAssertEqual(bm.stats.categories[7].tp, 0)    // two halves of IoU 0.5: not matched
        XCTAssertEqual(bm.stats.categories[7].fn, 1)
        XCTAssertEqual(bm.stats.categories[7].fp, 2)
        XCTAssertTrue(rle.json().contains("\"NUM\""))
        XCTAssertTrue(bm.json().contains("\"N\""))
    }

    func testOverlappingPredictionsDropTheFrameAndWarn() throws {
        let (_, w) = try evaluate("overlap", .rle)
        XCTAssertEqual(w.filter { $0.kind == .overlap }.map(\.frame), ["o1.jpg"])
    }

    func testUnknownCategoriesAreDroppedWithAWarning() throws {
        let (_, w) = try evaluate("unknown_categories", .rle)
        let msgs = w.filter { $0.kind == .unknownCategory }.map(\.message)
        XCTAssertEqual(msgs.count, 2)
        XCTAssertTrue(msgs.joined().contains("spaceship (1)"))
        XCTAssertTrue(msgs.joined().contains("lane marking (1)"))
    }

    func testMissingPredictionsAreCountedAndReported() throws {
        for route in [PQResult.Route.rle, .bitmask] {
            let (_, w) = try evaluate("missing_extra", route)
            XCTAssertEqual(w.filter { $0.kind == .missingPrediction }.count, 1)
        }
    }

    // MARK: Where the official tool crashes

    func testFrameWithPredictionsButNoGroundTruth() throws {
        XCTAssertTrue(try Fixtures.text("cases/crash_empty_gt/official_rle.crash").contains("AttributeError"))
        let (r, w) = try evaluate("crash_empty_gt", .rle)
        XCTAssertEqual(r.json(), try Fixtures.text("cases/crash_empty_gt/official_rle_equivalent.json"))
        XCTAssertEqual(w.filter { $0.kind == .officialCrash }.map(\.frame), ["e2.jpg"])
    }

    func testAllCrowdPredictions() throws {
        XCTAssertTrue(try Fixtures.text("cases/crash_all_crowd/official_rle.crash").contains("AttributeError"))
        let (r, w) = try evaluate("crash_all_crowd", .rle)
        XCTAssertEqual(r.json(), try Fixtures.text("cases/crash_all_crowd/official_rle_equivalent.json"))
        XCTAssertEqual(w.filter { $0.kind == .officialCrash }.map(\.frame), ["k2.jpg"])
    }

    func testMoreThan100PredictedSegments() throws {
        XCTAssertTrue(try Fixtures.text("cases/crash_over_100/official_bitmask.crash").contains("ValueError"))
        let (r, w) = try evaluate("crash_over_100", .bitmask)
        // The RLE route of the same data has no cap; its official numbers are what zoo gives.
        let official = try Fixtures.text("cases/crash_over_100/official_rle.json").replacingOccurrences(of: "\"NUM\"", with: "\"N\"")
        XCTAssertEqual(r.json(), official)
        XCTAssertEqual(w.filter { $0.kind == .officialCrash }.count, 1)
        XCTAssertTrue(w[0].message.contains("121 predicted segments"))
    }

    func testAllZeroPredictionPNG() throws {
        XCTAssertTrue(try Fixtures.text("cases/crash_zero_png/official_bitmask.crash").contains("ValueError"))
        let (r, w) = try evaluate("crash_zero_png", .bitmask)
        XCTAssertEqual(r.json(), try Fixtures.text("cases/crash_zero_png/official_bitmask_equivalent.json"))
        XCTAssertEqual(w.filter { $0.kind == .officialCrash }.count, 1)
    }

    func testSizeMismatch() throws {
        // Bitmask route: the official tool stops (AssertionError), so does zoo, with a message.
        XCTAssertTrue(try Fixtures.text("cases/crash_size_mismatch/official_bitmask.crash").contains("AssertionError"))
        XCTAssertThrowsError(try evaluate("crash_size_mismatch", .bitmask)) { e in
            XCTAssertTrue("\(e)".contains("8x10"), "\(e)")
            XCTAssertTrue("\(e)".contains("8x12"), "\(e)")
        }
        // RLE route: the official tool gives numbers (every GT missed); zoo gives the same and warns.
        let (r, w) = try evaluate("crash_size_mismatch", .rle)
        XCTAssertEqual(r.json(), try Fixtures.text("cases/crash_size_mismatch/official_rle.json"))
        XCTAssertEqual(w.filter { $0.kind == .sizeMismatch }.map(\.frame), ["sz.jpg"])
    }

    // MARK: API

    func testRLERouteWorksWithAnyThreadCountWhereTheOfficialOneCrashes() throws {
        // The official RLE route with --nproc 2: TypeError. zoo with 4 threads: the --nproc 1 numbers.
        XCTAssertTrue(try Fixtures.text("cases/basic/official_rle_nproc2.crash").contains("TypeError: check_overlap_frame()"))
        let (r, _) = try evaluate("basic", .rle, threads: 4)
        XCTAssertEqual(r.json(), try Fixtures.text("cases/basic/official_rle.json"))
    }

    func testThreadCountDoesNotChangeTheResult() throws {
        for route in [PQResult.Route.rle, .bitmask] {
            let (one, _) = try evaluate("random_b", route, threads: 1)
            let (many, _) = try evaluate("random_b", route, threads: 5)
            XCTAssertEqual(one.json(), many.json())
            XCTAssertEqual(one.stats, many.stats)
        }
    }

    func testInMemoryInputsGiveTheSameResult() throws {
        let gt = try ScalabelSource(path: Fixtures.path("cases/random_a/gt.json"))
        let pred = try ScalabelSource(path: Fixtures.path("cases/random_a/pred.json"))
        let r = try PanopticEvaluator(threads: 2).evaluateRLE(gt: InMemoryFrames(try gt.allFrames()),
                                                             pred: InMemoryFrames(try pred.allFrames()))
        XCTAssertEqual(r.json(), try Fixtures.text("cases/random_a/official_rle.json"))

        let dir = Fixtures.path("cases/random_a")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/gt").sorted()
        let pairs: [(gt: Bitmask, pred: Bitmask?)] = try names.map { n in
            let p = dir + "/pred/" + n
            return (try Bitmask.read(path: dir + "/gt/" + n),
                    FileManager.default.fileExists(atPath: p) ? try Bitmask.read(path: p) : nil)
        }
        let b = try PanopticEvaluator(threads: 2).evaluateBitmasks(pairs)
        XCTAssertEqual(b.json(), try Fixtures.text("cases/random_a/official_bitmask.json"))
    }

    func testRouteIsChosenAsTheOfficialCLIChoosesIt() throws {
        XCTAssertEqual(try PanopticEvaluator.route(result: Fixtures.path("cases/basic/pred")), .bitmask)
        XCTAssertEqual(try PanopticEvaluator.route(result: Fixtures.path("cases/basic/pred.json")), .rle)
        let dir = try Fixtures.tempDirectory(self)
        try Data("[]".utf8).write(to: URL(fileURLWithPath: dir + "/a.json"))
        XCTAssertEqual(try PanopticEvaluator.route(result: dir), .rle)
        try Data().write(to: URL(fileURLWithPath: dir + "/b.png"))
        XCTAssertThrowsError(try PanopticEvaluator.route(result: dir))
        XCTAssertThrowsError(try PanopticEvaluator.route(result: dir + "/nothing"))
    }

    func testSummaryAndEmptyGroups() {
        let r = PQResult(route: .rle, stats: PQStats())
        XCTAssertEqual(r.overall, PQScores(pq: 0, sq: 0, rq: 0, n: 0))
        XCTAssertEqual(r.summary().map(\.key), ["PQ/STUFF", "PQ/THING", "PQ", "SQ/STUFF", "SQ/THING", "SQ",
                                                "RQ/STUFF", "RQ/THING", "RQ", "NUM/STUFF", "NUM/THING", "NUM"])
        var s = PQStats()
        s.categories[35] = { var c = PQCategoryStats(); c.iou = 1.5; c.tp = 2; c.fp = 1; c.fn = 1; return c }()
        let one = PQResult(route: .bitmask, stats: s)
        XCTAssertEqual(one.thing.pq, 1.5 / 3 * 100, accuracy: 1e-12)
        XCTAssertEqual(one.thing.sq, 75, accuracy: 1e-12)
        XCTAssertEqual(one.thing.rq, 2.0 / 3 * 100, accuracy: 1e-12)
        XCTAssertEqual(one.overall.n, 1)
        XCTAssertEqual(one.stuff.n, 0)
    }
}
