import Foundation
import Pipeline
import PanopticFPN
import Tensors
import Runner
import ZooRegistry

/// The model over the images of a dataset folder, each result journalled as it is made (Runner's loop,
/// as `zoo run`); an image that cannot be decoded is skipped and returned as a message. Used by
/// `zoo reproduce` and `zoo demo`.
struct DatasetModelRun {
    let layout: DatasetLayout
    let config: TestConfig
    let registry: Registry
    let options: RunOptions
    let weights: WeightSource
    let journal: Journal
    let visDirectory: String?
    let quiet: Bool

    /// Returns one message per image that could not be run.
    func run(_ todo: [String], started: Date) throws -> [String] {
        let plan = options.plan(images: todo.count, config: config)
        let engine = options.engine(images: todo.count, pipelines: plan.count)
        let store: WeightStore
        do { store = try weights.load() } catch { throw CLIError(error) }
        let fpn: PanopticFPN
        do { fpn = try PanopticFPN(weights: store, config: config, numThings: registry.numThings, numStuff: registry.numStuff) } catch { throw CLIError(error) }
        if !quiet {
            Console.note(String(format: "model: Panoptic FPN R-%d (%@), ready in %.2f s; %d pipeline(s) x %d thread(s)", fpn.depth,
                                weights.identity, Date().timeIntervalSince(started), plan.count, plan.threadsPerPipeline))
        }
        let output = JournalOutput(journal: journal, classes: registry.classes,
                                   instanceOffset: config.panoptic.instanceOffset, visDirectory: visDirectory)
        let progress = ProgressLine(total: todo.count, quiet: quiet)
        output.onFrame = { outcome, segments in
            if let segments {
                progress.step(name: outcome.name, segments: segments, seconds: outcome.seconds)
            } else {
                progress.fail("\(outcome.name): cannot read the image, skipped")
            }
        }
        let loop = FrameLoop(model: fpn, paths: todo.map { "\(layout.imagesDirectory)/\($0)" }, pipelines: plan.count,
                             decode: options.decode, onUnreadable: .skip, engine: engine)
        do { try loop.run(into: output) } catch { throw CLIError(error) }
        progress.finish()
        return output.failures
    }
}

/// Progress on stderr: a bar with rate and ETA redrawn in place on a terminal, one plain line per
/// image otherwise (logs of cluster jobs).
final class ProgressLine {
    let total: Int
    let quiet: Bool
    let tty = isatty(2) != 0
    private var done = 0
    private let started = Date()

    init(total: Int, quiet: Bool) { self.total = total; self.quiet = quiet }

    func step(name: String, segments: Int, seconds: Double) {
        done += 1
        guard !quiet else { return }
        let elapsed = Date().timeIntervalSince(started)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = Double(total - done) / max(rate, 1e-9)
        if tty {
            let width = 30, filled = total == 0 ? width : width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line = String(format: "\r[%@] %d/%d  %.2f img/s  ETA %@  ", bar, done, total, rate, Self.clock(eta))
            FileHandle.standardError.write(Data(line.utf8))
        } else {
            Console.note(String(format: "[%d/%d] %@: %d segments, %.2f s (%.2f img/s, ETA %@)", done, total, name,
                                segments, seconds, rate, Self.clock(eta)))
        }
    }

    func fail(_ message: String) {
        done += 1
        guard !quiet else { return }
        if tty { FileHandle.standardError.write(Data("\r".utf8)) }
        Console.note("warning: " + message)
    }

    func finish() {
        if tty && !quiet && done > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func clock(_ s: Double) -> String {
        guard s.isFinite else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
