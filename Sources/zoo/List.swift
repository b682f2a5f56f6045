import ArgumentParser
import Foundation
import ZooRegistry
import ZooStore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the zoo's checkpoints with their published scores.",
        discussion: "Works offline. PATTERN is a shell glob on the id or full name, e.g. 'r101*'.")

    @OptionGroup var registryOptions: RegistryOptions

    @Argument(help: "Only entries whose id or name matches this glob.")
    var pattern: String?

    @Flag(name: .long, help: "Print a JSON array instead of a table.")
    var json = false

    func run() throws {
        try guarded {
            let registry = try registryOptions.load()
            let cache = CacheLayout()
            let entries = registry.matching(pattern)
            if entries.isEmpty, let pattern {
                throw CLIError(message: "no model matches '\(pattern)'. Known ids: \(registry.models.map(\.id).joined(separator: ", ")).")
            }
            if json {
                let array: [[String: Any]] = entries.map { e in
                    var o: [String: Any] = [
                        "id": e.id, "name": e.name, "backbone": e.backbone, "depth": e.depth,
                        "schedule": e.schedule, "ms_train": e.msTrain, "pq_val": e.pqVal,
                        "cached": cache.isCached(.model, for: e),
                    ]
                    o["pq_test"] = e.pqTest ?? NSNull()
                    return o
                }
                print(try JSONOut.string(array))
                return
            }
            var table = TextTable(header: ["ID", "BACKBONE", "SCHEDULE", "MS-TRAIN", "PQ-VAL", "PQ-TEST", "CACHED"])
            table.rightAligned = [4, 5]
            for e in entries {
                table.rows.append([e.id, e.backbone, e.schedule, e.msTrain ? "yes" : "no",
                                   String(format: "%.2f", e.pqVal), e.pqTest.map { String(format: "%.2f", $0) } ?? "-",
                                   cache.isCached(.model, for: e) ? "yes" : "no"])
            }
            print(table.render())
        }
    }
}
