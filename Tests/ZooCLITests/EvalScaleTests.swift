import Foundation
import Panoptic
import XCTest

/// Evaluation memory grows with pixels and segments, not with their product: a frame of 20,000 GT
/// and 20,000 predicted segments scores correctly under a 2.5 GB address-space limit on both routes
/// (a dense GT x prediction table alone would need 3.2 GB; measured peak RSS is about 60 MB).
final class EvalScaleTests: XCTestCase {
    static let height = 200, width = 1000, strip = 10

    /// Rows 0..<100: each 10-pixel GT strip has a prediction shifted right by one pixel (IoU 9/11,
    /// the last strip of a row 9/10): true positives. Rows 100..<200: predictions cover the first 4
    /// pixels of each strip (IoU 0.4): false negatives, and those predictions, lying inside valid GT,
    /// false positives.
    static func labelMaps() -> (gt: [Int32], pred: [Int32]) {
        var gt = [Int32](repeating: 0, count: height * width)
        var pred = gt
        let perRow = width / strip
        for y in 0..<height {
            for k in 0..<perRow {
                let id = Int32(y * perRow + k + 1)
                for x in (k * strip)..<((k + 1) * strip) { gt[y * width + x] = id }
                let range = y < height / 2 ? (k * strip + 1)..<min(width, (k + 1) * strip + 1) : (k * strip)..<(k * strip + 4)
                for x in range { pred[y * width + x] = id }
            }
        }
        return (gt, pred)
    }

    /// Expected scores of the car category, from the construction above.
    static var expected: (pq: Double, sq: Double, rq: Double) {
        let perRow = width / strip, rows = height / 2
        let iouSum = Double(rows) * (Double(perRow - 1) * 9.0 / 11.0 + 0.9)
        let tp = Double(rows * perRow), fn = Double(rows * perRow), fp = Double(rows * perRow)
        return (100 * iouSum / (tp + fn / 2 + fp / 2), 100 * iouSum / tp, 100 * tp / (tp + fn / 2 + fp / 2))
    }

    func bitmask(_ map: [Int32], category: UInt8) -> Bitmask {
        var b = Bitmask(height: Self.height, width: Self.width)
        for i in 0..<map.count where map[i] != 0 {
            b.rgba[i * 4] = category
            b.rgba[i * 4 + 2] = UInt8(truncatingIfNeeded: map[i] >> 8)
            b.rgba[i * 4 + 3] = UInt8(truncatingIfNeeded: map[i])
        }
        return b
    }

    func scalabel(_ map: [Int32]) -> String {
        let rles = RLE.encode(labelMap: map, height: Self.height, width: Self.width)
        let labels = rles.filter { $0.key != 0 }.sorted { $0.key < $1.key }.map { ScalabelWriter.Label(id: "\($0.key)", category: "car", rle: $0.value) }
        return ScalabelWriter.document(frames: [(name: "f.jpg", labels: labels)])
    }

    /// Runs `zoo ARGS` under an address-space limit (`ulimit -v`, KiB): a dense GT x prediction table
    /// (3.2 GB here) cannot be allocated under it. (The child's peak RSS from wait4 is not usable: Linux
    /// carries the spawning test process's own high-water mark into it.)
    static let addressSpaceKiB = 2_500_000

    func runLimited(_ args: [String]) throws -> ZooProcess.Result {
        try ZooProcess.run(["-c", "ulimit -v \(Self.addressSpaceKiB) && exec \"$0\" \"$@\"", ZooProcess.binary.path] + args,
                           executable: URL(fileURLWithPath: "/bin/sh"))
    }

    func testTwentyThousandSegmentsInAFrameScoreInAFewHundredMB() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-eval-scale")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let (gtMap, predMap) = Self.labelMaps()
        let car = try XCTUnwrap(BDD100K.categoryNames.firstIndex(of: "car"))
        for sub in ["gt", "pred"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try bitmask(gtMap, category: UInt8(car)).write(path: dir.appendingPathComponent("gt/f.png").path)
        try bitmask(predMap, category: UInt8(car)).write(path: dir.appendingPathComponent("pred/f.png").path)
        try scalabel(gtMap).write(to: dir.appendingPathComponent("gt.json"), atomically: true, encoding: .utf8)
        try scalabel(predMap).write(to: dir.appendingPathComponent("pred.json"), atomically: true, encoding: .utf8)

        let e = Self.expected
        for (route, gt, pred) in [("bitmask", "gt", "pred"), ("rle", "gt.json", "pred.json")] {
            let out = dir.appendingPathComponent("\(route).json").path
            let r = try runLimited(["eval", "-q", "-g", dir.appendingPathComponent(gt).path,
                                    "-r", dir.appendingPathComponent(pred).path, "--out-file", out])
            XCTAssertEqual(r.status, 0, "\(route): \(r.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
            for (key, want) in [("PQ", e.pq), ("SQ", e.sq), ("RQ", e.rq)] {
                let table = (json?[key] as? [[String: Any]])?.first
                let got = try XCTUnwrap(table?["car"] as? Double, "\(route) \(key)")
                XCTAssertEqual(got, want, accuracy: 0.01, "\(route) \(key)")
            }
        }
    }
}
