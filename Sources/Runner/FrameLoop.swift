import Foundation
import Imaging
import PanopticFPN
import Tensors

/// One image through the model, handed to the output in input order.
public struct FrameOutcome: @unchecked Sendable {
    /// The image's position in the run (0-based) and the number of images.
    public let index: Int
    public let total: Int
    public let path: String
    /// The frame name: the image's file name.
    public let name: String
    /// The decoded image, when the output draws overlays.
    public let image: BGRImage?
    /// The model's result, or why the image could not be decoded.
    public let result: Result<PanopticResult, Error>
    /// Compute time (decode excluded).
    public let seconds: Double
    /// The per-stage timings, with `profile`.
    public let profile: String?
}

/// Where outcomes go. `write` is called on one background queue, in input order; an error it throws
/// stops the run. Implementations write to temporary names and publish in `finish()`; `discard()` removes
/// what `finish()` would have published.
public protocol FrameOutput: AnyObject {
    /// Whether outcomes carry the decoded image (for overlays).
    var needsImages: Bool { get }
    func write(_ outcome: FrameOutcome) throws
    func finish() throws
    func discard()
}

/// The one decode-ahead / compute / write-behind loop of `zoo run` and `zoo reproduce`.
///
/// With one pipeline the model runs on the calling thread while the next image decodes on a background
/// queue and the previous result is written on another. With `k` pipelines, `k` threads each take every
/// `k`-th image (pipeline `p`: images `p`, `p + k`, ...), sharing the loaded weights read-only, with
/// the threads of the parallel loops split between them (`RunOptions.engine`); the calling thread hands
/// their results to the output in input order, so the output bytes do not depend on `k`.
public struct FrameLoop: Sendable {
    /// What to do with an image that cannot be decoded.
    public enum OnUnreadable: Sendable {
        /// Stop the run: `run` throws `RunnerError.image` naming it (after discarding the output).
        case stop
        /// Hand the failure to the output (as `outcome.result`) and go on.
        case skip
    }

    public var model: PanopticFPN
    public var paths: [String]
    public var pipelines: Int
    public var decode: DecodeOptions
    public var profile: Bool
    public var onUnreadable: OnUnreadable
    /// The kernels' options of each pipeline.
    public var engine: EngineOptions

    public init(model: PanopticFPN, paths: [String], pipelines: Int = 1, decode: DecodeOptions = DecodeOptions(),
                profile: Bool = false, onUnreadable: OnUnreadable = .stop, engine: EngineOptions = .default) {
        self.model = model
        self.paths = paths
        self.pipelines = max(1, min(pipelines, max(1, paths.count)))
        self.decode = decode
        self.profile = profile
        self.onUnreadable = onUnreadable
        self.engine = engine
    }

    /// Starts decoding an image on a background queue (e.g. the first one while the weights load).
    public static func startDecoding(_ path: String, options: DecodeOptions,
                                     on queue: DispatchQueue = DispatchQueue(label: "zoo.runner.decode")) -> Pending<BGRImage> {
        Pending(on: queue) { try BGRImage.load(path: path, options: options) }
    }

    /// Runs every image and finishes the output; on any error the output is discarded and the error thrown.
    /// `first`: the decode of `paths[0]` if already started.
    public func run(into output: FrameOutput, first: Pending<BGRImage>? = nil) throws {
        let writer = OrderedWriter(output: output)
        do {
            if pipelines == 1 {
                try runPipeline(0, of: 1, first: first, stop: StopFlag()) { try writer.append($0) }
            } else {
                try runPipelines(first: first, writer: writer)
            }
            try writer.finish()
        } catch {
            writer.discard()
            throw error
        }
    }

