import COpenBLAS
import Dispatch

/// Winograd minimal filtering F(m x m, 3 x 3) for 3x3 stride-1 convolutions (Lavin & Gray 2015):
/// the output is cut into m x m tiles; each tile's (m + 2)^2 input patch `d` and the filter `g` are
/// transformed (`V = Bᵀ d B`, `U = G g Gᵀ`), multiplied element-wise, which over channels is one GEMM
/// per transform position, and transformed back (`Y = Aᵀ M A`). F(4, 3) does 36 multiplications
/// where the direct form does 144 (4x fewer), F(2, 3) does 16 for 36 (2.25x fewer).
///
/// The transforms are exact rationals; in float32 the result differs from the direct convolution by a
/// few units in the last place times the sum of |terms| (checked against the direct form in the tests).
struct WinogradTransform: Sendable {
    /// Output tile side.
    let m: Int
    /// Input tile side, m + 2.
    let alpha: Int
    /// `alpha x alpha`, row-major.
    let bt: [Float]
    /// `alpha x 3`.
    let g: [Float]
    /// `m x alpha`.
    let at: [Float]

    static let f2x3 = WinogradTransform(
        m: 2, alpha: 4,
        bt: [1, 0, -1, 0,
             0, 1, 1, 0,
             0, -1, 1, 0,
             0, 1, 0, -1],
        g: [1, 0, 0,
            0.5, 0.5, 0.5,
            0.5, -0.5, 0.5,
            0, 0, 1],
        at: [1, 1, 1, 0,
             0, 1, -1, -1])

    static let f4x3 = WinogradTransform(
        m: 4, alpha: 6,
        bt: [4, 0, -5, 0, 1, 0,
             0, -4, -4, 1, 1, 0,
             0, 4, -4, -1, 1, 0,
             0, -2, -1, 2, 1, 0,
             0, 2, -1, -2, 1, 0,
             0, 4, 0, -5, 0, 1],
        g: [1.0 / 4, 0, 0,
            -1.0 / 6, -1.0 / 6, -1.0 / 6,
            -1.0 / 6, 1.0 / 6, -1.0 / 6,
            1.0 / 24, 1.0 / 12, 1.0 / 6,
            1.0 / 24, -1.0 / 12, 1.0 / 6,
            0, 0, 1],
        at: [1, 1, 1, 1, 1, 0,
             0, 1, -1, 2, -2, 0,
             0, 1, 1, 4, 4, 0,
             0, 1, -1, 8, -8, 1])

    /// `U[ξ][co][ci]` for the `[Cout, Cin, 3, 3]` weight, in double then rounded once.
    func transformWeights(_ w: [Float], cout: Int, cin: Int, threads: Int) -> [Float] {
        let n = alpha * alpha * cout * cin
        return [Float](unsafeUninitializedCapacity: n) { up, count in
            if let base = up.baseAddress { transformWeights(w, cout: cout, cin: cin, into: base, threads: threads) }
            count = n
        }
    }

    /// `transformWeights` into `base` (`alpha² * cout * cin` floats).
    func transformWeights(_ w: [Float], cout: Int, cin: Int, into base: UnsafeMutablePointer<Float>, threads: Int) {
        let a = alpha
        let gd = g.map(Double.init)
        do {
            w.withUnsafeBufferPointer { wb in
            gd.withUnsafeBufferPointer { gb in
            guard let wb = wb.baseAddress, let gb = gb.baseAddress else { return }
            // Each worker writes the output channels of its range.
            let ws = UnsafeSendablePointer(wb), gs = UnsafeSendablePointer(gb), bs = UnsafeSendableMutablePointer(base)
            parallelFor(cout, threads: threads) { range in
                let wp = ws.pointer, gp = gs.pointer, base = bs.pointer
                // Per output channel, every quantity is a vector over the input channels, so the loops
                // below run over contiguous doubles (the same operations in the same order per element).
                let wt = UnsafeMutablePointer<Double>.allocate(capacity: 9 * cin)      // [tap][ci]
                let tmp = UnsafeMutablePointer<Double>.allocate(capacity: a * 3 * cin) // [i][j][ci]
                defer { wt.deallocate(); tmp.deallocate() }
                for co in range {
                    let wco = wp + co * cin * 9
                    for ci in 0..<cin {
                        for t in 0..<9 { wt[t * cin + ci] = Double(wco[ci * 9 + t]) }
                    }
                    // tmp = G g  (alpha x 3)
                    for i in 0..<a {
                        for j in 0..<3 {
                            let d = tmp + (i * 3 + j) * cin
                            let g0 = gp[i * 3], g1 = gp[i * 3 + 1], g2 = gp[i * 3 + 2]
                            let w0 = wt + j * cin, w1 = wt + (3 + j) * cin, w2 = wt + (6 + j) * cin
                            for ci in 0..<cin {
                                var s = 0.0
                                s += g0 * w0[ci]; s += g1 * w1[ci]; s += g2 * w2[ci]
                                d[ci] = s
                            }
                        }
                    }
                    // U = tmp Gᵀ  (alpha x alpha)
                    for i in 0..<a {
                        let t0 = tmp + (i * 3) * cin, t1 = tmp + (i * 3 + 1) * cin, t2 = tmp + (i * 3 + 2) * cin
                        for j in 0..<a {
                            let g0 = gp[j * 3], g1 = gp[j * 3 + 1], g2 = gp[j * 3 + 2]
                            let d = base + ((i * a + j) * cout + co) * cin
                            for ci in 0..<cin {
                                var s = 0.0
                                s += t0[ci] * g0; s += t1[ci] * g1; s += t2[ci] * g2
                                d[ci] = Float(s)
                            }
                        }
                    }
                }
            }
            }
            }
        }
    }

