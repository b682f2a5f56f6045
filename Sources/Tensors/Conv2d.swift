import COpenBLAS
import Foundation
import Synchronization

/// A 2-D convolution (cross-correlation, as torch's `Conv2d`), with its bias and an optional fused ReLU
/// and residual addition, computed as one GEMM on OpenBLAS.
///
/// Layouts: input `[Cin, H, W]` or `[N, Cin, H, W]`, weight `[Cout, Cin, kh, kw]`, output
/// `[Cout, Hout, Wout]` (or `[N, Cout, Hout, Wout]`), with `Hout = (H + 2 p - d (kh - 1) - 1) / s + 1`.
/// A 1x1 stride-1 convolution multiplies the weight by the input directly; the others unfold the
/// input (im2col) in blocks of output rows so the scratch stays a few MB.
public struct Conv2d: Sendable {
    /// The Winograd variants for 3x3 stride-1 convolutions.
    public enum Winograd: String, Sendable, CaseIterable {
        /// F(2x2, 3x3): 2.25x fewer multiplications, error close to the direct form.
        case f2x3
        /// F(4x4, 3x3): 4x fewer multiplications, a few times the direct form's rounding error.
        case f4x3
    }

    /// Output floats per column block of a 1x1 convolution (GEMM plus epilogue while still in cache).
    static let oneByOneBlockFloats = 1 << 18

    /// `[Cout, Cin, kh, kw]`.
    public let weight: Tensor
    /// `[Cout]`; zeros when the layer has none.
    public let bias: [Float]
    public let stride: Int
    public let padding: Int
    public let dilation: Int
    /// Transformed weights of the Winograd path, made on first use and shared by copies of the layer.
    private let winogradWeights = WinogradWeightCache()

