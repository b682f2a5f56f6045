import Tensors
import XCTest
import PanopticFPN

final class WeightBinderTests: XCTestCase {
    private func store() -> InMemoryWeightStore {
        var s = InMemoryWeightStore()
        s.set("a.weight", Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))
        s.set("a.bias", Tensor(shape: [2], data: [7, 8]))
        s.set("bn.num_batches_tracked", Tensor(zeros: []))
        s.set("extra", Tensor(zeros: [1]))
        return s
    }

    func testTakesEveryKeyOnce() throws {
        let full = store()
        var s = InMemoryWeightStore()
        for k in full.keys where k != "extra" { s.set(k, try full.tensor(k)) }
        let b = WeightBinder(store: s)
        XCTAssertEqual(b.take("a.weight", shape: [2, 3]).data, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(b.take("a.bias", shape: [2]).data, [7, 8])
        b.skip("bn.num_batches_tracked")
        XCTAssertNoThrow(try b.finish())
    }

    func testReportsMissingUnusedRepeatedAndMisshapedTogether() {
        let b = WeightBinder(store: store())
        _ = b.take("a.weight", shape: [3, 2])
        _ = b.take("a.bias", shape: [2])
        _ = b.take("a.bias", shape: [2])
        _ = b.take("b.weight", shape: [1])
        XCTAssertThrowsError(try b.finish()) { error in
            guard case PanopticFPNError.weightBinding(let r) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(r.missing, ["b.weight"])
            XCTAssertEqual(r.unused, ["bn.num_batches_tracked", "extra"])
            XCTAssertEqual(r.repeated, ["a.bias"])
            XCTAssertEqual(r.misshaped, ["a.weight: expected [3, 2], found [2, 3]"])
            XCTAssertTrue("\(error)".contains("1 missing: b.weight"))
        }
    }
}