    /// `out[co] = relu(conv(x)[co] + bias[co] + residual)` for a 3x3, stride 1, padding `pad` convolution.
    /// `out` holds the residual on entry when `addResidual`.
    ///
    /// Works on blocks of whole tile rows. Both transforms are separable, and each 1-D pass runs over a
    /// whole tile row at once, so the inner loops are contiguous and vectorise.
    func convolve(_ x: UnsafePointer<Float>, cin: Int, h: Int, w: Int, pad: Int,
                  u: UnsafePointer<Float>, cout: Int, bias: [Float], relu: Bool, addResidual: Bool,
                  out: UnsafeMutablePointer<Float>, oh: Int, ow: Int, engine: EngineOptions) {
        let a = alpha, a2 = a * a
        let tilesY = (oh + m - 1) / m, tilesX = (ow + m - 1) / m
        // Blocks of whole tile rows: about 16 M floats of transformed input each, so each of the a² GEMMs
        // is large enough for OpenBLAS to run near its peak.
        let rowsPerBlock = max(1, min(tilesY, (1 << 24) / max(1, a2 * max(cin, cout) * tilesX)))
        let maxTiles = rowsPerBlock * tilesX
        ScratchPool.shared.with(a2 * cin * maxTiles) { v in
            ScratchPool.shared.with(a2 * cout * maxTiles) { mm in
                convolveBlocks(x, cin: cin, h: h, w: w, pad: pad, u: u, cout: cout, bias: bias, relu: relu,
                               addResidual: addResidual, out: out, oh: oh, ow: ow, v: v, mm: mm,
                               rowsPerBlock: rowsPerBlock, engine: engine)
            }
        }
    }

