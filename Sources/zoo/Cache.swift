import ArgumentParser
import Foundation
import ZooRegistry
import ZooStore

struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and clean the download cache.",
        discussion: "The cache root is $ZOO_HOME, else $XDG_CACHE_HOME/bdd100k-zoo, else ~/.cache/bdd100k-zoo.",
        subcommands: [CacheList.self, CachePath.self, CacheRemove.self, CachePrune.self])
}

struct CacheList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List cached artifacts and partial downloads.")

    @OptionGroup var registryOptions: RegistryOptions

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    func run() throws {
        try guarded {
            let store = Store(registry: try registryOptions.load())
            let items = store.inventory()
            if json {
                let array: [[String: Any]] = items.map { a in
                    var o: [String: Any] = ["id": a.id, "artifact": a.kind.rawValue, "path": a.path.path,
                                            "cached": a.size != nil, "verified": a.record != nil, "in_progress": a.inProgress]
                    o["size"] = a.size.map { NSNumber(value: $0) } ?? NSNull()
                    o["md5"] = a.record?.md5 ?? NSNull()
                    o["source"] = a.record?.source ?? NSNull()
                    o["partial_bytes"] = a.partialBytes ?? NSNull()
                    return o
                }
                print(try JSONOut.string(array))
                return
            }
            guard !items.isEmpty else {
                print("cache \(store.layout.root.path) is empty")
                return
            }
            var table = TextTable(header: ["ID", "ARTIFACT", "SIZE", "STATE", "PATH"])
            table.rightAligned = [2]
            for a in items {
                if let size = a.size {
                    table.rows.append([a.id, a.kind.rawValue, ByteFormat.string(size),
                                       a.record != nil ? "verified" : "unverified", a.path.path])
                }
                if let p = a.partialBytes {
                    table.rows.append([a.id, a.kind.rawValue, ByteFormat.string(p),
                                       a.inProgress ? "downloading" : "partial", a.path.path + CacheLayout.incompleteSuffix])
                }
            }
            print(table.render())
            let total = items.reduce(Int64(0)) { $0 + ($1.size ?? 0) + ($1.partialBytes ?? 0) }
            print("\(items.count) item(s), \(ByteFormat.string(total)) in \(store.layout.root.path)")
        }
    }
}

struct CachePath: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "Print the cache root, or the path of a model's cached .pth.",
        discussion: "Exits non-zero, printing nothing on stdout, when the model is not cached.")

    @OptionGroup var registryOptions: RegistryOptions

    @Argument(help: "A model id; without it, the cache root.")
    var id: String?

    func run() throws {
        try guarded {
            let layout = CacheLayout()
            guard let id else { print(layout.root.path); return }
            let registry = try registryOptions.load()
            let entry: ModelEntry
            do { entry = try registry.resolve(id) } catch { throw CLIError(error) }
            guard let path = layout.path(of: .model, for: entry) else {
                throw CLIError(message: "the registry lists no model file for \(entry.id).")
            }
            // Nothing on stdout unless the file is there: `$(zoo cache path ID)` must not yield a missing path.
            guard layout.isCached(.model, for: entry) else {
                throw CLIError(message: "\(entry.id) is not cached (it would be at \(path.path)); run `zoo fetch \(entry.id)`.")
            }
            print(path.path)
        }
    }
}

struct CacheRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove a model's cached files (artifacts, partial downloads, converted weights).")

    @OptionGroup var registryOptions: RegistryOptions

    @Argument(help: "Model ids.")
    var ids: [String]

    func run() throws {
        try guarded {
            let registry = try registryOptions.load()
            let store = Store(registry: registry)
            for id in ids {
                let entry: ModelEntry
                do { entry = try registry.resolve(id) } catch { throw CLIError(error) }
                let removed: [URL]
                do { removed = try store.remove(entry) } catch { throw CLIError(error) }
                print(removed.isEmpty ? "\(entry.id): nothing cached" : "\(entry.id): removed \(removed.count) file(s)")
            }
        }
    }
}

struct CachePrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove leftover partial downloads (.incomplete), temporary files and orphaned records.",
        discussion: "Partial downloads are what `zoo fetch` resumes from; files of a fetch running now are kept.")

    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try guarded {
            let store = Store(registry: try registryOptions.load())
            let result: (removed: [URL], bytes: Int64)
            do { result = try store.prune() } catch { throw CLIError(error) }
            for u in result.removed { print("removed \(u.path)") }
            print("pruned \(result.removed.count) file(s), \(ByteFormat.string(result.bytes))")
        }
    }
}
