import Foundation

/// Totals of one category: sum of matched IoUs, true positives, false positives, false negatives.
public struct PQCategoryStats: Sendable, Equatable {
    public var iou: Double = 0
    public var tp: Int = 0
    public var fp: Int = 0
    public var fn: Int = 0
    public init() {}
}

/// Per-category totals, indexed by category id (the bitmask route may see ids 0 and 41...255,
/// which are counted but never averaged).
public struct PQStats: Sendable, Equatable {
    public var categories: [PQCategoryStats] = Array(repeating: PQCategoryStats(), count: 256)
    public init() {}

    /// Adds another image's totals (in image order, as the official accumulation does).
    public mutating func add(_ other: PQStats) {
        for i in 0..<256 {
            let o = other.categories[i]
            if o.tp == 0 && o.fp == 0 && o.fn == 0 && o.iou == 0 { continue }
            categories[i].iou += o.iou
            categories[i].tp += o.tp
            categories[i].fp += o.fp
            categories[i].fn += o.fn
        }
    }
}

/// PQ, SQ, RQ (in percent) and the number of categories averaged.
public struct PQScores: Sendable, Equatable {
    public var pq: Double
    public var sq: Double
    public var rq: Double
    public var n: Int
}

/// The official result: per category, STUFF / THING, OVERALL.
public struct PQResult: Sendable, Equatable {
    /// Which evaluation route produced it; it decides the name of the count key.
    public enum Route: String, Sendable { case rle, bitmask }

    public let route: Route
    public let stats: PQStats
    /// The 40 categories in config order (ids 1...40).
    public let perCategory: [(name: String, scores: PQScores)]
    public let stuff: PQScores
    public let thing: PQScores
    public let overall: PQScores

    /// "NUM" on the RLE route (scalabel), "N" on the bitmask route (bdd100k).
    public var countKey: String { route == .rle ? "NUM" : "N" }

    public init(route: Route, stats: PQStats) {
        self.route = route
        self.stats = stats
        let ids = Array(1...BDD100K.evaluatedCount)
        perCategory = ids.map { (BDD100K.categoryNames[$0], PQResult.average(stats, [$0])) }
        stuff = PQResult.average(stats, Array(BDD100K.stuffIDs))
        thing = PQResult.average(stats, Array(BDD100K.thingIDs))
        overall = PQResult.average(stats, ids)
    }

    /// `PQStat.pq_average`, operation for operation.
    static func average(_ stats: PQStats, _ ids: [Int]) -> PQScores {
        var pq = 0.0, sq = 0.0, rq = 0.0
        var n = 0
        for id in ids {
            let c = stats.categories[id]
            if c.tp + c.fp + c.fn == 0 { continue }
            let denom = Double(c.tp) + 0.5 * Double(c.fp) + 0.5 * Double(c.fn)
            pq += (c.iou / denom) * 100
            sq += (c.tp != 0 ? c.iou / Double(c.tp) : 0) * 100
            rq += (Double(c.tp) / denom) * 100
            n += 1
        }
        if n > 0 { return PQScores(pq: pq / Double(n), sq: sq / Double(n), rq: rq / Double(n), n: n) }
        return PQScores(pq: 0, sq: 0, rq: 0, n: 0)
    }

    public static func == (a: PQResult, b: PQResult) -> Bool {
        a.route == b.route && a.stats == b.stats
    }

    // MARK: Output

    /// The table the official tool logs (pandas `to_string`, `%.1f`), with its dashed lines.
    public func table() -> String {
        var names = perCategory.map(\.name)
        names += ["STUFF", "THING", "OVERALL"]
        var rows = perCategory.map(\.scores)
        rows += [stuff, thing, overall]
        let indexWidth = names.map(\.count).max() ?? 0
        func f1(_ v: Double) -> String { String(format: "%.1f", v) }
        let cols: [(String, [String])] = [
            ("PQ", rows.map { f1($0.pq) }), ("SQ", rows.map { f1($0.sq) }), ("RQ", rows.map { f1($0.rq) }),
            (countKey, rows.map { " \($0.n)" }),
        ]
        // pandas: a column is as wide as its widest cell, the header counting one leading space;
        // columns are separated by one space; the index is left-aligned.
        let widths = cols.map { c in max(c.0.count + 1, c.1.map(\.count).max() ?? 0) }
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var lines: [String] = []
        lines.append(String(repeating: " ", count: indexWidth) + zip(cols, widths).map { " " + pad($0.0.0, $0.1) }.joined())
        for (r, name) in names.enumerated() {
            let cells = zip(cols, widths).map { " " + pad($0.0.1[r], $0.1) }.joined()
            lines.append(name + String(repeating: " ", count: indexWidth - name.count) + cells)
        }
        let rule = String(repeating: "-", count: lines[0].count)
        // Row breaks after the header, after the categories, after STUFF/THING.
        lines.insert(rule, at: 1)
        lines.insert(rule, at: 2 + perCategory.count)
        lines.insert(rule, at: 2 + perCategory.count + 1 + 2)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `--out-file` JSON: `json.dump(dict(results), indent=2)`, no trailing newline.
    public func json() -> String {
        func floats(_ key: KeyPath<PQScores, Double>) -> String {
            let cats = perCategory.map { "      \(pythonJSONString($0.name)): \(pythonFloat($0.scores[keyPath: key]))" }
            return "  [\n    {\n" + cats.joined(separator: ",\n") + "\n    },\n    {\n"
                + "      \"STUFF\": \(pythonFloat(stuff[keyPath: key])),\n      \"THING\": \(pythonFloat(thing[keyPath: key]))\n    },\n"
                + "    {\n      \"OVERALL\": \(pythonFloat(overall[keyPath: key]))\n    }\n  ]"
        }
        let counts = perCategory.map { "      \(pythonJSONString($0.name)): \($0.scores.n)" }
        let n = "  [\n    {\n" + counts.joined(separator: ",\n") + "\n    },\n    {\n"
            + "      \"STUFF\": \(stuff.n),\n      \"THING\": \(thing.n)\n    },\n"
            + "    {\n      \"OVERALL\": \(overall.n)\n    }\n  ]"
        return "{\n  \"PQ\": \(floats(\.pq).dropFirst(2)),\n  \"SQ\": \(floats(\.sq).dropFirst(2)),\n  \"RQ\": \(floats(\.rq).dropFirst(2)),\n  \"\(countKey)\": \(n.dropFirst(2))\n}"
    }

    /// The flat summary of scalabel's `summary()`: PQ, PQ/STUFF, PQ/THING, ... and the counts.
    public func summary() -> [(key: String, value: Double)] {
        var out: [(String, Double)] = []
        for (m, kp) in [("PQ", \PQScores.pq), ("SQ", \PQScores.sq), ("RQ", \PQScores.rq)] {
            out.append(("\(m)/STUFF", stuff[keyPath: kp]))
            out.append(("\(m)/THING", thing[keyPath: kp]))
            out.append((m, overall[keyPath: kp]))
        }
        out.append(("\(countKey)/STUFF", Double(stuff.n)))
        out.append(("\(countKey)/THING", Double(thing.n)))
        out.append((countKey, Double(overall.n)))
        return out
    }
}

/// A float as Python's `repr` writes it (shortest round trip; `0.0`, `75.0`, `1e-05`, `1e+16`).
func pythonFloat(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
    var s = v.description
    // Swift writes "5e-324" / "1e+16" like Python; only make sure an integral value keeps ".0".
    if !s.contains(".") && !s.contains("e") { s += ".0" }
    return s
}
