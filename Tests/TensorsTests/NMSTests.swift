import XCTest
import Tensors

final class NMSTests: XCTestCase {
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

    func testIoUEqualToThresholdIsKept() {
        // IoU exactly 0.5 (2 of 4): suppression needs strictly more.
        let boxes: [Float] = [0, 0, 4, 1, 0, 0, 2, 1]
        XCTAssertEqual(nms(boxes: boxes, scores: [1, 0.5], iouThreshold: 0.5), [0, 1])
        XCTAssertEqual(nms(boxes: boxes, scores: [1, 0.5], iouThreshold: 0.49), [0])
    }

    func testEmptyAndTies() {
        XCTAssertEqual(nms(boxes: [], scores: [], iouThreshold: 0.5), [])
        XCTAssertEqual(sortedDescending([1, 3, 3, 2]), [1, 2, 3, 0])
    }
}
