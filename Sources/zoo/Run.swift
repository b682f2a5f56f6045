import ArgumentParser
import Foundation
import Imaging
import Panoptic
import PanopticFPN
import Runner
import Tensors
import TorchCheckpoint
import ZooRegistry
import ZooStore

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a zoo model on images and write pan_seg.json, as bdd100k-models' test.py --format-only does.",
        discussion: """
        The weights come from a zoo id (the converted .safetensors in the cache; the .pth is fetched, \
        verified and converted into the cache first when needed), from --weights FILE (.safetensors or .pth), or from --synthetic r50|r101 (the \
        reference recipe, for tests and demos). The architecture (R-50 or R-101) is read from the weights.

        INPUT is any number of .jpg / .png files or folders of them. DIR/pan_seg.json gets one Scalabel \
        frame per image, named by its file name, with one label per panoptic segment (COCO RLE), exactly \
        the file the official evaluator (`zoo eval`) and every BDD100K tool read. With --bitmasks, \
        DIR/bitmasks/<stem>.png holds the BDD100K bitmask of each image; with --vis, DIR/vis/<stem>.jpg an \
        overlay of the segments on the image.

        Every input's header is checked before the weights load. An image that still cannot be decoded stops \
        the run with an error, and no pan_seg.json is written (a partial file would pass for a complete one); \
        bitmasks and overlays already written stay.

        The matrix products run on zoo's AVX-512 SGEMM where the CPU has AVX-512, else on OpenBLAS; \
        ZOO_GEMM=openblas picks OpenBLAS (--profile names the one in use).
        """)

    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var network: NetworkOptions

    @Argument(help: ArgumentHelp("[ID] INPUT...: an optional zoo id (e.g. r50_1x), then image files or folders.",
                                 valueName: "ID|INPUT"))
    var items: [String] = []

    @OptionGroup var weightOptions: WeightOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output folder (created if needed).", valueName: "DIR"))
    var output: String

    @Flag(name: .long, help: "Also write BDD100K bitmask PNGs to DIR/bitmasks/.")
    var bitmasks = false

    @Flag(name: .long, help: "Also write overlays (segments in BDD100K colours, outlines, legend) to DIR/vis/.")
    var vis = false

    @Flag(name: .long, help: "Print the time of each model stage for each image.")
    var profile = false

    @OptionGroup var limits: ImageLimitOptions

    private var quiet: Bool { network.quiet }

    func validate() throws {
        if items.isEmpty { throw ValidationError("give at least one image file or folder") }
    }

    func run() throws {
        try guarded {
            let registry = try registryOptions.load()
            let started = Date()
            var inputs = items
            let source = try weightSource(registry: registry, inputs: &inputs)
            let images = try ImageInputs.collect(inputs)
            let options = threadOptions.runOptions(decode: try limits.decodeOptions())
            // Preflight, before the weights load: every input's header, and the output folder.
            try ImageInputs.preflight(images, options: options.decode)
            try OutputFolder.check(output)
            let plan = options.plan(images: images.count, config: registry.testConfig)
            let engine = options.engine(images: images.count, pipelines: plan.count)
            // The first image decodes while the weights load.
            let first = images.first.map { FrameLoop.startDecoding($0, options: options.decode) }
            let store: WeightStore
            do { store = try source.load() } catch let e as CLIError { throw e } catch { throw CLIError(error) }
            let model: PanopticFPN
            do { model = try PanopticFPN(weights: store, registry: registry) } catch { throw CLIError(error) }
            if !quiet {
                Console.note(String(format: "model: Panoptic FPN R-%d (%@), weights bound in %.2f s", model.depth,
                                    source.identity, Date().timeIntervalSince(started)))
                if profile {
                    Console.note("threads: \(options.threads) (\(options.budget.reason))")
                    Console.note("pipelines: \(plan.count) x \(plan.threadsPerPipeline) thread(s) (\(plan.reason))")
                    Console.note("sgemm: \(engine.sgemmName), \(engine.threads) threads per image")
                }
            }
            let writer: PanSegOutput
            do {
                writer = try PanSegOutput(directory: output, classes: registry.classes,
                                          instanceOffset: registry.testConfig.panoptic.instanceOffset, bitmasks: bitmasks, vis: vis)
            } catch { throw CLIError(error) }
            let quiet = self.quiet
            writer.onFrame = { outcome, detections, segments in
                if let p = outcome.profile { Console.note(p) }
                if !quiet {
                    Console.note(String(format: "[%d/%d] %@: %d detections, %d segments, %.2f s", outcome.index + 1, outcome.total,
                                        outcome.name, detections, segments, outcome.seconds))
                }
            }
            let loop = FrameLoop(model: model, paths: images, pipelines: plan.count, decode: options.decode, profile: profile,
                                 engine: engine)
            do { try loop.run(into: writer, first: first) } catch let RunnerError.image(path, reason) {
                throw CLIError(message: "\(path): cannot read the image (\(reason)); no \(writer.jsonPath) was written (\(writer.written) of \(images.count) image(s) were run)")
            } catch { throw CLIError(error) }
            if !quiet {
                Console.note(String(format: "wrote %@ (%d frames) in %.2f s", writer.jsonPath, images.count,
                                    Date().timeIntervalSince(started)))
            }
        }
    }

    /// Where the weights come from: --synthetic, --weights, or a zoo id given as the first item (removed from
    /// `inputs`). Loaded once the inputs are checked.
    private func weightSource(registry: Registry, inputs: inout [String]) throws -> WeightSource {
        if let s = try weightOptions.syntheticSource() { return s }
        if let w = weightOptions.weights { return WeightSource.file(w) }
        guard let first = inputs.first else { throw CLIError(message: "no model: give a zoo id, --weights or --synthetic") }
        let looksLikeImage = ImageInputs.extensions.contains((first as NSString).pathExtension.lowercased())
        if FileManager.default.fileExists(atPath: first) || first.contains("/") || looksLikeImage {
            throw CLIError(message: "no model: give a zoo id (see `zoo list`), --weights FILE or --synthetic r50|r101 before the images")
        }
        let entry: ModelEntry
        do { entry = try registry.resolve(first) } catch { throw CLIError(error) }
        inputs.removeFirst()
        let network = self.network, registryPath = registryOptions.registry
        return WeightSource(identity: "cache") {
            try WeightSource.openWeights(ModelWeights.cachedSafetensors(entry: entry, registry: registry, registryPath: registryPath,
                                                                        network: network).path)
        }
    }
}

