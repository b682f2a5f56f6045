/// The bitmask route (bdd100k.eval.pan_seg), one image at a time.
final class BitmaskScratch {
    /// Instance id -> compact index + 1 (0 = not seen in this image), for GT and prediction.
    var gtIndex = [Int32](repeating: 0, count: 65536)
    var predIndex = [Int32](repeating: 0, count: 65536)
}

enum BitmaskRoute {
    /// The official validity test compares only the first 100 predictions (MAX_DET).
    static let maxDet = 100

    struct Segments {
        var ids: [Int] = []
        var category: [Int] = []
        var attributes: [Int] = []
    }

    /// `parse_bitmask`: the distinct instance ids >= 1, ascending, each with its category and
    /// attributes, which must be uniform over the segment. Leaves `index[id]` = position + 1.
    static func segments(_ m: Bitmask, index: inout [Int32], path: String) throws -> Segments {
        let n = m.height * m.width
        var seen: [Int] = []
        // Pass 1: discover ids (index used as a seen-marker holding the first pixel + 1).
        try m.rgba.withUnsafeBufferPointer { px in
            try index.withUnsafeMutableBufferPointer { idx in
                for p in 0..<n {
                    let id = Int(px[p * 4 + 2]) << 8 | Int(px[p * 4 + 3])
                    if id == 0 { continue }
                    let first = Int(idx[id])
                    if first == 0 {
                        idx[id] = Int32(p + 1)
                        seen.append(id)
                    } else {
                        let q = first - 1
                        if px[q * 4] != px[p * 4] {
                            throw PanopticError.invalidInput("\(path): segment \(id) has pixels of categories \(px[q * 4]) and \(px[p * 4]); a segment must have one category (the official evaluator stops with AssertionError)")
                        }
                        if px[q * 4 + 1] != px[p * 4 + 1] {
                            throw PanopticError.invalidInput("\(path): segment \(id) has pixels with attributes \(px[q * 4 + 1]) and \(px[p * 4 + 1]); a segment must have uniform attributes (the official evaluator stops with AssertionError)")
                        }
                    }
                }
            }
        }
        seen.sort()
        var s = Segments()
        s.ids = seen
        for (k, id) in seen.enumerated() {
            let q = Int(index[id]) - 1
            s.category.append(Int(m.rgba[q * 4]))
            s.attributes.append(Int(m.rgba[q * 4 + 1]))
            index[id] = Int32(k + 1)
        }
        return s
    }

    /// Scores one image; `pred` nil means no prediction file (all valid GT is missed).
    static func score(gt: Bitmask, pred: Bitmask?, gtPath: String, predPath: String?, scratch: BitmaskScratch,
                      warnings: inout [EvalWarning]) throws -> PQStats {
        var stats = PQStats()
        let gs = try segments(gt, index: &scratch.gtIndex, path: gtPath)
        defer { for id in gs.ids { scratch.gtIndex[id] = 0 } }
        let gtValid = gs.attributes.map { $0 & 3 == 0 }
        guard let pred = pred, let predPath = predPath else {
            for (k, c) in gs.category.enumerated() where gtValid[k] { stats.categories[c].fn += 1 }
            return stats
        }
        guard pred.height == gt.height && pred.width == gt.width else {
            throw PanopticError.invalidInput("\(predPath) is \(pred.height)x\(pred.width) but its ground truth \(gtPath) is \(gt.height)x\(gt.width)")
        }
        let ps = try segments(pred, index: &scratch.predIndex, path: predPath)
        defer { for id in ps.ids { scratch.predIndex[id] = 0 } }
        let frame = predPath
        if ps.ids.isEmpty {
            warnings.append(EvalWarning(frame: frame, kind: .officialCrash,
                message: "the prediction has no segment (all instance ids 0): the official evaluator crashes here (ValueError); zoo counts its ground truth as missed"))
        } else if ps.ids.count > maxDet {
            warnings.append(EvalWarning(frame: frame, kind: .officialCrash,
                message: "\(ps.ids.count) predicted segments: the official bitmask evaluator crashes above \(maxDet) (ValueError); zoo scores all of them, as the RLE route does"))
        }
        let G = gs.ids.count, P = ps.ids.count
        // Joint histogram of (GT segment, prediction segment), 0 = none.
        var hist = [Int](repeating: 0, count: (G + 1) * (P + 1))
        let n = gt.height * gt.width
        gt.rgba.withUnsafeBufferPointer { g in
            pred.rgba.withUnsafeBufferPointer { p in
                scratch.gtIndex.withUnsafeBufferPointer { gi in
                    scratch.predIndex.withUnsafeBufferPointer { pi in
                        hist.withUnsafeMutableBufferPointer { h in
                            let stride = P + 1
                            for q in 0..<n {
                                let a = Int(gi[Int(g[q * 4 + 2]) << 8 | Int(g[q * 4 + 3])])
                                let b = Int(pi[Int(p[q * 4 + 2]) << 8 | Int(p[q * 4 + 3])])
                                h[a * stride + b] += 1
                            }
                        }
                    }
                }
            }
        }
        var inter = [Int](repeating: 0, count: G * P)
        var gtArea = [Int](repeating: 0, count: G)
        var predArea = [Int](repeating: 0, count: P)
        for a in 0...G {
            for b in 0...P {
                let v = hist[a * (P + 1) + b]
                if a > 0 { gtArea[a - 1] += v }
                if b > 0 { predArea[b - 1] += v }
                if a > 0 && b > 0 { inter[(a - 1) * P + (b - 1)] = v }
            }
        }
        let overlaps = ImageOverlaps(gtCategory: gs.category, gtArea: gtArea, gtValid: gtValid,
                                     predCategory: ps.category, predArea: predArea,
                                     predValid: ps.attributes.map { $0 & 3 == 0 }, inter: inter)
        overlaps.match(into: &stats)
        return stats
    }
}
