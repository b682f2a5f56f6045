import COpenBLAS

/// A transposed convolution whose kernel equals its stride (torch `ConvTranspose2d(k, stride=k)`, no
/// padding), e.g. the mask head's 2x2 stride-2 upsampling: each input pixel spreads into its own k x k
/// output patch, so it is one GEMM and a scatter.
///
/// Layouts: input `[Cin, H, W]` or `[N, Cin, H, W]`, weight `[Cin, Cout, k, k]` (torch's layout),
/// output `[Cout, kH, kW]` (or `[N, Cout, kH, kW]`).
public struct ConvTranspose2d: Sendable {
    public var weight: Tensor
    public var bias: [Float]

    public init(weight: Tensor, bias: [Float]? = nil) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3],
                     "ConvTranspose2d: weight \(weight.shape) is not [Cin, Cout, k, k]")
        self.weight = weight
        self.bias = bias ?? [Float](repeating: 0, count: weight.shape[1])
    }

    public func callAsFunction(_ x: Tensor, relu: Bool = false, engine: EngineOptions = .default) -> Tensor {
        let cin = weight.shape[0], cout = weight.shape[1], k = weight.shape[2]
        let batched = x.rank == 4
        let n = batched ? x.shape[0] : 1
        let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
        precondition(x.shape[x.rank - 3] == cin, "ConvTranspose2d: input \(x.shape) for weight \(weight.shape)")
        let m = cout * k * k, hw = h * w
        let oh = h * k, ow = w * k
        let out = Tensor(uninitialized: batched ? [n, cout, oh, ow] : [cout, oh, ow]) { op in
            guard let obase = op.baseAddress, m > 0, hw > 0 else { return }
            ScratchPool.shared.with(m * hw) { cols in
                weight.data.withUnsafeBufferPointer { wp in
                    x.data.withUnsafeBufferPointer { xp in
                        bias.withUnsafeBufferPointer { bp in
                            guard let wbase = wp.baseAddress, let xbase = xp.baseAddress,
                                  let b = bp.baseAddress else { return }
                            for img in 0..<n {
                                // cols[(co, ky, kx), p] = sum_ci W[ci, (co, ky, kx)] x[ci, p]
                                GEMM.sgemm(transA: true, m: m, n: hw, k: cin, a: wbase, lda: m,
                                           b: xbase + img * cin * hw, ldb: hw, c: cols, ldc: hw, engine: engine)
                                // Scatter: output row y * k + ky of channel co interleaves the k rows
                                // (co, ky, 0..<k) of input row y. Channels split over the threads.
                                let bases = UnsafeSendableMutablePointer(obase + img * cout * oh * ow)
                                let colss = UnsafeSendablePointer(cols), bs = UnsafeSendablePointer(b)
                                parallelFor(cout, threads: engine.threads,
                                            minPerThread: max(1, 4096 / max(1, oh * ow))) { range in
                                    let base = bases.pointer, cols = colss.pointer, b = bs.pointer
                                    for co in range {
                                        let bc = b[co]
                                        for ky in 0..<k {
                                            for y in 0..<h {
                                                let dst = base + (co * oh + y * k + ky) * ow
                                                for kx in 0..<k {
                                                    let src = cols + ((co * k + ky) * k + kx) * hw + y * w
                                                    if relu {
                                                        for xx in 0..<w { dst[xx * k + kx] = max(src[xx] + bc, 0) }
                                                    } else {
                                                        for xx in 0..<w { dst[xx * k + kx] = src[xx] + bc }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
