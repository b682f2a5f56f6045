import Foundation
import SafeTensors
import Tensors

/// Synthetic, exactly reproducible weights: the recipe of the reference `WEIGHTS.md` (`make_weights.py`).
///
/// Only element-wise IEEE-754 double arithmetic on a counter-based generator (splitmix64's finaliser), each
/// value rounded once to float32, so every bit equals the Python recipe's. The reference outputs of
/// mmdetection were computed with these weights, which lets the tests run the model with no large file.
public enum SyntheticWeights {
    static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// Residual branches end with a smaller BatchNorm gamma so activations stay bounded through the depth.
    static let residualGamma = 0.2

    static let gain: [String: Double] = [
        "rpn_head.rpn_cls.weight": 0.08,
        "rpn_head.rpn_reg.weight": 0.05,
        "roi_head.bbox_head.fc_cls.weight": 0.3,
        "roi_head.bbox_head.fc_reg.weight": 0.05,
        "roi_head.mask_head.conv_logits.weight": 0.15,
        "semantic_head.conv_logits.weight": 0.3,
    ]

    /// Keys whose rows are centred (consecutive differences), so their outputs have mean 0.
    static let centred: Set<String> = [
        "rpn_head.rpn_cls.weight",
        "roi_head.bbox_head.fc_cls.weight",
        "roi_head.mask_head.conv_logits.weight",
        "semantic_head.conv_logits.weight",
    ]

    static let biasAdd: [String: [(Int, Double)]] = [
        "roi_head.bbox_head.fc_cls.bias": [(10, 4.0), (0, 3.5), (4, 3.0), (9, 4.5), (6, 2.0)],
        "semantic_head.conv_logits.bias": [(6, 0.6), (30, 0.6), (28, 0.4)],
    ]

