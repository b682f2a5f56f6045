/// The RLE route (scalabel.eval.pan_seg after bdd100k_to_scalabel), one image at a time.
///
/// Masks are compared as column-major intervals instead of by pairwise RLE merges: the prediction
/// masks' runs are sorted once (which also finds overlaps), then each GT mask's runs are swept over
/// them. Same integers, so the same IoUs as pycocotools.
final class RLEScratch {
    /// Per-pixel sums for merging several masks of one stuff class.
    var counts: [UInt8] = []

    func prepare(_ n: Int) {
        if counts.count < n { counts = [UInt8](repeating: 0, count: n) }
    }
}

/// One segment: a category id (1...40) and column-major runs (first run = zeros).
struct RunSegment {
    var category: Int
    var runs: [UInt32]
    /// Indices of the source labels (several for merged stuff).
    var sources: [Int]

    var area: Int {
        var a = 0
        var i = 1
        while i < runs.count { a += Int(runs[i]); i += 2 }
        return a
    }
}

enum RLERoute {
    struct Parsed {
        var segments: [RunSegment]
        /// Labels of known categories with a mask, crowd and ignored included (overlap check).
        var maskLabels: [(index: Int, runs: [UInt32])]
        var size: (h: Int, w: Int)?
    }

    /// Parses one side of a frame like `parse_seg_objects`: unknown categories already removed,
    /// crowd / ignored dropped, stuff of one class merged, segments ordered by category.
    static func parse(_ labels: [ScalabelLabel], frame: String, isGT: Bool, scratch: RLEScratch,
                      warnings: inout [EvalWarning]) throws -> Parsed {
        var size: (h: Int, w: Int)? = nil
        var kept: [(cat: Int, runs: [UInt32], index: Int)] = []
        var maskLabels: [(index: Int, runs: [UInt32])] = []
        var badIDs: [String] = []
        for (i, l) in labels.enumerated() {
            guard let name = l.category, let cat = BDD100K.id(of: name) else { continue }
            guard let rle = l.rle else {
                if l.hasPoly2d {
                    throw PanopticError.invalidInput(isGT
                        ? "frame \(frame): a GT label (category \(name)) is a polygon; zoo eval reads RLE only (the official tool rasterises polygons with matplotlib, which fails with matplotlib >= 3.10). Convert the GT to RLE first."
                        : "frame \(frame): a predicted label (category \(name)) is a polygon; predictions must be RLE masks (the official tool rejects polygons too).")
                }
                continue
            }
            if let s = size {
                guard s.h == rle.height && s.w == rle.width else {
                    throw PanopticError.invalidInput("frame \(frame): masks of different sizes (\(s.h)x\(s.w) and \(rle.height)x\(rle.width)) in the \(isGT ? "ground truth" : "prediction")")
                }
            } else {
                size = (rle.height, rle.width)
            }
            let runs: [UInt32]
            do { runs = try rle.validatedRuns() } catch {
                throw PanopticError.invalidInput("frame \(frame): label \(l.id ?? "?") (\(name)): \(error)")
            }
            maskLabels.append((i, runs))
            if l.crowd || l.ignored { continue }
            if !isGT && !isPythonInt(l.id) { badIDs.append(l.id ?? "null") }
            kept.append((cat, runs, i))
        }
        if !badIDs.isEmpty {
            warnings.append(EvalWarning(frame: frame, kind: .nonIntegerID,
                message: "prediction ids that are not integers (\(badIDs.prefix(3).map { "\"\($0)\"" }.joined(separator: ", "))): the official evaluator stops with ValueError; zoo does not use ids and goes on"))
        }
        // Group by category (ascending), file order inside a category; merge stuff.
        var byCat: [Int: [Int]] = [:]
        for (k, e) in kept.enumerated() { byCat[e.cat, default: []].append(k) }
        var segments: [RunSegment] = []
        for cat in byCat.keys.sorted() {
            let members = byCat[cat] ?? []
            if BDD100K.isThing(cat) || members.count == 1 {
                for k in members { segments.append(RunSegment(category: cat, runs: kept[k].runs, sources: [kept[k].index])) }
            } else if let s = size {
                let runs = mergeStuff(members.map { kept[$0].runs }, pixels: s.h * s.w, scratch: scratch)
                segments.append(RunSegment(category: cat, runs: runs, sources: members.map { kept[$0].index }))
            }
        }
        return Parsed(segments: segments, maskLabels: maskLabels, size: size)
    }

    /// `mask_to_rle(sum(rle_to_mask(r) for r in rles))`: the masks are summed as uint8 and pycocotools
    /// starts a new run at every change of value, reading runs alternately as 0 and 1. Disjoint masks
    /// give their union; where masks overlap (value 2) the encoded mask is not the union.
    static func mergeStuff(_ masks: [[UInt32]], pixels: Int, scratch: RLEScratch) -> [UInt32] {
        scratch.prepare(pixels)
        return scratch.counts.withUnsafeMutableBufferPointer { c -> [UInt32] in
            for runs in masks {
                var pos = 0
                for (k, len) in runs.enumerated() {
                    let n = Int(len)
                    if k & 1 == 1 { for i in pos..<(pos + n) { c[i] &+= 1 } }
                    pos += n
                }
            }
            var out: [UInt32] = []
            var prev: UInt8 = 0
            var count: UInt32 = 0
            for i in 0..<pixels {
                let v = c[i]
                if v != prev { out.append(count); count = 0; prev = v }
                count += 1
                c[i] = 0
            }
            out.append(count)
            return out
        }
    }

    /// Python's `int(s)` accepts it (optional sign, digits, single underscores between digits, spaces around).
    static func isPythonInt(_ s: String?) -> Bool {
        guard let s = s else { return false }
        var t = Substring(s.trimmingCharacters(in: .whitespacesAndNewlines))
        if t.first == "+" || t.first == "-" { t = t.dropFirst() }
        guard let f = t.first, f.isNumber, let l = t.last, l.isNumber else { return false }
        var prevUnderscore = false
        for ch in t {
            if ch == "_" { if prevUnderscore { return false }; prevUnderscore = true; continue }
            guard ch.isWholeNumber else { return false }
            prevUnderscore = false
        }
        return true
    }

    /// Scores one frame; `pred` nil means no prediction frame.
    static func score(gt: ScalabelFrame, pred: ScalabelFrame?, scratch: RLEScratch,
                      warnings: inout [EvalWarning]) throws -> PQStats {
        var stats = PQStats()
        let frame = gt.name
        let g = try parse(gt.labels ?? [], frame: frame, isGT: true, scratch: scratch, warnings: &warnings)
        let predLabels = (pred?.labels ?? []).filter { l in l.category.map { BDD100K.id(of: $0) != nil } ?? false }
        if predLabels.allSatisfy({ $0.rle == nil && !$0.hasPoly2d }) {
            for s in g.segments { stats.categories[s.category].fn += 1 }
            return stats
        }
        let p = try parse(predLabels, frame: frame, isGT: false, scratch: scratch, warnings: &warnings)
        if let gs = g.size, let ps = p.size, gs.h != ps.h || gs.w != ps.w {
            // pycocotools gives IoU -1 for masks of different sizes: nothing matches, nothing is a FP.
            warnings.append(EvalWarning(frame: frame, kind: .sizeMismatch,
                message: "the prediction is \(ps.h)x\(ps.w) but the ground truth is \(gs.h)x\(gs.w): as the official RLE route does (pycocotools IoU -1), its ground truth counts as missed and no prediction as a false positive"))
            for s in g.segments { stats.categories[s.category].fn += 1 }
            return stats
        }
        // Every prediction mask as column-major intervals (crowd too, as the overlap check sees
        // them), sorted by start: predictions overlap iff two intervals do.
        var lut = [Int](repeating: -1, count: predLabels.count)
        for (k, s) in p.segments.enumerated() { for src in s.sources { lut[src] = k } }
        var starts: [Int] = [], ends: [Int] = [], segOf: [Int] = []
        var keys: [UInt64] = []
        let total = p.maskLabels.reduce(0) { $0 + $1.runs.count / 2 }
        starts.reserveCapacity(total); ends.reserveCapacity(total); segOf.reserveCapacity(total); keys.reserveCapacity(total)
        for m in p.maskLabels {
            var pos = 0
            for (k, len) in m.runs.enumerated() {
                let n = Int(len)
                if k & 1 == 1 && n > 0 {
                    keys.append(UInt64(pos) << 24 | UInt64(starts.count))
                    starts.append(pos); ends.append(pos + n); segOf.append(lut[m.index])
                }
                pos += n
            }
        }
        guard starts.count < 1 << 24 else {
            throw PanopticError.invalidInput("frame \(frame): the predicted masks have \(starts.count) runs; at most \(1 << 24) are supported")
        }
        keys.sort()
        let order = keys.map { Int($0 & 0xFF_FFFF) }
        let sStart = order.map { starts[$0] }, sEnd = order.map { ends[$0] }, sSeg = order.map { segOf[$0] }
        var overlap = false
        for i in 1..<max(1, sStart.count) where sStart[i] < sEnd[i - 1] { overlap = true; break }
        // Intersections: each GT run against the sorted, disjoint prediction intervals.
        let P = p.segments.count
        var inter = [[(pred: Int, pixels: Int)]](repeating: [], count: g.segments.count)
        if !overlap && P > 0 {
            let n = sStart.count
            var row: [Int: Int] = [:]
            for (gi, s) in g.segments.enumerated() {
                row.removeAll(keepingCapacity: true)
                var pos = 0
                var j = 0
                for (k, len) in s.runs.enumerated() {
                    let a = pos, b = pos + Int(len)
                    pos = b
                    guard k & 1 == 1, b > a else { continue }
                    // First interval ending after a (binary search from j).
                    var lo = j, hi = n
                    while lo < hi { let mid = (lo + hi) >> 1; if sEnd[mid] <= a { lo = mid + 1 } else { hi = mid } }
                    j = lo
                    var t = j
                    while t < n && sStart[t] < b {
                        let seg = sSeg[t]
                        if seg >= 0 { row[seg, default: 0] += min(b, sEnd[t]) - max(a, sStart[t]) }
                        t += 1
                    }
                }
                inter[gi] = row.filter { $0.value > 0 }.map { (pred: $0.key, pixels: $0.value) }.sorted { $0.pred < $1.pred }
            }
        }
        if overlap {
            warnings.append(EvalWarning(frame: frame, kind: .overlap,
                message: "predicted masks overlap: as the official evaluator does, all predictions of this frame are discarded"))
            for s in g.segments { stats.categories[s.category].fn += 1 }
            return stats
        }
        if p.segments.isEmpty {
            warnings.append(EvalWarning(frame: frame, kind: .officialCrash,
                message: "every prediction is crowd or ignored: the official evaluator crashes here (AttributeError); zoo counts its ground truth as missed"))
        } else if g.segments.isEmpty {
            warnings.append(EvalWarning(frame: frame, kind: .officialCrash,
                message: "predictions but no ground-truth segment: the official evaluator crashes here (AttributeError); zoo counts nothing for this frame (predictions on unlabeled pixels are not false positives)"))
        }
        let overlaps = ImageOverlaps(
            gtCategory: g.segments.map(\.category), gtArea: g.segments.map(\.area),
            gtValid: Array(repeating: true, count: g.segments.count),
            predCategory: p.segments.map(\.category), predArea: p.segments.map(\.area),
            predValid: Array(repeating: true, count: p.segments.count), inter: inter)
        overlaps.match(into: &stats)
        return stats
    }
}
