/// What can go wrong reading a registry or resolving an id. Messages say what to do.
public enum RegistryError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case malformedJSON(file: String, reason: String)
    case invalid(file: String, entry: String, field: String, problem: String)
    case duplicateID(file: String, id: String)
    case unsupportedSchema(file: String, version: Int)
    case unknownModel(String, suggestions: [String], known: [String])

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "cannot read registry \(file): \(reason). Check the path given by --registry or ZOO_REGISTRY."
        case let .malformedJSON(file, reason):
            return "registry \(file) is not valid JSON: \(reason). Fix the file or point --registry at another one."
        case let .invalid(file, entry, field, problem):
            return "registry \(file), entry \(entry), field '\(field)': \(problem)."
        case let .duplicateID(file, id):
            return "registry \(file): the id '\(id)' is used by more than one entry; ids must be unique."
        case let .unsupportedSchema(file, version):
            return "registry \(file) has schema_version \(version); this zoo reads version \(Registry.supportedSchemaVersion). Upgrade zoo or use a matching registry."
        case let .unknownModel(id, suggestions, known):
            var s = "unknown model id '\(id)'."
            if !suggestions.isEmpty {
                s += " Did you mean " + suggestions.joined(separator: " or ") + "?"
            }
            s += " Known ids: " + known.joined(separator: ", ") + " (run `zoo list`)."
            return s
        }
    }
}