    /// Pipeline `p` of `k`: images `p`, `p + k`, ... decoded one ahead, computed on this thread, each
    /// outcome passed to `emit`. Stops early when `stop` is set.
    private func runPipeline(_ p: Int, of k: Int, first: Pending<BGRImage>?, stop: StopFlag,
                             emit: (FrameOutcome) throws -> Void) throws {
        let indices = Array(stride(from: p, to: paths.count, by: k))
        let queue = DispatchQueue(label: "zoo.runner.decode.\(p)")
        let options = decode
        func start(_ i: Int) -> Pending<BGRImage> { Self.startDecoding(paths[i], options: options, on: queue) }
        var next: Pending<BGRImage>? = indices.first.map { i in (i == 0 ? first : nil) ?? start(i) }
        for (n, i) in indices.enumerated() {
            guard !stop.isSet, let pending = next else { return }
            let path = paths[i], name = (path as NSString).lastPathComponent
            let decoded = Result { try pending.get() }
            next = n + 1 < indices.count ? start(indices[n + 1]) : nil
            let outcome: FrameOutcome
            switch decoded {
            case let .failure(error):
                if onUnreadable == .stop { throw RunnerError.image(path: path, reason: "\(error)") }
                outcome = FrameOutcome(index: i, total: paths.count, path: path, name: name, image: nil,
                                       result: .failure(error), seconds: 0, profile: nil)
            case let .success(image):
                let started = Date()
                let profiler = profile ? StageProfiler() : nil
                let result = model(image, profiler: profiler, engine: engine)
                let seconds = Date().timeIntervalSince(started)
                outcome = FrameOutcome(index: i, total: paths.count, path: path, name: name, image: image,
                                       result: .success(result), seconds: seconds,
                                       profile: profiler.map { "\(name) (\(image.width)x\(image.height)):\n" + $0.report() })
            }
            try emit(outcome)
        }
    }

    /// `pipelines` threads compute; this thread passes their outcomes on in input order.
    private func runPipelines(first: Pending<BGRImage>?, writer: OrderedWriter) throws {
        let k = pipelines
        let stop = StopFlag()
        let channels = (0..<k).map { _ in Channel<Result<FrameOutcome, Error>>(capacity: 2) }
        let done = DispatchGroup()
        for p in 0..<k {
            done.enter()
            let loop = self, channel = channels[p]
            let thread = Thread {
                defer { channel.close(); done.leave() }
                do {
                    try loop.runPipeline(p, of: k, first: p == 0 ? first : nil, stop: stop) { outcome in
                        guard channel.put(.success(outcome)) else { throw CancellationError() }
                    }
                } catch is CancellationError {
                } catch {
                    channel.put(.failure(error))
                }
            }
            thread.name = "zoo pipeline \(p)"
            // The main thread's stack size: the model's code was written for it.
            thread.stackSize = 8 << 20
            thread.start()
        }
        defer {
            // Unblock and join the pipelines whatever happened (each finishes its current image).
            stop.set()
            for c in channels { c.close() }
            done.wait()
        }
        for i in 0..<paths.count {
            guard let item = channels[i % k].take() else {
                throw RunnerError.message("internal: pipeline \(i % k) ended before image \(i)")
            }
            try writer.append(try item.get())
        }
    }
}

/// Passes outcomes to a `FrameOutput` on a serial background queue, at most two waiting (bounds memory).
/// An error of the output surfaces at the next `append` or at `finish`.
final class OrderedWriter: @unchecked Sendable {
    private let output: FrameOutput
    private let queue = DispatchQueue(label: "zoo.runner.writer")
    private let slots = DispatchSemaphore(value: 2)
    /// Set and read on `queue` only.
    private var failure: Error?

    init(output: FrameOutput) { self.output = output }

    func append(_ outcome: FrameOutcome) throws {
        if let e = queue.sync(execute: { failure }) { throw e }
        slots.wait()
        let kept = output.needsImages ? outcome : FrameOutcome(
            index: outcome.index, total: outcome.total, path: outcome.path, name: outcome.name, image: nil,
            result: outcome.result, seconds: outcome.seconds, profile: outcome.profile)
        queue.async { [self] in
            defer { slots.signal() }
            guard failure == nil else { return }
            do { try output.write(kept) } catch { failure = error }
        }
    }

    func finish() throws {
        try queue.sync {
            if let e = failure { throw e }
            try output.finish()
        }
    }

    func discard() {
        queue.sync { output.discard() }
    }
}
