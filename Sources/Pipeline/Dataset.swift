import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The BDD100K folder layout `zoo reproduce` reads:
/// `ROOT/images/10k/SPLIT/*.jpg` and `ROOT/labels/pan_seg/bitmasks/SPLIT/*.png`.
public struct DatasetLayout: Sendable, Equatable {
    public let root: String
    public let split: String

    public init(root: String, split: String) { self.root = root; self.split = split }

    public var imagesDirectory: String { "\(root)/images/10k/\(split)" }
    public var bitmaskDirectory: String { "\(root)/labels/pan_seg/bitmasks/\(split)" }

    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// The image file names of the split, sorted by name. Throws when the data root or the image
    /// folder is missing, or when it holds no image.
    public func imageNames() throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw PipelineError.dataset("the data root \(root) does not exist; give --data-root the folder that holds images/10k/\(split)")
        }
        guard fm.fileExists(atPath: imagesDirectory, isDirectory: &isDir), isDir.boolValue else {
            throw PipelineError.dataset("\(imagesDirectory) does not exist; --data-root must be the BDD100K folder holding images/10k/\(split)/*.jpg")
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: imagesDirectory) } catch {
            throw PipelineError.io(path: imagesDirectory, reason: "cannot list the folder")
        }
        let images = names.filter { Self.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !images.isEmpty else {
            throw PipelineError.dataset("\(imagesDirectory) holds no .jpg or .png image; is the download complete?")
        }
        return images
    }

    /// The bitmask ground truth of an image (`<stem>.png`).
    public func bitmaskPath(forImage name: String) -> String {
        "\(bitmaskDirectory)/\((name as NSString).deletingPathExtension).png"
    }
}

/// Which images of a split one run takes: `--images GLOB`, then the shard, then `--limit N`.
public struct ImageSelection: Sendable, Equatable {
    public var glob: String?
    public var shard: Shard
    public var limit: Int?

    public init(glob: String? = nil, shard: Shard = .whole, limit: Int? = nil) {
        self.glob = glob; self.shard = shard; self.limit = limit
    }

    /// True when the run covers only part of the split (its score is then not comparable to the
    /// published one).
    public var isPartial: Bool { glob != nil || shard.count > 1 || limit != nil }

    /// The selected names, sorted. A glob matches the file name (shell rules: `*`, `?`, `[...]`).
    public func apply(to names: [String]) -> [String] {
        var out = names.sorted()
        if let glob { out = out.filter { Self.matches(glob, $0) } }
        out = shard.select(out, name: { $0 })
        if let limit { out = Array(out.prefix(max(0, limit))) }
        return out
    }

    public static func matches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}
