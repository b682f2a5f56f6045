import Crypto
import XCTest
import PanopticFPN

final class SyntheticWeightsTests: XCTestCase {
    /// The checksums `make_weights.py` prints (reference WEIGHTS.md).
    func testR50Seed1MatchesRecipeChecksum() throws {
        XCTAssertEqual(try digest(try ModelSpec.r50, seed: 1),
                       "14e4b29782216570ecf617284b57270ae1372c42d8aa345e49e014133f89f4eb")
    }

    func testR101Seed3MatchesRecipeChecksum() throws {
        XCTAssertEqual(try digest(try ModelSpec.r101, seed: 3),
                       "1110944c1092ce5249beb83a7b107d2b917068e8ae1d272da22e5e3e2e3398b1")
    }

    func testSpecsHaveTheReferenceKeyCounts() {
        XCTAssertEqual(try ModelSpec.r50.count, 383)
        XCTAssertEqual(try ModelSpec.r101.count, 689)
        XCTAssertEqual(try ModelSpec.r50.first, ParameterSpec(key: "backbone.conv1.weight", shape: [64, 3, 7, 7],
                                                          dtype: .float32))
        XCTAssertEqual(try ModelSpec.r50[5], ParameterSpec(key: "backbone.bn1.num_batches_tracked", shape: [],
                                                       dtype: .int64))
    }

    func testNormKeyRule() {
        XCTAssertTrue(SyntheticWeights.isNorm("backbone.bn1.weight"))
        XCTAssertTrue(SyntheticWeights.isNorm("backbone.layer1.0.bn3.running_var"))
        XCTAssertTrue(SyntheticWeights.isNorm("backbone.layer1.0.downsample.1.bias"))
        XCTAssertTrue(SyntheticWeights.isNorm("semantic_head.conv_upsample_layers.0.conv.0.gn.weight"))
        XCTAssertFalse(SyntheticWeights.isNorm("backbone.layer1.0.conv1.weight"))
        XCTAssertFalse(SyntheticWeights.isNorm("backbone.layer1.0.downsample.0.weight"))
        XCTAssertFalse(SyntheticWeights.isNorm("neck.fpn_convs.0.conv.bias"))
    }

    private func digest(_ spec: [ParameterSpec], seed: UInt64) throws -> String {
        let store = SyntheticWeights.make(spec: spec, seed: seed)
        var h = SHA256()
        try SyntheticWeights.forEachDigestChunk(spec: spec, store: store) { h.update(data: $0) }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
