import Foundation

extension PickleValue {
    /// A JSON-compatible rendering (for safetensors metadata and `zoo inspect --json`): lists, tuples
    /// and sets become arrays, dicts objects (keys as text), tensors a short description, bytes a count.
    public var jsonObject: Any {
        switch self {
        case .none: return NSNull()
        case let .bool(b): return b
        case let .int(i): return i
        case .bigInt: return shortDescription
        case let .float(d): return d.isFinite ? d as Any : String(d)
        case let .complex(r, i): return [r.isFinite ? r as Any : String(r), i.isFinite ? i as Any : String(i)]
        case let .string(s): return s
        case let .bytes(b): return "bytes[\(b.count)]"
        case let .list(x), let .tuple(x), let .set(x): return x.map(\.jsonObject)
        case let .dict(entries, _):
            var o: [String: Any] = [:]
            for e in entries { o[e.key.pathComponent] = e.value.jsonObject }
            return o
        case let .tensor(t): return "tensor \(t.dtype.rawValue) \(t.shape)"
        case let .global(g): return g
        case .object: return shortDescription
        }
    }

    /// Compact JSON text with sorted keys.
    public var jsonString: String {
        let o = jsonObject
        if JSONSerialization.isValidJSONObject([o]),
           let d = try? JSONSerialization.data(withJSONObject: [o], options: [.sortedKeys, .withoutEscapingSlashes]) {
            let s = String(decoding: d, as: UTF8.self)
            return String(s.dropFirst().dropLast()) // strip the wrapping array
        }
        return "\"" + shortDescription + "\""
    }
}
