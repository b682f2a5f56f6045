// Times the RoI heads, mask pasting and fusion at BDD size (720x1280, padded 736x1280), R-50 synthetic weights.
// Features are random (the heads' cost does not depend on their values); the RoIs are mmdetection's
// proposals and detections for `street_720x1280` (Tests/Fixtures/reference-heads).
//
//   swift run -c release heads-bench [repeats]
import Foundation
import PanopticFPN
import Tensors
import ZooRegistry

func floats(_ path: String) -> [Float] {
    guard let d = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("cannot read \(path); run from the package root\n".utf8))
        exit(1)
    }
    return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

/// CPU seconds of the process (all threads): less sensitive than wall time to other jobs on the machine.
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

func time<T>(_ label: String, _ times: inout [String: [Double]], _ body: () -> T) -> T {
    let t0 = DispatchTime.now().uptimeNanoseconds, c0 = cpuSeconds()
    let r = body()
    times[label, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    cpu[label, default: []].append(cpuSeconds() - c0)
    return r
}
nonisolated(unsafe) var cpu: [String: [Double]] = [:]

let repeats = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 3 : 3
// HEADS_BENCH_WINOGRAD=off|f2x3|f4x3 picks the 3x3 convolution path (default: the library's).
var engine = EngineOptions.default
switch ProcessInfo.processInfo.environment["HEADS_BENCH_WINOGRAD"] {
case "off": engine.winograd = nil
case "f2x3": engine.winograd = .f2x3
case "f4x3": engine.winograd = .f4x3
default: break
}
let fixtures = "Tests/Fixtures/reference-heads/street_720x1280"
let proposals5 = floats("\(fixtures)/proposals.f32")
let proposals = (0..<(proposals5.count / 5)).flatMap { i in proposals5[5 * i..<5 * i + 4] }
let det5 = floats("\(fixtures)/det_bboxes.f32")
let dets = (0..<(det5.count / 5)).map { i in
    Detection(x1: det5[5 * i], y1: det5[5 * i + 1], x2: det5[5 * i + 2], y2: det5[5 * i + 3], score: det5[5 * i + 4],
              label: i % 10)
}
guard let registry = try? Registry.builtIn(), let spec = try? ModelSpec.r50 else { fatalError("built-in registry or layout") }
let config = registry.testConfig
let store = SyntheticWeights.make(spec: spec, seed: 1)
let binder = WeightBinder(store: store)
let head = StandardRoIHead(binder: binder, numClasses: registry.numThings, config: config)
let fusion = HeuristicFusionHead(numThings: registry.numThings, numStuff: registry.numStuff, config: config.panoptic)
var rng = SystemRandomNumberGenerator()
let feats = [(184, 320), (92, 160), (46, 80), (23, 40)].map { h, w in
    Tensor(shape: [256, h, w], data: (0..<(256 * h * w)).map { _ in Float.random(in: -1...1, using: &rng) })
}
var semantic = [UInt8](repeating: 0, count: 720 * 1280)
for i in semantic.indices {
    let band: Int = i / 1280 / 40 + i % 1280 / 200
    semantic[i] = UInt8(band % 31)
}
var times: [String: [Double]] = [:]
for _ in 0..<repeats {
    let maps = time("channels-last copy of P2..P5", &times) { RoIFeatureMaps(feats, engine: engine) }
    let roiFeats = time("roi_align 7x7 (1000 RoIs)", &times) {
        head.extract(maps, boxes: proposals, outputSize: config.rcnn.roiOutputSize, engine: engine)
    }
    _ = time("box head (one GEMM per layer)", &times) { head.bboxHead.forward(roiFeats, count: proposals.count / 4, engine: engine) }
    let r = time("box branch incl. decode + panoptic NMS", &times) {
        head.boxes(maps, proposals: proposals, imageShape: (720, 1280), scaleFactor: [1, 1, 1, 1], engine: engine)
    }
    _ = head.detections(r)
    let maskFeats = time("mask roi_align 14x14 (100 RoIs)", &times) {
        head.extract(maps, boxes: dets.flatMap { [$0.x1, $0.y1, $0.x2, $0.y2] },
                     outputSize: config.rcnn.maskRoiOutputSize, engine: engine)
    }
    let logits = time("FCN mask head (100 RoIs)", &times) {
        head.maskHead.forward(maskFeats, count: dets.count, roiSize: config.rcnn.maskRoiOutputSize, engine: engine)
    }
    let masks = time("paste + threshold (100 masks)", &times) {
        head.binaryMasks(logits: logits, detections: dets, imageHeight: 720, imageWidth: 1280, engine: engine)
    }
    _ = time("fusion", &times) {
        let (ids, labels) = fusion.layMasks(detections: dets, masks: masks, height: 720, width: 1280)
        return fusion.fuse(idMap: ids, labels: labels, semantic: semantic)
    }
}
print("median of \(repeats), winograd \(engine.winograd?.rawValue ?? "off"), OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)")")
print("stage                                        wall (s)   CPU (s, all threads)")
for (k, v) in times.sorted(by: { $0.key < $1.key }) {
    let s = v.sorted(), c = (cpu[k] ?? [0]).sorted()
    print(k.padding(toLength: 42, withPad: " ", startingAt: 0) + String(format: " %8.3f %10.3f", s[s.count / 2], c[c.count / 2]))
}

// The mask head's layers alone, on one stacked chunk of 50 RoIs ([256, 50 * 15, 14]).
do {
    var parts: [String: [Double]] = [:]
    let x = Tensor(shape: [256, 750, 14], data: (0..<(256 * 750 * 14)).map { _ in Float.random(in: 0...1, using: &rng) })
    let w = Tensor(shape: [256, 256, 3, 3], data: (0..<(256 * 256 * 9)).map { _ in Float.random(in: -0.03...0.03, using: &rng) })
    let conv = Conv2d(weight: w, bias: [Float](repeating: 0, count: 256), padding: 1)
    let up = ConvTranspose2d(weight: Tensor(shape: [256, 256, 2, 2], data: Array(w.data[0..<(256 * 256 * 4)])))
    for _ in 0..<repeats {
        _ = time("  layer: conv 3x3 on 50 stacked RoIs", &parts) { conv(x, relu: true) }
        _ = time("  layer: deconv 2x2 on 50 stacked RoIs", &parts) { up(x, relu: true) }
        if ProcessInfo.processInfo.environment["HEADS_BENCH_P3"] != nil {
            let p3 = Tensor(shape: [256, 64, 160], data: Array(x.data[0..<(256 * 64 * 160)]))
            _ = time("  layer: conv 3x3 on [256, 64, 160]", &parts) { conv(p3, relu: true) }
        }
    }
    for (k, v) in parts.sorted(by: { $0.key < $1.key }) {
        let s = v.sorted(), c = (cpu[k] ?? [0]).sorted()
        print(k.padding(toLength: 42, withPad: " ", startingAt: 0) + String(format: " %8.3f %10.3f", s[s.count / 2], c[c.count / 2]))
    }
}
