import ArgumentParser
import Foundation
import PanopticFPN
import Runner
import ZooRegistry
import ZooStore

/// Where `zoo run` and `zoo reproduce` take their weights from, besides a zoo id:
/// `--weights FILE` or `--synthetic r50|r101 [--seed N]`.
struct WeightOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Weights from a local .safetensors or .pth file instead of the zoo's.", valueName: "FILE"))
    var weights: String?

    @Option(name: .long, help: ArgumentHelp("Synthetic weights of the reference recipe (r50 or r101), for tests and demos.", valueName: "ARCH"))
    var synthetic: String?

    @Option(name: .long, help: ArgumentHelp("Seed of the synthetic weights (default: 1 for r50, 3 for r101).", valueName: "N"))
    var seed: UInt64?

    func validate() throws {
        if weights != nil && synthetic != nil { throw ValidationError("give at most one of --weights and --synthetic") }
        if let s = synthetic, !["r50", "r101"].contains(s.lowercased()) { throw ValidationError("--synthetic takes r50 or r101") }
        if seed != nil && synthetic == nil { throw ValidationError("--seed goes with --synthetic") }
    }

    /// The synthetic weights asked for, with a name for logs and journals; nil without `--synthetic`.
    func syntheticSource() throws -> WeightSource? {
        guard let s = synthetic else { return nil }
        do { return try WeightSource.synthetic(s, seed: seed) } catch { throw CLIError(error) }
    }
}

enum ModelWeights {
    /// A zoo checkpoint's weights as `.safetensors` in the cache: fetched and MD5-verified by the store,
    /// then converted once, by the same code as `zoo fetch ID` and `zoo convert ID`.
    static func cachedSafetensors(entry: ModelEntry, registry: Registry, registryPath: String?,
                                  network: NetworkOptions) throws -> URL {
        let cache = CacheLayout()
        guard let st = cache.safetensorsPath(for: entry) else {
            throw CLIError(message: "\(entry.id) has no model artifact in the registry")
        }
        if FileManager.default.fileExists(atPath: st.path) { return st }
        do { _ = try network.store(registry).ensure(.model, for: entry) } catch let e as CLIError { throw e } catch {
            throw CLIError(error)
        }
        if !network.quiet { Console.note("converting \(entry.id) to \(st.lastPathComponent) (once)") }
        guard let pth = cache.path(of: .model, for: entry), let record = VerificationRecord.load(for: pth),
              record.matches(fileAt: pth) else {
            throw CLIError(message: "\(entry.id): the checkpoint in the cache is not verified (or changed since); run `zoo fetch \(entry.id)`")
        }
        let summary: CheckpointConversion.Summary
        do {
            summary = try CheckpointConversion.zooCheckpoint(input: pth.path, output: st.path, zooID: entry.id, depth: entry.depth,
                                                             md5: record.md5, converter: "zoo \(ZooVersion.string)")
        } catch { throw CLIError(error) }
        if !network.quiet { Console.note("wrote \(st.path): \(summary.tensors) tensors, \(summary.bytes) bytes") }
        return st
    }

    /// The checkpoint's verified MD5 names zoo weights, so results of other weights never mix.
    static func identity(of entry: ModelEntry) -> String {
        let md5 = CacheLayout().path(of: .model, for: entry).flatMap { VerificationRecord.load(for: $0)?.md5 }
        return "zoo \(entry.name)" + (md5.map { " md5 \($0)" } ?? "")
    }
}
