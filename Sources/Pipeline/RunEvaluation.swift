import Foundation
import ZooFiles
import Panoptic

/// The ground truth a run is scored against, and so the evaluator's route (as `zoo eval` chooses it).
public enum GroundTruth: Sendable, Equatable {
    /// A folder of BDD100K bitmask PNGs (`<stem>.png`): the bitmask route; our predictions are rendered
    /// to bitmasks in memory.
    case bitmasks(directory: String)
    /// A Scalabel JSON file (or folder of them) with RLE labels: the RLE route.
    case scalabel(path: String)

    public var routeName: String {
        switch self {
        case .bitmasks: return "bitmask (PNG)"
        case .scalabel: return "RLE (JSON)"
        }
    }

    /// The number of images the ground truth covers that are not among `names` (matched by stem).
    public func extra(beyond names: [String]) throws -> Int {
        let stems = Set(names.map { ($0 as NSString).deletingPathExtension })
        switch self {
        case let .bitmasks(dir):
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return files.filter { $0.hasSuffix(".png") && !stems.contains(($0 as NSString).deletingPathExtension) }.count
        case let .scalabel(path):
            return try ScalabelSource(path: path).frames.filter { !stems.contains(($0.name as NSString).deletingPathExtension) }.count
        }
    }

    /// The images of `names` that have no ground truth.
    public func missing(for names: [String]) throws -> [String] {
        switch self {
        case let .bitmasks(dir):
            for n in names { try FileName.checked(n) }
            return names.filter {
                !FileManager.default.fileExists(atPath: "\(dir)/\(($0 as NSString).deletingPathExtension).png")
            }
        case let .scalabel(path):
            let source = try ScalabelSource(path: path)
            let have = Set(source.frames.map(\.name))
            return names.filter { !have.contains($0) }
        }
    }
}

/// A subset of a Scalabel source, by index (the frames a partial run covered).
struct SubsetFrames: ScalabelFrameProvider {
    let source: ScalabelSource
    let indices: [Int]
    var frameCount: Int { indices.count }
    func frameName(at i: Int) -> (name: String, videoName: String?) { source.frameName(at: indices[i]) }
    func frame(at i: Int) throws -> ScalabelFrame { try source.frame(at: indices[i]) }
}

/// Scores the frames of a run (only those frames: a partial run is scored on what it ran) with the
/// official PQ engine.
public enum RunEvaluation {
    public static func evaluate(_ frames: [FrameRecord], against gt: GroundTruth,
                                evaluator: PanopticEvaluator = PanopticEvaluator()) throws -> PQResult {
        let frames = frames.sorted { $0.name < $1.name }
        guard !frames.isEmpty else { throw PipelineError.dataset("no frames to score") }
        switch gt {
        case let .scalabel(path):
            let source = try ScalabelSource(path: path)
            var byName: [String: Int] = [:]
            for (i, f) in source.frames.enumerated() { byName[f.name] = i }
            let indices = frames.compactMap { byName[$0.name] }
            guard indices.count == frames.count else {
                throw PipelineError.dataset("\(path) lacks the ground truth of \(frames.count - indices.count) image(s)")
            }
            return try evaluator.evaluateRLE(gt: SubsetFrames(source: source, indices: indices),
                                             pred: InMemoryFrames(frames.map(\.scalabelFrame)))
        case let .bitmasks(dir):
            // In chunks, so only a few images are in memory; PQ statistics are sums, so this is exact.
            var total = PQStats()
            let chunk = max(4, 2 * evaluator.threads)
            for start in stride(from: 0, to: frames.count, by: chunk) {
                var pairs: [(gt: Bitmask, pred: Bitmask?)] = []
                for f in frames[start..<min(frames.count, start + chunk)] {
                    try FileName.checked(f.name)
                    let g = try Bitmask.read(path: "\(dir)/\((f.name as NSString).deletingPathExtension).png")
                    pairs.append((g, try f.bitmask(height: g.height, width: g.width)))
                }
                total.add(try evaluator.evaluateBitmasks(pairs).stats)
            }
            return PQResult(route: .bitmask, stats: total)
        }
    }
}
