import XCTest
import Tensors

final class WinogradTests: XCTestCase {
    /// The engine with a variant, Winograd from 256 output pixels (the test maps are small).
    private func engine(_ variant: Conv2d.Winograd?, keep: Bool = true) -> EngineOptions {
        var e = EngineOptions.default
        e.winograd = variant
        e.winogradMinimumPixels = 256
        e.keepWinogradWeights = keep
        return e
    }

    /// Both variants against the direct definition, on sizes that leave partial tiles at the borders.
    func testWinogradMatchesDirectConvolution() {
        for variant in Conv2d.Winograd.allCases {
            let engine = engine(variant)
            for (h, w, pad) in [(20, 19, 1), (17, 23, 0), (16, 16, 1)] {
                let x = Tensor(shape: [16, h, w], data: pseudoRandom(16 * h * w, seed: UInt64(h + w)))
                let wt = Tensor(shape: [24, 16, 3, 3], data: pseudoRandom(24 * 16 * 9, seed: 3))
                let b = pseudoRandom(24, seed: 4)
                let conv = Conv2d(weight: wt, bias: b, padding: pad)
                let (oh, ow) = conv.outputSize(h: h, w: w)
                XCTAssertTrue(conv.usesWinograd(oh: oh, ow: ow, engine: engine), "\(variant) \(h)x\(w) takes the Winograd path")
                XCTAssertFalse(conv.usesWinograd(oh: oh, ow: ow, engine: self.engine(nil)))
                // F(4, 3)'s larger transform constants cost it a few more ulps than F(2, 3).
                assertClose(conv(x, engine: engine), naiveConv(x, wt, bias: b, stride: 1, padding: pad, dilation: 1),
                            rel: variant == .f2x3 ? 2e-6 : 1e-5)
            }
        }
    }

    func testWinogradFusesResidualAndReLU() {
        let x = Tensor(shape: [16, 18, 18], data: pseudoRandom(16 * 324, seed: 5))
        let wt = Tensor(shape: [16, 16, 3, 3], data: pseudoRandom(16 * 144, seed: 6))
        let r = Tensor(shape: [16, 18, 18], data: pseudoRandom(16 * 324, seed: 7))
        var expect = naiveConv(x, wt, bias: [Float](repeating: 0.1, count: 16), stride: 1, padding: 1, dilation: 1)
        expect.add(r)
        expect.applyReLU()
        assertClose(Conv2d(weight: wt, bias: [Float](repeating: 0.1, count: 16), padding: 1)(x, relu: true, residual: r,
                                                                                           engine: engine(.f4x3)),
                    expect, rel: 1e-5)
    }

    /// One-image runs transform the weights into scratch on every call instead of keeping them: the same
    /// numbers, bit for bit, whichever way and however often the layer runs.
    func testScratchWeightsGiveTheSameResultAsKeptWeights() {
        for variant in Conv2d.Winograd.allCases {
            let keep = engine(variant, keep: true), noKeep = engine(variant, keep: false)
            let x = Tensor(shape: [16, 21, 26], data: pseudoRandom(16 * 21 * 26, seed: 31))
            let r = Tensor(shape: [20, 21, 26], data: pseudoRandom(20 * 21 * 26, seed: 32))
            let conv = Conv2d(weight: Tensor(shape: [20, 16, 3, 3], data: pseudoRandom(20 * 144, seed: 33)),
                              bias: pseudoRandom(20, seed: 34), padding: 1)
            let kept = conv(x, relu: true, residual: r, engine: keep)
            let keptAgain = conv(x, relu: true, residual: r, engine: keep)
            let scratch = conv(x, relu: true, residual: r, engine: noKeep)
            // A different layer in between reuses (and overwrites) the scratch buffer.
            _ = Conv2d(weight: Tensor(shape: [20, 16, 3, 3], data: pseudoRandom(20 * 144, seed: 35)), padding: 1)(
                x, engine: noKeep)
            let scratchAgain = conv(x, relu: true, residual: r, engine: noKeep)
            XCTAssertEqual(kept.data, keptAgain.data)
            XCTAssertEqual(kept.data, scratch.data, "\(variant)")
            XCTAssertEqual(kept.data, scratchAgain.data, "\(variant)")
            assertClose(scratch, { () -> Tensor in
                var e = naiveConv(x, conv.weight, bias: conv.bias, stride: 1, padding: 1, dilation: 1)
                e.add(r); e.applyReLU(); return e
            }(), rel: 1e-5)
        }
    }

    func testSmallLayersKeepTheGEMMPath() {
        let conv = Conv2d(weight: Tensor(zeros: [8, 8, 3, 3]), padding: 1)
        XCTAssertFalse(conv.usesWinograd(oh: 32, ow: 32))
        let strided = Conv2d(weight: Tensor(zeros: [32, 32, 3, 3]), stride: 2, padding: 1)
        XCTAssertFalse(strided.usesWinograd(oh: 32, ow: 32))
    }
}
