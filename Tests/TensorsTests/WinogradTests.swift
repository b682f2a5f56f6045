import XCTest
import Tensors

final class WinogradTests: XCTestCase {
    private var savedMinimumPixels = Conv2d.winogradMinimumPixels
    override func setUp() {
        savedMinimumPixels = Conv2d.winogradMinimumPixels
        Conv2d.winogradMinimumPixels = 256
    }
    override func tearDown() {
        Conv2d.winograd = .f4x3
        Conv2d.winogradMinimumPixels = savedMinimumPixels
    }

    /// Both variants against the direct definition, on sizes that leave partial tiles at the borders.
    func testWinogradMatchesDirectConvolution() {
        for variant in Conv2d.Winograd.allCases {
            Conv2d.winograd = variant
            for (h, w, pad) in [(20, 19, 1), (17, 23, 0), (16, 16, 1)] {
                let x = Tensor(shape: [16, h, w], data: pseudoRandom(16 * h * w, seed: UInt64(h + w)))
                let wt = Tensor(shape: [24, 16, 3, 3], data: pseudoRandom(24 * 16 * 9, seed: 3))
                let b = pseudoRandom(24, seed: 4)
                let conv = Conv2d(weight: wt, bias: b, padding: pad)
                let (oh, ow) = conv.outputSize(h: h, w: w)
                XCTAssertTrue(conv.usesWinograd(oh: oh, ow: ow), "\(variant) \(h)x\(w) takes the Winograd path")
                // F(4, 3)'s larger transform constants cost it a few more ulps than F(2, 3).
                assertClose(conv(x), naiveConv(x, wt, bias: b, stride: 1, padding: pad, dilation: 1),
                            rel: variant == .f2x3 ? 2e-6 : 1e-5)
            }
        }
    }

    func testWinogradFusesResidualAndReLU() {
        Conv2d.winograd = .f4x3
        let x = Tensor(shape: [16, 18, 18], data: pseudoRandom(16 * 324, seed: 5))
        let wt = Tensor(shape: [16, 16, 3, 3], data: pseudoRandom(16 * 144, seed: 6))
        let r = Tensor(shape: [16, 18, 18], data: pseudoRandom(16 * 324, seed: 7))
        var expect = naiveConv(x, wt, bias: [Float](repeating: 0.1, count: 16), stride: 1, padding: 1, dilation: 1)
        expect.add(r)
        expect.applyReLU()
        assertClose(Conv2d(weight: wt, bias: [Float](repeating: 0.1, count: 16), padding: 1)(x, relu: true, residual: r),
                    expect, rel: 1e-5)
    }

    /// One-image runs transform the weights into scratch on every call instead of keeping them: the same
    /// numbers, bit for bit, whichever way and however often the layer runs.
    func testScratchWeightsGiveTheSameResultAsKeptWeights() {
        let saved = Conv2d.keepWinogradWeights
        defer { Conv2d.keepWinogradWeights = saved }
        for variant in Conv2d.Winograd.allCases {
            Conv2d.winograd = variant
            let x = Tensor(shape: [16, 21, 26], data: pseudoRandom(16 * 21 * 26, seed: 31))
            let r = Tensor(shape: [20, 21, 26], data: pseudoRandom(20 * 21 * 26, seed: 32))
            let conv = Conv2d(weight: Tensor(shape: [20, 16, 3, 3], data: pseudoRandom(20 * 144, seed: 33)),
                              bias: pseudoRandom(20, seed: 34), padding: 1)
            Conv2d.keepWinogradWeights = true
            let kept = conv(x, relu: true, residual: r)
            let keptAgain = conv(x, relu: true, residual: r)
            Conv2d.keepWinogradWeights = false
            let scratch = conv(x, relu: true, residual: r)
            // A different layer in between reuses (and overwrites) the scratch buffer.
            _ = Conv2d(weight: Tensor(shape: [20, 16, 3, 3], data: pseudoRandom(20 * 144, seed: 35)), padding: 1)(x)
            let scratchAgain = conv(x, relu: true, residual: r)
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