    private func convolveBlocks(_ x: UnsafePointer<Float>, cin: Int, h: Int, w: Int, pad: Int,
                                u: UnsafePointer<Float>, cout: Int, bias: [Float], relu: Bool, addResidual: Bool,
                                out: UnsafeMutablePointer<Float>, oh: Int, ow: Int,
                                v: UnsafeMutablePointer<Float>, mm: UnsafeMutablePointer<Float>, rowsPerBlock: Int,
                                engine: EngineOptions) {
        let a = alpha, a2 = a * a
        let tilesY = (oh + m - 1) / m, tilesX = (ow + m - 1) / m
        // Padded input row span covered by a tile row: tilesX * m + 2 columns.
        let span = tilesX * m + 2
        // Workers write disjoint parts of v (input channels), mm (transform positions) and out (channels).
        let xs = UnsafeSendablePointer(x), us = UnsafeSendablePointer(u), outs = UnsafeSendableMutablePointer(out)
        let vs = UnsafeSendableMutablePointer(v), mms = UnsafeSendableMutablePointer(mm)
        let threads = engine.threads
        var ty0 = 0
        while ty0 < tilesY {
            let rows = min(rowsPerBlock, tilesY - ty0), nt = rows * tilesX
            // V[ξ][ci][t] = Bᵀ d B
            parallelFor(cin, threads: threads) { [ty0] range in
                let x = xs.pointer, v = vs.pointer
                let rowsBuf = UnsafeMutablePointer<Float>.allocate(capacity: a * span)   // input rows
                let colBuf = UnsafeMutablePointer<Float>.allocate(capacity: a * span)    // Bᵀ along y
                let taps = UnsafeMutablePointer<Float>.allocate(capacity: a * tilesX)    // de-interleaved
                defer { rowsBuf.deallocate(); colBuf.deallocate(); taps.deallocate() }
                for ci in range {
                    let plane = x + ci * h * w
                    for r in 0..<rows {
                        let ty = ty0 + r
                        let y0 = ty * m - pad, x0 = -pad
                        // Gather the a input rows of this tile row, zero outside the image.
                        for i in 0..<a {
                            let dst = rowsBuf + i * span
                            let iy = y0 + i
                            if iy < 0 || iy >= h {
                                dst.update(repeating: 0, count: span)
                                continue
                            }
                            // Columns j with 0 <= x0 + j < w come from the row, the others are zero.
                            let src = plane + iy * w
                            let lo = min(span, max(0, -x0)), hi = max(lo, min(span, w - x0))
                            if lo > 0 { dst.update(repeating: 0, count: lo) }
                            (dst + lo).update(from: src + (x0 + lo), count: hi - lo)
                            if hi < span { (dst + hi).update(repeating: 0, count: span - hi) }
                        }
                        // Bᵀ along y: colBuf[i] = Σ_k Bᵀ[i][k] rows[k], over the whole span.
                        if m == 4 {
                            bt6(rowsBuf, span, 1, colBuf, span, span)
                        } else {
                            applyRows(bt, a, a, rowsBuf, span, colBuf, span, span)
                        }
                        // Along x per tile: V[i][j](t) = Σ_k Bᵀ[j][k] colBuf[i][t m + k], written in place.
                        for i in 0..<a where m == 4 {
                            // The taps of tile t are c[4 t + k]: read in place, no de-interleaving.
                            bt6(colBuf + i * span, 1, 4, v + ((i * a) * cin + ci) * nt + r * tilesX, cin * nt, tilesX)
                        }
                        for i in 0..<a where m != 4 {
                            let c = colBuf + i * span
                            for k in 0..<a {
                                let tk = taps + k * tilesX
                                for t in 0..<tilesX { tk[t] = c[t * m + k] }
                            }
                            applyRows(bt, a, a, taps, tilesX, v + ((i * a) * cin + ci) * nt + r * tilesX,
                                      cin * nt, tilesX)
                        }
                    }
                }
            }
            // M[ξ] = U[ξ] V[ξ]: one GEMM per transform position.
            GEMM.prepare(engine)
            let backend = GEMM.backend(engine)
            // Independent GEMMs: spread over the threads whole (no packing is repeated) when the kernels
            // split the GEMMs, else one after the other on OpenBLAS's threads.
            concurrentFor(a2, threads: engine.gemmThreading == .split ? threads : 1) { xi in
                GEMM.kernel(backend, m: cout, n: nt, k: cin, a: us.pointer + xi * cout * cin, lda: cin,
                            b: vs.pointer + xi * cin * nt, ldb: nt, c: mms.pointer + xi * cout * nt, ldc: nt)
            }
            // Y = Aᵀ M A, plus bias, residual, ReLU; each 1-D pass runs over all the block's tiles.
            parallelFor(cout, threads: threads) { [ty0] range in
                let mm = mms.pointer, out = outs.pointer
                let s1 = UnsafeMutablePointer<Float>.allocate(capacity: m * a * nt)
                let y = UnsafeMutablePointer<Float>.allocate(capacity: m * m * nt)
                defer { s1.deallocate(); y.deallocate() }
                for co in range {
                    // s1[i][j](t) = Σ_k Aᵀ[i][k] M[k][j](t)   (s1 laid out [i][j][t])
                    if m == 4 {
                        for j in 0..<a { at6(mm + (j * cout + co) * nt, a * cout * nt, s1 + j * nt, a * nt, nt) }
                        for i in 0..<m { at6(s1 + i * a * nt, nt, y + i * m * nt, nt, nt) }
                    } else {
                        for j in 0..<a {
                            applyRows(at, m, a, mm + (j * cout + co) * nt, a * cout * nt, s1 + j * nt, a * nt, nt)
                        }
                        // y[i][jj](t) = Σ_j Aᵀ[jj][j] s1[i][j](t)   (y laid out [i][jj][t])
                        for i in 0..<m {
                            applyRows(at, m, a, s1 + i * a * nt, nt, y + i * m * nt, nt, nt)
                        }
                    }
                    let b = bias[co]
                    let plane = out + co * oh * ow
                    for r in 0..<rows {
                        let yBase = (ty0 + r) * m
                        for i in 0..<m where yBase + i < oh {
                            let orow = plane + (yBase + i) * ow
                            for jj in 0..<m {
                                let yj = y + (i * m + jj) * nt + r * tilesX
                                var t = 0
                                while t < tilesX && t * m + jj < ow {
                                    let o = t * m + jj
                                    var s = yj[t] + b
                                    if addResidual { s += orow[o] }
                                    orow[o] = relu ? max(s, 0) : s
                                    t += 1
                                }
                            }
                        }
                    }
                }
            }
            ty0 += rows
        }
    }
}

