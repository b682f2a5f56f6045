import Foundation
import Synchronization

/// Something the evaluator noticed where the official tool would crash or silently drop data.
public struct EvalWarning: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The official evaluator would crash on this input; zoo gives a number and says how.
        case officialCrash
        /// Overlapping predicted masks: the frame's predictions are discarded (as officially).
        case overlap
        /// Labels of unknown categories were dropped (as officially, but silently there).
        case unknownCategory
        /// Prediction frames missing for GT frames (counted as all missed).
        case missingPrediction
        /// Prediction ids that are not integers (the official RLE route stops).
        case nonIntegerID
        /// Prediction frames with the same name (the last one is used).
        case duplicateName
        /// Prediction masks of another size than the GT's (RLE route: scored as non-overlapping).
        case sizeMismatch
    }
    public var frame: String
    public var kind: Kind
    public var message: String

    public init(frame: String, kind: Kind, message: String) {
        self.frame = frame
        self.kind = kind
        self.message = message
    }
}

/// Anything that yields Scalabel frames by index: a `ScalabelSource` on disk or frames in memory.
public protocol ScalabelFrameProvider: Sendable {
    var frameCount: Int { get }
    func frameName(at i: Int) -> (name: String, videoName: String?)
    func frame(at i: Int) throws -> ScalabelFrame
}

extension ScalabelSource: ScalabelFrameProvider {
    public var frameCount: Int { frames.count }
    public func frameName(at i: Int) -> (name: String, videoName: String?) { (frames[i].name, frames[i].videoName) }
}

/// Frames already in memory (e.g. `zoo reproduce` scoring its own predictions).
public struct InMemoryFrames: ScalabelFrameProvider {
    public let frames: [ScalabelFrame]
    public init(_ frames: [ScalabelFrame]) { self.frames = frames }
    public var frameCount: Int { frames.count }
    public func frameName(at i: Int) -> (name: String, videoName: String?) { (frames[i].name, frames[i].videoName) }
    public func frame(at i: Int) throws -> ScalabelFrame { frames[i] }
}

extension ScalabelFrame {
    /// A prediction frame from the labels `ScalabelWriter.panopticLabels` makes.
    public init(name: String, panopticLabels: [ScalabelWriter.Label]) {
        self.init(name: name, labels: panopticLabels.map { ScalabelLabel(id: $0.id, category: $0.category, rle: $0.rle) })
    }
}

/// The official BDD100K panoptic evaluation (`python -m bdd100k.eval.run -t pan_seg`), both routes,
/// parallel over images, holding only the images being scored.
public struct PanopticEvaluator: Sendable {
    /// How the official CLI picks the route from `-r`.
    public enum Route: Sendable, Equatable {
        /// A JSON file, or a folder of `*.json`: Scalabel frames with RLE masks.
        case rle
        /// A folder (searched recursively) holding only `.png` files: BDD100K bitmasks.
        case bitmask
    }

