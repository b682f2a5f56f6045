import ArgumentParser
import Foundation
import ZooRegistry
import ZooStore

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show everything about one checkpoint: artifacts, scores, configuration, cache state.",
        discussion: "ID is the short id (r101_5x) or the full name, in any case.")

    @OptionGroup var registryOptions: RegistryOptions

    @Argument(help: "The model id, e.g. r101_5x.")
    var id: String

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        try guarded {
            let registry = try registryOptions.load()
            let entry: ModelEntry
            do { entry = try registry.resolve(id) } catch { throw CLIError(error) }
            let cache = CacheLayout()
            var artifacts: [String: Any] = [:]
            for kind in ArtifactKind.allCases {
                guard let url = registry.url(of: kind, for: entry) else { continue }
                var a: [String: Any] = ["url": url]
                if cache.isCached(kind, for: entry), let p = cache.path(of: kind, for: entry) { a["path"] = p.path }
                artifacts[kind.rawValue] = a
            }
            if json {
                var o: [String: Any] = [
                    "id": entry.id, "name": entry.name, "backbone": entry.backbone, "depth": entry.depth,
                    "schedule": entry.schedule, "ms_train": entry.msTrain, "pq_val": entry.pqVal,
                    "artifacts": artifacts, "classes": registry.classes,
                    "mirrors": registry.mirrors, "cache_root": cache.root.path, "registry": registry.source,
                ]
                o["pq_test"] = entry.pqTest ?? NSNull()
                o["epochs"] = entry.epochs ?? NSNull()
                if let st = cache.safetensorsPath(for: entry), FileManager.default.fileExists(atPath: st.path) {
                    o["safetensors"] = st.path
                }
                let cfg = try JSONSerialization.jsonObject(with: JSONEncoder().encode(registry.testConfig))
                o["test_config"] = cfg
                print(try JSONOut.string(o))
                return
            }
            var lines: [String] = []
            lines.append("\(entry.id)  \(entry.name)")
            lines.append("  backbone   \(entry.backbone) (depth \(entry.depth))")
            lines.append("  schedule   \(entry.schedule)\(entry.epochs.map { " (\($0) epochs)" } ?? "")" +
                         (entry.msTrain ? ", multi-scale training" : ", single-scale training"))
            lines.append("  PQ (val)   \(String(format: "%.2f", entry.pqVal))")
            lines.append("  PQ (test)  \(entry.pqTest.map { String(format: "%.2f", $0) } ?? "-")")
            lines.append("  artifacts")
            for kind in ArtifactKind.allCases {
                guard let a = artifacts[kind.rawValue] as? [String: Any], let url = a["url"] as? String else { continue }
                let state = (a["path"] as? String).map { "cached at \($0)" } ?? "not cached"
                lines.append("    \(kind.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(url)")
                lines.append("    \(String(repeating: " ", count: 12)) \(state)")
            }
            if !registry.mirrors.isEmpty { lines.append("  mirrors    \(registry.mirrors.joined(separator: ", "))") }
            let t = registry.testConfig
            lines.append("  test config")
            lines.append("    scale      \(t.imgScale.map(String.init).joined(separator: "x")) keep-ratio=\(t.keepRatio), pad to /\(t.padSizeDivisor)")
            lines.append("    mean/std   \(t.mean) / \(t.std) (RGB)")
            lines.append("    rpn        nms_pre \(t.rpn.nmsPre), NMS IoU \(t.rpn.nmsIoU), max \(t.rpn.maxPerImg)")
            lines.append("    panoptic   score > \(t.panoptic.scoreThr), NMS IoU \(t.panoptic.nmsIoU), max \(t.panoptic.maxPerImg), mask >= \(t.panoptic.maskThrBinary), overlap \(t.panoptic.maskOverlap), stuff area \(t.panoptic.stuffAreaLimit)")
            lines.append("  classes    \(registry.classes.count) (\(registry.numThings) things, \(registry.numStuff) stuff)")
            lines.append("  cache      \(cache.root.path)")
            print(lines.joined(separator: "\n"))
        }
    }
}