    @inline(__always) static func mix(_ z0: UInt64) -> UInt64 {
        var z = (z0 ^ (z0 >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// n values of mean 0 and variance 1: sqrt(3) (2u - 1) with u uniform on [0, 1), 53 bits.
    static func unitNormalish(seed: UInt64, index t: Int, count n: Int) -> [Double] {
        let base = mix(seed ^ (UInt64(t + 1) &* golden))
        let root3 = 3.0.squareRoot()
        var z = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let x = mix(base &+ UInt64(i + 1) &* golden)
            let u = Double(x >> 11) * 0x1p-53
            z[i] = root3 * (2.0 * u - 1.0)
        }
        return z
    }

    /// Norm layers: GroupNorm anywhere, BatchNorm in the backbone (`.bnK.` and `.downsample.1.`).
    public static func isNorm(_ key: String) -> Bool {
        if key.contains(".gn.") { return true }
        let prefix = "backbone."
        guard key.hasPrefix(prefix) else { return false }
        if key.contains(".downsample.1.") { return true }
        let rest = Array(("." + key.dropFirst(prefix.count)).utf8)
        // ".bn" + digit + "."
        let dot = UInt8(ascii: "."), b = UInt8(ascii: "b"), n = UInt8(ascii: "n")
        var i = 0
        while i + 4 < rest.count {
            if rest[i] == dot, rest[i + 1] == b, rest[i + 2] == n,
               (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(rest[i + 3]), rest[i + 4] == dot {
                return true
            }
            i += 1
        }
        return false
    }

    static func fanIn(_ key: String, _ shape: [Int]) -> Int {
        if key == "roi_head.mask_head.upsample.weight" { return shape[0] }  // ConvTranspose2d: (in, out, kh, kw)
        return shape.dropFirst().reduce(1, *)
    }

    /// The values of one float32 tensor of the spec (position `t`), as float32.
    static func values(_ p: ParameterSpec, index t: Int, seed: UInt64) -> [Float] {
        let n = p.count
        var z = unitNormalish(seed: seed, index: t, count: n)
        let leaf = p.key.split(separator: ".").last.map(String.init) ?? p.key
        var v = [Double](repeating: 0, count: n)
        if isNorm(p.key) {
            switch leaf {
            case "weight":
                let res = p.key.hasSuffix(".bn3.weight")
                for i in 0..<n {
                    let w = 1.0 + 0.1 * z[i]
                    v[i] = res ? residualGamma * w : w
                }
            case "running_var":
                for i in 0..<n { v[i] = 1.0 + 0.1 * abs(z[i]) }
            default:  // bias, running_mean
                for i in 0..<n { v[i] = 0.1 * z[i] }
            }
        } else if leaf == "weight" {
            let scale = (gain[p.key] ?? 1.0) * (2.0 / Double(fanIn(p.key, p.shape))).squareRoot()
            if centred.contains(p.key), let rows = p.shape.first, rows > 0 {
                let m = n / rows
                let r2 = 1.0 / 2.0.squareRoot()
                var c = z
                for r in 0..<rows {
                    for j in 0..<m { c[r * m + j] = (z[r * m + j] - z[r * m + (j + 1) % m]) * r2 }
                }
                z = c
            }
            for i in 0..<n { v[i] = z[i] * scale }
        } else {  // bias
            for i in 0..<n { v[i] = 0.01 * z[i] }
            for (c, off) in biasAdd[p.key] ?? [] where c < n { v[c] = v[c] + off }
        }
        return v.map { Float($0) }
    }

    /// The weights of a layout and seed. Integer tensors (`num_batches_tracked`) are stored as float zeros.
    ///
    /// - Parameters:
    ///   - spec: the checkpoint layout, e.g. `ModelSpec.r50`.
    ///   - seed: the recipe's seed (the references use 1 for R-50 and 3 for R-101).
    public static func make(spec: [ParameterSpec], seed: UInt64) -> InMemoryWeightStore {
        var store = InMemoryWeightStore()
        for (t, p) in spec.enumerated() {
            if p.dtype == .int64 {
                store.set(p.key, Tensor(zeros: p.shape))
            } else {
                store.set(p.key, Tensor(shape: p.shape, data: values(p, index: t, seed: seed)))
            }
        }
        return store
    }

    /// Writes the weights of a layout and seed as a `.safetensors` file in the checkpoint's own key layout
    /// and dtypes (F32, and I64 zeros for `num_batches_tracked`), as `make_weights.py --safetensors` does.
    public static func writeSafeTensors(spec: [ParameterSpec], seed: UInt64, to url: URL,
                                        metadata: [String: String] = [:]) throws {
        let weights = make(spec: spec, seed: seed)
        let writer = try SafeTensorsWriter(url: url, tensors: spec.map {
            .init(name: $0.key, dtype: $0.dtype == .int64 ? .I64 : .F32, shape: $0.shape)
        }, metadata: metadata)
        for p in spec {
            if p.dtype == .int64 {
                try writer.write([UInt8](repeating: 0, count: 8 * p.count))
            } else {
                try weights.tensor(p.key).data.withUnsafeBytes { try writer.write($0) }
            }
        }
        try writer.finish()
    }

    /// The bytes `make_weights.py` hashes, tensor by tensor in spec order: the key's UTF-8 bytes, then the
    /// tensor's little-endian bytes (int64 zeros for integer tensors).
    public static func forEachDigestChunk(spec: [ParameterSpec], store: WeightStore,
                                          _ body: ([UInt8]) -> Void) throws {
        for p in spec {
            body(Array(p.key.utf8))
            if p.dtype == .int64 {
                body([UInt8](repeating: 0, count: 8 * p.count))
            } else {
                let t = try store.tensor(p.key)
                var bytes = [UInt8](repeating: 0, count: 4 * t.count)
                for (i, x) in t.data.enumerated() {
                    let b = x.bitPattern
                    bytes[4 * i] = UInt8(truncatingIfNeeded: b)
                    bytes[4 * i + 1] = UInt8(truncatingIfNeeded: b >> 8)
                    bytes[4 * i + 2] = UInt8(truncatingIfNeeded: b >> 16)
                    bytes[4 * i + 3] = UInt8(truncatingIfNeeded: b >> 24)
                }
                body(bytes)
            }
        }
    }
}
