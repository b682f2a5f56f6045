/// The bitmask route (bdd100k.eval.pan_seg), one image at a time.
final class BitmaskScratch {
    let decoder = FastPNG.Decoder()
    var file: [UInt8] = []
    var gtPixels: [UInt8] = []
    var predPixels: [UInt8] = []
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
        // Discover ids (index used as a seen-marker holding the first pixel + 1). Pixels are read as
        // 32-bit RGBA words; a pixel equal to the previous one adds nothing, which skips most of them.
        try m.rgba.withUnsafeBytes { raw in
            try index.withUnsafeMutableBufferPointer { idx in
                var prev: UInt32 = 0
                for p in 0..<n {
                    let v = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: p * 4, as: UInt32.self))
                    if v == prev { continue }
                    prev = v
                    let id = Int((v >> 16) & 0xFF) << 8 | Int(v >> 24)
                    if id == 0 { continue }
                    let first = Int(idx[id])
                    if first == 0 {
                        idx[id] = Int32(p + 1)
                        seen.append(id)
                    } else {
                        let q = first - 1
                        let w = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: q * 4, as: UInt32.self))
                        if w & 0xFF != v & 0xFF {
                            throw PanopticError.invalidInput("\(path): segment \(id) has pixels of categories \(w & 0xFF) and \(v & 0xFF); a segment must have one category (the official evaluator stops with AssertionError)")
                        }
                        if (w >> 8) & 0xFF != (v >> 8) & 0xFF {
                            throw PanopticError.invalidInput("\(path): segment \(id) has pixels with attributes \((w >> 8) & 0xFF) and \((v >> 8) & 0xFF); a segment must have uniform attributes (the official evaluator stops with AssertionError)")
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
        guard let pred = pred, let predPath = predPath else {
            let gs = try segments(gt, index: &scratch.gtIndex, path: gtPath)
            for id in gs.ids { scratch.gtIndex[id] = 0 }
            for (k, c) in gs.category.enumerated() where gs.attributes[k] & 3 == 0 { stats.categories[c].fn += 1 }
            return stats
        }
        guard pred.height == gt.height && pred.width == gt.width else {
            throw PanopticError.invalidInput("\(predPath) is \(pred.height)x\(pred.width) but its ground truth \(gtPath) is \(gt.height)x\(gt.width)")
        }
        let gs: Segments, ps: Segments, cells: [Cell]
        if let f = try fused(gt, pred, scratch: scratch, gtPath: gtPath, predPath: predPath) {
            (gs, ps, cells) = f
        } else {
            (gs, ps, cells) = try threePass(gt, pred, scratch: scratch, gtPath: gtPath, predPath: predPath)
        }
        let gtValid = gs.attributes.map { $0 & 3 == 0 }
        let frame = predPath
        if ps.ids.isEmpty {
            warnings.append(EvalWarning(frame: frame, kind: .officialCrash,
                message: "the prediction has no segment (all instance ids 0): the official evaluator crashes here (ValueError); zoo counts its ground truth as missed"))
        } else if ps.ids.count > maxDet {
            warnings.append(EvalWarning(frame: frame, kind: .officialCrash,
                message: "\(ps.ids.count) predicted segments: the official bitmask evaluator crashes above \(maxDet) (ValueError); zoo scores all of them, as the RLE route does"))
        }
        let G = gs.ids.count, P = ps.ids.count
        var gtArea = [Int](repeating: 0, count: G)
        var predArea = [Int](repeating: 0, count: P)
        var pairs: [(gt: Int, pred: Int, pixels: Int)] = []
        for c in cells {
            if c.gt > 0 { gtArea[c.gt - 1] += c.pixels }
            if c.pred > 0 { predArea[c.pred - 1] += c.pixels }
            if c.gt > 0 && c.pred > 0 { pairs.append((c.gt - 1, c.pred - 1, c.pixels)) }
        }
        let inter = ImageOverlaps.rows(gtCount: G, cells: pairs)
        let overlaps = ImageOverlaps(gtCategory: gs.category, gtArea: gtArea, gtValid: gtValid,
                                     predCategory: ps.category, predArea: predArea,
                                     predValid: ps.attributes.map { $0 & 3 == 0 }, inter: inter)
        overlaps.match(into: &stats)
        return stats
    }

