import XCTest
import Tensors

/// Small deterministic values in [-1, 1).
func pseudoRandom(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return Float(s >> 40) / Float(1 << 23) - 1
    }
}

/// Direct convolution, the definition, in double.
func naiveConv(_ x: Tensor, _ w: Tensor, bias: [Float], stride: Int, padding: Int, dilation: Int) -> Tensor {
    let (c, h, wd) = x.chw
    let co = w.shape[0], kh = w.shape[2], kw = w.shape[3]
    let oh = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1
    let ow = (wd + 2 * padding - dilation * (kw - 1) - 1) / stride + 1
    var out = [Float](repeating: 0, count: co * oh * ow)
    for o in 0..<co { for y in 0..<oh { for xx in 0..<ow {
        var s = Double(bias[o])
        for ci in 0..<c { for ky in 0..<kh { for kx in 0..<kw {
            let iy = y * stride - padding + ky * dilation, ix = xx * stride - padding + kx * dilation
            if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                s += Double(x.data[(ci * h + iy) * wd + ix]) * Double(w.data[((o * c + ci) * kh + ky) * kw + kx])
            }
        } } }
        out[(o * oh + y) * ow + xx] = Float(s)
    } } }
    return Tensor(shape: [co, oh, ow], data: out)
}

func assertClose(_ a: Tensor, _ b: Tensor, rel: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, file: file, line: line)
    guard a.shape == b.shape else { return }
    var worst: Float = 0
    for i in 0..<a.count { worst = max(worst, abs(a.data[i] - b.data[i])) }
    XCTAssertLessThanOrEqual(worst, rel * max(b.maxAbs, 1e-6), "max |a - b| = \(worst)", file: file, line: line)
}

final class ConvTests: XCTestCase {
    func testConvMatchesDirectDefinition() {
        for (k, s, p, d) in [(3, 1, 1, 1), (3, 2, 1, 1), (7, 2, 3, 1), (1, 2, 0, 1), (1, 1, 0, 1), (3, 1, 2, 2)] {
            let x = Tensor(shape: [5, 13, 11], data: pseudoRandom(5 * 13 * 11, seed: UInt64(k * 10 + s)))
            let w = Tensor(shape: [4, 5, k, k], data: pseudoRandom(4 * 5 * k * k, seed: 7))
            let b: [Float] = [0.5, -0.25, 0, 1]
            let conv = Conv2d(weight: w, bias: b, stride: s, padding: p, dilation: d)
            assertClose(conv(x), naiveConv(x, w, bias: b, stride: s, padding: p, dilation: d))
        }
    }

    func testFusedResidualAndReLU() {
        let x = Tensor(shape: [3, 6, 7], data: pseudoRandom(126, seed: 1))
        let w = Tensor(shape: [2, 3, 3, 3], data: pseudoRandom(54, seed: 2))
        let r = Tensor(shape: [2, 6, 7], data: pseudoRandom(84, seed: 3))
        var expect = naiveConv(x, w, bias: [0.1, -0.1], stride: 1, padding: 1, dilation: 1)
        expect.add(r)
        expect.applyReLU()
        let got = Conv2d(weight: w, bias: [0.1, -0.1], padding: 1)(x, relu: true, residual: r)
        assertClose(got, expect)
        XCTAssertTrue(got.data.contains(0) && got.data.contains { $0 > 0 })
    }

    func testBatchedInputConvolvesEachImage() {
        let x = Tensor(shape: [2, 3, 5, 5], data: pseudoRandom(150, seed: 4))
        let w = Tensor(shape: [2, 3, 3, 3], data: pseudoRandom(54, seed: 5))
        let y = Conv2d(weight: w, padding: 1)(x)
        XCTAssertEqual(y.shape, [2, 2, 5, 5])
        let second = Tensor(shape: [3, 5, 5], data: Array(x.data[75...]))
        assertClose(Tensor(shape: [2, 5, 5], data: Array(y.data[50...])),
                    naiveConv(second, w, bias: [0, 0], stride: 1, padding: 1, dilation: 1))
    }

    func testBatchNormFolding() {
        let x = Tensor(shape: [2, 4, 4], data: pseudoRandom(32, seed: 6))
        let w = Tensor(shape: [3, 2, 1, 1], data: pseudoRandom(6, seed: 8))
        let gamma: [Float] = [1.5, 0.5, -1], beta: [Float] = [0.1, 0.2, 0.3]
        let mean: [Float] = [0.2, -0.1, 0], variance: [Float] = [2, 0.5, 1]
        let folded = Conv2d.foldingBatchNorm(weight: w, gamma: gamma, beta: beta, mean: mean, variance: variance)(x)
        let plain = Conv2d(weight: w)(x)
        var expect = plain
        for c in 0..<3 { for i in 0..<16 {
            expect.data[c * 16 + i] = (plain.data[c * 16 + i] - mean[c]) / (variance[c] + 1e-5).squareRoot() * gamma[c] + beta[c]
        } }
        assertClose(folded, expect)
    }

