import ArgumentParser
import Foundation
import ZooFiles
import Imaging
import Panoptic
import PanopticFPN
import Pipeline
import Runner
import ZooRegistry
import ZooStore

struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a BDD100K download into the zoo's published score: run a model on a split and evaluate it.",
        discussion: """
        Reads the BDD100K layout under --data-root: DATA/images/10k/SPLIT/*.jpg and, for val, the ground \
        truth DATA/labels/pan_seg/bitmasks/SPLIT/*.png (the bitmask route) or a Scalabel JSON given with \
        --gt (the RLE route). Fetches, verifies and converts the weights if needed, runs the model on \
        every image, writes OUT/pan_seg.json in the official format, scores it with `zoo eval`'s engine \
        and prints PQ / SQ / RQ beside the published PQ-val (and per category beside the published \
        scores when `zoo fetch ID --with scores` put them in the cache). It exits non-zero when PQ \
        differs from the published value by more than --tolerance.

        Resumable: each image's result is appended to OUT/journal.jsonl as it is made; a rerun skips the \
        images done and gives the same final file. --limit, --images and shards make partial runs, \
        scored on the images they ran (the published PQ is then not comparable).

        On a cluster: --shard I/N takes every N-th image (sorted by name) from I; without it, a Slurm \
        job array (task MIN + I*STEP of an --array=A-B or A-B:S runs shard I of SLURM_ARRAY_TASK_COUNT) \
        or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with --shards N) chooses the shard. Shard I of \
        N writes to OUT/shard-I-of-N; the first shard to start records the split in OUT/shards.json, so \
        an array task resubmitted alone (sbatch --array=I) resumes exactly its own shard; a different \
        shard count, a task outside the recorded array, or a whole run into a folder of shards is \
        refused. `zoo merge OUT -o FINAL` combines the shards.

        --split test writes the submission file only.
        """)

    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var network: NetworkOptions

    @Argument(help: "The zoo id (e.g. r50_1x; see `zoo list`).")
    var id: String

    @Option(name: .long, help: "val (run and score) or test (run, write the submission file).")
    var split = "val"

    @Option(name: .long, help: ArgumentHelp("The BDD100K folder holding images/10k/SPLIT.", valueName: "DIR"))
    var dataRoot: String

    @Option(name: .long, help: ArgumentHelp("Ground truth as a Scalabel JSON (RLE route) instead of the bitmask PNGs.", valueName: "FILE"))
    var gt: String?

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output folder (default: reproduce-ID-SPLIT).", valueName: "OUT"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Only the first N images (of the shard).", valueName: "N"))
    var limit: Int?

    @Option(name: .long, help: ArgumentHelp("Only the images whose file name matches GLOB (e.g. 'b1c9*').", valueName: "GLOB"))
    var images: String?

    @Option(name: .long, help: ArgumentHelp("Run shard I of N (0-based): every N-th image from I.", valueName: "I/N"))
    var shard: String?

    @Option(name: .long, help: ArgumentHelp("The number of shards, with JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs); with a Slurm array, checked against it.", valueName: "N"))
    var shards: Int?

    @Option(name: .long, help: ArgumentHelp("The largest accepted |PQ - published PQ-val|.", valueName: "PQ"))
    var tolerance = 0.1

    @Flag(name: .long, help: "Also draw each image's segments over it in OUT/vis/ as it goes.")
    var vis = false

    /// Set by `zoo demo`, whose checkpoint holds synthetic weights: the score is printed but not compared.
    @Flag(name: .long, help: .hidden)
    var syntheticCheckpoint = false

    @OptionGroup var weightOptions: WeightOptions
    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var limits: ImageLimitOptions

    @Option(name: .long, help: ArgumentHelp("Developer option: the test scale as LONGxSHORT instead of the model's (e.g. 320x192, for fast tests). Scores are then not comparable.", valueName: "WxH"))
    var scale: String?

    @Option(name: [.customShort("p"), .long], help: ArgumentHelp("Threads of the evaluation (default: all cores).", valueName: "N"))
    var nproc: Int?

    /// `-q/--quiet` comes with the network options (no download or image progress).
    var quiet: Bool { network.quiet }

    func validate() throws {
        guard ["val", "test"].contains(split) else { throw ValidationError("--split takes val or test") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1") }
        if tolerance < 0 { throw ValidationError("--tolerance must not be negative") }
        if let s = scale, ScaleOption.parse(s) == nil { throw ValidationError("--scale takes LONGxSHORT, e.g. 320x192") }
        if gt != nil && split == "test" { throw ValidationError("--gt goes with --split val (the test set is scored on the server)") }
    }

    func run() throws {
        try guarded {
            let started = Date()
            let options = threadOptions.runOptions(decode: try limits.decodeOptions())
            let registry = try registryOptions.load()
            let entry: ModelEntry
            do { entry = try registry.resolve(id) } catch { throw CLIError(error) }
            let pipelineErr = { (e: Error) in CLIError(e) }

            // What to run.
            // The shard: from the flags or the scheduler's environment, through the layout the output folder
            // records (OUT/shards.json), so an array task resubmitted alone runs its own shard.
            let base = output ?? "reproduce-\(entry.id)-\(split)"
            let choice: ShardChoice
            do {
                choice = try Shard.resolve(flag: shard, shards: shards, environment: ProcessInfo.processInfo.environment,
                                           recorded: try ShardRecord.read(from: base), recordPath: "\(base)/\(ShardRecord.fileName)")
                try ShardFolders.check(base: base, for: choice.shard)
            } catch { throw pipelineErr(error) }
            let shardChoice = choice.shard
            let layout = DatasetLayout(root: dataRoot, split: split)
            let selection = ImageSelection(glob: images, shard: shardChoice, limit: limit)
            let names: [String]
            do { names = selection.apply(to: try layout.imageNames()) } catch { throw pipelineErr(error) }
            guard !names.isEmpty else {
                throw CLIError(message: "no image of \(layout.imagesDirectory) is selected (--images \(images ?? "*"), shard \(shardChoice)); check the pattern")
            }

            // Every image's header (size within the pixel limit), before the weights load or anything is written.
            try ImageInputs.preflight(names.map { "\(layout.imagesDirectory)/\($0)" }, options: options.decode)

            // The ground truth, checked before any compute.
            let truth: GroundTruth? = try split == "val" ? groundTruth(layout: layout, names: names) : nil

            // Where the results go.
            if let record = choice.record {
                do { try record.commit(in: base) } catch { throw pipelineErr(error) }
            }
            let dir = shardChoice.count > 1 ? "\(base)/\(ShardFolders.name(shardChoice))" : base
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw CLIError(message: "\(dir): cannot create the output folder (\(SystemError.describe(error)))")
            }

            // The weights and the journal (its header names both, so a rerun never mixes runs).
            let weightSource = try loadWeights(registry: registry, entry: entry)
            let testScale = scale.flatMap(ScaleOption.parse)
            let model = entry.id + (testScale.map { "@\($0.long)x\($0.short)" } ?? "")
            let header = Journal.Header(model: model, weights: weightSource.identity)
            let journal: Journal
            do {
                journal = try Journal(url: URL(fileURLWithPath: "\(dir)/\(RunManifest.journalName)"), header: header)
                try RunManifest(model: model, weights: weightSource.identity, split: split, shard: shardChoice, images: names,
                                narrowed: images != nil || limit != nil).write(to: dir)
            } catch { throw pipelineErr(error) }
            let todo = names.filter { !journal.contains($0) }
            if !quiet {
                var line = "\(entry.id) on \(split): \(names.count) image(s)"
                if shardChoice.count > 1 { line += ", shard \(shardChoice)" }
                if todo.count < names.count { line += ", \(names.count - todo.count) already done (resuming)" }
                Console.note(line + "; results in \(dir)")
            }

            // The model, on the images not done yet.
            var failures: [String] = []
            if !todo.isEmpty {
                var config = registry.testConfig
                if let s = testScale { config.imgScale = [s.long, s.short] }
                failures = try DatasetModelRun(layout: layout, config: config, registry: registry, options: options,
                                               weights: weightSource, journal: journal, visDirectory: vis ? "\(dir)/vis" : nil,
                                               quiet: quiet).run(todo, started: started)
            }
            if !failures.isEmpty {
                let done = names.filter { journal.contains($0) }.count
                throw CLIError(message: "\(failures.count) image(s) could not be run:\n  " + failures.prefix(10).joined(separator: "\n  ")
                               + (failures.count > 10 ? "\n  ..." : "")
                               + "\nthe \(done) image(s) done are kept in \(dir)/\(RunManifest.journalName); replace or remove the bad files and rerun the same command to finish")
            }

            // The final file, from the journal (the same bytes however the run was split or resumed).
            let frames = names.compactMap { journal.records[$0] }
            let panSeg = "\(dir)/pan_seg.json"
            do { try PanSegFile.write(frames, to: panSeg) } catch { throw pipelineErr(error) }
            if !quiet { Console.note("wrote \(panSeg) (\(frames.count) frames)") }
            if vis && !quiet { Console.note("overlays in \(dir)/vis") }

            guard let truth else {
                print("Submission file: \(panSeg)")
                print("The test split is scored only on the BDD100K evaluation server (EvalAI): submit this file to the")
                print("panoptic segmentation challenge linked from https://doc.bdd100k.com/evaluate.html")
                return
            }
            // Ground truth for images the data root lacks: the run does not cover the split.
            let uncovered = selection.isPartial ? 0 : ((try? truth.extra(beyond: names, maxPixels: options.decode.maxPixels)) ?? 0)
            let partial = selection.isPartial || uncovered > 0
            if uncovered > 0 {
                Console.note("warning: the ground truth has \(uncovered) image(s) that are not in \(layout.imagesDirectory); is the image download complete?")
            }
            let synthetic = weightOptions.synthetic != nil || syntheticCheckpoint
            let comparable = !partial && !synthetic && testScale == nil
            let note: String? = comparable ? nil : (partial
                ? "partial run (\(frames.count) image(s)): scored on those images only; the comparison with the published PQ is not meaningful"
                : (synthetic ? "synthetic weights: the score means nothing; the comparison with the published PQ is not applied" : "developer --scale: the score is not comparable"))
            try ScoreReport(registry: registry, entry: entry, frames: frames, truth: truth, directory: dir,
                            nproc: nproc ?? options.threads, quiet: quiet, maxPixels: options.decode.maxPixels).run(tolerance: comparable ? tolerance : nil, note: note)
            if !quiet { Console.note(String(format: "done in %.1f s", Date().timeIntervalSince(started))) }
        }
    }

    private func groundTruth(layout: DatasetLayout, names: [String]) throws -> GroundTruth {
        let truth: GroundTruth
        if let gt {
            guard FileManager.default.fileExists(atPath: gt) else { throw CLIError(message: "\(gt): no such ground-truth file") }
            truth = .scalabel(path: gt)
        } else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: layout.bitmaskDirectory, isDirectory: &isDir), isDir.boolValue else {
                throw CLIError(message: "no ground truth: \(layout.bitmaskDirectory) does not exist; download the pan_seg labels there or give --gt pan_seg_val.json")
            }
            truth = .bitmasks(directory: layout.bitmaskDirectory)
        }
        let missing: [String]
        do { missing = try truth.missing(for: names, maxPixels: try limits.resolved()) } catch { throw CLIError(error) }
        if !missing.isEmpty {
            let place: String
            switch truth {
            case let .bitmasks(d): place = "no <stem>.png in \(d)"
            case let .scalabel(p): place = "no frame in \(p)"
            }
            throw CLIError(message: "ground truth missing for \(missing.count) of \(names.count) image(s) (\(place)): \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", ..." : ""); complete the labels, or restrict the run with --images")
        }
        return truth
    }

    private func loadWeights(registry: Registry, entry: ModelEntry) throws -> WeightSource {
        if let s = try weightOptions.syntheticSource() { return s }
        if let w = weightOptions.weights {
            let size = ((try? FileManager.default.attributesOfItem(atPath: w))?[.size] as? NSNumber)?.intValue ?? 0
            guard size > 0 else { throw CLIError(message: "\(w): no such weights file") }
            return WeightSource.file(w, identity: "file \((w as NSString).lastPathComponent) (\(size) bytes)")
        }
        let st = try ModelWeights.cachedSafetensors(entry: entry, registry: registry, registryPath: registryOptions.registry,
                                                    network: network)
        return WeightSource.file(st.path, identity: ModelWeights.identity(of: entry))
    }
}

/// `--scale LONGxSHORT`.
enum ScaleOption {
    static func parse(_ s: String) -> (long: Int, short: Int)? {
        let p = s.lowercased().split(separator: "x")
        guard p.count == 2, let a = Int(p[0]), let b = Int(p[1]), a >= 32, b >= 32 else { return nil }
        return (max(a, b), min(a, b))
    }
}
