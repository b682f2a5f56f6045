import ArgumentParser
import Foundation
import Panoptic
import Tensors
import ZooFiles

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score panoptic predictions exactly as the official BDD100K evaluator does.",
        discussion: """
        Same numbers as `python -m bdd100k.eval.run -t pan_seg -g GT -r RESULT`, on both of its routes, \
        chosen as it chooses them: RESULT a folder holding only .png files is scored as BDD100K bitmasks \
        against the GT folder; RESULT a .json file (or a folder of .json files) is scored as Scalabel \
        frames with RLE masks against the GT JSON (the route the zoo README uses, as `zoo run` writes it).

        Where the official tool crashes (more than 100 predicted segments, an empty prediction PNG, a \
        frame with predictions but no ground truth, all-crowd predictions) zoo prints a warning and \
        scores the image; where it drops data silently (overlapping predicted masks, unknown \
        categories) zoo does the same and says so.
        """)

    @Option(name: [.customShort("g"), .long], help: ArgumentHelp("Ground truth: a Scalabel JSON file or folder, or a folder of bitmask PNGs.", valueName: "GT"))
    var gt: String

    @Option(name: [.customShort("r"), .long], help: ArgumentHelp("Predictions: a Scalabel JSON file or folder (e.g. pan_seg.json), or a folder of bitmask PNGs.", valueName: "RESULT"))
    var result: String

    @Option(name: .long, help: ArgumentHelp("Also write the official result JSON (PQ, SQ, RQ, then NUM or N) to FILE.", valueName: "FILE"))
    var outFile: String?

    @Option(name: [.customShort("p"), .long], help: ArgumentHelp("Number of threads (default: all cores).", valueName: "N"))
    var nproc: Int?

    @Flag(name: [.customShort("q"), .long], help: "Do not print warnings.")
    var quiet = false

    @OptionGroup var limits: ImageLimitOptions

    func validate() throws {
        if let n = nproc, n < 1 { throw ValidationError("--nproc must be at least 1") }
    }

    func run() throws {
        try guarded {
            let collector = WarningPrinter(quiet: false, perKind: 10)
            var evaluator = PanopticEvaluator(threads: nproc ?? EngineOptions.default.threads)
            if !quiet {
                evaluator.warningHandler = { (w: EvalWarning) in collector.add(w) }
            }
            evaluator.maxPixels = try limits.resolved()
            let started = Date()
            let res: PQResult
            do { res = try evaluator.evaluate(gt: gt, result: result) } catch { throw CLIError(error) }
            collector.flush()
            print(res.table(), terminator: "")
            if let out = outFile {
                do { try AtomicFile.write(Data(res.json().utf8), to: out) } catch { throw CLIError(error) }
            }
            if !quiet {
                Console.note(String(format: "scored on the %@ route in %.2f s", res.route == .rle ? "RLE (JSON)" : "bitmask (PNG)",
                                    Date().timeIntervalSince(started)))
            }
        }
    }
}
