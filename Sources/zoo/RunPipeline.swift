import Foundation
import Imaging
import Panoptic
import PanopticFPN
import Pipeline
import Tensors
import ZooFiles

/// A value computed on another thread.
final class Pending<T>: @unchecked Sendable {
    private let group = DispatchGroup()
    private var result: Result<T, Error>?

    init(on queue: DispatchQueue, _ body: @escaping () throws -> T) {
        group.enter()
        queue.async { [self] in
            result = Result { try body() }
            group.leave()
        }
    }

    func get() throws -> T {
        group.wait()
        guard let r = result else { throw CLIError(message: "internal: a background task produced nothing") }
        return try r.get()
    }
}

/// Writes `pan_seg.json` (and bitmask PNGs) on a serial background queue, so encoding and file writes
/// overlap the next image's compute. Errors surface at the next `append` or at `finish`.
final class OutputWriter: @unchecked Sendable {
    let jsonPath: String
    let bitmaskDir: String?
    let visDir: String?
    let classes: [String]
    private let json: ScalabelWriter
    private let queue = DispatchQueue(label: "zoo.run.writer")
    /// At most two results wait for the writer (bounds memory).
    private let slots = DispatchSemaphore(value: 2)
    private var failure: Error?
    private(set) var written = 0

    init(directory: String, classes: [String], bitmasks: Bool, vis: Bool) throws {
        jsonPath = (directory as NSString).appendingPathComponent("pan_seg.json")
        self.classes = classes
        func folder(_ name: String, _ wanted: Bool) throws -> String? {
            guard wanted else { return nil }
            let dir = (directory as NSString).appendingPathComponent(name)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return dir
        }
        bitmaskDir = try folder("bitmasks", bitmasks)
        visDir = try folder("vis", vis)
        json = try ScalabelWriter(path: jsonPath)
    }

    /// Queues one frame; `done` runs on the writer queue after it is written.
    func append(name: String, image: BGRImage?, result: PanopticResult, done: @escaping (Int) -> Void) throws {
        if let e = queue.sync(execute: { failure }) { throw e }
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            guard failure == nil else { return }
            do {
                try FileName.checked(name, what: "image")
                let labels = try ScalabelWriter.panopticLabels(panMap: result.panoptic, height: result.height,
                                                               width: result.width, classes: classes)
                try json.append(name: name, labels: labels)
                if let dir = bitmaskDir {
                    let stem = (name as NSString).deletingPathExtension
                    try OutputWriter.bitmask(result, classes: classes)
                        .write(path: (dir as NSString).appendingPathComponent(stem + ".png"))
                }
                if let dir = visDir, let image {
                    let stem = (name as NSString).deletingPathExtension
                    try AtomicFile.write(try OutputWriter.overlay(image, result, classes: classes),
                                                     to: (dir as NSString).appendingPathComponent(stem + ".jpg"))
                }
                written += 1
                done(labels.count)
            } catch {
                failure = error
            }
        }
    }

    /// Waits for the queued frames and closes `pan_seg.json` (atomically renamed into place).
    func finish() throws {
        try queue.sync {
            if let e = failure { throw e }
            try json.finish()
        }
    }

    /// The image with each segment tinted in its BDD100K colour, things outlined, and a legend (JPEG).
    static func overlay(_ image: BGRImage, _ r: PanopticResult, classes: [String]) throws -> Data {
        let values = Set(r.panoptic).sorted().filter { Int($0 % 1000) < classes.count }
        var index: [Int32: Int32] = [:]
        for (k, v) in values.enumerated() { index[v] = Int32(k) }
        let segments = values.map { OverlaySegment(category: classes[Int($0 % 1000)], isThing: $0 >= 1000) }
        return Data(try FrameOverlay.jpeg(image: image, segmentIndex: r.panoptic.map { index[$0] ?? -1 }, segments: segments))
    }

    /// The BDD100K bitmask of a panoptic map: R = category id (1..40, 0 for VOID), A/B = instance id: stuff
    /// segments use their category id, things 31, 32, ... in ascending panoptic value.
    static func bitmask(_ r: PanopticResult, classes: [String]) throws -> Bitmask {
        var b = Bitmask(height: r.height, width: r.width)
        var byValue: [Int32: (category: UInt8, instance: Int)] = [:]
        var nextThing = 31
        for v in Set(r.panoptic).sorted() {
            let c = Int(v % 1000)
            guard c < classes.count, let id = BDD100K.id(of: classes[c]) else { continue }
            if BDD100K.isThing(id) {
                byValue[v] = (UInt8(id), nextThing)
                nextThing += 1
            } else {
                byValue[v] = (UInt8(id), id)
            }
        }
        for (i, v) in r.panoptic.enumerated() {
            guard let seg = byValue[v] else { continue }
            b.rgba[4 * i] = seg.category
            b.rgba[4 * i + 2] = UInt8(truncatingIfNeeded: seg.instance >> 8)
            b.rgba[4 * i + 3] = UInt8(truncatingIfNeeded: seg.instance)
        }
        return b
    }
}

/// Runs the model over the images: the next image is decoded while the current one is computed, and
/// results are written behind.
enum RunLoop {
    static let decodeQueue = DispatchQueue(label: "zoo.run.decode")
    /// Starts decoding an image on the decode queue (e.g. the first one while the weights load), with the
    /// pixel limit and warning handler of `options`.
    static func decode(_ path: String, options: DecodeOptions) -> Pending<BGRImage> {
        Pending(on: decodeQueue) { try BGRImage.load(path: path, options: options) }
    }

    /// `first`: the decode of `images[0]` if already started.
    static func run(model: PanopticFPN, images: [String], first: Pending<BGRImage>? = nil, writer: OutputWriter,
                    profile: Bool, quiet: Bool, engine: EngineOptions, decodeOptions: DecodeOptions) throws {
        let keepImage = writer.visDir != nil
        func decode(_ i: Int) -> Pending<BGRImage> { RunLoop.decode(images[i], options: decodeOptions) }
        var next: Pending<BGRImage>? = images.isEmpty ? nil : (first ?? decode(0))
        for (i, path) in images.enumerated() {
            let name = (path as NSString).lastPathComponent
            let image: BGRImage
            do {
                guard let pending = next else { break }
                image = try pending.get()
            } catch {
                // Keep what is done: close pan_seg.json with the frames before this image.
                try writer.finish()
                throw CLIError(message: "\(path): cannot read the image (\(error)); \(writer.jsonPath) holds the \(i) image(s) before it")
            }
            next = i + 1 < images.count ? decode(i + 1) : nil
            let started = Date()
            let profiler = profile ? StageProfiler() : nil
            let result = model(image, profiler: profiler, engine: engine)
            let seconds = Date().timeIntervalSince(started)
            if let p = profiler { Console.note("\(name) (\(image.width)x\(image.height)):\n" + p.report()) }
            let detections = result.detections.count
            try writer.append(name: name, image: keepImage ? image : nil, result: result) { segments in
                if !quiet {
                    Console.note(String(format: "[%d/%d] %@: %d detections, %d segments, %.2f s", i + 1, images.count,
                                        name, detections, segments, seconds))
                }
            }
        }
        try writer.finish()
    }
}