    func testTransposedConvolutionScattersPatches() {
        let x = Tensor(shape: [2, 2, 3], data: pseudoRandom(12, seed: 9))
        let w = Tensor(shape: [2, 3, 2, 2], data: pseudoRandom(24, seed: 10))
        let y = ConvTranspose2d(weight: w, bias: [1, 2, 3])(x)
        XCTAssertEqual(y.shape, [3, 4, 6])
        for co in 0..<3 { for oy in 0..<4 { for ox in 0..<6 {
            var s: Float = [1, 2, 3][co]
            for ci in 0..<2 { s += x.data[(ci * 2 + oy / 2) * 3 + ox / 2] * w.data[((ci * 3 + co) * 2 + oy % 2) * 2 + ox % 2] }
            XCTAssertEqual(y.data[(co * 4 + oy) * 6 + ox], s, accuracy: 1e-5)
        } } }
    }

    /// Batched input, several channels, ReLU, a kernel of 3 and sizes past the threads' split, against the
    /// definition `y[co, k y + ky, k x + kx] = b[co] + sum_ci x[ci, y, x] w[ci, co, ky, kx]`.
    func testTransposedConvolutionBatchedWithReLU() {
        for (n, cin, cout, k, h, w) in [(2, 5, 7, 2, 9, 11), (1, 3, 4, 3, 5, 6), (1, 16, 64, 2, 14, 30)] {
            let x = Tensor(shape: [n, cin, h, w], data: pseudoRandom(n * cin * h * w, seed: UInt64(40 + k)))
            let wt = Tensor(shape: [cin, cout, k, k], data: pseudoRandom(cin * cout * k * k, seed: UInt64(50 + cout)))
            let b = pseudoRandom(cout, seed: 60)
            let deconv = ConvTranspose2d(weight: wt, bias: b)
            for relu in [false, true] {
                let y = deconv(x, relu: relu)
                XCTAssertEqual(y.shape, [n, cout, k * h, k * w])
                var expect = [Float](repeating: 0, count: y.count)
                for i in 0..<n { for co in 0..<cout { for oy in 0..<(k * h) { for ox in 0..<(k * w) {
                    var s = b[co]
                    for ci in 0..<cin {
                        s += x.data[((i * cin + ci) * h + oy / k) * w + ox / k]
                            * wt.data[((ci * cout + co) * k + oy % k) * k + ox % k]
                    }
                    expect[((i * cout + co) * k * h + oy) * k * w + ox] = relu ? max(s, 0) : s
                } } } }
                assertClose(y, Tensor(shape: y.shape, data: expect), rel: 1e-5)
            }
        }
    }

    func testLinear() {
        let x = Tensor(shape: [2, 3], data: [1, 2, 3, -1, 0, 1])
        let l = Linear(weight: Tensor(shape: [2, 3], data: [1, 0, 0, 1, 1, 1]), bias: [0.5, -10])
        XCTAssertEqual(l(x).data, [1.5, -4, -0.5, -10])
        XCTAssertEqual(l(x, relu: true).data, [1.5, 0, 0, 0])
    }
}

final class NormPoolResizeTests: XCTestCase {
    func testGroupNormNormalisesEachGroup() {
        let x = Tensor(shape: [4, 3, 3], data: pseudoRandom(36, seed: 11).map { $0 * 3 + 2 })
        let gn = GroupNorm(groups: 2, gamma: [1, 1, 2, 2], beta: [0, 0, 1, 1])
        let y = gn(x)
        for g in 0..<2 {
            let v = (0..<18).map { Double(y.data[g * 18 + $0]) }
            let gamma = Double(g == 0 ? 1 : 2), beta = Double(g == 0 ? 0 : 1)
            let mean = v.reduce(0, +) / 18
            let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 18
            XCTAssertEqual(mean, beta, accuracy: 1e-5)
            XCTAssertEqual(variance, gamma * gamma, accuracy: 1e-3)
        }
        XCTAssertEqual(gn(x, relu: true).data, y.data.map { max($0, 0) })
    }

    func testMaxPoolWithPadding() {
        let x = Tensor(shape: [1, 4, 4], data: (0..<16).map(Float.init))
        XCTAssertEqual(x.maxPool2d(kernel: 3, stride: 2, padding: 1).data, [5, 7, 13, 15])
        XCTAssertEqual(x.maxPool2d(kernel: 1, stride: 2).data, [0, 2, 8, 10])
    }

    func testBilinearMatchesTorch() {
        // torch: F.interpolate(tensor([[[[0., 1.], [2., 3.]]]]), scale_factor=2, mode='bilinear')
        let x = Tensor(shape: [1, 2, 2], data: [0, 1, 2, 3])
        let y = x.resizedBilinear(height: 4, width: 4)
        XCTAssertEqual(y.data, [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3])
        // Downsizing 4 -> 3: scale 4/3, sources 0.1667, 1.5, 2.8333.
        let z = Tensor(shape: [1, 1, 4], data: [0, 10, 20, 30]).resizedBilinear(height: 1, width: 3)
        XCTAssertEqual(z.data[0], 1.6666667, accuracy: 1e-5)
        XCTAssertEqual(z.data[1], 15, accuracy: 1e-5)
        XCTAssertEqual(z.data[2], 28.333334, accuracy: 1e-4)
    }

    func testNearestDoublesAndCrops() {
        let x = Tensor(shape: [1, 2, 2], data: [1, 2, 3, 4])
        XCTAssertEqual(x.resizedNearest(height: 4, width: 4).data, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        XCTAssertEqual(x.resizedNearest(height: 3, width: 2).data, [1, 2, 1, 2, 3, 4])
        XCTAssertEqual(x.cropped(height: 1, width: 2).data, [1, 2])
    }
}
