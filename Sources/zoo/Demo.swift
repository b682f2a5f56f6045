import ArgumentParser
import Foundation
import ZooFiles
import PanopticFPN
import Pipeline
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
        `zoo vis`. Everything lives under --dir, with its own cache, so your zoo cache is not touched.

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
            threadOptions.apply()
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

            let env = ["ZOO_HOME": cache]
            let reg = ["--registry", registryFile]
            try step("3. zoo fetch \(entry.id) (from the local mirror, MD5-verified)") {
                try runZoo(["fetch", entry.id] + reg, environment: env)
                return "\(cache)"
            }
            try step("4. zoo convert \(entry.id) (.pth -> .safetensors)") {
                try runZoo(["convert", entry.id] + reg, environment: env)
                return CacheLayout(root: URL(fileURLWithPath: cache)).safetensorsPath(for: entry)?.path ?? cache
            }
            try step("5. zoo reproduce \(entry.id) --split val") {
                var args = ["reproduce", entry.id, "--split", "val", "--data-root", data, "-o", out, "--synthetic-checkpoint"] + reg
                if let scale { args += ["--scale", scale] }
                try runZoo(args, environment: env)
                return "\(out)/pan_seg.json, \(out)/scores.json"
            }
            try step("6. zoo vis") {
                try runZoo(["vis", "\(out)/pan_seg.json", "--images", "\(data)/images/10k/val", "-o", "\(out)/vis", "--quiet"], environment: env)
                return "\(out)/vis/*.jpg"
            }
            print(String(format: "demo done in %.1f s. The weights were synthetic, so the PQ above means nothing;", Date().timeIntervalSince(total)))
            print("with real weights: zoo fetch r50_1x && zoo reproduce r50_1x --split val --data-root /path/to/bdd100k")
        }
    }

    /// Runs one step, printing its title, time and where its files are.
    private func step(_ title: String, _ body: () throws -> String) throws {
        print("== \(title)")
        fflush(stdout)
        let started = Date()
        let files = try body()
        print(String(format: "   %.2f s  ->  %@\n", Date().timeIntervalSince(started), files))
        fflush(stdout)
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

    /// Runs this `zoo` binary with `args`, its output going to ours; never reaches the network (only the
    /// demo's registry, whose one source is the loopback mirror).
    private func runZoo(_ args: [String], environment: [String: String]) throws {
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        for k in ["ZOO_MIRROR", "ZOO_REGISTRY", "ZOO_OFFLINE", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] { env.removeValue(forKey: k) }
        for (k, v) in environment { env[k] = v }
        p.environment = env
        do { try p.run() } catch { throw CLIError(message: "cannot start \(Self.executable.path): \(SystemError.describe(error))") }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CLIError(message: "`zoo \(args.joined(separator: " "))` failed (exit \(p.terminationStatus)); see its messages above")
        }
    }

    static var executable: URL {
        if FileManager.default.fileExists(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        }
        return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
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
