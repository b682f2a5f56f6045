import Foundation
import Imaging
import Panoptic
import PanopticFPN
import Pipeline
import ZooFiles

extension FrameRecord {
    /// The frame of one result as `pan_seg.json` and the journal hold it: one label per panoptic segment
    /// (COCO RLE), VOID left out. `instanceOffset` is the test config's `panoptic.instance_offset`.
    public init(name: String, result: PanopticResult, classes: [String], instanceOffset: Int) throws {
        guard instanceOffset > classes.count, let offset = Int32(exactly: instanceOffset) else {
            throw RunnerError.message("instance offset \(instanceOffset) must be larger than the \(classes.count) classes")
        }
        let labels = try ScalabelWriter.panopticLabels(panMap: result.panoptic, height: result.height, width: result.width,
                                                       classes: classes, instanceOffset: offset)
        self.init(name: name, labels: labels.map(SegmentRecord.init))
    }
}

/// What both outputs write beside the frames: the BDD100K bitmask PNG and the overlay JPEG of a frame.
enum FrameFiles {
    /// `<directory>/<stem>.png`: the frame's BDD100K bitmask (one encoder: `FrameRecord.bitmask`).
    static func bitmask(_ frame: FrameRecord, height: Int, width: Int, directory: String) throws {
        try FileName.checked(frame.name, what: "image")
        try frame.bitmask(height: height, width: width)
            .write(path: "\(directory)/\(FileName.stem(frame.name)).png")
    }

    /// `<directory>/<stem>.jpg`: the frame's segments drawn over its image.
    static func overlay(_ frame: FrameRecord, image: BGRImage, directory: String) throws {
        try FileName.checked(frame.name, what: "image")
        try AtomicFile.write(Data(try FrameOverlay.jpeg(image: image, frame: frame)),
                             to: "\(directory)/\(FileName.stem(frame.name)).jpg")
    }

    static func folder(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw RunnerError.message("\(path): cannot create the folder (\(SystemError.describe(error)))")
        }
    }
}

/// `zoo run`'s output: `DIR/pan_seg.json` (streamed to a temporary sibling, renamed into place by
/// `finish()`), with `DIR/bitmasks/<stem>.png` and `DIR/vis/<stem>.jpg` when asked.
public final class PanSegOutput: FrameOutput {
    public let jsonPath: String
    public let bitmaskDirectory: String?
    public let visDirectory: String?
    public let classes: [String]
    public let instanceOffset: Int
    /// Called after each frame is written, with its segment count (on the writer queue).
    public var onFrame: ((FrameOutcome, _ detections: Int, _ segments: Int) -> Void)?
    private let json: ScalabelWriter
    public private(set) var written = 0

    public init(directory: String, classes: [String], instanceOffset: Int, bitmasks: Bool, vis: Bool) throws {
        jsonPath = (directory as NSString).appendingPathComponent("pan_seg.json")
        self.classes = classes
        self.instanceOffset = instanceOffset
        bitmaskDirectory = bitmasks ? (directory as NSString).appendingPathComponent("bitmasks") : nil
        visDirectory = vis ? (directory as NSString).appendingPathComponent("vis") : nil
        for d in [bitmaskDirectory, visDirectory].compactMap({ $0 }) { try FrameFiles.folder(d) }
        json = try ScalabelWriter(path: jsonPath)
    }

    public var needsImages: Bool { visDirectory != nil }

    public func write(_ outcome: FrameOutcome) throws {
        let result = try outcome.result.get()
        try FileName.checked(outcome.name, what: "image")
        let frame = try FrameRecord(name: outcome.name, result: result, classes: classes, instanceOffset: instanceOffset)
        try json.append(name: frame.name, labels: frame.labels.map(\.label))
        if let dir = bitmaskDirectory { try FrameFiles.bitmask(frame, height: result.height, width: result.width, directory: dir) }
        if let dir = visDirectory, let image = outcome.image { try FrameFiles.overlay(frame, image: image, directory: dir) }
        written += 1
        onFrame?(outcome, result.detections.count, frame.labels.count)
    }

    public func finish() throws { try json.finish() }

    public func discard() { json.discard() }
}

/// `zoo reproduce`'s output: each frame appended to the run's journal as it is made (the journal is the
/// work kept; the final `pan_seg.json` is made from it afterwards), overlays in `visDirectory`. An
/// image that could not be decoded is recorded in `failures` and skipped.
public final class JournalOutput: FrameOutput {
    public let journal: Journal
    public let classes: [String]
    public let instanceOffset: Int
    public let visDirectory: String?
    /// Called after each frame is journalled (segments), or skipped (nil), on the writer queue.
    public var onFrame: ((FrameOutcome, _ segments: Int?) -> Void)?
    public private(set) var failures: [String] = []

    public init(journal: Journal, classes: [String], instanceOffset: Int, visDirectory: String?) {
        self.journal = journal
        self.classes = classes
        self.instanceOffset = instanceOffset
        self.visDirectory = visDirectory
    }

    public var needsImages: Bool { visDirectory != nil }

    public func write(_ outcome: FrameOutcome) throws {
        let result: PanopticResult
        switch outcome.result {
        case let .failure(error):
            failures.append("\(outcome.path): cannot read the image (\(error))")
            onFrame?(outcome, nil)
            return
        case let .success(r): result = r
        }
        let frame = try FrameRecord(name: outcome.name, result: result, classes: classes, instanceOffset: instanceOffset)
        // The journal keeps no timings, so a resumed run writes exactly the same final file.
        try journal.record(frame)
        if let dir = visDirectory, let image = outcome.image {
            try FrameFiles.folder(dir)
            try FrameFiles.overlay(frame, image: image, directory: dir)
        }
        onFrame?(outcome, frame.labels.count)
    }

    /// The journal is fsynced record by record: nothing to publish.
    public func finish() throws {}

    /// The records made stay: they are the work done, and a rerun resumes from them.
    public func discard() {}
}
