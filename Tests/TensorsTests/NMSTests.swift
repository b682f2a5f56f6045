import Tensors
import XCTest

final class NMSTests: XCTestCase {
    func testKeepsHighestAndDropsOverlapsAboveThreshold() {
        let boxes: [Float] = [0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 10, 5]
        let scores: [Float] = [0.5, 0.9, 0.7, 0.8]
        // IoU(b1, b0) = 81 / 119 > 0.5: b0 dropped. IoU(b3, b1) = 36 / 114 < 0.5: kept.
        XCTAssertEqual(NMS.keep(boxes: boxes, scores: scores, iouThreshold: 0.5), [1, 3, 2])
        XCTAssertEqual(NMS.keep(boxes: boxes, scores: scores, iouThreshold: 0.32), [1, 3, 2])
        XCTAssertEqual(NMS.keep(boxes: boxes, scores: scores, iouThreshold: 0.31), [1, 2])
        XCTAssertEqual(NMS.keep(boxes: [], scores: [], iouThreshold: 0.5), [])
    }

    func testThresholdIsStrict() {
        // IoU exactly 0.5: [0,0,2,1] and [0,0,1,1]: inter 1, union 2.
        let boxes: [Float] = [0, 0, 2, 1, 0, 0, 1, 1]
        XCTAssertEqual(NMS.keep(boxes: boxes, scores: [0.9, 0.8], iouThreshold: 0.5), [0, 1])
        XCTAssertEqual(NMS.keep(boxes: boxes, scores: [0.9, 0.8], iouThreshold: 0.49), [0])
    }

    func testEqualScoresKeepInputOrder() {
        XCTAssertEqual(NMS.descendingOrder([0.5, 0.7, 0.5, 0.7]), [1, 3, 0, 2])
    }

    func testBatchedNMSSeparatesGroups() {
        let boxes: [Float] = [0, 0, 10, 10, 1, 1, 11, 11, 0, 0, 10, 10]
        let scores: [Float] = [0.9, 0.8, 0.7]
        XCTAssertEqual(NMS.batchedKeep(boxes: boxes, scores: scores, groups: [0, 1, 0], iouThreshold: 0.5), [0, 1])
        XCTAssertEqual(NMS.keep(boxes: boxes, scores: scores, iouThreshold: 0.5), [0])
    }

    // The free-function forms the RPN uses.
    func testSuppressesOverlapsAboveThresholdInScoreOrder() {
        // IoU(2, 0) = 90/100 = 0.9, IoU(2, 1) = 72/99 = 0.727, IoU(0, 1) = 81/100 = 0.81; box 3 is apart.
        let boxes: [Float] = [0, 0, 10, 10,
                              1, 1, 10, 10,
                              0, 0, 10, 9,
                              20, 20, 30, 30]
        let scores: [Float] = [0.9, 0.8, 0.95, 0.1]
        XCTAssertEqual(nms(boxes: boxes, scores: scores, iouThreshold: 0.75), [2, 1, 3])
        XCTAssertEqual(nms(boxes: boxes, scores: scores, iouThreshold: 0.7), [2, 3])
        XCTAssertEqual(nms(boxes: boxes, scores: scores, iouThreshold: 0.95), [2, 0, 1, 3])
    }

    /// The top-k selection is exactly the first k of the stable full sort, ties at the cut included.
    func testTopKEqualsThePrefixOfTheStableSort() {
        var g = SystemRandomNumberGenerator()
        for (n, levels) in [(1, 3), (10, 2), (1000, 5), (5000, 1_000_000), (20000, 7)] {
            // Few distinct levels: many ties, also at the k-th value.
            let values = (0..<n).map { _ in Float(Int.random(in: 0..<levels, using: &g)) / Float(levels) }
            for k in [0, 1, 2, n / 3, n - 1, n, n + 5] {
                XCTAssertEqual(NMS.topDescending(values, k), Array(NMS.descendingOrder(values).prefix(max(k, 0))),
                               "n \(n), \(levels) levels, k \(k)")
            }
        }
        XCTAssertEqual(NMS.topDescending([1, .nan, 3, 2], 2), Array(NMS.descendingOrder([1, .nan, 3, 2]).prefix(2)))
    }

    func testEmptyAndTies() {
        XCTAssertEqual(nms(boxes: [], scores: [], iouThreshold: 0.5), [])
        XCTAssertEqual(sortedDescending([1, 3, 3, 2]), [1, 2, 3, 0])
    }
}
