import Foundation

extension Registry {
    /// The environment variable naming another registry file.
    public static let environmentKey = "ZOO_REGISTRY"

    /// The registry to use: `--registry FILE`, else `$ZOO_REGISTRY`, else the built-in copy of `zoo.json`.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Registry {
        if let path, !path.isEmpty { return try load(file: path) }
        if let env = environment[environmentKey], !env.isEmpty { return try load(file: env) }
        return try builtIn()
    }

    /// The registry built into the binary: the package's `zoo.json`, embedded at build time.
    public static func builtIn() throws -> Registry {
        try parse(builtInJSON, source: "built-in zoo.json")
    }

    /// The bytes of the package's `zoo.json` as built into the binary (SwiftPM `embedInCode`).
    public static var builtInJSON: Data { Data(PackageResources.zoo_json) }

    public static func load(file: String) throws -> Registry {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw RegistryError.unreadable(file: file, reason: FileManager.default.fileExists(atPath: file)
                ? "permission denied or not a regular file" : "no such file")
        }
        return try parse(data, source: file)
    }

    /// Parses and validates a registry document, naming the file, entry and field of any problem.
    public static func parse(_ data: Data, source: String) throws -> Registry {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw RegistryError.malformedJSON(file: source, reason: Self.jsonReason(error))
        }
        let f = Fields(file: source, entry: "(top level)", object: root)
        guard f.isObject else {
            throw RegistryError.invalid(file: source, entry: "(top level)", field: "", problem: "expected a JSON object")
        }
        let schema = try f.int("schema_version")
        guard schema == supportedSchemaVersion else { throw RegistryError.unsupportedSchema(file: source, version: schema) }
        let base = try f.url("base_url")
        let mirrors = try f.stringArray("mirrors", optional: true)
        for (i, m) in mirrors.enumerated() where !Fields.isHTTPURL(m) {
            throw RegistryError.invalid(file: source, entry: "(top level)", field: "mirrors[\(i)]",
                                        problem: "'\(m)' is not an http(s) URL")
        }
        let classes = try f.stringArray("classes")
        guard RegistryLimits.classCount.contains(classes.count) else {
            throw RegistryError.invalid(file: source, entry: "(top level)", field: "classes",
                                        problem: "\(classes.count) classes; expected \(RegistryLimits.classCount.lowerBound)...\(RegistryLimits.classCount.upperBound)")
        }
        for (i, c) in classes.enumerated() where c.isEmpty {
            throw RegistryError.invalid(file: source, entry: "(top level)", field: "classes[\(i)]", problem: "empty class name")
        }
        let numThings = try f.int("num_things")
        let numStuff = try f.int("num_stuff")
        guard numThings >= 0, numStuff >= 0, numThings + numStuff == classes.count else {
            throw RegistryError.invalid(file: source, entry: "(top level)", field: "classes",
                                        problem: "\(classes.count) classes but num_things + num_stuff = \(numThings + numStuff)")
        }
        let testConfig: TestConfig
        do {
            let raw = try f.value("test_config")
            // JSONSerialization traps on a top-level value that is not a container: check first.
            guard raw is [String: Any] else { throw f.fail("test_config", "expected an object") }
            try Self.checkIntegerFields(raw, file: source)
            let d = try JSONSerialization.data(withJSONObject: raw)
            testConfig = try JSONDecoder().decode(TestConfig.self, from: d)
        } catch let e as RegistryError { throw e } catch {
            throw RegistryError.invalid(file: source, entry: "(top level)", field: "test_config" + Self.decodingPath(error),
                                        problem: Self.decodingProblem(error))
        }
        try testConfig.validate(file: source, classes: classes.count)
        guard let list = (root as? [String: Any])?["models"] as? [Any] else {
            throw RegistryError.invalid(file: source, entry: "(top level)", field: "models", problem: "missing or not a list")
        }
        var models: [ModelEntry] = []
        var seen = Set<String>()
        for (i, item) in list.enumerated() {
            var m = Fields(file: source, entry: "models[\(i)]", object: item)
            guard m.isObject else {
                throw RegistryError.invalid(file: source, entry: "models[\(i)]", field: "", problem: "expected an object")
            }
            let id = try m.string("id")
            m.entry = "models[\(i)] (\(id))"
            guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
                throw RegistryError.invalid(file: source, entry: m.entry, field: "id",
                                            problem: "'\(id)' must be non-empty letters, digits, '_', '-' or '.'")
            }
            let name = try m.string("name")
            for key in [id.lowercased(), name.lowercased()] where seen.contains(key) {
                throw RegistryError.duplicateID(file: source, id: key)
            }
            seen.insert(id.lowercased()); seen.insert(name.lowercased())
            let artifactsObject = try m.value("artifacts")
            let a = Fields(file: source, entry: m.entry, object: artifactsObject, prefix: "artifacts.")
            guard a.isObject else {
                throw RegistryError.invalid(file: source, entry: m.entry, field: "artifacts", problem: "expected an object")
            }
            var artifacts: [ArtifactKind: String] = [:]
            for kind in ArtifactKind.allCases {
                let loc = try a.string(kind.rawValue)
                if isAbsoluteURL(loc) {
                    guard Fields.isHTTPURL(loc) else {
                        throw RegistryError.invalid(file: source, entry: m.entry, field: "artifacts.\(kind.rawValue)",
                                                    problem: "'\(loc)' is not an http(s) URL")
                    }
                } else if loc.isEmpty || loc.contains("..") || loc.contains("://") || loc.contains(" ") {
                    throw RegistryError.invalid(file: source, entry: m.entry, field: "artifacts.\(kind.rawValue)",
                                                problem: "'\(loc)' is neither a path under base_url nor an http(s) URL")
                }
                artifacts[kind] = loc
            }
            let depth = try m.int("depth")
            guard RegistryLimits.depths.contains(depth) else {
                throw m.fail("depth", "\(depth) is not a supported ResNet depth (50 or 101)")
            }
            let epochs = try m.optionalInt("epochs")
            if let epochs, !RegistryLimits.epochs.contains(epochs) {
                throw m.fail("epochs", "\(epochs) is outside \(RegistryLimits.epochs.lowerBound)...\(RegistryLimits.epochs.upperBound)")
            }
            let pqVal = try m.double("pq_val"), pqTest = try m.optionalDouble("pq_test")
            for (key, v) in [("pq_val", pqVal), ("pq_test", pqTest)] {
                if let v, !(v.isFinite && RegistryLimits.pq.contains(v)) { throw m.fail(key, "\(v) is outside 0...100") }
            }
            let backbone = try m.string("backbone"), schedule = try m.string("schedule")
            if backbone.isEmpty { throw m.fail("backbone", "empty") }
            if schedule.isEmpty { throw m.fail("schedule", "empty") }
            models.append(ModelEntry(
                id: id, name: name, backbone: backbone, depth: depth, schedule: schedule, epochs: epochs,
                msTrain: try m.bool("ms_train"), pqVal: pqVal, pqTest: pqTest, artifacts: artifacts))
        }
        return Registry(schemaVersion: schema, baseURL: base, mirrors: mirrors, classes: classes,
                        numThings: numThings, numStuff: numStuff, testConfig: testConfig, models: models,
                        source: source)
    }

    /// The integer fields of `test_config` (`[]`: every element of a list). JSONDecoder reports 14.5 or 1e30
    /// for an Int without the field's path, so these are checked first, naming the field.
    static let integerFields = [
        "img_scale[]", "pad_size_divisor", "rpn.anchor_strides[]", "rpn.nms_pre", "rpn.max_per_img",
        "rcnn.roi_output_size", "rcnn.mask_roi_output_size", "rcnn.sampling_ratio", "rcnn.featmap_strides[]",
        "rcnn.mask_size", "panoptic.max_per_img", "panoptic.stuff_area_limit", "panoptic.instance_offset",
    ]

    static func checkIntegerFields(_ testConfig: Any, file: String) throws {
        func check(_ v: Any, _ field: String) throws {
            guard let n = v as? NSNumber, !CFGetTypeIDIsBool(n) else { return } // type errors: the decoder's
            let d = n.doubleValue
            guard d.isFinite, d.rounded() == d, abs(d) < 1e15 else {
                throw RegistryError.invalid(file: file, entry: "(top level)", field: "test_config." + field,
                                            problem: "\(d) is not an integer")
            }
        }
        for path in integerFields {
            let isList = path.hasSuffix("[]")
            let keys = (isList ? String(path.dropLast(2)) : path).split(separator: ".").map(String.init)
            var v: Any? = testConfig
            for k in keys { v = (v as? [String: Any])?[k] }
            guard let v else { continue }
            if isList, let a = v as? [Any] {
                for (i, x) in a.enumerated() { try check(x, path.dropLast(2) + "[\(i)]") }
            } else if !isList {
                try check(v, path)
            }
        }
    }

    static func jsonReason(_ error: Error) -> String {
        let ns = error as NSError
        if let d = ns.userInfo["NSDebugDescription"] as? String { return d }
        return ns.localizedDescription
    }

    static func decodingPath(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "" }
        let path: [CodingKey]
        switch e {
        case let .keyNotFound(k, c): path = c.codingPath + [k]
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c): path = c.codingPath
        @unknown default: path = []
        }
        return path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }

    static func decodingProblem(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound: return "missing"
        case let .typeMismatch(t, _): return "expected a value of type \(t)"
        case .valueNotFound: return "is null"
        case let .dataCorrupted(c): return c.debugDescription
        @unknown default: return "\(e)"
        }
    }
}

