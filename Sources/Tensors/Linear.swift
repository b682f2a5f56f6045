import COpenBLAS

/// A fully connected layer (torch `nn.Linear`): `y = x W^T + b` for a batch of rows.
/// Layouts: input `[N, in]`, weight `[out, in]`, output `[N, out]`.
public struct Linear: Sendable {
    public var weight: Tensor
    public var bias: [Float]

    public init(weight: Tensor, bias: [Float]? = nil) {
        precondition(weight.rank == 2, "Linear: weight \(weight.shape) is not [out, in]")
        self.weight = weight
        self.bias = bias ?? [Float](repeating: 0, count: weight.shape[0])
    }

    public func callAsFunction(_ x: Tensor, relu: Bool = false, engine: EngineOptions = .default) -> Tensor {
        let nOut = weight.shape[0], nIn = weight.shape[1]
        let rows = x.count / max(nIn, 1)
        precondition(rows * nIn == x.count, "Linear: input \(x.shape) for weight \(weight.shape)")
        var y = Tensor(uninitialized: [rows, nOut]) { o in
            for r in 0..<rows { for j in 0..<nOut { o[r * nOut + j] = bias[j] } }
        }
        weight.data.withUnsafeBufferPointer { wp in
            x.data.withUnsafeBufferPointer { xp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    GEMM.sgemm(transB: true, m: rows, n: nOut, k: nIn, a: xp.baseAddress!, lda: nIn,
                               b: wp.baseAddress!, ldb: nIn, beta: 1, c: yp.baseAddress!, ldc: nOut, engine: engine)
                }
            }
        }
        if relu { y.applyReLU(engine: engine) }
        return y
    }
}
