// Times the dense stages of Panoptic FPN (backbone, FPN, RPN, semantic head) on one image with the
// synthetic weights of the reference recipe, and prints the per-stage median and GFLOP/s.
//
//   swift build -c release --product dense-bench
//   .build/release/dense-bench IMAGE.jpg [--depth 50|101] [--runs 5] [--warmup 1] [--openblas-threads]
//
// Run it with and without OPENBLAS_CORETYPE set to compare OpenBLAS kernels.
import Foundation
import Imaging
import PanopticFPN
import ZooRegistry
import Tensors
import COpenBLAS

var args = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    args.removeSubrange(i...(i + 1))
    return v
}
let depth = option("--depth", 50), runs = option("--runs", 5), warmup = option("--warmup", 1)
var engine = EngineOptions.default
if let i = args.firstIndex(of: "--winograd"), i + 1 < args.count {
    engine.winograd = Conv2d.Winograd(rawValue: args[i + 1])  // "off" (or anything else) selects im2col + GEMM
    args.removeSubrange(i...(i + 1))
}
if let i = args.firstIndex(of: "--openblas-threads") {
    engine.gemmThreading = .openBLASPool  // GEMMs on OpenBLAS's own threads (the former behaviour), to compare
    args.remove(at: i)
}
engine.prepareBLAS()
if args.first == "--gemm" {
    // Calibration: OpenBLAS sgemm alone, 256 x 8192 x 2304 (an FPN 3x3 layer's shape).
    let (m, n, k) = (256, 8192, 2304)
    let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    var best = Double.infinity
    for _ in 0..<5 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b,
                    Int32(n), 0, &c, Int32(n))
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    print(String(format: "OpenBLAS sgemm %dx%dx%d on its own threads: %.1f ms, %.1f GFLOP/s", m, n, k, best * 1000,
                 2 * Double(m * n * k) / best / 1e9))
    // The kernels' SGEMM (zoo's AVX-512 kernel, or OpenBLAS single-threaded), split over the threads.
    engine.prepareBLAS()
    best = .infinity
    for _ in 0..<5 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            engine.sgemm(m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
        } } }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    print(String(format: "%@ sgemm, %d threads: %.1f ms, %.1f GFLOP/s", engine.sgemmName, engine.threads,
                 best * 1000, 2 * Double(m * n * k) / best / 1e9))
    exit(0)
}
if args.first == "--conv" {
    // One 3x3 convolution, by default 256 -> 256 on a 184x320 map (FPN P2 of a 736x1280 input), per
    // algorithm: --conv [CIN COUT H W].
    let dims = args.dropFirst().compactMap { Int($0) }
    let (ci, co, h, w) = dims.count == 4 ? (dims[0], dims[1], dims[2], dims[3]) : (256, 256, 184, 320)
    engine.winogradMinimumPixels = 1
    let x = Tensor(shape: [ci, h, w], data: (0..<(ci * h * w)).map { Float($0 % 17) / 17 - 0.5 })
    let conv = Conv2d(weight: Tensor(shape: [co, ci, 3, 3], data: (0..<(co * ci * 9)).map { Float($0 % 13) / 130 - 0.05 }),
                      padding: 1)
    for variant in [nil] + Conv2d.Winograd.allCases.map(Optional.some) {
        engine.winograd = variant
        _ = conv(x, engine: engine)
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = conv(x, engine: engine)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let macs = Double(conv.multiplyAdds(h: h, w: w))
        print(String(format: "%@: %.1f ms, %.1f effective GFLOP/s", variant?.rawValue ?? "gemm", best * 1000,
                     2 * macs / best / 1e9))
    }
    exit(0)
}
guard let path = args.first else {
    FileHandle.standardError.write("usage: dense-bench IMAGE [--depth 50|101] [--runs N] [--warmup N]\n".data(using: .utf8)!)
    exit(2)
}
guard let spec = try? ModelSpec.forDepth(depth) else {
    FileHandle.standardError.write("--depth must be 50 or 101\n".data(using: .utf8)!)
    exit(2)
}
do {
    let binder = WeightBinder(store: SyntheticWeights.make(spec: spec, seed: depth == 50 ? 1 : 3))
    let registry = try Registry.builtIn()
    let model = try DenseModel(binder: binder, registry: registry)
    let preprocess = try PreprocessConfig(registry.testConfig)
    try binder.finish(allowingUnusedPrefixes: ["roi_head."])

    var times: [String: [Double]] = [:]
    var macs: [String: Int] = [:]
    var order: [String] = []
    for run in 0..<(warmup + runs) {
        let profiler = StageProfiler()
        let image = try profiler.measure("decode+preprocess") { Preprocess.run(try BGRImage.load(path: path), config: preprocess) }
        let out = model(image, profiler: profiler, engine: engine)
        _ = profiler.measure("semantic_upsample") {
            PanopticFPNHead.logitsAtOriginalSize(out.semanticLogits, meta: image.meta, engine: engine)
        }
        // Informational, already inside "rpn": the proposal generation alone (top-k, decoding, NMS).
        _ = profiler.measure("(rpn proposals)") { model.rpnHead.proposals(out.rpnRaw, imageShape: image.meta.imgShape) }
        if run < warmup { continue }
        for s in profiler.stages {
            if times[s.name] == nil { order.append(s.name) }
            times[s.name, default: []].append(s.seconds)
            macs[s.name] = s.multiplyAdds
        }
    }
    func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
    print("R-\(depth), \(path), median of \(runs) after \(warmup) warm-up, OPENBLAS_CORETYPE="
          + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)"))
    print("stage                    ms     GMAC  GFLOP/s (2 x multiply-adds of the direct form / time)")
    var dense = 0.0
    for name in order {
        let t = median(times[name] ?? [0]), m = macs[name] ?? 0
        if name != "decode+preprocess" && !name.hasPrefix("(") { dense += t }
        print(name.padding(toLength: 18, withPad: " ", startingAt: 0)
              + String(format: " %8.1f %8.2f %8.1f", t * 1000, Double(m) / 1e9, t > 0 ? 2 * Double(m) / t / 1e9 : 0))
    }
    print("dense total".padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: " %8.1f", dense * 1000))
} catch {
    FileHandle.standardError.write("dense-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
