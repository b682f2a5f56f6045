import Tensors

/// mmdetection's `FPN` (in [256, 512, 1024, 2048], out 256, `num_outs = 5`, no extra convolutions).
/// Keys `neck.lateral_convs.i.conv.*`, `neck.fpn_convs.i.conv.*`.
///
/// Inputs C2..C5; outputs P2..P6 `[256, h, w]` at strides 4..64: lateral 1x1 convolutions, a top-down
/// pass adding each coarser map upsampled by nearest neighbour to the finer map's size, a 3x3
/// convolution per level, and P6 = `max_pool2d(P5, 1, stride=2)`.
public struct FPN: Sendable {
    let lateralConvs: [Conv2d]
    let fpnConvs: [Conv2d]

    init(binder: WeightBinder, inChannels: [Int] = [256, 512, 1024, 2048], outChannels: Int = 256) {
        lateralConvs = inChannels.enumerated().map { i, c in
            binder.conv("neck.lateral_convs.\(i).conv", cin: c, cout: outChannels, k: 1)
        }
        fpnConvs = inChannels.indices.map { i in
            binder.conv("neck.fpn_convs.\(i).conv", cin: outChannels, cout: outChannels, k: 3, padding: 1)
        }
    }

    func callAsFunction(_ inputs: [Tensor], _ p: Forward = Forward()) -> [Tensor] {
        var laterals = zip(lateralConvs, inputs).map { p.run($0, $1) }
        for i in stride(from: laterals.count - 1, to: 0, by: -1) {
            let (_, h, w) = laterals[i - 1].chw
            laterals[i - 1].add(laterals[i].resizedNearest(height: h, width: w, engine: p.engine), engine: p.engine)
        }
        var outs = zip(fpnConvs, laterals).map { p.run($0, $1) }
        if let last = outs.last { outs.append(last.maxPool2d(kernel: 1, stride: 2, engine: p.engine)) }
        return outs
    }
}