/// The checks that need no model: a run that would fail on them fails before the weights load.
enum OutputFolder {
    /// `path` must be a folder or creatable as one.
    static func check(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CLIError(message: "\(path): exists and is not a folder; give an output folder") }
            guard access(path, W_OK) == 0 else { throw CLIError(message: "\(path): the output folder is not writable") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw CLIError(message: "\(path): cannot create the output folder (\(error.localizedDescription))")
        }
    }
}

/// The images to run on, in order: files as given, folders' `.jpg` / `.jpeg` / `.png` files sorted by name.
enum ImageInputs {
    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Reads each image's header (JPEG SOF / PNG IHDR) and checks it against the limits; every refused
    /// image is named (the first ten), so one pass finds them all.
    static func preflight(_ images: [String], options: DecodeOptions) throws {
        var refused: [String] = []
        for path in images {
            do { _ = try ImageHeader.read(path: path, options: options) } catch { refused.append("\(error)") }
        }
        guard !refused.isEmpty else { return }
        if refused.count == 1 { throw CLIError(message: "\(refused[0]); nothing was run") }
        throw CLIError(message: "\(refused.count) of \(images.count) image(s) cannot be read:\n  "
                       + refused.prefix(10).joined(separator: "\n  ") + (refused.count > 10 ? "\n  ..." : "")
                       + "\nnothing was run; replace or remove them (or narrow the run) and run again")
    }

    static func collect(_ items: [String]) throws -> [String] {
        if items.isEmpty { throw CLIError(message: "no images given") }
        var out: [String] = []
        let fm = FileManager.default
        for item in items {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: item, isDirectory: &isDir) else { throw CLIError(message: "\(item): no such file or folder") }
            if isDir.boolValue {
                let names = try fm.contentsOfDirectory(atPath: item).filter {
                    extensions.contains(($0 as NSString).pathExtension.lowercased())
                }.sorted()
                if names.isEmpty { throw CLIError(message: "\(item): no .jpg or .png images in this folder") }
                out += names.map { (item as NSString).appendingPathComponent($0) }
            } else {
                guard extensions.contains((item as NSString).pathExtension.lowercased()) else {
                    throw CLIError(message: "\(item): not a .jpg or .png image")
                }
                out.append(item)
            }
        }
        let names = out.map { ($0 as NSString).lastPathComponent }
        if Set(names).count != names.count {
            let dup = Dictionary(grouping: names, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            throw CLIError(message: "two images share a file name (\(dup.prefix(3).joined(separator: ", "))): frames are named by file name, so run them separately")
        }
        return out
    }
}