    public var threads: Int
    /// Called for each warning, in image order, after scoring.
    public var warningHandler: (@Sendable (EvalWarning) -> Void)?
    /// The most pixels a bitmask PNG or an RLE `size` may claim (checked before allocation).
    public var maxPixels: Int = PixelLimit.defaultMaxPixels

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                warningHandler: (@Sendable (EvalWarning) -> Void)? = nil) {
        self.threads = max(1, threads)
        self.warningHandler = warningHandler
    }

    /// The route the official CLI would take for this result path.
    public static func route(result: String) throws -> Route {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: result, isDirectory: &isDir) else {
            throw PanopticError.io(path: result, reason: "no such file or directory")
        }
        guard isDir.boolValue else { return .rle }
        let files = try listFiles(result, suffix: "")
        if !files.isEmpty && files.allSatisfy({ $0.hasSuffix(".png") }) { return .bitmask }
        if result.hasSuffix(".json") || files.allSatisfy({ $0.hasSuffix(".json") }) { return .rle }
        let odd = files.filter { !$0.hasSuffix(".png") && !$0.hasSuffix(".json") }.prefix(3)
        throw PanopticError.invalidInput("\(result) must hold either only bitmask .png files or only .json files (found \(odd.joined(separator: ", ")))")
    }

    /// Scores `result` against `gt`, choosing the route as the official CLI does.
    public func evaluate(gt: String, result: String) throws -> PQResult {
        guard FileManager.default.fileExists(atPath: gt) else { throw PanopticError.io(path: gt, reason: "no such file or directory") }
        switch try PanopticEvaluator.route(result: result) {
        case .bitmask: return try evaluateBitmasks(gtDirectory: gt, predDirectory: result)
        case .rle:
            for p in [gt, result] {
                var d: ObjCBool = false
                if FileManager.default.fileExists(atPath: p, isDirectory: &d), !d.boolValue, !p.hasSuffix("json") {
                    throw PanopticError.invalidInput("\(p): expected a Scalabel .json file (or a folder of them)")
                }
            }
            return try evaluateRLE(gt: try ScalabelSource(path: gt, maxPixels: maxPixels), pred: try ScalabelSource(path: result, maxPixels: maxPixels))
        }
    }

    // MARK: RLE route

    /// The RLE route on any frame providers (files on disk, or frames in memory).
    public func evaluateRLE(gt: some ScalabelFrameProvider, pred: some ScalabelFrameProvider) throws -> PQResult {
        guard gt.frameCount > 0 else {
            throw PanopticError.invalidInput("the ground truth has no frames (the official evaluator stops with AssertionError)")
        }
        var early: [EvalWarning] = []
        // reorder_preds: by name, or by videoName/name when names repeat and every frame has a video.
        let predNames = (0..<pred.frameCount).map { pred.frameName(at: $0) }
        let unique = Set(predNames.map(\.name)).count == predNames.count
        let gtNames = (0..<gt.frameCount).map { gt.frameName(at: $0) }
        let useVideo = !unique && predNames.allSatisfy { !($0.videoName ?? "").isEmpty }
            && gtNames.allSatisfy { !($0.videoName ?? "").isEmpty }
        if !unique && !useVideo {
            early.append(EvalWarning(frame: "", kind: .duplicateName,
                message: "prediction frame names are not unique and not every frame has a videoName: the last frame of each name is used, as the official evaluator does"))
        }
        func key(_ n: (name: String, videoName: String?)) -> String { useVideo ? "\(n.videoName ?? "")/\(n.name)" : n.name }
        var predIndex: [String: Int] = [:]
        for (i, n) in predNames.enumerated() { predIndex[key(n)] = i }
        let pairs = gtNames.map { predIndex[key($0)] }
        let missing = pairs.filter { $0 == nil }.count
        if missing > 0 {
            early.append(EvalWarning(frame: "", kind: .missingPrediction,
                message: "\(missing) of \(gtNames.count) images have no prediction frame; their ground truth counts as missed"))
        }
        let unknown = UnknownCounter()
        let total = try run(count: gt.frameCount, makeScratch: { RLEScratch() }) { i, scratch, warnings in
            var g = try gt.frame(at: i)
            var p = try pairs[i].map { try pred.frame(at: $0) }
            unknown.drop(&g, side: "ground truth")
            if p != nil { unknown.drop(&p!, side: "prediction") }
            return try RLERoute.score(gt: g, pred: p, scratch: scratch, warnings: &warnings)
        } before: { early } after: { unknown.warnings() }
        return PQResult(route: .rle, stats: total)
    }

    // MARK: Bitmask route

    /// The bitmask route: GT `*.png` under `gtDirectory` (recursive, sorted), predictions paired by
    /// file name without extension anywhere under `predDirectory`.
    public func evaluateBitmasks(gtDirectory: String, predDirectory: String) throws -> PQResult {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: gtDirectory, isDirectory: &isDir), isDir.boolValue else {
            throw PanopticError.invalidInput("\(gtDirectory): the bitmask route needs a folder of ground-truth .png files")
        }
        let gtFiles = try PanopticEvaluator.listFiles(gtDirectory, suffix: ".png")
        guard !gtFiles.isEmpty else { throw PanopticError.invalidInput("\(gtDirectory) holds no .png file") }
        let predFiles = try PanopticEvaluator.listFiles(predDirectory, suffix: ".png")
        var predByStem: [String: String] = [:]
        for f in predFiles { predByStem[PanopticEvaluator.stem(f)] = f }
        let pairs = gtFiles.map { predByStem[PanopticEvaluator.stem($0)] }
        var early: [EvalWarning] = []
        let missing = pairs.filter { $0 == nil }.count
        if missing > 0 {
            early.append(EvalWarning(frame: "", kind: .missingPrediction,
                message: "\(missing) of \(gtFiles.count) images have no prediction PNG; their ground truth counts as missed"))
        }
        let total = try run(count: gtFiles.count, makeScratch: { BitmaskScratch() }) { i, scratch, warnings in
            let gp = (gtDirectory as NSString).appendingPathComponent(gtFiles[i])
            let pp = pairs[i].map { (predDirectory as NSString).appendingPathComponent($0) }
            // Decoded into per-thread buffers, released before the next image so they are reused.
            let stats: PQStats = try {
                let g = try Bitmask.read(path: gp, decoder: scratch.decoder, file: &scratch.file, pixels: &scratch.gtPixels, maxPixels: maxPixels)
                let p = try pp.map { try Bitmask.read(path: $0, decoder: scratch.decoder, file: &scratch.file, pixels: &scratch.predPixels, maxPixels: maxPixels) }
                return try BitmaskRoute.score(gt: g, pred: p, gtPath: gp, predPath: pp, scratch: scratch, warnings: &warnings)
            }()
            return stats
        } before: { early } after: { [] }
        return PQResult(route: .bitmask, stats: total)
    }

    /// The bitmask route on images in memory: `(gt, pred)` pairs, `pred` nil for a missing prediction.
    public func evaluateBitmasks(_ pairs: [(gt: Bitmask, pred: Bitmask?)]) throws -> PQResult {
        let total = try run(count: pairs.count, makeScratch: { BitmaskScratch() }) { i, scratch, warnings in
            try BitmaskRoute.score(gt: pairs[i].gt, pred: pairs[i].pred, gtPath: "image \(i)",
                                   predPath: pairs[i].pred == nil ? nil : "prediction \(i)", scratch: scratch, warnings: &warnings)
        } before: { [] } after: { [] }
        return PQResult(route: .bitmask, stats: total)
    }

    // MARK: Helpers

    /// Files under `root` (recursive, hidden ones included, as os.walk), relative, sorted by code point.
    static func listFiles(_ root: String, suffix: String) throws -> [String] {
        guard let e = FileManager.default.enumerator(atPath: root) else {
            throw PanopticError.io(path: root, reason: "cannot list the folder")
        }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            var d: ObjCBool = false
            let full = (root as NSString).appendingPathComponent(rel)
            if FileManager.default.fileExists(atPath: full, isDirectory: &d), !d.boolValue, rel.hasSuffix(suffix) {
                out.append(rel)
            }
        }
        return out.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes(Array($1.unicodeScalars.map(\.value))) }
    }

    /// `os.path.splitext(os.path.basename(p))[0]`.
    static func stem(_ p: String) -> String {
        let base = (p as NSString).lastPathComponent
        guard let dot = base.lastIndex(of: "."), dot != base.startIndex,
              base[base.startIndex..<dot].contains(where: { $0 != "." }) else { return base }
        return String(base[base.startIndex..<dot])
    }

    /// Scores images `0..<count` on `threads` threads, folding their totals in image order.
    private func run<Scratch>(count: Int, makeScratch: @escaping @Sendable () -> Scratch,
                              _ body: @escaping @Sendable (Int, Scratch, inout [EvalWarning]) throws -> PQStats,
                              before: () -> [EvalWarning], after: () -> [EvalWarning]) throws -> PQStats {
        let state = FoldState()
        let workers = min(threads, max(1, count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let scratch = makeScratch()
            while let i = state.next(limit: count) {
                var warnings: [EvalWarning] = []
                do {
                    let s = try body(i, scratch, &warnings)
                    state.deliver(i, stats: s, warnings: warnings)
                } catch {
                    state.fail(error)
                }
            }
        }
        if let e = state.error { throw e }
        if let h = warningHandler {
            for w in before() { h(w) }
            for w in state.warnings { h(w) }
            for w in after() { h(w) }
        }
        return state.total
    }
}