    public init(weight: Tensor, bias: [Float]? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        precondition(weight.rank == 4, "Conv2d: weight \(weight.shape) is not [Cout, Cin, kh, kw]")
        self.weight = weight
        self.bias = bias ?? [Float](repeating: 0, count: weight.shape[0])
        precondition(self.bias.count == weight.shape[0], "Conv2d: bias of \(self.bias.count) for \(weight.shape)")
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    /// A convolution followed by an inference-mode BatchNorm, folded into one convolution:
    /// `w' = w * gamma / sqrt(var + eps)`, `b' = (b - mean) * gamma / sqrt(var + eps) + beta`.
    /// The weight is scaled in place when the caller hands over its only reference (no copy).
    public static func foldingBatchNorm(weight: consuming Tensor, bias: [Float]? = nil, gamma: [Float], beta: [Float],
                                        mean: [Float], variance: [Float], eps: Float = 1e-5,
                                        stride: Int = 1, padding: Int = 0, dilation: Int = 1) -> Conv2d {
        let shape = weight.shape
        let cout = shape[0]
        var w: [Float] = []
        swap(&w, &weight.data)
        let per = w.count / max(cout, 1)
        var b = [Float](repeating: 0, count: cout)
        w.withUnsafeMutableBufferPointer { wp in
            guard let base = wp.baseAddress else { return }
            for o in 0..<cout {
                let inv = gamma[o] / (variance[o] + eps).squareRoot()
                let row = base + o * per
                for i in 0..<per { row[i] *= inv }
                b[o] = ((bias?[o] ?? 0) - mean[o]) * inv + beta[o]
            }
        }
        return Conv2d(weight: Tensor(shape: shape, data: w), bias: b, stride: stride, padding: padding,
                      dilation: dilation)
    }

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernelSize: (h: Int, w: Int) { (weight.shape[2], weight.shape[3]) }

    /// The output size for an input of `h` x `w`.
    public func outputSize(h: Int, w: Int) -> (h: Int, w: Int) {
        let (kh, kw) = kernelSize
        return ((h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1,
                (w + 2 * padding - dilation * (kw - 1) - 1) / stride + 1)
    }

    /// Multiply-adds for an input of `h` x `w` (for GFLOP/s figures).
    public func multiplyAdds(h: Int, w: Int) -> Int {
        let o = outputSize(h: h, w: w)
        return o.h * o.w * weight.count
    }

    /// `relu(conv(x) + bias + residual)` (each part optional). `residual` has the output's shape.
    public func callAsFunction(_ x: Tensor, relu: Bool = false, residual: Tensor? = nil,
                               engine: EngineOptions = .default) -> Tensor {
        if x.rank == 4 && x.shape[0] != 1 {
            let n = x.shape[0], per = x.count / n
            var outs: [Float] = []
            var outShape: [Int] = []
            for i in 0..<n {
                let xi = Tensor(shape: Array(x.shape.dropFirst()), data: Array(x.data[i * per..<(i + 1) * per]))
                let ri = residual.map { r in
                    Tensor(shape: Array(r.shape.dropFirst()),
                           data: Array(r.data[i * (r.count / n)..<(i + 1) * (r.count / n)]))
                }
                let y = forward(xi, relu: relu, residual: ri, engine: engine)
                if i == 0 { outs.reserveCapacity(n * y.count); outShape = [n] + y.shape }
                outs.append(contentsOf: y.data)
            }
            return Tensor(shape: outShape, data: outs)
        }
        let y = forward(x, relu: relu, residual: residual, engine: engine)
        return x.rank == 4 ? y.reshaped([1] + y.shape) : y
    }

    private func forward(_ x: Tensor, relu: Bool, residual: Tensor?, engine: EngineOptions) -> Tensor {
        let (cin, h, w) = x.chw
        precondition(cin == inChannels, "Conv2d: input \(x.shape) for weight \(weight.shape)")
        let (kh, kw) = kernelSize
        let (oh, ow) = outputSize(h: h, w: w)
        let cout = outChannels, k = cin * kh * kw, n = oh * ow
        if let r = residual { precondition(r.count == cout * n, "Conv2d: residual \(r.shape)") }
        let winograd = winogradTransform(oh: oh, ow: ow, engine: engine)
        // The Winograd path adds the residual found in `out`; the GEMM paths add it in their epilogue.
        var out = Tensor(uninitialized: [cout, oh, ow]) { o in
            if winograd != nil, let r = residual { _ = o.initialize(from: r.data) }
        }
        let empty: [Float] = []
        weight.data.withUnsafeBufferPointer { wp in
            x.data.withUnsafeBufferPointer { xp in
                (residual?.data ?? empty).withUnsafeBufferPointer { rp in
                out.data.withUnsafeMutableBufferPointer { op in
                    if let t = winograd {
                        func run(_ u: UnsafePointer<Float>) {
                            t.convolve(xp.baseAddress!, cin: cin, h: h, w: w, pad: padding, u: u,
                                       cout: cout, bias: bias, relu: relu, addResidual: residual != nil,
                                       out: op.baseAddress!, oh: oh, ow: ow, engine: engine)
                        }
                        if engine.keepWinogradWeights {
                            let u = winogradWeights.get(t) {
                                t.transformWeights(weight.data, cout: cout, cin: cin, threads: engine.threads)
                            }
                            u.withUnsafeBufferPointer { up in run(up.baseAddress!) }
                        } else {
                            ScratchPool.shared.with(t.alpha * t.alpha * cout * cin) { u in
                                t.transformWeights(weight.data, cout: cout, cin: cin, into: u, threads: engine.threads)
                                run(u)
                            }
                        }
                        return
                    }
                    GEMM.prepare(engine)
                    // The workers write disjoint column (1x1) or row blocks of `out`.
                    let obase = UnsafeSendableMutablePointer(op.baseAddress!)
                    let wbase = UnsafeSendablePointer(wp.baseAddress!), xbase = UnsafeSendablePointer(xp.baseAddress!)
                    let res = residual == nil ? nil : rp.baseAddress.map { UnsafeSendablePointer($0) }
                    let split = engine.gemmThreading == .split
                    let backend = GEMM.backend(engine)
                    // Within a block: the epilogue and im2col run on the block's thread when the blocks are
                    // spread over the threads, else over the threads themselves.
                    let inner = split ? 1 : engine.threads
                    if kh == 1 && kw == 1 && stride == 1 && padding == 0 {
                        // Column blocks whose output (about 256 K floats) is still in cache for the epilogue;
                        // the blocks run in parallel, each one GEMM and its epilogue on one thread.
                        let nb = max(256, Conv2d.oneByOneBlockFloats / max(cout, 1))
                        let blocks = (n + nb - 1) / nb
                        concurrentFor(blocks, threads: split ? engine.threads : 1) { b in
                            let c0 = b * nb, cols = min(nb, n - c0)
                            GEMM.kernel(backend, m: cout, n: cols, k: k, a: wbase.pointer, lda: k,
                                        b: xbase.pointer + c0, ldb: n, c: obase.pointer + c0, ldc: n)
                            self.epilogue(obase.pointer, residual: res?.pointer, ld: n, from: c0, count: cols,
                                          relu: relu, threads: inner)
                        }
                        return
                    }
                    // Blocks of whole output rows, about 4 M floats of unfolded input each (at least two
                    // blocks per thread when splitting); each block unfolds, multiplies and finishes on one
                    // thread.
                    var rowsPerBlock = max(1, min(oh, (1 << 22) / max(1, k * ow)))
                    if split {
                        rowsPerBlock = max(1, min(rowsPerBlock, (oh + 2 * engine.threads - 1) / (2 * engine.threads)))
                    }
                    let blocks = (oh + rowsPerBlock - 1) / rowsPerBlock
                    concurrentFor(blocks, threads: split ? engine.threads : 1) { [rowsPerBlock] b in
                        ScratchPool.shared.with(k * rowsPerBlock * ow) { scratch in
                            let y0 = b * rowsPerBlock
                            let rows = min(rowsPerBlock, oh - y0)
                            let nb = rows * ow
                            self.im2col(xbase.pointer, c: cin, h: h, w: w, kh: kh, kw: kw, y0: y0, rows: rows,
                                        ow: ow, into: scratch, threads: inner)
                            GEMM.kernel(backend, m: cout, n: nb, k: k, a: wbase.pointer, lda: k, b: scratch, ldb: nb,
                                        c: obase.pointer + y0 * ow, ldc: n)
                            self.epilogue(obase.pointer, residual: res?.pointer, ld: n, from: y0 * ow, count: nb,
                                          relu: relu, threads: inner)
                        }
                    }
                }
                }
            }
        }
        return out
    }

    /// `out[co, c] = relu(out[co, c] + bias[co] + residual[co, c])` for columns c in from..<from+count of a
    /// `[Cout, ld]` output, right after the GEMM wrote them (while they are in cache).
    private func epilogue(_ out: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, ld: Int,
                          from c0: Int, count: Int, relu: Bool, threads: Int) {
        let outp = UnsafeSendableMutablePointer(out), resp = residual.map { UnsafeSendablePointer($0) }
        bias.withUnsafeBufferPointer { bp in
            let bs = UnsafeSendablePointer(bp.baseAddress!)
            parallelFor(outChannels, threads: threads, minPerThread: max(1, 16_384 / max(count, 1))) { range in
                let out = outp.pointer, residual = resp?.pointer, b = bs.pointer
                for co in range {
                    let row = out + co * ld + c0, bc = b[co]
                    if let residual {
                        let r = residual + co * ld + c0
                        if relu {
                            for i in 0..<count { row[i] = max(row[i] + bc + r[i], 0) }
                        } else {
                            for i in 0..<count { row[i] = row[i] + bc + r[i] }
                        }
                    } else if relu {
                        for i in 0..<count { row[i] = max(row[i] + bc, 0) }
                    } else {
                        for i in 0..<count { row[i] += bc }
                    }
                }
            }
        }
    }

    /// Whether this layer takes the Winograd path for an output of `oh` x `ow`.
    public func usesWinograd(oh: Int, ow: Int, engine: EngineOptions = .default) -> Bool {
        winogradTransform(oh: oh, ow: ow, engine: engine) != nil
    }

    /// The Winograd variant for this layer and output size, nil for the im2col/GEMM path: 3x3, stride 1,
    /// no dilation, enough channels and pixels for the transforms to pay off.
    func winogradTransform(oh: Int, ow: Int, engine: EngineOptions) -> WinogradTransform? {
        guard let variant = engine.winograd, weight.shape[2] == 3, weight.shape[3] == 3, stride == 1,
              dilation == 1, padding <= 2, inChannels >= 16, outChannels >= 16,
              oh * ow >= engine.winogradMinimumPixels else { return nil }
        switch variant {
        case .f2x3: return .f2x3
        case .f4x3: return .f4x3
        }
    }

    /// Unfolds output rows y0..<y0+rows: row `(ci, ky, kx)` of the block holds, for each output pixel,
    /// the input value under that kernel tap (0 outside the image).
    private func im2col(_ x: UnsafePointer<Float>, c: Int, h: Int, w: Int, kh: Int, kw: Int,
                        y0: Int, rows: Int, ow: Int, into col: UnsafeMutablePointer<Float>, threads: Int) {
        let s = stride, p = padding, d = dilation
        let nb = rows * ow
        let xs = UnsafeSendablePointer(x), cols = UnsafeSendableMutablePointer(col)
        parallelFor(c * kh * kw, threads: threads, minPerThread: 4) { range in
            let x = xs.pointer, col = cols.pointer
            for r in range {
                let ci = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw
                let dst = col + r * nb
                let plane = x + ci * h * w
                // Output columns whose input column is inside the image: ix = ox*s - p + kx*d in [0, w).
                let off = kx * d - p
                let oxLo = off >= 0 ? 0 : min(ow, (-off + s - 1) / s)
                let oxHi = w - off <= 0 ? 0 : max(oxLo, min(ow, (w - off + s - 1) / s))
                for j in 0..<rows {
                    let iy = (y0 + j) * s - p + ky * d
                    let drow = dst + j * ow
                    if iy < 0 || iy >= h {
                        drow.update(repeating: 0, count: ow)
                        continue
                    }
                    let srow = plane + iy * w
                    if oxLo > 0 { drow.update(repeating: 0, count: oxLo) }
                    if s == 1 {
                        drow.advanced(by: oxLo).update(from: srow + (oxLo + off), count: oxHi - oxLo)
                    } else {
                        var ox = oxLo
                        while ox < oxHi { drow[ox] = srow[ox * s + off]; ox += 1 }
                    }
                    if oxHi < ow { (drow + oxHi).update(repeating: 0, count: ow - oxHi) }
                }
            }
        }
    }
}

/// The Winograd-domain weights of one layer, computed once (thread-safe).
final class WinogradWeightCache: Sendable {
    private let cached = Mutex<(m: Int, u: [Float])?>(nil)

    func get(_ t: WinogradTransform, _ make: () -> [Float]) -> [Float] {
        cached.withLock { cached in
            if let c = cached, c.m == t.m { return c.u }
            let u = make()
            cached = (t.m, u)
            return u
        }
    }
}
