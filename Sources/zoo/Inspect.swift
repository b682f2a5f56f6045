import ArgumentParser
import Foundation
import SafeTensors
import TorchCheckpoint

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors and other entries of a .pth, .pkl or .safetensors file.",
        discussion: "Reads checkpoints with the same restricted unpickler as `zoo convert` (nothing in the file is executed).")

    @Argument(help: "A .pth, .pkl or .safetensors file.")
    var file: String

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() throws {
        try guarded {
            let src = try ByteSource(path: file)
            let head = try src.read(0, min(src.size, 512))
            if FileKind.detect(head) == .safetensors || file.hasSuffix(".safetensors") {
                try inspectSafeTensors()
            } else {
                try inspectCheckpoint()
            }
        }
    }

    private func inspectSafeTensors() throws {
        let f = try SafeTensorsFile(path: file)
        let infos = try f.names.map { try f.info($0) }
        if json {
            let o: [String: Any] = [
                "file": file, "format": "safetensors", "metadata": f.metadata,
                "tensors": infos.map { ["name": $0.name, "dtype": $0.dtype.rawValue, "shape": $0.shape, "bytes": $0.byteCount] as [String: Any] },
            ]
            print(try JSONOut.string(o))
            return
        }
        print("\(file): safetensors, \(infos.count) tensors, \(infos.reduce(0) { $0 + $1.byteCount }) bytes")
        var t = TextTable(header: ["name", "dtype", "shape", "bytes"], rightAligned: [3])
        t.rows = infos.map { [$0.name, $0.dtype.rawValue, shapeText($0.shape), String($0.byteCount)] }
        print(t.render())
        if !f.metadata.isEmpty {
            print("")
            var m = TextTable(header: ["metadata", "value"])
            m.rows = f.metadata.keys.sorted().map { [$0, clip(f.metadata[$0] ?? "")] }
            print(m.render())
        }
    }

    private func inspectCheckpoint() throws {
        let c = try Checkpoint(path: file)
        let tensors = c.allTensors
        let leaves = Self.leaves(c.root)
        var layoutText: String?
        if let layouts = try? CheckpointLayout.builtIn(), let l = CheckpointLayout.detect(c.root, among: layouts),
           let m = try? l.match(c.root) {
            layoutText = m.layout + (m.variant.map { " \($0)" } ?? "") + (m.isClean ? "" : " (\(m.problemCount) differences)")
        }
        if json {
            var o: [String: Any] = [
                "file": file, "format": c.format.rawValue, "big_endian": c.bigEndian,
                "tensors": tensors.map { n, t in
                    ["name": n, "dtype": t.dtype.rawValue, "shape": t.shape, "bytes": t.byteCount, "contiguous": t.isContiguous] as [String: Any]
                },
                "entries": leaves.map { ["path": $0.0, "value": $0.1.jsonObject] as [String: Any] },
            ]
            if let p = c.archivePrefix { o["archive_prefix"] = p }
            if let l = layoutText { o["layout"] = l }
            print(try JSONOut.string(o))
            return
        }
        var head = "\(file): \(c.format.rawValue) checkpoint"
        if let p = c.archivePrefix { head += " (archive '\(p)/')" }
        if c.bigEndian { head += ", big-endian" }
        head += ", \(tensors.count) tensors, \(tensors.reduce(0) { $0 + $1.tensor.byteCount }) bytes"
        print(head)
        if let l = layoutText { print("layout: \(l)") }
        var t = TextTable(header: ["name", "dtype", "shape", "bytes"], rightAligned: [3])
        t.rows = tensors.map { n, x in [n, x.dtype.rawValue + (x.isContiguous ? "" : " (view)"), shapeText(x.shape), String(x.byteCount)] }
        print(t.render())
        if !leaves.isEmpty {
            print("")
            var e = TextTable(header: ["entry", "value"])
            e.rows = leaves.prefix(500).map { [$0.0, clip($0.1.shortDescription)] }
            print(e.render())
            if leaves.count > 500 { print("... \(leaves.count - 500) more (see --json)") }
        }
    }

    /// Non-tensor values by dotted path (empty containers included).
    static func leaves(_ root: PickleValue) -> [(String, PickleValue)] {
        var out: [(String, PickleValue)] = []
        func walk(_ v: PickleValue, _ path: String) {
            func join(_ c: String) -> String { path.isEmpty ? c : path + "." + c }
            switch v {
            case .tensor: return
            case let .dict(entries, _) where !entries.isEmpty: for e in entries { walk(e.value, join(e.key.pathComponent)) }
            case let .list(items) where !items.isEmpty, let .tuple(items) where !items.isEmpty:
                if items.count > 8, items.allSatisfy({ if case .int = $0 { return true }; return false }) {
                    out.append((path, v)) // a long list of ints (param ids): one line
                } else {
                    for (i, x) in items.enumerated() { walk(x, join(String(i))) }
                }
            default: out.append((path.isEmpty ? "<root>" : path, v))
            }
        }
        walk(root, "")
        return out
    }
}

func shapeText(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

func clip(_ s: String, _ n: Int = 100) -> String {
    let one = s.replacingOccurrences(of: "\n", with: "\\n")
    return one.count > n ? String(one.prefix(n)) + "..." : one
}