    /// One non-zero cell of the joint histogram of segment indices (1-based in ascending
    /// instance-id order, 0 = no segment): the pixels where GT `gt` and prediction `pred` meet.
    typealias Cell = (gt: Int, pred: Int, pixels: Int)
    /// Segments of both images and their joint histogram, sparse: only non-zero cells, each once.
    typealias Joint = (gt: Segments, pred: Segments, cells: [Cell])

    /// One pass over both images: ids get indices in order of first appearance (at most 255 per
    /// image, else nil), runs of identical pixel pairs are counted at once, then everything is
    /// reordered by instance id.
    static func fused(_ gt: Bitmask, _ pred: Bitmask, scratch: BitmaskScratch, gtPath: String, predPath: String) throws -> Joint? {
        let n = gt.height * gt.width
        let side = 256
        var table = [Int](repeating: 0, count: side * side)
        var gFirst: [UInt32] = [0], pFirst: [UInt32] = [0]
        var gIDs: [Int] = [0], pIDs: [Int] = [0]
        var overflow = false
        var failure: PanopticError?
        gt.rgba.withUnsafeBytes { g in
            pred.rgba.withUnsafeBytes { p in
                scratch.gtIndex.withUnsafeMutableBufferPointer { gi in
                    scratch.predIndex.withUnsafeMutableBufferPointer { pi in
                        table.withUnsafeMutableBufferPointer { t in
                            // Returns the index of the segment of pixel value v, registering it on first sight.
                            func index(_ v: UInt32, _ map: UnsafeMutableBufferPointer<Int32>, _ first: inout [UInt32],
                                       _ ids: inout [Int], _ path: String) -> Int {
                                let id = Int((v >> 16) & 0xFF) << 8 | Int(v >> 24)
                                if id == 0 { return 0 }
                                let k = Int(map[id])
                                if k == 0 {
                                    if ids.count >= side { overflow = true; return 0 }
                                    map[id] = Int32(ids.count)
                                    ids.append(id)
                                    first.append(v)
                                    return ids.count - 1
                                }
                                let w = first[k]
                                if w & 0xFF != v & 0xFF && failure == nil {
                                    failure = .invalidInput("\(path): segment \(id) has pixels of categories \(w & 0xFF) and \(v & 0xFF); a segment must have one category (the official evaluator stops with AssertionError)")
                                } else if (w >> 8) & 0xFF != (v >> 8) & 0xFF && failure == nil {
                                    failure = .invalidInput("\(path): segment \(id) has pixels with attributes \((w >> 8) & 0xFF) and \((v >> 8) & 0xFF); a segment must have uniform attributes (the official evaluator stops with AssertionError)")
                                }
                                return k
                            }
                            var pg: UInt32 = 0, pp: UInt32 = 0
                            var a = 0, b = 0, run = 0
                            var q = 0
                            while q < n {
                                let x = UInt32(littleEndian: g.loadUnaligned(fromByteOffset: q * 4, as: UInt32.self))
                                let y = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: q * 4, as: UInt32.self))
                                q += 1
                                if x == pg && y == pp && run > 0 {
                                    run += 1
                                    // Inside a run: skip 8 pixel pairs at a time while they all match.
                                    let gv = SIMD8<UInt32>(repeating: pg.littleEndian), pv = SIMD8<UInt32>(repeating: pp.littleEndian)
                                    while q + 8 <= n {
                                        let xs = g.loadUnaligned(fromByteOffset: q * 4, as: SIMD8<UInt32>.self)
                                        let ys = p.loadUnaligned(fromByteOffset: q * 4, as: SIMD8<UInt32>.self)
                                        guard all((xs .== gv) .& (ys .== pv)) else { break }
                                        run += 8
                                        q += 8
                                    }
                                    continue
                                }
                                t[a * side + b] += run
                                if x != pg || run == 0 { a = index(x, gi, &gFirst, &gIDs, gtPath) }
                                if y != pp || run == 0 { b = index(y, pi, &pFirst, &pIDs, predPath) }
                                if overflow || failure != nil { break }
                                pg = x; pp = y
                                run = 1
                            }
                            t[a * side + b] += run
                        }
                        for id in gIDs.dropFirst() { gi[id] = 0 }
                        for id in pIDs.dropFirst() { pi[id] = 0 }
                    }
                }
            }
        }
        if let f = failure { throw f }
        if overflow { return nil }
        // Reorder by instance id.
        func sorted(_ ids: [Int], _ first: [UInt32]) -> (Segments, [Int]) {
            let order = (1..<ids.count).sorted { ids[$0] < ids[$1] }
            var s = Segments()
            for k in order {
                s.ids.append(ids[k])
                s.category.append(Int(first[k] & 0xFF))
                s.attributes.append(Int((first[k] >> 8) & 0xFF))
            }
            return (s, [0] + order)
        }
        let (gs, go) = sorted(gIDs, gFirst)
        let (ps, po) = sorted(pIDs, pFirst)
        let G = gs.ids.count, P = ps.ids.count
        var cells: [Cell] = []
        for a in 0...G {
            for b in 0...P {
                let v = table[go[a] * side + po[b]]
                if v > 0 { cells.append((a, b, v)) }
            }
        }
        return (gs, ps, cells)
    }

    /// The general form: ids first, then the histogram (any number of segments).
    static func threePass(_ gt: Bitmask, _ pred: Bitmask, scratch: BitmaskScratch, gtPath: String, predPath: String) throws -> Joint {
        let gs = try segments(gt, index: &scratch.gtIndex, path: gtPath)
        defer { for id in gs.ids { scratch.gtIndex[id] = 0 } }
        let ps = try segments(pred, index: &scratch.predIndex, path: predPath)
        defer { for id in ps.ids { scratch.predIndex[id] = 0 } }
        // Pixel pairs counted per (GT index, prediction index), keyed sparsely: only pairs that
        // meet take memory, however many segments the images hold.
        var hist: [Int: Int] = [:]
        let n = gt.height * gt.width
        gt.rgba.withUnsafeBytes { g in
            pred.rgba.withUnsafeBytes { p in
                scratch.gtIndex.withUnsafeBufferPointer { gi in
                    scratch.predIndex.withUnsafeBufferPointer { pi in
                        // Runs of identical (GT, prediction) pixel pairs are counted at once.
                        var pg: UInt32 = 0, pp: UInt32 = 0
                        var cell = 0, run = 0
                        for q in 0..<n {
                            let a = g.loadUnaligned(fromByteOffset: q * 4, as: UInt32.self)
                            let b = p.loadUnaligned(fromByteOffset: q * 4, as: UInt32.self)
                            if a == pg && b == pp && run > 0 { run += 1; continue }
                            if run > 0 { hist[cell, default: 0] += run }
                            pg = a; pp = b
                            let ga = UInt32(littleEndian: a), pb = UInt32(littleEndian: b)
                            let gid = Int((ga >> 16) & 0xFF) << 8 | Int(ga >> 24)
                            let pid = Int((pb >> 16) & 0xFF) << 8 | Int(pb >> 24)
                            cell = Int(gi[gid]) << 32 | Int(pi[pid])
                            run = 1
                        }
                        if run > 0 { hist[cell, default: 0] += run }
                    }
                }
            }
        }
        return (gs, ps, hist.map { (gt: $0.key >> 32, pred: $0.key & 0xFFFF_FFFF, pixels: $0.value) })
    }
}
