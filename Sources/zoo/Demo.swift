import ArgumentParser
import Foundation
import ZooFiles
import PanopticFPN
import DemoSupport
import Imaging
import Pipeline
import Runner
import SafeTensors
import Tensors
import TorchCheckpoint
import ZooRegistry
import ZooStore

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole tool end to end, fully offline, in a minute: fetch, convert, reproduce, vis.",
        discussion: """
        Makes synthetic R-50 weights (the reference recipe) and writes them as a real PyTorch .pth with \
        the tool's own checkpoint writer; serves it and its .md5 from a mirror on 127.0.0.1; then runs the \
        real `zoo fetch` (MD5-verified), `zoo convert`, `zoo reproduce --split val` on a small dataset it \
        generates in the BDD100K layout (street-like scenes with exact ground-truth bitmasks) and \
        `zoo vis`, each through the same library code as the command it names, in this process. \
        Everything lives under --dir, with its own cache, so your zoo cache is not touched.

        The weights are synthetic: the model sees noise, and its score means nothing. The demo shows the \
        machinery, not the model.
        """)

    @Option(name: .long, help: ArgumentHelp("Working folder (recreated on each run).", valueName: "DIR"))
    var dir = "zoo-demo"

    @Option(name: .long, help: ArgumentHelp("Number of generated images.", valueName: "N"))
    var images = 4

    @Option(name: .long, help: ArgumentHelp("Size of the generated images.", valueName: "WxH"))
    var size = "1280x720"

    @Option(name: .long, help: ArgumentHelp("Developer option: the model's test scale as LONGxSHORT (passed to reproduce).", valueName: "WxH"))
    var scale: String?

    @Option(name: .long, help: ArgumentHelp("The zoo id whose artifacts the demo imitates (an R-50 model).", valueName: "ID"))
    var id = "r50_1x"

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if images < 1 || images > 1000 { throw ValidationError("--images takes 1...1000") }
        if SizeOption.parse(size) == nil { throw ValidationError("--size takes WxH, e.g. 1280x720") }
        if let s = scale, ScaleOption.parse(s) == nil { throw ValidationError("--scale takes LONGxSHORT, e.g. 320x192") }
    }

    func run() throws {
        try guarded {
            let total = Date()
            let root = URL(fileURLWithPath: dir).standardizedFileURL.path
            try prepare(root)
            print("zoo demo: everything offline, in \(root)")
            print("NOTE: the weights are SYNTHETIC (random, from the reference recipe): the score below means nothing.\n")
            let registry: Registry
            do { registry = try Registry.builtIn() } catch { throw CLIError(error) }
            let entry: ModelEntry
            do { entry = try registry.resolve(id) } catch { throw CLIError(error) }
            guard entry.depth == 50, let modelPath = entry.artifacts[.model], let md5Path = entry.artifacts[.md5] else {
                throw CLIError(message: "\(id) is not an R-50 model of the zoo with a .pth and .md5; use r50_1x")
            }
            let data = "\(root)/bdd100k", mirror = "\(root)/mirror", cache = "\(root)/cache", out = "\(root)/reproduce"
            guard let wh = SizeOption.parse(size) else { throw CLIError(message: "bad --size") }

            try step("1. dataset: \(images) street-like scenes \(wh.width)x\(wh.height) with ground-truth bitmasks") {
                do { try SyntheticDataset.write(root: data, split: "val", count: images, width: wh.width, height: wh.height) } catch { throw CLIError(error) }
                return "\(data)/images/10k/val/*.jpg, \(data)/labels/pan_seg/bitmasks/val/*.png"
            }
            let pth = "\(mirror)/\(modelPath)"
            try step("2. weights: synthetic R-50 (recipe seed 1) written as a PyTorch .pth") {
                try writeSyntheticCheckpoint(to: pth)
                let md5: String
                do { md5 = try Checksum.md5(of: URL(fileURLWithPath: pth)) } catch { throw CLIError(error) }
                try write("\(md5)  \((pth as NSString).lastPathComponent)\n", to: "\(mirror)/\(md5Path)")
                return "\(pth) (md5 \(md5))"
            }

            let server = StaticFileServer(root: URL(fileURLWithPath: mirror))
            do { try server.start() } catch { throw CLIError(error) }
            defer { server.stop() }
            let registryFile = "\(root)/registry.json"
            try writeRegistry(base: server.baseURL, to: registryFile)
            print("   mirror: \(server.baseURL) serves \(mirror); registry \(registryFile); cache \(cache)\n")

            let cacheLayout = CacheLayout(root: URL(fileURLWithPath: cache))
            let demoRegistry: Registry
            do { demoRegistry = try Registry.load(path: registryFile) } catch { throw CLIError(error) }
            let demoEntry: ModelEntry
            do { demoEntry = try demoRegistry.resolve(entry.id) } catch { throw CLIError(error) }
            try step("3. zoo fetch \(entry.id) (from the local mirror, MD5-verified)") {
                let printer = ProgressPrinter(mode: ProgressPrinter.automaticMode(quiet: false))
                let store = Store(registry: demoRegistry, layout: cacheLayout, options: FetchOptions(), onEvent: printer.handle)
                do { _ = try store.ensure(.model, for: demoEntry) } catch { throw CLIError(error) }
                return "\(cache)"
            }
            var safetensors = cache
            try step("4. zoo convert \(entry.id) (.pth -> .safetensors)") {
                guard let pth = cacheLayout.path(of: .model, for: demoEntry), let st = cacheLayout.safetensorsPath(for: demoEntry),
                      let record = VerificationRecord.load(for: pth) else {
                    throw CLIError(message: "internal: the demo's checkpoint is not in its cache after the fetch")
                }
                let started = Date()
                let summary: CheckpointConversion.Summary
                do {
                    summary = try CheckpointConversion.zooCheckpoint(input: pth.path, output: st.path, zooID: demoEntry.id,
                                                                     depth: demoEntry.depth, md5: record.md5,
                                                                     converter: "zoo \(ZooVersion.string)")
                } catch { throw CLIError(error) }
                print(String(format: "wrote %@: %d tensors, %d bytes (%.2f s)", st.path, summary.tensors, summary.bytes,
                             Date().timeIntervalSince(started)))
                safetensors = st.path
                return st.path
            }
            try step("5. zoo reproduce \(entry.id) --split val") {
                try reproduce(entry: demoEntry, registry: demoRegistry, data: data, out: out, weights: safetensors,
                              md5: cacheLayout.path(of: .model, for: demoEntry).flatMap { VerificationRecord.load(for: $0)?.md5 },
                              cache: cacheLayout)
                return "\(out)/pan_seg.json, \(out)/scores.json"
            }
            try step("6. zoo vis") {
                let frames: [FrameRecord]
                do { frames = try Journal.read(URL(fileURLWithPath: "\(out)/journal.jsonl")).1 } catch { throw CLIError(error) }
                let images = DatasetLayout(root: data, split: "val").imagesDirectory
                do {
                    try FileManager.default.createDirectory(atPath: "\(out)/vis", withIntermediateDirectories: true)
                    for f in frames { try FrameOverlay.write(frame: f, imagePath: "\(images)/\(f.name)", directory: "\(out)/vis") }
                } catch { throw CLIError(error) }
                return "\(out)/vis/*.jpg"
            }
            print(String(format: "demo done in %.1f s. The weights were synthetic, so the PQ above means nothing;", Date().timeIntervalSince(total)))
            print("with real weights: zoo fetch r50_1x && zoo reproduce r50_1x --split val --data-root /path/to/bdd100k")
        }
    }

    /// Runs one step, printing its title, time and where its files are.
    private func step(_ title: String, _ body: () throws -> String) throws {
        print("== \(title)")
        fflush(nil)  // every output stream, stdout included (the C global `stdout` is not concurrency-safe)
        let started = Date()
        let files = try body()
        print(String(format: "   %.2f s  ->  %@\n", Date().timeIntervalSince(started), files))
        fflush(nil)  // every output stream, stdout included (the C global `stdout` is not concurrency-safe)
    }

    /// Makes the working folder, clearing a previous demo there (only one the demo made).
    private func prepare(_ root: String) throws {
        let fm = FileManager.default
        let marker = "\(root)/.zoo-demo"
        if fm.fileExists(atPath: root) {
            let content = (try? fm.contentsOfDirectory(atPath: root)) ?? []
            guard content.isEmpty || fm.fileExists(atPath: marker) else {
                throw CLIError(message: "\(root) exists and was not made by `zoo demo`; give another --dir")
            }
            for name in content { try? fm.removeItem(atPath: "\(root)/\(name)") }
        }
        do {
            try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
            try Data().write(to: URL(fileURLWithPath: marker))
        } catch { throw CLIError(message: "\(root): cannot create the demo folder (\(SystemError.describe(error)))") }
    }

    /// The synthetic R-50 weights in the zoo's key layout (int64 `num_batches_tracked` included), through a
    /// safetensors file into a PyTorch zip checkpoint.
    private func writeSyntheticCheckpoint(to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw CLIError(message: "\(dir): cannot create (\(SystemError.describe(error)))")
        }
        let st = URL(fileURLWithPath: dir + "/.synthetic.safetensors")
        do {
            try SyntheticWeights.writeSafeTensors(spec: try ModelSpec.r50, seed: 1, to: st,
                                                  metadata: ["source": "zoo demo: synthetic weights (reference recipe, seed 1)"])
            try PyTorchWriter.write(try SafeTensorsFile(path: st.path), to: URL(fileURLWithPath: path), stateDictKey: "state_dict",
                                    meta: ["source": "zoo demo: synthetic weights (reference recipe, seed 1); not a trained model"])
        } catch let e as CLIError { throw e } catch { throw CLIError(message: "cannot write the synthetic checkpoint: \(error)") }
        try? FileManager.default.removeItem(at: st)
    }

    /// The built-in registry with the local mirror as its only source.
    private func writeRegistry(base: String, to path: String) throws {
        guard var root = try? JSONSerialization.jsonObject(with: Registry.builtInJSON) as? [String: Any] else {
            throw CLIError(message: "internal: the built-in registry is not JSON")
        }
        root["base_url"] = base
        root["mirrors"] = [String]()
        do {
            let data = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(data, to: path)
        } catch { throw CLIError(message: "cannot write \(path): \(error)") }
    }

    private func write(_ text: String, to path: String) throws {
        do { try AtomicFile.write(Data(text.utf8), to: path) } catch { throw CLIError(error) }
    }

    /// `zoo reproduce ID --split val --data-root DATA -o OUT` on the demo's data: every image through the
    /// model (Runner's loop), journalled, then pan_seg.json and the scores. The weights are synthetic, so
    /// the score is printed but not compared.
    private func reproduce(entry: ModelEntry, registry: Registry, data: String, out: String, weights: String, md5: String?,
                           cache: CacheLayout) throws {
        let started = Date()
        let layout = DatasetLayout(root: data, split: "val")
        let names: [String]
        do { names = try layout.imageNames() } catch { throw CLIError(error) }
        var config = registry.testConfig
        let testScale = scale.flatMap(ScaleOption.parse)
        if let s = testScale { config.imgScale = [s.long, s.short] }
        let model = entry.id + (testScale.map { "@\($0.long)x\($0.short)" } ?? "")
        let identity = "zoo \(entry.name)" + (md5.map { " md5 \($0)" } ?? "")
        let journal: Journal
        do {
            journal = try Journal(url: URL(fileURLWithPath: "\(out)/journal.jsonl"), header: Journal.Header(model: model, weights: identity))
        } catch { throw CLIError(error) }
        let options = threadOptions.runOptions(decode: DecodeOptions(warningHandler: { Console.note("warning: " + $0) }))
        let failures = try DatasetModelRun(layout: layout, config: config, registry: registry, options: options,
                                           weights: WeightSource.file(weights, identity: identity), journal: journal,
                                           visDirectory: nil, quiet: false).run(names, started: started)
        guard failures.isEmpty else { throw CLIError(message: failures.joined(separator: "\n")) }
        let frames = names.compactMap { journal.records[$0] }
        do { try PanSegFile.write(frames, to: "\(out)/pan_seg.json") } catch { throw CLIError(error) }
        Console.note("wrote \(out)/pan_seg.json (\(frames.count) frames)")
        try ScoreReport(registry: registry, entry: entry, frames: frames, truth: .bitmasks(directory: layout.bitmaskDirectory),
                        directory: out, nproc: options.threads, quiet: false, cache: cache)
            .run(tolerance: nil, note: "synthetic weights: the score means nothing; the comparison with the published PQ is not applied")
    }
}

/// `--size WxH`.
enum SizeOption {
    static func parse(_ s: String) -> (width: Int, height: Int)? {
        let p = s.lowercased().split(separator: "x")
        guard p.count == 2, let w = Int(p[0]), let h = Int(p[1]), w >= 16, h >= 16, w <= 8192, h <= 8192 else { return nil }
        return (w, h)
    }
}
