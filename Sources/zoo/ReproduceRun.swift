import Foundation
import ZooFiles
import Imaging
import Panoptic
import PanopticFPN
import Pipeline
import Tensors

/// Runs the model over the images of a dataset folder, journalling each result as it is made; the next
/// image is decoded while the current one is computed. An unreadable image is reported and skipped, so
/// the others still get done; the caller fails the run at the end.
struct DatasetRun {
    let model: PanopticFPN
    let classes: [String]
    let directory: String
    let journal: Journal
    let visDirectory: String?
    let quiet: Bool
    let engine: EngineOptions
    /// The pixel limit and warning handler of every decode.
    let decodeOptions: DecodeOptions

    /// Returns one message per image that could not be run.
    func run(_ names: [String]) throws -> [String] {
        let decodeQueue = DispatchQueue(label: "zoo.reproduce.decode")
        func decode(_ i: Int) -> Pending<BGRImage> {
            let path = "\(directory)/\(names[i])"
            let options = decodeOptions
            return Pending(on: decodeQueue) { try BGRImage.load(path: path, options: options) }
        }
        let progress = ProgressLine(total: names.count, quiet: quiet)
        var failures: [String] = []
        var next: Pending<BGRImage>? = names.isEmpty ? nil : decode(0)
        for (i, name) in names.enumerated() {
            guard let pending = next else { break }
            next = i + 1 < names.count ? decode(i + 1) : nil
            let image: BGRImage
            do { image = try pending.get() } catch {
                failures.append("\(directory)/\(name): cannot read the image (\(error))")
                progress.fail("\(name): cannot read the image, skipped")
                continue
            }
            let started = Date()
            let result = model(image, engine: engine)
            let labels: [ScalabelWriter.Label]
            do {
                labels = try ScalabelWriter.panopticLabels(panMap: result.panoptic, height: result.height,
                                                           width: result.width, classes: classes)
            } catch { throw CLIError(error) }
            let frame = FrameRecord(name: name, labels: labels.map(SegmentRecord.init))
            // The journal keeps no timings, so a resumed run writes exactly the same final file.
            do { try journal.record(frame) } catch { throw CLIError(error) }
            if let vis = visDirectory {
                do {
                    try FileName.checked(name, what: "image")
                    try FileManager.default.createDirectory(atPath: vis, withIntermediateDirectories: true)
                    try AtomicFile.write(Data(try FrameOverlay.jpeg(image: image, frame: frame)), to: "\(vis)/\((name as NSString).deletingPathExtension).jpg")
                } catch { throw CLIError(error) }
            }
            progress.step(name: name, segments: labels.count, seconds: Date().timeIntervalSince(started))
        }
        progress.finish()
        return failures
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
