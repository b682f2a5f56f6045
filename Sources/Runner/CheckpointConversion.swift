import Foundation
import TorchCheckpoint

/// A zoo checkpoint (`.pth`, mmdetection layout) to `.safetensors`, through TorchCheckpoint's API: the same
/// bytes as `zoo convert ID` writes into the cache.
public enum CheckpointConversion {
    public struct Summary: Sendable {
        public var tensors: Int
        public var bytes: Int
        /// Non-tensor entries of the state dict that were not written.
        public var skipped: [String]
    }

    /// Converts the verified checkpoint `input` of zoo model `zooID` (ResNet `depth`) to `output`.
    /// `md5`: the checkpoint's verified digest (recorded in the header as `source_md5`); `converter`:
    /// the tool and version (e.g. "zoo 0.9.0"). A checkpoint whose keys do not match the layout exactly
    /// is refused with the missing, unexpected and mis-shaped keys listed; nothing is written then.
    public static func zooCheckpoint(input: String, output: String, zooID: String, depth: Int, md5: String,
                                     converter: String) throws -> Summary {
        let c = try Checkpoint(path: input)
        var metadata: [String: String] = [
            "format": "pt",
            "source_file": (input as NSString).lastPathComponent,
            // A same-length placeholder, filled just before the file is renamed into place (as `zoo convert`).
            "source_md5": String(repeating: "0", count: 32),
            "converter": converter,
            "zoo_id": zooID,
        ]
        let name = "mmdet-panoptic-fpn"
        guard let layout = try CheckpointLayout.builtIn().first(where: { $0.name == name }) else {
            throw RunnerError.message("internal: the built-in layout \(name) is missing")
        }
        let m = try layout.match(c.root, variant: "R-\(depth)")
        guard m.isClean else {
            throw RunnerError.weights(path: input, reason: "does not match layout \(m.layout)\(m.variant.map { " \($0)" } ?? ""):\n"
                                      + m.report(limit: 12) + "\nnothing written; run `zoo convert \(zooID) --allow-partial` to write what is there")
        }
        metadata["layout"] = m.layout
        if let v = m.variant { metadata["variant"] = v }
        if let metaPath = layout.meta, case let .dict(entries, _)? = c.root.value(atPath: metaPath) {
            for e in entries { metadata["meta." + e.key.pathComponent] = e.value.jsonString }
        }
        let summary = try SafeTensorsExport.write(c, tensors: m.tensors, to: URL(fileURLWithPath: output),
                                                  metadata: metadata, finalMetadata: { ["source_md5": md5] })
        return Summary(tensors: summary.tensors, bytes: summary.bytes, skipped: m.nonTensor)
    }
}
