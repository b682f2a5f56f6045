import Foundation

/// A `DecodingError` as a short sentence naming the field (`field 'images[2]': expected a string`),
/// not Swift's dump of coding paths and contexts.
public enum DecodingErrorText {
    public static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else {
            let ns = error as NSError
            return (ns.userInfo["NSDebugDescription"] as? String) ?? String(describing: error)
        }
        func field(_ path: [CodingKey]) -> String {
            var s = ""
            for k in path {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? "the top level" : "field '\(s)'"
        }
        switch e {
        case let .typeMismatch(type, c):
            return "\(field(c.codingPath)): expected \(name(of: type))"
        case let .valueNotFound(type, c):
            return "\(field(c.codingPath)): expected \(name(of: type)), found null"
        case let .keyNotFound(key, c):
            return "\(field(c.codingPath + [key])) is missing"
        case let .dataCorrupted(c):
            if let u = c.underlyingError as NSError?, let d = u.userInfo["NSDebugDescription"] as? String {
                return "not valid JSON (\(d))"
            }
            return c.codingPath.isEmpty ? "not valid JSON" : "\(field(c.codingPath)): \(c.debugDescription)"
        @unknown default:
            return String(describing: e)
        }
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let n = String(describing: type)
            if n.hasPrefix("Array") { return "a list" }
            if n.hasPrefix("Dictionary") { return "an object" }
            return "a value of type \(n)"
        }
    }
}
