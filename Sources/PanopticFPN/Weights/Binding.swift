import Tensors

extension WeightBinder {
    /// A bias-free convolution `prefix.weight` followed by the frozen BatchNorm `bnPrefix`, folded into one.
    func convBN(_ prefix: String, bn bnPrefix: String, cin: Int, cout: Int, k: Int, stride: Int = 1,
                padding: Int = 0) -> Conv2d {
        let w = take(prefix + ".weight", shape: [cout, cin, k, k])
        let gamma = take(bnPrefix + ".weight", shape: [cout]).data
        let beta = take(bnPrefix + ".bias", shape: [cout]).data
        let mean = take(bnPrefix + ".running_mean", shape: [cout]).data
        let variance = take(bnPrefix + ".running_var", shape: [cout]).data
        skip(bnPrefix + ".num_batches_tracked")
        return Conv2d.foldingBatchNorm(weight: w, gamma: gamma, beta: beta, mean: mean, variance: variance,
                                       stride: stride, padding: padding)
    }

    /// A convolution with its bias (`prefix.weight`, `prefix.bias`).
    func conv(_ prefix: String, cin: Int, cout: Int, k: Int, stride: Int = 1, padding: Int = 0,
              bias: Bool = true) -> Conv2d {
        let w = take(prefix + ".weight", shape: [cout, cin, k, k])
        let b = bias ? take(prefix + ".bias", shape: [cout]).data : nil
        return Conv2d(weight: w, bias: b, stride: stride, padding: padding)
    }

    /// A fully connected layer (`prefix.weight` `[cout, cin]`, `prefix.bias`).
    func linear(_ prefix: String, cin: Int, cout: Int) -> Linear {
        Linear(weight: take(prefix + ".weight", shape: [cout, cin]), bias: take(prefix + ".bias", shape: [cout]).data)
    }
}
