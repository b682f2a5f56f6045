import FixtureSupport
import Foundation
import Tensors
import XCTest

/// Checks `ours` (row-major, the reference's layout) against a fixture array: each sampled value within
/// `rel * max|ref|`, and the sums of x and |x| over the whole array within `rel` of the sum of |ref|.
func assertMatches(_ ours: [Float], _ name: String, _ manifest: [String: FixtureArray], rel: Float,
                   file: StaticString = #filePath, line: UInt = #line) throws {
    guard let ref = manifest[name] else { throw FixtureError.missing(name) }
    XCTAssertEqual(ours.count, ref.shape.reduce(1, *), "\(name): element count", file: file, line: line)
    guard ours.count == ref.shape.reduce(1, *) else { return }
    let want = try loadValues("reference", ref)
    var worst: Float = 0
    for (k, v) in want.enumerated() { worst = max(worst, abs(ours[k * ref.stride] - v)) }
    let tol = rel * Float(ref.max_abs)
    XCTAssertLessThanOrEqual(worst, tol, "\(name): max |ours - mmdet| over \(want.count) samples", file: file, line: line)
    let sum = ours.reduce(0.0) { $0 + Double($1) }, absSum = ours.reduce(0.0) { $0 + Double(abs($1)) }
    XCTAssertEqual(sum, ref.sum, accuracy: Double(rel) * ref.abs_sum, "\(name): sum", file: file, line: line)
    XCTAssertEqual(absSum, ref.abs_sum, accuracy: Double(rel) * ref.abs_sum, "\(name): sum |x|", file: file, line: line)
}

/// Proposals `[N, 5]` equal to the reference's: the same boxes (within `boxTolerance` pixels) and scores
/// (within 1e-5) in the same order, except that rows whose scores are within 1e-5 (near-ties, where
/// float rounding decides the order) may be swapped with a neighbour. Returns the number of swapped rows.
@discardableResult
func assertSameProposals(_ ours: Tensor, _ name: String, _ manifest: [String: FixtureArray],
                         boxTolerance: Float = 2e-3, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
    guard let ref = manifest[name] else { throw FixtureError.missing(name) }
    XCTAssertEqual(ours.shape, ref.shape, "\(name): shape", file: file, line: line)
    guard ours.shape == ref.shape, ref.stride == 1 else { return -1 }
    return assertSameRows(ours.data, try loadValues("reference", ref), name, boxTolerance: boxTolerance,
                          file: file, line: line)
}

/// Rows of (x1, y1, x2, y2, score), compared as `assertSameProposals` describes.
@discardableResult
func assertSameRows(_ ours: [Float], _ want: [Float], _ name: String, boxTolerance: Float = 2e-3,
                    file: StaticString = #filePath, line: UInt = #line) -> Int {
    XCTAssertEqual(ours.count, want.count, "\(name): rows", file: file, line: line)
    guard ours.count == want.count else { return -1 }
    let n = want.count / 5
    func same(_ i: Int, _ j: Int) -> Bool {
        for c in 0..<4 where abs(ours[5 * i + c] - want[5 * j + c]) > boxTolerance { return false }
        let scoreError: Float = abs(ours[5 * i + 4] - want[5 * j + 4])
        return scoreError <= 1e-5
    }
    var used = [Bool](repeating: false, count: n)
    var swapped = 0
    for i in 0..<n {
        if !used[i] && same(i, i) { used[i] = true; continue }
        let near = (max(0, i - 3)...min(n - 1, i + 3)).first { j in
            !used[j] && same(i, j) && abs(want[5 * j + 4] - want[5 * i + 4]) <= 1e-5
        }
        if let j = near {
            used[j] = true
            swapped += 1
        } else {
            XCTFail("\(name): row \(i) \(Array(ours[(5 * i)..<(5 * i + 5)])) is not the reference's "
                    + "\(Array(want[(5 * i)..<(5 * i + 5)]))", file: file, line: line)
            return swapped
        }
    }
    XCTAssertLessThanOrEqual(swapped, 10, "\(name): near-tie swaps", file: file, line: line)
    return swapped
}
