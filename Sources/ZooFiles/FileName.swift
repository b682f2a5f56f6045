/// A name that comes from data (a frame name in a Scalabel file, a journal record, a mirror's
/// predictions) and is about to become part of a path. It must name one entry inside the chosen
/// folder: no path separator, no `.` or `..`, not empty, no NUL or other control character.
public struct UnsafeFileNameError: Error, CustomStringConvertible, Equatable {
    public var name: String
    public var what: String
    public var reason: String

    public var description: String {
        "\(what) \(FileName.quoted(name)) \(reason): it cannot be used as a file name inside the output folder; rename the frame in the input (names must be plain file names such as b1c66a42-6f7d68ca.jpg)"
    }
}

public enum FileName {
    /// Returns `name` when it is a plain file name, else throws naming it (`what`: e.g. "frame").
    @discardableResult
    public static func checked(_ name: String, what: String = "frame") throws -> String {
        func refuse(_ reason: String) -> UnsafeFileNameError { UnsafeFileNameError(name: name, what: what, reason: reason) }
        if name.isEmpty { throw refuse("is empty") }
        if name == "." || name == ".." { throw refuse("is a reference to a folder") }
        if name.utf8.contains(UInt8(ascii: "/")) { throw refuse(name.hasPrefix("/") ? "is an absolute path" : "contains a path separator '/'") }
        if name.utf8.contains(UInt8(ascii: "\\")) { throw refuse("contains a backslash (a path separator on Windows)") }
        if name.utf8.contains(0) { throw refuse("contains a NUL character") }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { throw refuse("contains a control character") }
        if name.utf8.count > 255 { throw refuse("is longer than 255 bytes") }
        return name
    }

    /// The file name `stem + ext` for a checked name: `a.jpg` -> `a` + ext.
    public static func stem(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// A name as shown in messages: quoted, with non-printable characters escaped.
    public static func quoted(_ s: String) -> String {
        "\"" + printable(s, keepNewlines: false).replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Text for a terminal: control characters (`\x1b`, `\x7f`, C1), bidirectional and other
    /// invisible format characters escaped (`\x7f`, `\u{202e}`), everything else (`<`, `>`, accents,
    /// CJK) as itself. Newlines and tabs stay when `keepNewlines`.
    public static func printable(_ s: String, keepNewlines: Bool = true) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            if keepNewlines && (u == "\n" || u == "\t") { out.unicodeScalars.append(u); continue }
            if u.value < 0x20 || u.value == 0x7f {
                out += "\\x" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16)
            } else if (0x80..<0xa0).contains(u.value) || u.properties.generalCategory == .format
                        || u.properties.generalCategory == .lineSeparator || u.properties.generalCategory == .paragraphSeparator {
                out += "\\u{" + String(u.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
