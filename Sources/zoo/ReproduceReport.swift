import Foundation
import Synchronization
import ZooFiles
import Panoptic
import Pipeline
import Tensors
import ZooRegistry
import ZooStore

/// Scores a run's frames and prints them beside what the zoo published; shared by `reproduce` and `merge`.
struct ScoreReport {
    let registry: Registry
    let entry: ModelEntry
    let frames: [FrameRecord]
    let truth: GroundTruth
    let directory: String
    let nproc: Int?
    let quiet: Bool
    /// Where the published scores and predictions are looked for.
    var cache = CacheLayout()
    /// The mask size limit of the scoring (`--max-pixels`).
    var maxPixels = PixelLimit.defaultMaxPixels

    /// - Parameters:
    ///   - tolerance: fail when |PQ - published PQ-val| exceeds it; nil when the run is not comparable.
    ///   - note: why the run is not comparable, printed with the scores.
    func run(tolerance: Double?, note: String?) throws {
        let started = Date()
        let collector = WarningPrinter(quiet: quiet)
        var evaluator = PanopticEvaluator(threads: nproc ?? EngineOptions.default.threads,
                                          warningHandler: { collector.add($0) })
        evaluator.maxPixels = maxPixels
        let res: PQResult
        do { res = try RunEvaluation.evaluate(frames, against: truth, evaluator: evaluator) } catch { throw CLIError(error) }
        collector.flush()
        let scoresPath = "\(directory)/scores.json"
        do { try AtomicFile.write(Data(res.json().utf8), to: scoresPath) } catch { throw CLIError(error) }
        if !quiet {
            Console.note(String(format: "scored %d image(s) on the %@ route in %.2f s; wrote %@", frames.count,
                                truth.routeName, Date().timeIntervalSince(started), scoresPath))
        }

        let published = publishedScores()
        print("")
        print("\(entry.id) (\(entry.name)), \(frames.count) image(s)")
        if let note { print("note: \(note)") }
        var t = TextTable(header: ["scores", "PQ", "SQ", "RQ", "published PQ"], rightAligned: [1, 2, 3, 4])
        t.rows.append(["overall", f(res.overall.pq), f(res.overall.sq), f(res.overall.rq), published?["OVERALL"].map(f) ?? String(format: "%.2f", entry.pqVal)])
        t.rows.append(["stuff", f(res.stuff.pq), f(res.stuff.sq), f(res.stuff.rq), published?["STUFF"].map(f) ?? "-"])
        t.rows.append(["things", f(res.thing.pq), f(res.thing.sq), f(res.thing.rq), published?["THING"].map(f) ?? "-"])
        print(t.render())
        if let published {
            print("per category (published scores-val in the cache):")
            var c = TextTable(header: ["category", "PQ", "published PQ", "diff"], rightAligned: [1, 2, 3, 4])
            for (name, s) in res.perCategory where s.n > 0 || published[name] != nil {
                let p = published[name]
                c.rows.append([name, f(s.pq), p.map(f) ?? "-", p.map { String(format: "%+.2f", s.pq - $0) } ?? "-"])
            }
            print(c.render())
        } else if !quiet {
            Console.note("per-category published scores: not in the cache (`zoo fetch \(entry.id) --with scores`)")
        }
        comparePublishedPredictions()

        let diff = res.overall.pq - entry.pqVal
        fflush(nil)  // every output stream, stdout included (the C global `stdout` is not concurrency-safe)
        if let tolerance {
            if abs(diff) > tolerance {
                throw CLIError(message: String(format: "PQ %.2f differs from the published PQ-val %.2f by %.2f, more than --tolerance %.2f",
                                               res.overall.pq, entry.pqVal, abs(diff), tolerance))
            }
            print(String(format: "PQ %.2f is within --tolerance %.2f of the published %.2f (difference %.2f)", res.overall.pq, tolerance, entry.pqVal, abs(diff)))
        }
        fflush(nil)  // every output stream, stdout included (the C global `stdout` is not concurrency-safe)
    }

