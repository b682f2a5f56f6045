import ArgumentParser
import Foundation
import ZooRegistry
import ZooStore

/// Network options of every command that may download.
struct NetworkOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A base URL replacing https://dl.cv.ethz.ch/bdd100k/pan_seg (repeatable; tried in order, before $ZOO_MIRROR and the registry's mirrors).",
        valueName: "URL"))
    var mirror: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "A PEM file of CA certificates to trust for https (else $CURL_CA_BUNDLE, $SSL_CERT_FILE, $SSL_CERT_DIR, then the system's).",
        valueName: "FILE"))
    var cacert: String?

    @Flag(name: .long, help: "Never touch the network; use only cached files (also ZOO_OFFLINE=1).")
    var offline = false

    @Option(name: .long, help: ArgumentHelp("Retries of a source after a transient failure.", valueName: "N"))
    var retries = 4

    @Flag(name: [.short, .long], help: "Print no progress, only errors.")
    var quiet = false

    func validate() throws {
        guard retries >= 0 else { throw ValidationError("--retries must be 0 or more.") }
    }

    /// A store for this registry, reporting progress on stderr.
    func store(_ registry: Registry) throws -> Store {
        var options: FetchOptions
        do { options = try FetchOptions.resolve(mirrors: mirror, offline: offline, caBundle: cacert) } catch { throw CLIError(error) }
        options.retries = retries
        let printer = ProgressPrinter(mode: ProgressPrinter.automaticMode(quiet: quiet))
        return Store(registry: registry, options: options, onEvent: printer.handle)
    }
}

struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download checkpoints into the cache, verified by MD5.",
        discussion: """
        Downloads the model .pth and its .md5 (and, with --with, the other published files) into the \
        cache ($ZOO_HOME, else $XDG_CACHE_HOME/bdd100k-zoo, else ~/.cache/bdd100k-zoo). A download goes to \
        a .incomplete file and gets its final name only after its MD5 matches; an interrupted download \
        is resumed by the next run. Sources are tried in order: --mirror, $ZOO_MIRROR (comma-separated), \
        the registry's mirrors, then the original host. Prints the path of each artifact on stdout.
        """)

    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var network: NetworkOptions

    @Argument(help: "Model ids, e.g. r101_5x (or --all).")
    var ids: [String] = []

    @Flag(name: .long, help: "Fetch every model of the registry.")
    var all = false

    @Option(name: .long, help: ArgumentHelp(
        "Also fetch these artifacts, comma-separated: scores (val and test), preds, visuals, config, or all.",
        valueName: "LIST"))
    var with: String?

    func validate() throws {
        if ids.isEmpty && !all { throw ValidationError("Give one or more model ids, or --all.") }
        if !ids.isEmpty && all { throw ValidationError("Give model ids or --all, not both.") }
        _ = try Self.extraKinds(with)
    }

    static func extraKinds(_ list: String?) throws -> [ArtifactKind] {
        guard let list else { return [] }
        var kinds: [ArtifactKind] = []
        for word in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch word {
            case "scores": kinds += [.scores_val, .scores_test]
            case "scores_val", "scores-val": kinds.append(.scores_val)
            case "scores_test", "scores-test": kinds.append(.scores_test)
            case "preds": kinds.append(.preds)
            case "visuals": kinds.append(.visuals)
            case "config": kinds.append(.config)
            case "all": kinds += [.scores_val, .scores_test, .preds, .visuals, .config]
            case "": continue
            default:
                throw ValidationError("--with: unknown artifact '\(word)'; use scores, preds, visuals, config or all.")
            }
        }
        var seen = Set<ArtifactKind>()
        return kinds.filter { seen.insert($0).inserted }
    }

    func run() throws {
        try guarded {
            let registry = try registryOptions.load()
            let entries: [ModelEntry]
            do { entries = all ? registry.models : try ids.map { try registry.resolve($0) } } catch { throw CLIError(error) }
            let store = try network.store(registry)
            let kinds = [ArtifactKind.model] + (try Self.extraKinds(with))
            var failed: [String] = []
            for entry in entries {
                for kind in kinds {
                    do {
                        let path = try store.ensure(kind, for: entry)
                        print(path.path)
                        fflush(nil)  // every output stream, stdout included (the C global `stdout` is not concurrency-safe)
                    } catch {
                        Console.error("\(entry.id): \(error)")
                        failed.append("\(entry.id) \(kind.rawValue)")
                    }
                }
            }
            if !failed.isEmpty {
                throw CLIError(message: "\(failed.count) artifact(s) not fetched: \(failed.joined(separator: ", ")).")
            }
        }
    }
}
