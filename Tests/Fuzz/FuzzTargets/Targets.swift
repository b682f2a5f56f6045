import Foundation
import Imaging
import Panoptic
import Pipeline
import SafeTensors
import TorchCheckpoint
import ZooRegistry
import ZooStore

/// One parser under test: a name (the seed folder under Tests/Fixtures/fuzz/seeds/ and the finding
/// folder under Tests/Fixtures/fuzz/) and a body that feeds it one input. Errors thrown are the
/// expected outcome for a bad input; only a signal (trap, segfault), a hang or running past the
/// memory limit is a finding.
public struct FuzzTarget: Sendable {
    public let name: String
    /// Whether JSON-aware mutations apply.
    public let isText: Bool
    public let run: @Sendable (_ bytes: [UInt8], _ scratch: URL) throws -> Void
}

public enum FuzzTargets {
    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "pth", isText: false) { b, _ in try exerciseCheckpoint(b) },
        FuzzTarget(name: "pth-legacy", isText: false) { b, _ in try exerciseCheckpoint(b) },
        FuzzTarget(name: "pkl", isText: false) { b, _ in
            _ = try Checkpoint.decodePickle(b)
        },
        FuzzTarget(name: "safetensors", isText: false) { b, _ in
            let f = try SafeTensorsFile(bytes: b)
            _ = f.names.count
        },
        FuzzTarget(name: "png", isText: false) { b, _ in _ = try PNG.decode(b) },
        FuzzTarget(name: "jpeg", isText: false) { b, _ in
            let img = try JPEG.decode(b)
            _ = EXIFOrientation.apply(EXIFOrientation.read(b), to: img)
        },
        FuzzTarget(name: "bitmask", isText: false) { b, _ in _ = try Bitmask.decode(png: Data(b)) },
        FuzzTarget(name: "scalabel", isText: true) { b, scratch in
            let path = scratch.appendingPathComponent("frames.json").path
            try Data(b).write(to: URL(fileURLWithPath: path))
            let src = try ScalabelSource(path: path)
            for i in 0 ..< min(src.frames.count, 64) { _ = try src.frame(at: i) }
        },
        // RLE input: first line "height width", second line the COCO compressed counts.
        FuzzTarget(name: "rle", isText: true) { b, _ in
            let text = String(decoding: b, as: UTF8.self)
            let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            let dims = lines.first.map { $0.split(separator: " ").compactMap { Int($0) } } ?? []
            let counts = lines.count > 1 ? String(lines[1]).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            _ = try? RLE.decompress(counts)
            if dims.count == 2 {
                _ = try RLE(counts: counts, height: dims[0], width: dims[1]).decodeRowMajor()
            }
        },
        FuzzTarget(name: "registry", isText: true) { b, _ in
            _ = try Registry.parse(Data(b), source: "<fuzz>")
        },
        FuzzTarget(name: "md5", isText: true) { b, _ in _ = Checksum.parseMD5File(Data(b)) },
        FuzzTarget(name: "runjson", isText: true) { b, scratch in
            try Data(b).write(to: scratch.appendingPathComponent(RunManifest.fileName))
            _ = try RunManifest.read(from: scratch.path)
        },
        FuzzTarget(name: "shardsjson", isText: true) { b, scratch in
            try Data(b).write(to: scratch.appendingPathComponent(ShardRecord.fileName))
            if let r = try ShardRecord.read(from: scratch.path) {
                // A record read back drives the mapping of an array task: resolve against it.
                _ = try? Shard.resolve(flag: nil, shards: nil, environment: [
                    "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_MAX": "3",
                ], recorded: r)
            }
        },
        FuzzTarget(name: "journal", isText: true) { b, scratch in
            let url = scratch.appendingPathComponent(RunManifest.journalName)
            try Data(b).write(to: url)
            let (_, frames) = try Journal.read(url)
            // Journal records carry RLE strings; decode them as merge and eval would.
            for f in frames.prefix(16) {
                for l in f.labels.prefix(16) where l.size.count == 2 {
                    _ = try? RLE(counts: l.counts, height: l.size[0], width: l.size[1]).decodeRowMajor()
                }
            }
        },
    ]

    /// Parses, then reads every tensor's bytes (at most 256 tensors) the way `zoo convert` does: streamed
    /// through a small buffer when it can be, materialised otherwise.
    static func exerciseCheckpoint(_ b: [UInt8]) throws {
        let c = try Checkpoint(bytes: b)
        _ = c.records.count
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
        defer { buffer.deallocate() }
        var sum = 0
        for (name, t) in c.allTensors.prefix(256) {
            do {
                if c.isStreamable(t) {
                    try c.streamTensor(t, name: name, buffer: buffer) { sum &+= $0.count }
                } else {
                    try c.withTensorBytes(t, name: name) { sum &+= $0.count }
                }
            } catch {
                continue // a bad tensor is an expected outcome; the others are still read
            }
        }
        _ = sum
    }
}
