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
    /// `maxPixels`: the RLE size limit of a Scalabel ground truth (`--max-pixels`).
    public func extra(beyond names: [String], maxPixels: Int = PixelLimit.defaultMaxPixels) throws -> Int {
        let stems = Set(names.map { ($0 as NSString).deletingPathExtension })
        switch self {
        case let .bitmasks(dir):
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return files.filter { $0.hasSuffix(".png") && !stems.contains(($0 as NSString).deletingPathExtension) }.count
        case let .scalabel(path):
            return try ScalabelSource(path: path, maxPixels: maxPixels).frames.filter { !stems.contains(($0.name as NSString).deletingPathExtension) }.count
        }
    }

    /// The images of `names` that have no ground truth.
    public func missing(for names: [String], maxPixels: Int = PixelLimit.defaultMaxPixels) throws -> [String] {
        switch self {
        case let .bitmasks(dir):
            for n in names { try FileName.checked(n) }
            return names.filter {
                !FileManager.default.fileExists(atPath: "\(dir)/\(($0 as NSString).deletingPathExtension).png")
            }
        case let .scalabel(path):
            let source = try ScalabelSource(path: path, maxPixels: maxPixels)
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
/// official PQ engine. Every mask size, of the ground truth (bitmask PNG headers, Scalabel RLE sizes)
/// and of the run's own segments (journals, possibly from other machines), is held to
/// `evaluator.maxPixels` before anything is allocated for it.
public enum RunEvaluation {
    public static func evaluate(_ frames: [FrameRecord], against gt: GroundTruth,
                                evaluator: PanopticEvaluator = PanopticEvaluator()) throws -> PQResult {
        let frames = frames.sorted { $0.name < $1.name }
        guard !frames.isEmpty else { throw PipelineError.dataset("no frames to score") }
        try checkSizes(frames, maxPixels: evaluator.maxPixels)
        switch gt {
        case let .scalabel(path):
            let source = try ScalabelSource(path: path, maxPixels: evaluator.maxPixels)
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
                    let g = try Bitmask.read(path: "\(dir)/\((f.name as NSString).deletingPathExtension).png", maxPixels: evaluator.maxPixels)
                    pairs.append((g, try f.bitmask(height: g.height, width: g.width)))
                }
                total.add(try evaluator.evaluateBitmasks(pairs).stats)
            }
            return PQResult(route: .bitmask, stats: total)
        }
    }

    /// Refuses a segment whose RLE size is not [height, width] of at most `maxPixels` pixels (the
    /// message `zoo eval` gives for a Scalabel file).
    static func checkSizes(_ frames: [FrameRecord], maxPixels: Int) throws {
        for f in frames {
            for l in f.labels {
                guard l.size.count == 2, l.size[0] >= 0, l.size[1] >= 0 else {
                    throw PipelineError.dataset("frame \(f.name): segment \(l.id) has an rle size \(l.size), not [height, width]")
                }
                let (pixels, overflow) = l.size[0].multipliedReportingOverflow(by: l.size[1])
                guard !overflow, pixels <= maxPixels else {
                    throw PipelineError.dataset("frame \(f.name): segment \(l.id): an rle size is \(l.size[0])x\(l.size[1]), over the limit of \(maxPixels) pixels (raise it with --max-pixels or ZOO_MAX_PIXELS if genuine)")
                }
            }
        }
    }
}
