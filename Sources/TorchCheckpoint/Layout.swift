import Foundation

/// A declarative checkpoint layout (`Converters/*.json`): where the state dict lives in the unpickled
/// object, which key prefixes to strip, where the checkpoint's `meta` is, and for each architecture
/// variant the expected keys with shapes and dtypes. A new source framework is a new JSON file.
public struct CheckpointLayout: Codable, Sendable, Equatable {
    public struct ExpectedTensor: Codable, Sendable, Equatable {
        public var key: String
        public var shape: [Int]
        public var dtype: String
        public init(key: String, shape: [Int], dtype: String) { self.key = key; self.shape = shape; self.dtype = dtype }
    }
    public struct Variant: Codable, Sendable, Equatable {
        public var name: String
        public var tensors: [ExpectedTensor]
        public init(name: String, tensors: [ExpectedTensor]) { self.name = name; self.tensors = tensors }
    }

    public var name: String
    public var description: String
    /// Dotted path of the state dict from the root (`""`: the root itself).
    public var stateDict: String
    public var stripPrefixes: [String]
    /// Dotted path of the checkpoint's metadata dict, if the framework has one.
    public var meta: String?
    /// Empty: any keys are accepted.
    public var variants: [Variant]

    public init(name: String, description: String = "", stateDict: String, stripPrefixes: [String] = [],
                meta: String? = nil, variants: [Variant] = []) {
        self.name = name; self.description = description; self.stateDict = stateDict
        self.stripPrefixes = stripPrefixes; self.meta = meta; self.variants = variants
    }

    enum CodingKeys: String, CodingKey {
        case name, description, stateDict = "state_dict", stripPrefixes = "strip_prefixes", meta, variants
    }

    /// The layouts built into the binary (the package's `Converters/*.json`, embedded at build time), in
    /// detection order.
    public static func builtIn() throws -> [CheckpointLayout] {
        try decodedBuiltIns.get()
    }

    /// Decoded once, on first use.
    private static let decodedBuiltIns = Result<[CheckpointLayout], any Error> {
        try [
            ("mmdet-panoptic-fpn.json", PackageResources.mmdet_panoptic_fpn_json),
            ("detectron2.json", PackageResources.detectron2_json),
            ("state-dict.json", PackageResources.state_dict_json),
        ].map { file, bytes in try decode(Data(bytes), source: "built-in Converters/" + file) }
    }

    public static func load(path: String) throws -> CheckpointLayout {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CheckpointError.io(path: path, reason: "cannot read the layout file")
        }
        return try decode(data, source: path)
    }

    static func decode(_ data: Data, source: String) throws -> CheckpointLayout {
        do { return try JSONDecoder().decode(CheckpointLayout.self, from: data) } catch {
            throw CheckpointError.layout("invalid layout file \(source): \(error)")
        }
    }

    /// Whether the object has a dict at `stateDict`.
    public func applies(to root: PickleValue) -> Bool {
        guard case .dict? = root.value(atPath: stateDict) else { return false }
        if stateDict.isEmpty, case let .dict(entries, _) = root {
            return !entries.isEmpty && entries.allSatisfy { if case .tensor = $0.value { return true }; return false }
        }
        return true
    }

    /// Picks the first built-in layout that applies.
    public static func detect(_ root: PickleValue, among layouts: [CheckpointLayout]) -> CheckpointLayout? {
        layouts.first { $0.applies(to: root) }
    }

    /// Finds the state dict, strips prefixes and compares it with the variant (or, without one, the
    /// variant that fits best).
    public func match(_ root: PickleValue, variant wanted: String? = nil) throws -> LayoutMatch {
        guard case let .dict(entries, _)? = root.value(atPath: stateDict) else {
            throw CheckpointError.layout("layout \(name): no dict at '\(stateDict.isEmpty ? "<root>" : stateDict)' in this checkpoint; try another --layout or --all-tensors")
        }
        var tensors: [(name: String, tensor: TensorRef)] = []
        var nonTensor: [String] = []
        var seen = Set<String>()
        for e in entries {
            var key = e.key.pathComponent
            for p in stripPrefixes where key.hasPrefix(p) { key = String(key.dropFirst(p.count)); break }
            guard case let .tensor(t) = e.value else { nonTensor.append(key); continue }
            guard seen.insert(key).inserted else {
                throw CheckpointError.layout("two tensors are named '\(key)' once prefixes are stripped")
            }
            tensors.append((key, t))
        }
        var m = LayoutMatch(layout: name, variant: nil, tensors: tensors, nonTensor: nonTensor)
        if variants.isEmpty { return m }
        let candidates: [Variant]
        if let w = wanted {
            guard let v = variants.first(where: { $0.name.lowercased() == w.lowercased() }) else {
                throw CheckpointError.layout("layout \(name) has no variant '\(w)' (it has \(variants.map(\.name).joined(separator: ", ")))")
            }
            candidates = [v]
        } else {
            candidates = variants
        }
        var best: LayoutMatch?
        for v in candidates {
            var c = m
            c.compare(with: v)
            if best == nil || c.problemCount < best!.problemCount { best = c }
        }
        m = best ?? m
        return m
    }
}

/// The state dict a layout found, and how it differs from the expected keys.
public struct LayoutMatch: Sendable {
    public var layout: String
    public var variant: String?
    public var tensors: [(name: String, tensor: TensorRef)]
    public var nonTensor: [String]
    public var missing: [String] = []
    public var unexpected: [String] = []
    /// key, expected "dtype [shape]", found "dtype [shape]".
    public var misShaped: [(key: String, expected: String, found: String)] = []

    init(layout: String, variant: String?, tensors: [(name: String, tensor: TensorRef)], nonTensor: [String]) {
        self.layout = layout; self.variant = variant; self.tensors = tensors; self.nonTensor = nonTensor
    }

    public var problemCount: Int { missing.count + unexpected.count + misShaped.count }
    public var isClean: Bool { problemCount == 0 }

    mutating func compare(with v: CheckpointLayout.Variant) {
        variant = v.name
        var found: [String: TensorRef] = [:]
        for (n, t) in tensors { found[n] = t }
        let expected = Set(v.tensors.map(\.key))
        for e in v.tensors {
            guard let t = found[e.key] else { missing.append(e.key); continue }
            if t.shape != e.shape || t.dtype.rawValue != e.dtype {
                misShaped.append((e.key, "\(e.dtype) \(e.shape)", "\(t.dtype.rawValue) \(t.shape)"))
            }
        }
        unexpected = tensors.map(\.name).filter { !expected.contains($0) }
    }

    /// A readable list of every problem.
    public var report: String { report(limit: .max) }

    /// The problems, at most `limit` lines per kind.
    public func report(limit: Int) -> String {
        var lines: [String] = []
        func section(_ title: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            lines.append("\(title) (\(items.count)):")
            lines += items.prefix(limit).map { "  " + $0 }
            if items.count > limit { lines.append("  ... and \(items.count - limit) more (--json lists all)") }
        }
        section("missing keys", missing)
        section("unexpected keys", unexpected)
        section("mis-shaped keys", misShaped.map { "\($0.key): expected \($0.expected), found \($0.found)" })
        return lines.joined(separator: "\n")
    }
}
