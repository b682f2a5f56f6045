import Tensors
import XCTest

/// RoIAlign (mmcv, aligned, adaptive sampling) on maps whose values are known in closed form.
final class RoIAlignTests: XCTestCase {
    /// A map f(y, x) = 10 y + x: bilinear sampling is exact, so each bin is the value at its centre.
    func testLinearMapGivesBinCentres() {
        let h = 8, w = 12
        var data = [Float](repeating: 0, count: 2 * h * w)
        for y in 0..<h { for x in 0..<w { data[y * w + x] = Float(10 * y + x); data[h * w + y * w + x] = 1 } }
        let t = Tensor(shape: [2, h, w], data: data)
        // Box (2, 1)-(6, 5) in input pixels at scale 1/2: feature box (0.5, 0)-(2.5, 2) after the half-pixel shift.
        let out = RoIAlign.forward(features: t, box: (2, 1, 6, 5), spatialScale: 0.5, outputSize: 2,
                                   samplingRatio: 0, aligned: true)
        // bins of 1 x 1 (grid 1 x 1): centres x = 0.5 + 0.5, 1.5 + 0.5 -> 1, 2; y = 0 + 0.5 -> 0.5, 1.5.
        XCTAssertEqual(Array(out[0..<4]), [6, 7, 16, 17])
        XCTAssertEqual(Array(out[4..<8]), [1, 1, 1, 1])
    }

    /// Adaptive grid: a 4 x 4 box pooled to 2 x 2 averages 2 x 2 samples per bin.
    func testAdaptiveSamplingAveragesSamples() {
        let h = 6, w = 6
        var data = [Float](repeating: 0, count: h * w)
        for y in 0..<h { for x in 0..<w { data[y * w + x] = Float(x * x) } }
        let t = Tensor(shape: [1, h, w], data: data)
        let out = RoIAlign.forward(features: t, box: (0.5, 0.5, 4.5, 4.5), spatialScale: 1, outputSize: 2,
                                   samplingRatio: 0, aligned: true)
        // Feature box (0, 0)-(4, 4), bins 2 wide, samples at x = 0.5, 1.5 | 2.5, 3.5; x^2 interpolated linearly
        // between integers: 0.5 -> 0.5, 1.5 -> 2.5, 2.5 -> 6.5, 3.5 -> 12.5.
        XCTAssertEqual(out, [1.5, 9.5, 1.5, 9.5])
    }

    /// Samples beyond one pixel outside the map are zero; within (-1, 0] they clamp to the border.
    func testBorderRules() {
        let t = Tensor(shape: [1, 2, 2], data: [1, 2, 3, 4])
        let far = RoIAlign.forward(features: t, box: (10, 10, 12, 12), spatialScale: 1, outputSize: 1,
                                   samplingRatio: 1, aligned: true)
        XCTAssertEqual(far, [0])
        // One sample at (-0.5, -0.5) after the shift: clamps to (0, 0).
        let edge = RoIAlign.forward(features: t, box: (-0.5, -0.5, 0.5, 0.5), spatialScale: 1, outputSize: 1,
                                    samplingRatio: 1, aligned: true)
        XCTAssertEqual(edge, [1])
    }

    /// The channels-last kernel computes bit for bit what the channel-planar one (mmcv's loop) does.
    func testChannelsLastEqualsPlanarBitForBit() {
        var g = SystemRandomNumberGenerator()
        let c = 5, h = 13, w = 17
        let t = Tensor(shape: [c, h, w], data: (0..<(c * h * w)).map { _ in Float.random(in: -3...3, using: &g) })
        let hwc = RoIAlign.channelsLast(t)
        XCTAssertEqual(hwc.count, t.count)
        // Every value, on a plane (13 x 17) that is not a multiple of the copy's 16-pixel blocks.
        for ch in 0..<c { for p in 0..<(h * w) where hwc[p * c + ch] != t.data[ch * h * w + p] {
            XCTFail("channel \(ch), pixel \(p)"); return
        } }
        for box in [(1.3, 2.2, 30.1, 20.7), (-3.0, -2.0, 5.5, 4.25), (10.0, 10.0, 10.0, 10.0), (40.0, 1.0, 70.0, 60.0)] {
            let b = (Float(box.0), Float(box.1), Float(box.2), Float(box.3))
            let planar = RoIAlign.forward(features: t, box: b, spatialScale: 0.5, outputSize: 7, samplingRatio: 0,
                                          aligned: true)
            let plan = RoIAlign.plan(box: b, spatialScale: 0.5, height: h, width: w, outputSize: 7, samplingRatio: 0,
                                     aligned: true)
            var out = [Float](repeating: .nan, count: c * 49)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: c)
            defer { scratch.deallocate() }
            hwc.withUnsafeBufferPointer { f in
                out.withUnsafeMutableBufferPointer { o in
                    RoIAlign.poolChannelsLast(features: f.baseAddress!, channels: c, plan: plan, output: o.baseAddress!,
                                              scratch: scratch)
                }
            }
            XCTAssertEqual(out.map(\.bitPattern), planar.map(\.bitPattern), "box \(box)")
        }
    }
}
