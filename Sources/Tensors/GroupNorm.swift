/// Group normalisation (torch `nn.GroupNorm`) of a `[C, H, W]` map with a per-channel affine, optionally
/// followed by ReLU: channels split into `groups` consecutive groups, each normalised by its own mean and
/// (biased) variance over its channels and pixels.
public struct GroupNorm: Sendable {
    public var groups: Int
    public var gamma: [Float]
    public var beta: [Float]
    public var eps: Float

    public init(groups: Int, gamma: [Float], beta: [Float], eps: Float = 1e-5) {
        precondition(gamma.count == beta.count && gamma.count % groups == 0, "GroupNorm: \(gamma.count) / \(groups)")
        self.groups = groups
        self.gamma = gamma
        self.beta = beta
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor, relu: Bool = false, engine: EngineOptions = .default) -> Tensor {
        let (c, h, w) = x.chw
        precondition(c == gamma.count, "GroupNorm: input \(x.shape) for \(gamma.count) channels")
        var y = x.rank == 3 ? x : x.reshaped([c, h, w])
        let per = c / groups, plane = h * w
        y.data.withUnsafeMutableBufferPointer { p in
            let bs = UnsafeSendableMutablePointer(p.baseAddress!)
            parallelFor(groups, threads: engine.threads) { range in
                let base = bs.pointer
                for g in range {
                    let start = base + g * per * plane, n = per * plane
                    // Mean and variance in double: a group holds up to millions of values.
                    var sum = 0.0
                    for i in 0..<n { sum += Double(start[i]) }
                    let mean = sum / Double(n)
                    var sq = 0.0
                    for i in 0..<n { let d = Double(start[i]) - mean; sq += d * d }
                    let rstd = 1.0 / (sq / Double(n) + Double(eps)).squareRoot()
                    for ci in 0..<per {
                        let ch = g * per + ci
                        let a = Float(Double(gamma[ch]) * rstd)
                        let b = beta[ch] - Float(mean * Double(gamma[ch]) * rstd)
                        let row = start + ci * plane
                        if relu {
                            for i in 0..<plane { row[i] = max(row[i] * a + b, 0) }
                        } else {
                            for i in 0..<plane { row[i] = row[i] * a + b }
                        }
                    }
                }
            }
        }
        return y
    }
}
