import Foundation
import ZooFiles

/// One segment of a frame's result, as it will be written to `pan_seg.json`.
public struct SegmentRecord: Codable, Equatable, Sendable {
    public var id: String
    public var category: String
    /// COCO compressed RLE string and its [height, width].
    public var counts: String
    public var size: [Int]

    public init(id: String, category: String, counts: String, size: [Int]) {
        self.id = id; self.category = category; self.counts = counts; self.size = size
    }
}

/// The result of one image, as journalled.
public struct FrameRecord: Codable, Equatable, Sendable {
    public var name: String
    public var labels: [SegmentRecord]
    public var seconds: Double?

    public init(name: String, labels: [SegmentRecord], seconds: Double? = nil) {
        self.name = name; self.labels = labels; self.seconds = seconds
    }
}

/// An append-only JSON-lines journal of per-image results, so an interrupted run resumes where it
/// stopped. The first line identifies the run (model, weights); a rerun with other weights refuses to
/// mix results. Each record is written with one `write` and fsynced; a line cut short by a crash is
/// dropped (and the file trimmed back) on the next open.
public final class Journal {
    public struct Header: Codable, Equatable, Sendable {
        public var kind = "bdd100k-zoo journal"
        public var version = 1
        public var model: String
        public var weights: String

        public init(model: String, weights: String) { self.model = model; self.weights = weights }
    }

    public let url: URL
    public private(set) var records: [String: FrameRecord] = [:]
    private let handle: FileHandle
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// Opens (creating if needed) the journal at `url` for a run identified by `header`.
    public init(url: URL, header: Header) throws {
        self.url = url
        let fm = FileManager.default
        try? fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !fm.fileExists(atPath: url.path) {
            guard fm.createFile(atPath: url.path, contents: nil) else {
                throw PipelineError.io(path: url.path, reason: "cannot create the journal (check the output folder's permissions)")
            }
        }
        guard let h = try? FileHandle(forUpdating: url) else {
            throw PipelineError.io(path: url.path, reason: "cannot open the journal for writing")
        }
        handle = h
        let data = (try? h.readToEnd()) ?? Data()
        var good = 0  // byte length of the complete lines
        var lineNumber = 0
        var sawHeader = false
        var start = data.startIndex
        while let nl = data[start...].firstIndex(of: UInt8(ascii: "\n")) {
            lineNumber += 1
            let line = data[start..<nl]
            start = data.index(after: nl)
            if line.isEmpty { good = start - data.startIndex; continue }
            if !sawHeader {
                guard let existing = try? JSONDecoder().decode(Header.self, from: line), existing.kind == header.kind else {
                    throw PipelineError.journalCorrupt(path: url.path, line: lineNumber, reason: "not a journal header")
                }
                guard existing == header else {
                    throw PipelineError.journalMismatch(
                        path: url.path,
                        reason: "it holds results of \(existing.model) with weights \(existing.weights), not \(header.model) with \(header.weights)")
                }
                sawHeader = true
            } else {
                guard let r = try? JSONDecoder().decode(FrameRecord.self, from: line) else {
                    throw PipelineError.journalCorrupt(path: url.path, line: lineNumber, reason: "not a frame record")
                }
                records[r.name] = r
            }
            good = start - data.startIndex
        }
        // Drop a partial last line left by a crash, then make sure there is a header.
        if good < data.count {
            try h.truncate(atOffset: UInt64(good))
        }
        try h.seekToEnd()
        if !sawHeader {
            try append(encoder.encode(header))
        }
    }

    deinit { try? handle.close() }

    public func contains(_ name: String) -> Bool { records[name] != nil }

    /// Appends one image's result durably.
    public func record(_ frame: FrameRecord) throws {
        try append(encoder.encode(frame))
        records[frame.name] = frame
    }

    private func append(_ json: Data) throws {
        var line = json
        line.append(UInt8(ascii: "\n"))
        do {
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw PipelineError.io(path: url.path, reason: "cannot append to the journal (\(SystemError.describe(error))); is the disk full?")
        }
    }

    /// All results, sorted by frame name (the order the final `pan_seg.json` uses).
    public var sortedFrames: [FrameRecord] { records.values.sorted { $0.name < $1.name } }

    /// Reads the records of a journal without opening it for writing (for `zoo merge`). A last line
    /// without its newline (a crash mid-write) is ignored, as a resumed run would.
    public static func read(_ url: URL) throws -> (Header, [FrameRecord]) {
        guard let data = try? Data(contentsOf: url) else {
            throw PipelineError.io(path: url.path, reason: "cannot read the journal")
        }
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        lines.removeLast()  // the piece after the last newline: empty, or a partial record
        guard let first = lines.first, let header = try? JSONDecoder().decode(Header.self, from: first) else {
            throw PipelineError.journalCorrupt(path: url.path, line: 1, reason: "not a journal header")
        }
        var records: [String: FrameRecord] = [:]
        for (n, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            guard let r = try? JSONDecoder().decode(FrameRecord.self, from: line) else {
                throw PipelineError.journalCorrupt(path: url.path, line: n + 1, reason: "not a frame record")
            }
            records[r.name] = r
        }
        return (header, records.values.sorted { $0.name < $1.name })
    }
}
