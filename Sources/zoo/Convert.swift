import ArgumentParser
import Crypto
import Foundation
import Synchronization
import SafeTensors
import TorchCheckpoint
import ZooRegistry
import ZooStore

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a PyTorch checkpoint to safetensors, without Python and without running any of its code.",
        discussion: """
        SOURCE is a zoo id (r101_5x: the cached .pth from `zoo fetch`; the .safetensors lands beside it) \
        or a .pth / .pkl file (written to -o, by default beside it). The checkpoint is read by a restricted \
        unpickler that only builds data: a file naming any Python global outside torch's weights-only \
        allowlist is refused. Every record's CRC-32 is checked.

        The tensors to write come from a layout (Converters/*.json, built in: mmdet-panoptic-fpn, \
        detectron2, state-dict; detected when not given). Missing, unexpected and mis-shaped keys are \
        listed and stop the conversion unless --allow-partial. --all-tensors writes every tensor \
        reachable from the root instead, named by its dotted path (optimizer.state.0.momentum_buffer).

        With a .safetensors SOURCE and an -o ending in .pth, writes a PyTorch checkpoint instead \
        (zip form, loadable with torch.load(weights_only=True)).
        """)

    @OptionGroup var registryOptions: RegistryOptions

    @Argument(help: "A zoo id, or a .pth / .pkl file (or a .safetensors file with -o OUT.pth).")
    var source: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write.", valueName: "OUT"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("A built-in layout name or a layout JSON file.", valueName: "NAME|FILE"))
    var layout: String?

    @Option(name: .long, help: ArgumentHelp("The layout variant to check against (R-50, R-101); default: the best fit.", valueName: "NAME"))
    var variant: String?

    @Flag(name: .long, help: "Write every tensor reachable from the root, named by its dotted path (no layout).")
    var allTensors = false

    @Flag(name: .long, help: "Write even when keys are missing, unexpected or mis-shaped.")
    var allowPartial = false

    @Option(name: .long, help: ArgumentHelp("Write floating-point tensors as f16, bf16 or f32.", valueName: "TYPE"))
    var dtype: String?

    @Flag(name: .long, help: "Re-read the output and compare every tensor with the source.")
    var check = false

    @Flag(name: .long, help: "Print a JSON summary.")
    var json = false

    func validate() throws {
        if let d = dtype, TargetDType(rawValue: d) == nil {
            throw ValidationError("--dtype must be one of f16, bf16, f32")
        }
        if allTensors && layout != nil { throw ValidationError("--all-tensors and --layout exclude each other") }
    }

    func run() throws {
        try guarded {
            if source.hasSuffix(".safetensors") {
                guard let out = output, out.hasSuffix(".pth") || out.hasSuffix(".pt") else {
                    throw CLIError(message: "\(source) is already safetensors: to write a PyTorch checkpoint from it, give -o OUT.pth")
                }
                try Convert.refuseSameFile(source: source, output: out)
                try writePyTorch(from: source, to: out)
                return
            }
            var zooID: String?
            var knownMD5: String?
            var wantedVariant = variant
            var layoutName = layout
            let input: String
            let out: String
            if FileManager.default.fileExists(atPath: source) || source.contains("/") || source.hasSuffix(".pth") || source.hasSuffix(".pkl") {
                guard FileManager.default.fileExists(atPath: source) else { throw CLIError(message: "\(source): no such file") }
                input = source
                out = output ?? (source as NSString).deletingPathExtension + ".safetensors"
            } else {
                let registry = try registryOptions.load()
                let entry: ModelEntry
                do { entry = try registry.resolve(source) } catch { throw CLIError(error) }
                let cache = CacheLayout()
                guard let pth = cache.path(of: .model, for: entry), let st = cache.safetensorsPath(for: entry) else {
                    throw CLIError(message: "\(entry.id) has no model artifact in the registry")
                }
                guard FileManager.default.fileExists(atPath: pth.path) else {
                    throw CLIError(message: "\(entry.id) is not downloaded yet (no \(pth.path)): run `zoo fetch \(entry.id)` first")
                }
                // Only a file `zoo fetch` verified (its record still matching size and mtime).
                guard let record = VerificationRecord.load(for: pth), record.matches(fileAt: pth) else {
                    throw CLIError(message: "\(pth.path) is not verified (or changed since): run `zoo fetch \(entry.id)` first")
                }
                knownMD5 = record.md5
                input = pth.path
                out = output ?? st.path
                zooID = entry.id
                if wantedVariant == nil && !allTensors { wantedVariant = "R-\(entry.depth)" }
                if layoutName == nil && !allTensors { layoutName = "mmdet-panoptic-fpn" }
            }
            try Convert.refuseSameFile(source: input, output: out)
            try convert(input: input, output: out, zooID: zooID, layoutName: layoutName, variant: wantedVariant, knownMD5: knownMD5)
        }
    }

    /// The output must never replace the source: the same path, a symbolic link to it or a hard link
    /// (same device and inode) are refused before anything is read or written.
    static func refuseSameFile(source: String, output: String) throws {
        var a = stat(), b = stat()
        guard stat(source, &a) == 0, stat(output, &b) == 0 else { return }
        if a.st_dev == b.st_dev && a.st_ino == b.st_ino {
            throw CLIError(message: "the output \(output) is the source \(source) itself (the same file, through a link or not): converting would destroy it; give another -o")
        }
    }

    /// `knownMD5`: the source's digest when already verified (the store's `zoo fetch`); else it is
    /// computed on another core while the tensors are written, and fills a same-length placeholder
    /// in the header just before the file is renamed into place.
    private func convert(input: String, output: String, zooID: String?, layoutName: String?, variant: String?,
                         knownMD5: String?) throws {
        let started = Date()
        let md5 = knownMD5.map(ConcurrentMD5.init(known:)) ?? ConcurrentMD5(path: input)
        let c = try Checkpoint(path: input)

        var metadata: [String: String] = [
            "format": "pt",
            "source_file": (input as NSString).lastPathComponent,
            "source_md5": String(repeating: "0", count: 32),
            "converter": "zoo \(ZooVersion.string)",
        ]
        if let id = zooID { metadata["zoo_id"] = id }
        let tensors: [(name: String, tensor: TensorRef)]
        var match: LayoutMatch?
        if allTensors {
            tensors = c.allTensors
            metadata["layout"] = "all-tensors"
        } else {
            let builtIn = try CheckpointLayout.builtIn()
            let chosen: CheckpointLayout
            if let name = layoutName {
                if let l = builtIn.first(where: { $0.name == name }) { chosen = l } else if FileManager.default.fileExists(atPath: name) {
                    chosen = try CheckpointLayout.load(path: name)
                } else {
                    throw CLIError(message: "unknown layout '\(name)': use one of \(builtIn.map(\.name).joined(separator: ", ")) or a layout JSON file")
                }
            } else {
                guard let l = CheckpointLayout.detect(c.root, among: builtIn) else {
                    throw CLIError(message: "no built-in layout fits this checkpoint (its root is \(c.root.shortDescription)); use --all-tensors or --layout FILE")
                }
                chosen = l
            }
            let m = try chosen.match(c.root, variant: variant)
            if !m.isClean {
                let report = "\(input) does not match layout \(m.layout)\(m.variant.map { " \($0)" } ?? ""):\n" + m.report(limit: json ? .max : 12)
                if !allowPartial { throw CLIError(message: report + "\nnothing written; use --allow-partial to write what is there") }
                Console.note("warning: " + report)
            }
            if !m.nonTensor.isEmpty {
                Console.note("note: \(m.nonTensor.count) non-tensor entries of the state dict are not written: " + m.nonTensor.prefix(5).joined(separator: ", ") + (m.nonTensor.count > 5 ? ", ..." : ""))
            }
            tensors = m.tensors
            match = m
            metadata["layout"] = m.layout
            if let v = m.variant { metadata["variant"] = v }
            if let metaPath = chosen.meta, case let .dict(entries, _)? = c.root.value(atPath: metaPath) {
                for e in entries { metadata["meta." + e.key.pathComponent] = e.value.jsonString }
            }
        }
        let url = URL(fileURLWithPath: output)
        let summary = try SafeTensorsExport.write(
            c, tensors: tensors, to: url, dtype: dtype.flatMap(TargetDType.init(rawValue:)),
            metadata: metadata, check: check,
            finalMetadata: { ["source_md5": try md5.result()] })
        let seconds = Date().timeIntervalSince(started)
        if json {
            var o: [String: Any] = [
                "source": input, "output": output, "tensors": summary.tensors, "bytes": summary.bytes,
                "source_md5": try md5.result(), "checked": summary.checked, "seconds": seconds,
                "layout": metadata["layout"] ?? "",
            ]
            if let v = match?.variant { o["variant"] = v }
            if let m = match, !m.isClean { o["missing"] = m.missing; o["unexpected"] = m.unexpected; o["mis_shaped"] = m.misShaped.map(\.key) }
            print(try JSONOut.string(o))
        } else {
            var line = "wrote \(output): \(summary.tensors) tensors, \(summary.bytes) bytes (layout \(metadata["layout"] ?? "")"
            if let v = match?.variant { line += " \(v)" }
            line += String(format: ", %.2f s)", seconds)
            print(line)
            if summary.checked { print("checked: every tensor matches the source") }
        }
    }

    private func writePyTorch(from input: String, to out: String) throws {
        let st = try SafeTensorsFile(path: input)
        let n = try PyTorchWriter.write(st, to: URL(fileURLWithPath: out))
        print("wrote \(out): \(n) tensors (PyTorch zip checkpoint, loadable with torch.load(weights_only=True))")
        if check {
            let c = try Checkpoint(path: out)
            for name in st.names {
                guard case let .tensor(t)? = c.root[name] else { throw CLIError(message: "check failed: '\(name)' missing from \(out)") }
                let same = try c.withTensorBytes(t, name: name) { a in try st.withBytes(name) { b in a.elementsEqual(b) } }
                guard same else { throw CLIError(message: "check failed: '\(name)' differs") }
            }
            print("checked: every tensor matches the source")
        }
    }
}

/// The MD5 of a file (`Checksum.md5(of:)`), computed on a background thread while the caller works.
final class ConcurrentMD5: Sendable {
    private let group = DispatchGroup()
    /// The digest or the failure, set once by the background thread (before `group` is left).
    private let outcome = Mutex<Result<String, Error>?>(nil)

    init(known: String) { outcome.withLock { $0 = .success(known) } }

    init(path: String) {
        group.enter()
        Thread.detachNewThread { [self] in
            defer { group.leave() }
            let r = Result { try Checksum.md5(of: URL(fileURLWithPath: path)) }
            outcome.withLock { $0 = r }
        }
    }

    func result() throws -> String {
        group.wait()
        switch outcome.withLock({ $0 }) {
        case .success(let digest): return digest
        case .failure(let e): throw CLIError(message: "cannot compute the MD5 of the source: \(e)")
        case nil: return ""
        }
    }
}