/// Hands out image indices and folds results in index order, so at most a few results wait.
private final class FoldState: Sendable {
    private struct State {
        var nextIndex = 0
        var nextToFold = 0
        var pending: [Int: PQStats] = [:]
        var total = PQStats()
        var warnings: [EvalWarning] = []
        var pendingWarnings: [Int: [EvalWarning]] = [:]
        var error: Error?
    }
    private let state = Mutex(State())

    var total: PQStats { state.withLock { $0.total } }
    var warnings: [EvalWarning] { state.withLock { $0.warnings } }
    var error: Error? { state.withLock { $0.error } }

    func next(limit: Int) -> Int? {
        state.withLock { s in
            guard s.error == nil, s.nextIndex < limit else { return nil }
            s.nextIndex += 1
            return s.nextIndex - 1
        }
    }

    func deliver(_ i: Int, stats: PQStats, warnings w: [EvalWarning]) {
        state.withLock { s in
            s.pending[i] = stats
            if !w.isEmpty { s.pendingWarnings[i] = w }
            while let done = s.pending.removeValue(forKey: s.nextToFold) {
                s.total.add(done)
                if let w = s.pendingWarnings.removeValue(forKey: s.nextToFold) { s.warnings += w }
                s.nextToFold += 1
            }
        }
    }

    func fail(_ e: Error) {
        state.withLock { s in
            if s.error == nil { s.error = e }
        }
    }
}

/// Counts labels dropped for an unknown category (bdd100k_to_scalabel with remove_ignored).
private final class UnknownCounter: Sendable {
    private let counts = Mutex<[String: [String: Int]]>([:])

    func drop(_ frame: inout ScalabelFrame, side: String) {
        guard let labels = frame.labels else { return }
        var kept: [ScalabelLabel] = []
        kept.reserveCapacity(labels.count)
        var dropped: [String: Int] = [:]
        for l in labels {
            if let c = l.category, BDD100K.id(of: c) != nil { kept.append(l) } else { dropped[l.category ?? "null", default: 0] += 1 }
        }
        guard !dropped.isEmpty else { return }
        frame.labels = kept
        counts.withLock { counts in
            for (k, v) in dropped { counts[side, default: [:]][k, default: 0] += v }
        }
    }

    func warnings() -> [EvalWarning] {
        let counts = self.counts.withLock { $0 }
        return counts.keys.sorted().map { side in
            let list = (counts[side] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
            return EvalWarning(frame: "", kind: .unknownCategory,
                message: "\(side) labels of categories that are not among the 40 were dropped, as the official evaluator does silently: \(list.joined(separator: ", "))")
        }
    }
}
