import Foundation

/// The artifacts the zoo publishes for every checkpoint, in the order `zoo info` shows them.
public enum ArtifactKind: String, CaseIterable, Sendable, Codable {
    case model, md5, scores_val, scores_test, preds, visuals, config
}

/// One checkpoint of the zoo.
public struct ModelEntry: Sendable, Equatable {
    public var id: String
    public var name: String
    public var backbone: String
    public var depth: Int
    public var schedule: String
    public var epochs: Int?
    public var msTrain: Bool
    public var pqVal: Double
    public var pqTest: Double?
    /// A path relative to the base URL (`models/<name>.pth`) or an absolute URL (the config).
    public var artifacts: [ArtifactKind: String]

    public init(id: String, name: String, backbone: String, depth: Int, schedule: String, epochs: Int?,
                msTrain: Bool, pqVal: Double, pqTest: Double?, artifacts: [ArtifactKind: String]) {
        self.id = id; self.name = name; self.backbone = backbone; self.depth = depth
        self.schedule = schedule; self.epochs = epochs; self.msTrain = msTrain
        self.pqVal = pqVal; self.pqTest = pqTest; self.artifacts = artifacts
    }
}

/// The whole registry: checkpoints, where their files live, the classes and the test-time configuration.
public struct Registry: Sendable {
    public var schemaVersion: Int
    public var baseURL: String
    public var mirrors: [String]
    public var classes: [String]
    public var numThings: Int
    public var numStuff: Int
    public var testConfig: TestConfig
    public var models: [ModelEntry]
    /// Where the registry came from (a file path, or `built-in`), for messages.
    public var source: String

    public static let supportedSchemaVersion = 1

    /// The full URL of an artifact under a base URL (the original host or a mirror).
    /// Absolute artifact URLs (the config on GitHub) are returned unchanged.
    public func url(of kind: ArtifactKind, for entry: ModelEntry, base: String? = nil) -> String? {
        guard let location = entry.artifacts[kind] else { return nil }
        if Registry.isAbsoluteURL(location) { return location }
        return Registry.join(base ?? baseURL, location)
    }

    /// Whether an artifact lives under the base URL (so mirrors apply to it).
    public func isRelative(_ kind: ArtifactKind, for entry: ModelEntry) -> Bool {
        guard let location = entry.artifacts[kind] else { return false }
        return !Registry.isAbsoluteURL(location)
    }

    public static func join(_ base: String, _ path: String) -> String {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        var p = Substring(path)
        while p.hasPrefix("/") { p = p.dropFirst() }
        return b + "/" + p
    }

    static func isAbsoluteURL(_ s: String) -> Bool {
        s.lowercased().hasPrefix("http://") || s.lowercased().hasPrefix("https://")
    }

    /// Resolves a user-typed id: the short id or the full name, case-insensitively.
    public func resolve(_ query: String) throws -> ModelEntry {
        let q = query.trimmingCharacters(in: .whitespaces).lowercased()
        if let hit = models.first(where: { $0.id.lowercased() == q || $0.name.lowercased() == q }) {
            return hit
        }
        // A file name of an artifact (`..._bdd100k.pth`) names its model too.
        if let hit = models.first(where: { q.hasPrefix($0.name.lowercased() + ".") }) { return hit }
        throw RegistryError.unknownModel(query, suggestions: suggestions(for: q), known: models.map(\.id))
    }

    /// The closest ids by edit distance, for "did you mean".
    public func suggestions(for query: String, limit: Int = 3) -> [String] {
        let q = query.lowercased()
        let scored = models.map { m -> (String, Int) in
            let d = min(EditDistance.levenshtein(q, m.id.lowercased()),
                        EditDistance.levenshtein(q, m.name.lowercased()))
            return (m.id, d)
        }
        // Only the nearest ones: "r102_5x" suggests r101_5x, not every id two edits away.
        let threshold = max(2, q.count / 3)
        let close = scored.filter { $0.1 <= threshold }
        guard let best = close.map(\.1).min() else { return [] }
        return close.filter { $0.1 == best }.prefix(limit).map(\.0)
    }

    /// The entries whose id or name matches a shell glob (`r101*`), case-insensitively.
    public func matching(_ pattern: String?) -> [ModelEntry] {
        guard let pattern, !pattern.isEmpty else { return models }
        return models.filter { Glob.matches(pattern, $0.id) || Glob.matches(pattern, $0.name) }
    }
}
