import PanopticFPN
import TorchCheckpoint
import XCTest

/// The runner's embedded key lists (`ModelSpec`, used for synthetic weights) and the converter's layout
/// (`Converters/mmdet-panoptic-fpn.json`, used to check real checkpoints) describe the same checkpoints:
/// they must never drift apart.
final class ModelSpecConsistencyTests: XCTestCase {
    func testModelSpecEqualsTheConverterLayout() throws {
        let layouts = try CheckpointLayout.builtIn()
        let mmdet = try XCTUnwrap(layouts.first { $0.name == "mmdet-panoptic-fpn" })
        for (variant, spec) in [("R-50", ModelSpec.r50), ("R-101", ModelSpec.r101)] {
            let expected = try XCTUnwrap(mmdet.variants.first { $0.name == variant }, variant).tensors
            XCTAssertEqual(expected.map(\.key), spec.map(\.key), variant)
            XCTAssertEqual(expected.map(\.shape), spec.map(\.shape), variant)
            XCTAssertEqual(expected.map(\.dtype), spec.map(\.dtype.rawValue), variant)
        }
    }
}
