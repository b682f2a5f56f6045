import Foundation
import ZooFiles

/// Writes Scalabel frames exactly as bdd100k-models' `test.py --format-only` does: scalabel's `save`,
/// i.e. `json.dump(Dataset(frames).dict(), indent=2)` with every unset field `null`, no trailing newline.
///
/// Streaming: frames are appended one at a time to a temporary sibling of the destination, which is
/// fsynced and renamed onto it by `finish()`.
public final class ScalabelWriter {
    /// One label of a panoptic prediction: `id` is the panoptic value as a string ("16", "1004").
    public struct Label: Sendable, Equatable {
        public var id: String
        public var category: String
        public var rle: RLE
        public init(id: String, category: String, rle: RLE) {
            self.id = id
            self.category = category
            self.rle = rle
        }
    }

    private let path: String
    private let tempPath: String
    private let handle: FileHandle
    private var frameCount = 0
    private var finished = false

    /// Starts writing to `path` (through a temporary sibling).
    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        self.tempPath = (dir.isEmpty ? "" : dir + "/") + ".\(base).\(getpid()).incomplete"
        guard FileManager.default.createFile(atPath: tempPath, contents: nil),
              let h = FileHandle(forWritingAtPath: tempPath) else {
            throw PanopticError.io(path: path, reason: "cannot create \(tempPath)")
        }
        handle = h
        try write("{\n  \"frames\": [")
    }

    deinit {
        if !finished {
            try? handle.close()
            unlink(tempPath)
        }
    }

    /// Appends one frame.
    public func append(name: String, labels: [Label]) throws {
        try write((frameCount == 0 ? "\n" : ",\n") + ScalabelWriter.frameText(name: name, labels: labels, indent: 4))
        frameCount += 1
    }

    /// Abandons the document: the temporary file is closed and removed, nothing reaches the destination.
    /// Call it on every error path once frames may have been appended; after `finish()` it does nothing.
    public func discard() {
        guard !finished else { return }
        finished = true
        try? handle.close()
        unlink(tempPath)
    }

    /// Closes the document, fsyncs and renames it onto the destination.
    public func finish() throws {
        guard !finished else { throw PanopticError.io(path: path, reason: "internal: the document was already closed or discarded") }
        try write((frameCount == 0 ? "]" : "\n  ]") + ",\n  \"groups\": null,\n  \"config\": null\n}")
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw PanopticError.io(path: tempPath, reason: "cannot flush: \(SystemError.describe(error))")
        }
        guard rename(tempPath, path) == 0 else {
            finished = true
            unlink(tempPath)
            throw PanopticError.io(path: path, reason: "cannot rename \(tempPath) onto it: \(String(cString: strerror(errno)))")
        }
        finished = true
    }

    private func write(_ s: String) throws {
        do { try handle.write(contentsOf: Data(s.utf8)) } catch {
            throw PanopticError.io(path: tempPath, reason: "cannot write: \(SystemError.describe(error))")
        }
    }

    // MARK: In-memory forms

    /// The whole document for `frames`, byte for byte what scalabel's `save` writes.
    public static func document(frames: [(name: String, labels: [Label])]) -> String {
        var out = "{\n  \"frames\": ["
        for (i, f) in frames.enumerated() {
            out += (i == 0 ? "\n" : ",\n") + frameText(name: f.name, labels: f.labels, indent: 4)
        }
        out += (frames.isEmpty ? "]" : "\n  ]") + ",\n  \"groups\": null,\n  \"config\": null\n}"
        return out
    }

    /// One frame object as `json.dump(indent=2)` writes it at nesting `indent` (4 inside "frames").
    public static func frameText(name: String, labels: [Label], indent: Int) -> String {
        let p0 = String(repeating: " ", count: indent)
        let p1 = p0 + "  ", p2 = p1 + "  ", p3 = p2 + "  ", p4 = p3 + "  ", p5 = p4 + "  "
        var o = p0 + "{\n"
        o += p1 + "\"name\": " + pythonJSONString(name) + ",\n"
        for k in ["url", "videoName", "intrinsics", "extrinsics", "attributes", "timestamp", "frameIndex", "size"] {
            o += p1 + "\"" + k + "\": null,\n"
        }
        if labels.isEmpty {
            o += p1 + "\"labels\": []\n"
        } else {
            o += p1 + "\"labels\": [\n"
            for (i, l) in labels.enumerated() {
                o += p2 + "{\n"
                o += p3 + "\"id\": " + pythonJSONString(l.id) + ",\n"
                for k in ["index", "manualShape", "manualAttributes", "score", "attributes"] {
                    o += p3 + "\"" + k + "\": null,\n"
                }
                o += p3 + "\"category\": " + pythonJSONString(l.category) + ",\n"
                for k in ["box2d", "box3d", "poly2d"] { o += p3 + "\"" + k + "\": null,\n" }
                o += p3 + "\"rle\": {\n"
                o += p4 + "\"counts\": " + pythonJSONString(l.rle.counts) + ",\n"
                o += p4 + "\"size\": [\n" + p5 + String(l.rle.height) + ",\n" + p5 + String(l.rle.width) + "\n" + p4 + "]\n"
                o += p3 + "},\n"
                o += p3 + "\"graph\": null\n"
                o += p2 + (i == labels.count - 1 ? "}\n" : "},\n")
            }
            o += p1 + "]\n"
        }
        o += p0 + "}"
        return o
    }

    /// The labels bdd100k-models' `convert_format` writes for one panoptic map: one per distinct value
    /// `v` in ascending order, skipping VOID (`v % instanceOffset == classes.count`), with
    /// `id = String(v)`, `category = classes[v % instanceOffset]`.
    /// - Parameters:
    ///   - panMap: row-major `height * width` panoptic values (stuff = class index,
    ///     things = class + instanceOffset * k).
    ///   - instanceOffset: the model's `instance_offset` (zoo.json `test_config.panoptic`); no default, so
    ///     a map is never read with another offset than the one that made it.
    public static func panopticLabels(panMap: UnsafeBufferPointer<Int32>, height: Int, width: Int,
                                      classes: [String] = BDD100K.modelClasses,
                                      instanceOffset: Int32) throws -> [Label] {
        guard instanceOffset > Int32(classes.count) else {
            throw PanopticError.invalidInput("instance offset \(instanceOffset) must be larger than the class count \(classes.count)")
        }
        let rles = RLE.encode(labelMap: panMap, height: height, width: width)
        var out: [Label] = []
        for v in rles.keys.sorted() {
            let sem = Int(v % instanceOffset)
            if sem == classes.count { continue }
            guard sem >= 0, sem < classes.count, let rle = rles[v] else {
                throw PanopticError.invalidInput("panoptic value \(v) has class \(sem), outside 0..<\(classes.count)")
            }
            out.append(Label(id: String(v), category: classes[sem], rle: rle))
        }
        return out
    }

    public static func panopticLabels(panMap: [Int32], height: Int, width: Int,
                                      classes: [String] = BDD100K.modelClasses,
                                      instanceOffset: Int32) throws -> [Label] {
        try panMap.withUnsafeBufferPointer {
            try panopticLabels(panMap: $0, height: height, width: width, classes: classes, instanceOffset: instanceOffset)
        }
    }
}

/// A string as Python's `json.dumps` writes it (ensure_ascii: non-ASCII as \uXXXX, surrogate pairs).
func pythonJSONString(_ s: String) -> String {
    var o = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": o += "\\\""
        case "\\": o += "\\\\"
        case "\n": o += "\\n"
        case "\r": o += "\\r"
        case "\t": o += "\\t"
        case "\u{08}": o += "\\b"
        case "\u{0C}": o += "\\f"
        default:
            if u.value < 0x20 || u.value > 0x7E {
                if u.value > 0xFFFF {
                    let v = u.value - 0x10000
                    o += hex4(0xD800 + (v >> 10)) + hex4(0xDC00 + (v & 0x3FF))
                } else {
                    o += hex4(u.value)
                }
            } else {
                o.unicodeScalars.append(u)
            }
        }
    }
    return o + "\""
}

private func hex4(_ v: UInt32) -> String {
    let h = String(v, radix: 16)
    return "\\u" + String(repeating: "0", count: 4 - h.count) + h
}
