import Tensors

/// mmdetection's `PanopticFPNHead`: semantic logits from P2..P5. Keys `semantic_head.*`.
///
/// Level i (stride 4 * 2^i) goes through `ConvUpsample`: max(i, 1) times (3x3 conv without bias -> GroupNorm
/// (32 groups) -> ReLU), each of the first i followed by a 2x bilinear upsampling (align_corners False);
/// the levels are summed at stride 4 and a 1x1 `conv_logits` gives one channel per stuff class, then one for
/// all things merged (31 for BDD100K: the registry's classes decide).
public struct PanopticFPNHead: Sendable {
    /// mmcv's `ConvModule` as the head builds it: a 3x3 convolution without bias (`conv`), a GroupNorm (`gn`)
    /// and ReLU.
    struct ConvModule: Sendable {
        var conv: Conv2d
        var gn: GroupNorm
    }

    /// mmdetection's `ConvUpsample`: its `conv` list of max(i, 1) modules for level i; at levels i >= 1 each
    /// module is followed by a 2x upsampling.
    struct ConvUpsample: Sendable {
        var conv: [ConvModule]
    }

    /// One `ConvUpsample` per level P2..P5.
    let convUpsampleLayers: [ConvUpsample]
    let convLogits: Conv2d

    init(binder: WeightBinder, inChannels: Int = 256, innerChannels: Int = 128, numLevels: Int = 4, numClasses: Int,
         groups: Int = 32) {
        convUpsampleLayers = (0..<numLevels).map { i in
            ConvUpsample(conv: (0..<max(i, 1)).map { j in
                let p = "semantic_head.conv_upsample_layers.\(i).conv.\(j)"
                let conv = binder.conv(p + ".conv", cin: j == 0 ? inChannels : innerChannels, cout: innerChannels,
                                       k: 3, padding: 1, bias: false)
                let gn = GroupNorm(groups: groups, gamma: binder.take(p + ".gn.weight", shape: [innerChannels]).data,
                                   beta: binder.take(p + ".gn.bias", shape: [innerChannels]).data)
                return ConvModule(conv: conv, gn: gn)
            })
        }
        convLogits = binder.conv("semantic_head.conv_logits", cin: innerChannels, cout: numClasses, k: 1)
    }

    /// `[31, H/4, W/4]` logits from P2..P5 (P6 unused).
    func callAsFunction(_ features: [Tensor], _ p: Forward = Forward()) -> Tensor {
        var sum: Tensor?
        for (i, level) in convUpsampleLayers.enumerated() {
            var x = features[i]
            for (j, module) in level.conv.enumerated() {
                x = module.gn(p.run(module.conv, x), relu: true, engine: p.engine)
                if j < i {
                    let (_, h, w) = x.chw
                    x = x.resizedBilinear(height: 2 * h, width: 2 * w, scaleFactor: 2, engine: p.engine)
                }
            }
            if sum == nil { sum = x } else { sum?.add(x, engine: p.engine) }
        }
        return p.run(convLogits, sum ?? Tensor(zeros: [0, 0, 0]))
    }

    /// mmdetection's `simple_test` with `rescale=True`: bilinear to the padded input size, crop to the
    /// resized image, bilinear to the original size. `[31, H, W]`.
    public static func logitsAtOriginalSize(_ quarter: Tensor, meta: ImageMeta, engine: EngineOptions = .default) -> Tensor {
        let cropped = quarter.resizedBilinear(height: meta.padShape.h, width: meta.padShape.w,
                                              cropHeight: meta.imgShape.h, cropWidth: meta.imgShape.w, engine: engine)
        if meta.imgShape == meta.oriShape { return cropped }
        return cropped.resizedBilinear(height: meta.oriShape.h, width: meta.oriShape.w, engine: engine)
    }
}
