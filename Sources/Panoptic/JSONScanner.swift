#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file; pages are loaded on demand and can be dropped by the OS,
/// so a large label file costs address space, not memory.
final class MappedFile: @unchecked Sendable {
    let path: String
    let base: UnsafeRawPointer?
    let count: Int

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw PanopticError.io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw PanopticError.io(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        count = Int(st.st_size)
        if count == 0 { base = nil; return }
        guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw PanopticError.io(path: path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let b = base { munmap(UnsafeMutableRawPointer(mutating: b), count) }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Lets the OS drop the pages of `range` from this process (they are read again if touched), so
    /// resident memory stays at the frames being parsed rather than growing to the file size.
    func release(_ range: Range<Int>) {
        guard let b = base, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        // The kernel maps neighbouring pages on a fault ("fault-around"), so pages just before the
        // range may have come back since they were released: release them again.
        let start = (max(0, range.lowerBound - (256 << 10)) / page) * page
        let end = min(count, range.upperBound)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: b + start), end - start, Int32(MADV_DONTNEED))
    }
}

/// A generic JSON value, for the few fields whose shape is free (label attributes).
enum JSONValue {
    case null
    case bool(Bool)
    case number(Double, text: String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// Python truthiness, as `bool(value)` in scalabel's `check_crowd`.
    var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .number(let d, _): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        }
    }
}

/// A small pull parser over UTF-8 bytes: enough to walk Scalabel files without building them whole.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var pos: Int
    let end: Int
    let path: String

    init(bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil, path: String) {
        self.bytes = bytes
        self.pos = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? bytes.count
        self.path = path
    }

    func fail(_ what: String) -> PanopticError {
        // Report a line number: it is what a user can look at.
        var line = 1
        var i = 0
        let upto = min(pos, end)
        while i < upto { if bytes[i] == UInt8(ascii: "\n") { line += 1 }; i += 1 }
        return .invalidJSON(path: path, reason: "\(what) at line \(line)")
    }

    mutating func skipWhitespace() {
        while pos < end {
            let c = bytes[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    mutating func peek() -> UInt8? {
        skipWhitespace()
        return pos < end ? bytes[pos] : nil
    }

    mutating func expect(_ c: UInt8) throws {
        guard peek() == c else { throw fail("expected '\(Character(UnicodeScalar(c)))'") }
        pos += 1
    }

    /// Iterates the members of an object; `body` must consume the value.
    mutating func forEachMember(_ body: (inout JSONScanner, String) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") { pos += 1; return }
        while true {
            let key = try parseString()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            switch peek() {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "}"): pos += 1; return
            default: throw fail("expected ',' or '}' in an object")
            }
        }
    }

    /// Iterates the elements of an array; `body` must consume the element.
    mutating func forEachElement(_ body: (inout JSONScanner) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") { pos += 1; return }
        while true {
            try body(&self)
            switch peek() {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "]"): pos += 1; return
            default: throw fail("expected ',' or ']' in an array")
            }
        }
    }

    /// True (and consumed) if the next value is `null`.
    mutating func consumeNull() throws -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard pos + n <= end else { throw fail("unexpected end of input") }
        for i in 0..<n where bytes[pos + i] != word.utf8Start[i] { throw fail("invalid literal") }
        pos += n
    }

    mutating func parseString() throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string") }
        pos += 1
        let start = pos
        // Fast path: no escapes.
        while pos < end {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            pos += 1
        }
        var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<pos]))
        while pos < end {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; return String(decoding: out, as: UTF8.self) }
            if c != UInt8(ascii: "\\") { out.append(c); pos += 1; continue }
            pos += 1
            guard pos < end else { break }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), pos + 1 < end,
                   bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                    let save = pos
                    pos += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else { pos = save }
                }
                let scalar = UnicodeScalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail("invalid escape in a string")
            }
        }
        throw fail("unterminated string")
    }

    private mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= end else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v * 16 + d
            pos += 1
        }
        return v
    }

    mutating func parseNumberText() throws -> String {
        skipWhitespace()
        let start = pos
        while pos < end {
            let c = bytes[pos]
            if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                pos += 1
            } else { break }
        }
        guard pos > start else { throw fail("expected a value") }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
    }

    mutating func parseValue() throws -> JSONValue {
        guard let c = peek() else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"):
            var members: [(String, JSONValue)] = []
            try forEachMember { s, k in members.append((k, try s.parseValue())) }
            return .object(members)
        case UInt8(ascii: "["):
            var items: [JSONValue] = []
            try forEachElement { s in items.append(try s.parseValue()) }
            return .array(items)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"): try literal("NaN"); return .number(.nan, text: "NaN")
        default:
            let t = try parseNumberText()
            if t == "-" { try literal("Infinity"); return .number(-.infinity, text: "-Infinity") }
            guard let d = Double(t) else { throw fail("invalid number '\(t)'") }
            return .number(d, text: t)
        }
    }

    /// Skips one value without building it.
    mutating func skipValue() throws {
        guard let c = peek() else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while pos < end {
                let b = bytes[pos]
                if b == UInt8(ascii: "\"") {
                    pos += 1
                    while pos < end {
                        let d = bytes[pos]
                        if d == UInt8(ascii: "\\") { pos += 2; continue }
                        pos += 1
                        if d == UInt8(ascii: "\"") { break }
                    }
                    continue
                }
                if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") { depth += 1 }
                if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { pos += 1; return }
                }
                pos += 1
            }
            throw fail("unterminated object or array")
        case UInt8(ascii: "\""): _ = try parseString()
        default: _ = try parseValue()
        }
    }
}
