import Foundation

/// A small deterministic PRNG (SplitMix64), so a run is reproducible from its seed.
public struct FuzzRNG {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0 ..< n (n > 0).
    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}

/// Byte-level mutations (flip, set, insert, delete, duplicate, splice, interesting integers at any
/// offset in either byte order) plus, for text inputs, JSON-aware ones (numbers and strings replaced
/// by boundary values). Outputs are capped at `maxSize`.
public struct Mutator {
    public var maxSize = 1 << 20
    public init() {}

    static let interesting: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000,
        0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
        0xFFFF_FFFF_FFFF_FFFE, 4096, 65535 * 65535,
    ]
    static let jsonNumbers = [
        "0", "-1", "1e308", "-1e308", "2147483648", "4294967296", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "1.5", "100000000", "65536", "null", "[]", "{}", "\"\"",
    ]
    static let jsonStrings = [
        "\"\"", "\"../../etc/passwd\"", "\"/abs\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"\(String(repeating: "A", count: 5000))\"",
        "0", "null", "[]", "{}", "\"%00\"", "\"..\"",
    ]

    public func mutate(_ input: [UInt8], isText: Bool, corpus: [[UInt8]], rng: inout FuzzRNG) -> [UInt8] {
        var b = input
        let rounds = 1 + rng.below(4)
        for _ in 0 ..< rounds {
            if isText && rng.below(2) == 0 { b = mutateJSON(b, rng: &rng) } else { b = mutateBytes(b, corpus: corpus, rng: &rng) }
        }
        if b.count > maxSize { b.removeLast(b.count - maxSize) }
        return b
    }

    func mutateBytes(_ input: [UInt8], corpus: [[UInt8]], rng: inout FuzzRNG) -> [UInt8] {
        var b = input
        if b.isEmpty { return [UInt8(truncatingIfNeeded: rng.next())] }
        switch rng.below(8) {
        case 0:  // bit flip
            let i = rng.below(b.count); b[i] ^= UInt8(1) << UInt8(rng.below(8))
        case 1:  // random byte
            b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 2:  // insert random bytes
            let n = 1 + rng.below(16)
            let at = rng.below(b.count + 1)
            b.insert(contentsOf: (0 ..< n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        case 3:  // delete a range
            let at = rng.below(b.count)
            let n = 1 + rng.below(min(64, b.count - at))
            b.removeSubrange(at ..< at + n)
        case 4:  // duplicate a range
            let at = rng.below(b.count)
            let n = 1 + rng.below(min(256, b.count - at))
            b.insert(contentsOf: Array(b[at ..< at + n]), at: rng.below(b.count + 1))
        case 5:  // splice with another seed
            if let other = corpus.isEmpty ? nil : corpus[rng.below(corpus.count)], !other.isEmpty {
                let cut = rng.below(b.count)
                let from = rng.below(other.count)
                b = Array(b[..<cut]) + Array(other[from...])
            }
        case 6, 7:  // interesting integer, 1/2/4/8 bytes, little or big endian
            let v = Mutator.interesting[rng.below(Mutator.interesting.count)]
            let width = [1, 2, 4, 8][rng.below(4)]
            guard b.count >= width else { break }
            let at = rng.below(b.count - width + 1)
            let big = rng.below(2) == 0
            for k in 0 ..< width {
                let shift = UInt64(big ? (width - 1 - k) * 8 : k * 8)
                b[at + k] = UInt8(truncatingIfNeeded: v >> shift)
            }
        default: break
        }
        return b
    }

    /// Replaces one JSON number or string token with a boundary value.
    func mutateJSON(_ input: [UInt8], rng: inout FuzzRNG) -> [UInt8] {
        var tokens: [(Range<Int>, Bool)] = []  // (range, isString)
        var i = 0
        while i < input.count {
            let c = input[i]
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                while j < input.count && input[j] != UInt8(ascii: "\"") { j += input[j] == UInt8(ascii: "\\") ? 2 : 1 }
                let end = min(j + 1, input.count)
                tokens.append((i ..< end, true)); i = end
            } else if c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) {
                var j = i + 1
                while j < input.count, let s = Optional(input[j]), (s >= 0x30 && s <= 0x39) || s == 0x2E || s == 0x65 || s == 0x45 || s == 0x2B || s == 0x2D { j += 1 }
                tokens.append((i ..< j, false)); i = j
            } else { i += 1 }
        }
        guard !tokens.isEmpty else { return input }
        let (range, isString) = tokens[rng.below(tokens.count)]
        let pool = isString && rng.below(3) != 0 ? Mutator.jsonStrings : Mutator.jsonNumbers
        var b = input
        b.replaceSubrange(range, with: Array(pool[rng.below(pool.count)].utf8))
        return b
    }
}
