import Tensors

/// mmdetection's `ResNet` (style "pytorch": the stride sits on the 3x3 convolution), inference only, with
/// every BatchNorm folded into its convolution. Keys `backbone.*`; the properties carry mmdetection's names
/// (`conv1` with `bn1` folded in, `layer1`...`layer4` in `resLayers`, each block's `conv1..3`, `downsample`).
///
/// Input `[3, H, W]`; outputs C2..C5 (`out_indices = (0, 1, 2, 3)`) at strides 4, 8, 16, 32 with
/// 256, 512, 1024, 2048 channels.
public struct ResNet: Sendable {
    /// mmdetection's `Bottleneck` (expansion 4): `conv1`/`bn1`, `conv2`/`bn2`, `conv3`/`bn3` and, in the first
    /// block of a stage, `downsample.0`/`downsample.1`, each BatchNorm folded into its convolution.
    struct Bottleneck: Sendable {
        var conv1: Conv2d
        var conv2: Conv2d
        var conv3: Conv2d
        var downsample: Conv2d?

        /// Binds the block whose keys start with `prefix` (`backbone.layerS.B`).
        init(binder: WeightBinder, prefix p: String, inplanes: Int, planes: Int, stride s: Int, downsample: Bool) {
            self.downsample = downsample
                ? binder.convBN(p + ".downsample.0", bn: p + ".downsample.1", cin: inplanes, cout: planes * 4, k: 1,
                                stride: s)
                : nil
            conv1 = binder.convBN(p + ".conv1", bn: p + ".bn1", cin: inplanes, cout: planes, k: 1)
            conv2 = binder.convBN(p + ".conv2", bn: p + ".bn2", cin: planes, cout: planes, k: 3, stride: s, padding: 1)
            conv3 = binder.convBN(p + ".conv3", bn: p + ".bn3", cin: planes, cout: planes * 4, k: 1)
        }

        func callAsFunction(_ x: Tensor, _ p: Forward) -> Tensor {
            let identity = downsample.map { p.run($0, x) } ?? x
            var out = p.run(conv1, x, relu: true)
            out = p.run(conv2, out, relu: true)
            return p.run(conv3, out, relu: true, residual: identity)
        }
    }

    /// 50 or 101 (or another standard depth), inferred from the keys.
    public let depth: Int
    /// The 7x7 stem convolution `backbone.conv1` with `backbone.bn1` folded in.
    let conv1: Conv2d
    /// `layer1`...`layer4` (mmdetection's `res_layers`), the blocks of each stage.
    let resLayers: [[Bottleneck]]

    static let depths: [[Int]: Int] = [[2, 2, 2, 2]: 18, [3, 4, 6, 3]: 50, [3, 4, 23, 3]: 101, [3, 8, 36, 3]: 152]

    /// Binds `backbone.*`; the number of blocks per stage comes from the keys present.
    init(binder: WeightBinder) throws {
        /// mmdetection's `layer_name = f'layer{i + 1}'`, under `backbone`.
        func layerName(_ i: Int) -> String { "backbone.layer\(i + 1)" }
        var blocks: [Int] = []
        for i in 0..<4 {
            var n = 0
            while binder.contains("\(layerName(i)).\(n).conv1.weight") { n += 1 }
            blocks.append(n)
        }
        guard let depth = ResNet.depths[blocks], depth >= 50 else {
            throw PanopticFPNError.unknownDepth("blocks per stage \(blocks) match no bottleneck ResNet "
                + "(50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3])")
        }
        self.depth = depth
        conv1 = binder.convBN("backbone.conv1", bn: "backbone.bn1", cin: 3, cout: 64, k: 7, stride: 2, padding: 3)
        var inplanes = 64
        var resLayers: [[Bottleneck]] = []
        for (i, n) in blocks.enumerated() {
            let planes = 64 << i, stride = i == 0 ? 1 : 2
            var stage: [Bottleneck] = []
            for b in 0..<n {
                stage.append(Bottleneck(binder: binder, prefix: "\(layerName(i)).\(b)", inplanes: inplanes,
                                        planes: planes, stride: b == 0 ? stride : 1, downsample: b == 0))
                inplanes = planes * 4
            }
            resLayers.append(stage)
        }
        self.resLayers = resLayers
    }

    /// C2..C5 of a `[3, H, W]` input.
    func callAsFunction(_ x: Tensor, _ p: Forward = Forward()) -> [Tensor] {
        var h = p.run(conv1, x, relu: true).maxPool2d(kernel: 3, stride: 2, padding: 1, engine: p.engine)
        var outs: [Tensor] = []
        for stage in resLayers {
            for block in stage { h = block(h, p) }
            outs.append(h)
        }
        return outs
    }
}