    private func f(_ v: Double) -> String { String(format: "%.2f", v) }

    /// PQ per category, STUFF, THING and OVERALL from the cached `scores_val` file (an `--out-file` JSON).
    private func publishedScores() -> [String: Double]? {
        guard let path = cache.path(of: .scores_val, for: entry),
              let data = FileManager.default.contents(atPath: path.path),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let pq = root["PQ"] as? [[String: Any]] else { return nil }
        var out: [String: Double] = [:]
        for group in pq { for (k, v) in group { if let d = (v as? NSNumber)?.doubleValue { out[k] = d } } }
        return out.isEmpty ? nil : out
    }

    /// When the zoo's own predictions are cached, how far ours are from them, per image and overall.
    private func comparePublishedPredictions() {
        guard let path = cache.path(of: .preds, for: entry), FileManager.default.fileExists(atPath: path.path) else {
            if !quiet { Console.note("published predictions: not in the cache (`zoo fetch \(entry.id) --with preds` to compare with them)") }
            return
        }
        do {
            let source = try ScalabelSource(path: path.path)
            var index: [String: Int] = [:]
            for (i, f) in source.frames.enumerated() { index[f.name] = i }
            var rows: [PredictionAgreement] = []
            var absent = 0
            for frame in frames {
                guard let i = index[frame.name] else { absent += 1; continue }
                let theirs = try source.frame(at: i)
                guard let size = frame.size ?? theirs.labels?.compactMap(\.rle).first.map({ (height: $0.height, width: $0.width) }) else { continue }
                rows.append(try PredictionAgreement.compare(ours: frame, theirs: theirs, height: size.height, width: size.width))
            }
            print("agreement with the published predictions (\(path.lastPathComponent)):")
            var t = TextTable(header: ["image", "pixels agreeing", "segments matched"], rightAligned: [1, 2, 3, 4])
            for r in rows.prefix(20) {
                t.rows.append([r.name, String(format: "%.2f %%", 100 * r.pixelAgreement), "\(r.matchedSegments)/\(r.theirSegments)"])
            }
            if rows.count > 20 { t.rows.append(["... (\(rows.count - 20) more)", "", ""]) }
            let pixels = rows.reduce(0) { $0 + $1.pixels }, agree = rows.reduce(0) { $0 + $1.agreeing }
            let theirs = rows.reduce(0) { $0 + $1.theirSegments }, matched = rows.reduce(0) { $0 + $1.matchedSegments }
            t.rows.append(["overall", String(format: "%.2f %%", pixels == 0 ? 100 : 100 * Double(agree) / Double(pixels)), "\(matched)/\(theirs)"])
            print(t.render())
            if absent > 0 { Console.note("warning: \(absent) image(s) have no frame in the published predictions") }
        } catch {
            Console.note("warning: cannot compare with the published predictions: \(error)")
        }
    }
}

/// Evaluator warnings on stderr (`zoo eval`, and the scoring of `reproduce`, `merge` and `demo`): at most
/// `perKind` of each kind, then how many more there were.
final class WarningPrinter: Sendable {
    private let counts = Mutex<[EvalWarning.Kind: Int]>([:])
    private let quiet: Bool
    private let perKind: Int
    init(quiet: Bool, perKind: Int = 5) {
        self.quiet = quiet
        self.perKind = perKind
    }

    func add(_ w: EvalWarning) {
        counts.withLock { counts in
            let n = counts[w.kind, default: 0]
            counts[w.kind] = n + 1
            if n < perKind && !quiet { Console.note("warning: " + (w.frame.isEmpty ? "" : "\(w.frame): ") + w.message) }
        }
    }

    func flush() {
        let counts = self.counts.withLock { $0 }
        for (kind, n) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where n > perKind && !quiet {
            Console.note("warning: \(n - perKind) more warnings of the kind '\(kind.rawValue)' not shown")
        }
    }
}