/// `dst[i] = Σ_k mat[i][k] src[k]` for a `rows x cols` matrix, where `src[k]` is the vector of `n` floats
/// at `src + k * srcStride` and `dst[i]` the one at `dst + i * dstStride`; zero coefficients are skipped
/// and ±1 need no multiplication.
@inline(__always)
private func applyRows(_ mat: [Float], _ rows: Int, _ cols: Int, _ src: UnsafePointer<Float>, _ srcStride: Int,
                       _ dst: UnsafeMutablePointer<Float>, _ dstStride: Int, _ n: Int) {
    for i in 0..<rows {
        let d = dst + i * dstStride
        var first = true
        for k in 0..<cols {
            let c = mat[i * cols + k]
            if c == 0 { continue }
            let sk = src + k * srcStride
            if first {
                if c == 1 {
                    d.update(from: sk, count: n)
                } else {
                    for t in 0..<n { d[t] = c * sk[t] }
                }
                first = false
            } else if c == 1 {
                for t in 0..<n { d[t] += sk[t] }
            } else if c == -1 {
                for t in 0..<n { d[t] -= sk[t] }
            } else {
                for t in 0..<n { d[t] += c * sk[t] }
            }
        }
        if first { d.update(repeating: 0, count: n) }
    }
}

/// F(4, 3)'s `Bᵀ` (6 x 6) applied to 6 vectors of `n` floats in one pass: input k of element t is
/// `src[t * step + k * stride]`, output i goes to `dst + i * dstStride`. The same operations in the same
/// order as `applyRows(f4x3.bt, ...)`, with each element's six values kept in registers.
@inline(__always)
private func bt6(_ src: UnsafePointer<Float>, _ stride: Int, _ step: Int, _ dst: UnsafeMutablePointer<Float>,
                 _ dstStride: Int, _ n: Int) {
    let d0 = dst, d1 = dst + dstStride, d2 = dst + 2 * dstStride
    let d3 = dst + 3 * dstStride, d4 = dst + 4 * dstStride, d5 = dst + 5 * dstStride
    for t in 0..<n {
        let s = src + t * step
        let x0 = s[0], x1 = s[stride], x2 = s[2 * stride], x3 = s[3 * stride], x4 = s[4 * stride], x5 = s[5 * stride]
        var y: Float
        y = 4 * x0; y += -5 * x2; y += x4; d0[t] = y
        y = -4 * x1; y += -4 * x2; y += x3; y += x4; d1[t] = y
        y = 4 * x1; y += -4 * x2; y -= x3; y += x4; d2[t] = y
        y = -2 * x1; y -= x2; y += 2 * x3; y += x4; d3[t] = y
        y = 2 * x1; y -= x2; y += -2 * x3; y += x4; d4[t] = y
        y = 4 * x1; y += -5 * x3; y += x5; d5[t] = y
    }
}

/// F(4, 3)'s `Aᵀ` (4 x 6) applied to 6 vectors of `n` floats (`src + k * srcStride`) in one pass, into
/// `dst + i * dstStride`; the same operations in the same order as `applyRows(f4x3.at, ...)`.
@inline(__always)
private func at6(_ src: UnsafePointer<Float>, _ srcStride: Int, _ dst: UnsafeMutablePointer<Float>,
                 _ dstStride: Int, _ n: Int) {
    let s0 = src, s1 = src + srcStride, s2 = src + 2 * srcStride
    let s3 = src + 3 * srcStride, s4 = src + 4 * srcStride, s5 = src + 5 * srcStride
    let d0 = dst, d1 = dst + dstStride, d2 = dst + 2 * dstStride, d3 = dst + 3 * dstStride
    for t in 0..<n {
        let x0 = s0[t], x1 = s1[t], x2 = s2[t], x3 = s3[t], x4 = s4[t], x5 = s5[t]
        var y: Float
        y = x0; y += x1; y += x2; y += x3; y += x4; d0[t] = y
        y = x1; y -= x2; y += 2 * x3; y += -2 * x4; d1[t] = y
        y = x1; y += x2; y += 4 * x3; y += 4 * x4; d2[t] = y
        y = x1; y -= x2; y += 8 * x3; y += -8 * x4; y += x5; d3[t] = y
    }
}
