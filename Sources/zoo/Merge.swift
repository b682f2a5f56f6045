import ArgumentParser
import Foundation
import ZooFiles
import Panoptic
import Pipeline
import ZooRegistry

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the shard outputs of `zoo reproduce` into one pan_seg.json and score it.",
        discussion: """
        Each DIR is an output folder of `zoo reproduce --shard I/N` (holding journal.jsonl and run.json), \
        or a folder whose subfolders are (`zoo merge OUT` finds OUT/shard-0-of-4, ...). The shards must \
        come from one run (same model, weights and split), all N of them, each finished. OUT/pan_seg.json \
        is then byte for byte the file a single run writes. With --data-root (bitmask ground truth) or \
        --gt (Scalabel JSON) it is scored as `zoo reproduce` scores it.
        """)

    @OptionGroup var registryOptions: RegistryOptions

    @Argument(help: ArgumentHelp("Shard output folders.", valueName: "DIR"))
    var directories: [String] = []

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output folder for the merged pan_seg.json.", valueName: "OUT"))
    var output: String

    @Option(name: .long, help: ArgumentHelp("The BDD100K folder: score against labels/pan_seg/bitmasks/SPLIT.", valueName: "DIR"))
    var dataRoot: String?

    @Option(name: .long, help: ArgumentHelp("Score against a Scalabel JSON ground truth.", valueName: "FILE"))
    var gt: String?

    @Option(name: .long, help: ArgumentHelp("The largest accepted |PQ - published PQ-val|.", valueName: "PQ"))
    var tolerance = 0.1

    @Option(name: [.customShort("p"), .long], help: ArgumentHelp("Threads of the evaluation (default: all cores).", valueName: "N"))
    var nproc: Int?

    @Flag(name: [.short, .long], help: "Fewer messages.")
    var quiet = false

    @OptionGroup var limits: ImageLimitOptions

    func validate() throws {
        if directories.isEmpty { throw ValidationError("give the shard output folders") }
        if dataRoot != nil && gt != nil { throw ValidationError("give --data-root or --gt, not both") }
    }

    func run() throws {
        try guarded {
            let maxPixels = try limits.resolved()
            let merged: ShardMerge.Merged
            do { merged = try ShardMerge.merge(try ShardMerge.runDirectories(directories)) } catch { throw CLIError(error) }
            do { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) } catch {
                throw CLIError(message: "\(output): cannot create the folder (\(SystemError.describe(error)))")
            }
            let panSeg = "\(output)/pan_seg.json"
            do { try PanSegFile.write(merged.frames, to: panSeg) } catch { throw CLIError(error) }
            print("merged \(merged.shardCount) shard(s), \(merged.frames.count) frames: \(panSeg)")

            let truth: GroundTruth
            if let gt { truth = .scalabel(path: gt) } else if let root = dataRoot {
                truth = .bitmasks(directory: DatasetLayout(root: root, split: merged.split).bitmaskDirectory)
            } else {
                if merged.split == "val" && !quiet { Console.note("give --data-root or --gt to score it") }
                return
            }
            guard merged.split == "val" else { throw CLIError(message: "the \(merged.split) split has no public ground truth; nothing to score") }
            let registry = try registryOptions.load()
            let modelID = String(merged.header.model.split(separator: "@").first ?? "")
            let entry: ModelEntry
            do { entry = try registry.resolve(modelID) } catch { throw CLIError(error) }
            let missing: [String]
            do { missing = try truth.missing(for: merged.frames.map(\.name), maxPixels: maxPixels) } catch { throw CLIError(error) }
            if !missing.isEmpty {
                throw CLIError(message: "ground truth missing for \(missing.count) image(s): \(missing.prefix(5).joined(separator: ", "))")
            }
            let synthetic = merged.header.weights.hasPrefix("synthetic")
            let scaled = merged.header.model.contains("@")
            let uncovered = merged.narrowed ? 0 : ((try? truth.extra(beyond: merged.frames.map(\.name), maxPixels: maxPixels)) ?? 0)
            if uncovered > 0 { Console.note("warning: the ground truth has \(uncovered) image(s) that no shard ran") }
            let partial = merged.narrowed || uncovered > 0
            let comparable = !partial && !synthetic && !scaled
            let note: String? = comparable ? nil : (partial
                ? "partial run: scored on its images only; the comparison with the published PQ is not meaningful"
                : synthetic ? "synthetic weights: the score means nothing" : "developer --scale: the score is not comparable")
            try ScoreReport(registry: registry, entry: entry, frames: merged.frames, truth: truth, directory: output,
                            nproc: nproc, quiet: quiet, maxPixels: maxPixels).run(tolerance: comparable ? tolerance : nil, note: note)
        }
    }
}
