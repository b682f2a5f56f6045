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

    public func callAsFunction(_ x: Tensor, relu: Bool = false) -> Tensor {
        let cin = weight.shape[0], cout = weight.shape[1], k = weight.shape[2]
        let batched = x.rank == 4
        let n = batched ? x.shape[0] : 1
        let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
        precondition(x.shape[x.rank - 3] == cin, "ConvTranspose2d: input \(x.shape) for weight \(weight.shape)")
        let m = cout * k * k, hw = h * w
        var cols = [Float](repeating: 0, count: m * hw)
        var out = [Float](repeating: 0, count: n * cout * hw * k * k)
        let oh = h * k, ow = w * k
        weight.data.withUnsafeBufferPointer { wp in
            x.data.withUnsafeBufferPointer { xp in
                for b in 0..<n {
                    // cols[(co, ky, kx), p] = sum_ci W[ci, (co, ky, kx)] x[ci, p]
                    cols.withUnsafeMutableBufferPointer { cp in
                        GEMM.sgemm(transA: true, m: m, n: hw, k: cin, a: wp.baseAddress!, lda: m,
                                   b: xp.baseAddress! + b * cin * hw, ldb: hw, c: cp.baseAddress!, ldc: hw)
                    }
                    let base = b * cout * oh * ow
                    for co in 0..<cout {
                        let bc = bias[co]
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let row = ((co * k + ky) * k + kx) * hw
                                for y in 0..<h {
                                    for xx in 0..<w {
                                        var v = cols[row + y * w + xx] + bc
                                        if relu { v = max(v, 0) }
                                        out[base + (co * oh + y * k + ky) * ow + xx * k + kx] = v
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: batched ? [n, cout, oh, ow] : [cout, oh, ow], data: out)
    }
}