/// Typed field access on a JSON object with messages that name the file, the entry and the field.
struct Fields {
    let file: String
    var entry: String
    let object: Any
    var prefix = ""

    init(file: String, entry: String, object: Any, prefix: String = "") {
        self.file = file; self.entry = entry; self.object = object; self.prefix = prefix
    }

    var isObject: Bool { object is [String: Any] }

    func fail(_ field: String, _ problem: String) -> RegistryError {
        .invalid(file: file, entry: entry, field: prefix + field, problem: problem)
    }

    func value(_ key: String) throws -> Any {
        guard let v = (object as? [String: Any])?[key], !(v is NSNull) else { throw fail(key, "missing") }
        return v
    }

    func string(_ key: String) throws -> String {
        guard let s = try value(key) as? String else { throw fail(key, "expected a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard let n = v as? NSNumber, CFGetTypeIDIsBool(n) else { throw fail(key, "expected true or false") }
        return n.boolValue
    }

    func double(_ key: String) throws -> Double {
        let v = try value(key)
        guard let n = v as? NSNumber, !CFGetTypeIDIsBool(n) else { throw fail(key, "expected a number") }
        return n.doubleValue
    }

    func optionalDouble(_ key: String) throws -> Double? {
        guard let v = (object as? [String: Any])?[key], !(v is NSNull) else { return nil }
        return try double(key)
    }

    func int(_ key: String) throws -> Int {
        let d = try double(key)
        guard d.isFinite, d.rounded() == d, abs(d) < 1e15 else { throw fail(key, "\(d) is not an integer") }
        return Int(d)
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let v = (object as? [String: Any])?[key], !(v is NSNull) else { return nil }
        return try int(key)
    }

    func stringArray(_ key: String, optional: Bool = false) throws -> [String] {
        guard let v = (object as? [String: Any])?[key], !(v is NSNull) else {
            if optional { return [] }
            throw fail(key, "missing")
        }
        guard let a = v as? [Any] else { throw fail(key, "expected a list of strings") }
        return try a.enumerated().map { i, x in
            guard let s = x as? String else { throw fail("\(key)[\(i)]", "expected a string") }
            return s
        }
    }

    func url(_ key: String) throws -> String {
        let s = try string(key)
        guard Fields.isHTTPURL(s) else { throw fail(key, "'\(s)' is not an http(s) URL") }
        return s
    }

    static func isHTTPURL(_ s: String) -> Bool {
        guard let u = URL(string: s), let scheme = u.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = u.host, !host.isEmpty else { return false }
        return true
    }
}

/// `true` when an NSNumber came from a JSON `true`/`false` rather than a number
/// (Foundation boxes JSON booleans in a distinct subclass whose type encoding is `c`).
func CFGetTypeIDIsBool(_ n: NSNumber) -> Bool {
    String(cString: n.objCType) == "c" && type(of: n) != NSNumber.self
}
