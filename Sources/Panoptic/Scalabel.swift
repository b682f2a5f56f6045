import Foundation
import ZooFiles

/// One Scalabel label, reduced to what panoptic evaluation reads.
public struct ScalabelLabel: Sendable, Equatable {
    /// `id` as written (a JSON number is kept as its text, as pydantic coerces it to str).
    public var id: String?
    public var category: String?
    /// `attributes.crowd` is truthy.
    public var crowd: Bool
    /// `attributes.ignored` is truthy.
    public var ignored: Bool
    public var rle: RLE?
    /// The label has a non-null `poly2d` (polygons are not evaluated).
    public var hasPoly2d: Bool

    public init(id: String?, category: String?, crowd: Bool = false, ignored: Bool = false, rle: RLE?, hasPoly2d: Bool = false) {
        self.id = id
        self.category = category
        self.crowd = crowd
        self.ignored = ignored
        self.rle = rle
        self.hasPoly2d = hasPoly2d
    }
}

/// One Scalabel frame: its name and labels (nil when `labels` is null or absent).
public struct ScalabelFrame: Sendable, Equatable {
    public var name: String
    public var videoName: String?
    public var labels: [ScalabelLabel]?

    public init(name: String, videoName: String? = nil, labels: [ScalabelLabel]?) {
        self.name = name
        self.videoName = videoName
        self.labels = labels
    }
}

/// A Scalabel JSON file, or a folder of them (`*.json`, sorted, not recursive, as scalabel's `load`),
/// indexed but not parsed: each frame is parsed when asked for, so memory does not grow with the file.
/// Accepts a bare list of frames or `{"frames": [...], ...}`.
public final class ScalabelSource: Sendable {
    public struct FrameRef: Sendable {
        public let name: String
        public let videoName: String?
        let file: Int
        let range: Range<Int>
    }

    let files: [MappedFile]
    public let frames: [FrameRef]
    /// The most pixels an RLE `size` may claim (its mask is allocated at that size when decoded).
    public let maxPixels: Int

    public init(path: String, maxPixels: Int = PixelLimit.defaultMaxPixels) throws {
        self.maxPixels = maxPixels
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw PanopticError.io(path: path, reason: "no such file or directory")
        }
        var paths: [String] = []
        if isDir.boolValue {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw PanopticError.io(path: path, reason: "cannot list the folder: \(SystemError.describe(error))")
            }
            paths = names.filter { $0.hasSuffix(".json") }
                .map { (path as NSString).appendingPathComponent($0) }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } else {
            paths = [path]
        }
        var files: [MappedFile] = []
        var refs: [FrameRef] = []
        for p in paths {
            let f = try MappedFile(path: p)
            try ScalabelSource.index(f, number: files.count, into: &refs)
            f.release(0..<f.count)
            files.append(f)
        }
        self.files = files
        self.frames = refs
    }

    private static func index(_ file: MappedFile, number: Int, into refs: inout [FrameRef]) throws {
        var s = JSONScanner(bytes: file.bytes, path: file.path)
        var released = 0
        func indexFrames(_ s: inout JSONScanner) throws {
            try s.forEachElement { s in
                guard s.peek() == UInt8(ascii: "{") else { throw s.fail("a frame is not an object") }
                let start = s.pos
                var name: String?
                var video: String?
                try s.forEachMember { s, key in
                    switch key {
                    case "name": name = try s.consumeNull() ? nil : try s.parseString()
                    case "videoName": video = try s.consumeNull() ? nil : try s.parseString()
                    default: try s.skipValue()
                    }
                }
                guard let n = name else { throw s.fail("a frame has no \"name\"") }
                refs.append(FrameRef(name: n, videoName: video, file: number, range: start..<s.pos))
                // Keep the scan's resident pages bounded: drop what is behind, every 8 MB.
                if s.pos - released > 8 << 20 {
                    file.release(released..<s.pos)
                    released = s.pos
                }
            }
        }
        switch s.peek() {
        case UInt8(ascii: "["): try indexFrames(&s)
        case UInt8(ascii: "{"):
            var sawFrames = false
            try s.forEachMember { s, key in
                if key == "frames" {
                    sawFrames = true
                    if try !s.consumeNull() { try indexFrames(&s) }
                } else {
                    try s.skipValue()
                }
            }
            guard sawFrames else { throw PanopticError.invalidJSON(path: file.path, reason: "the top-level object has no \"frames\" key") }
        default:
            throw PanopticError.invalidJSON(path: file.path, reason: "expected a list of frames or {\"frames\": [...]}")
        }
        guard s.peek() == nil else { throw s.fail("extra data after the JSON value") }
    }

    /// Parses frame `i` of `frames`.
    public func frame(at i: Int) throws -> ScalabelFrame {
        let ref = frames[i]
        let file = files[ref.file]
        var s = JSONScanner(bytes: file.bytes, range: ref.range, path: file.path)
        var labels: [ScalabelLabel]? = nil
        try s.forEachMember { s, key in
            guard key == "labels" else { try s.skipValue(); return }
            if try s.consumeNull() { labels = nil; return }
            var list: [ScalabelLabel] = []
            try s.forEachElement { s in list.append(try ScalabelSource.parseLabel(&s, maxPixels: maxPixels)) }
            labels = list
        }
        file.release(ref.range)
        return ScalabelFrame(name: ref.name, videoName: ref.videoName, labels: labels)
    }

    /// All frames, parsed (convenient for small files and tests).
    public func allFrames() throws -> [ScalabelFrame] {
        try (0..<frames.count).map { try frame(at: $0) }
    }

    static func parseLabel(_ s: inout JSONScanner, maxPixels: Int = PixelLimit.defaultMaxPixels) throws -> ScalabelLabel {
        var label = ScalabelLabel(id: nil, category: nil, rle: nil)
        try s.forEachMember { s, key in
            switch key {
            case "id":
                switch try s.parseValue() {
                case .string(let v): label.id = v
                case .number(_, let text): label.id = text
                case .null: label.id = nil
                default: throw s.fail("a label id is neither a string nor a number")
                }
            case "category":
                label.category = try s.consumeNull() ? nil : try s.parseString()
            case "attributes":
                if case .object(let members) = try s.parseValue() {
                    for (k, v) in members {
                        if k == "crowd" { label.crowd = v.isTruthy }
                        if k == "ignored" { label.ignored = v.isTruthy }
                    }
                }
            case "poly2d":
                label.hasPoly2d = try !s.consumeNull()
                if label.hasPoly2d { try s.skipValue() }
            case "rle":
                if try s.consumeNull() { label.rle = nil; return }
                var counts: String?
                var size: [Int] = []
                try s.forEachMember { s, k in
                    switch k {
                    case "counts": counts = try s.parseString()
                    case "size":
                        try s.forEachElement { s in
                            guard let v = Int(try s.parseNumberText()) else { throw s.fail("an rle size is not an integer") }
                            size.append(v)
                        }
                    default: try s.skipValue()
                    }
                }
                guard let c = counts, size.count == 2, size[0] >= 0, size[1] >= 0 else {
                    throw s.fail("an rle needs \"counts\" (a string) and \"size\" ([height, width])")
                }
                let (pixels, overflow) = size[0].multipliedReportingOverflow(by: size[1])
                guard !overflow, pixels <= maxPixels else {
                    throw s.fail("an rle size is \(size[0])x\(size[1]), over the limit of \(maxPixels) pixels (raise it with --max-pixels or ZOO_MAX_PIXELS if genuine)")
                }
                label.rle = RLE(counts: c, height: size[0], width: size[1])
            default:
                try s.skipValue()
            }
        }
        return label
    }
}
