import ArgumentParser
import Foundation
import ZooRegistry
import ZooStore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash cached files and compare them with their published or recorded MD5.",
        discussion: """
        Fetching already verifies every download; this re-reads the files on demand (after a disk \
        problem, or for a cache shared by many users). The model .pth is compared with its .md5, the \
        other files with the MD5 recorded when they were downloaded. A mismatch exits non-zero and drops \
        the record, so the next `zoo fetch` replaces the file.
        """)

    @OptionGroup var registryOptions: RegistryOptions

    @Argument(help: "Model ids (default: every model with cached files).")
    var ids: [String] = []

    func run() throws {
        try guarded {
            let registry = try registryOptions.load()
            let entries: [ModelEntry]
            do { entries = ids.isEmpty ? registry.models : try ids.map { try registry.resolve($0) } } catch {
                throw CLIError(error)
            }
            let store = Store(registry: registry)
            var bad = 0
            var checked = 0
            for entry in entries {
                let outcomes: [VerifyOutcome]
                do { outcomes = try store.verify(entry) } catch { throw CLIError(error) }
                if outcomes.isEmpty, !ids.isEmpty { Console.note("\(entry.id): nothing cached") }
                for o in outcomes {
                    checked += 1
                    let rel = store.layout.relativePath(of: o.kind, for: entry) ?? o.path.lastPathComponent
                    if o.ok {
                        print("ok        \(entry.id)  \(rel)  \(o.actual)" + (o.expected == nil ? " (no reference, recorded)" : ""))
                    } else {
                        bad += 1
                        print("MISMATCH  \(entry.id)  \(rel)  expected \(o.expected ?? "-"), got \(o.actual)")
                    }
                }
            }
            if checked == 0 { Console.note("no cached files to verify under \(store.layout.root.path)") }
            if bad > 0 {
                throw CLIError(message: "\(bad) file(s) do not match; run `zoo fetch ID` to download them again.")
            }
        }
    }
}
