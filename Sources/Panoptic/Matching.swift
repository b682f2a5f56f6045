/// The segments of one image after parsing, and their intersections: the input of the matching
/// step both routes share. Intersections are kept sparsely (only pairs that share pixels), so
/// memory grows with pixels and segments, not with their product.
struct ImageOverlaps {
    var gtCategory: [Int]
    var gtArea: [Int]
    /// False for crowd / ignored GT (bitmask route; the RLE route drops them before).
    var gtValid: [Bool]
    var predCategory: [Int]
    var predArea: [Int]
    var predValid: [Bool]
    /// `inter[g]`: the predictions sharing pixels with GT g, ascending, with the pixel count.
    var inter: [[(pred: Int, pixels: Int)]]

    var gtCount: Int { gtCategory.count }
    var predCount: Int { predCategory.count }

    /// From non-zero cells `(gt, pred, pixels)` (any order, each pair at most once).
    static func rows(gtCount: Int, cells: [(gt: Int, pred: Int, pixels: Int)]) -> [[(pred: Int, pixels: Int)]] {
        var rows = [[(pred: Int, pixels: Int)]](repeating: [], count: gtCount)
        for c in cells where c.pixels > 0 { rows[c.gt].append((c.pred, c.pixels)) }
        for g in 0..<gtCount where rows[g].count > 1 { rows[g].sort { $0.pred < $1.pred } }
        return rows
    }

    /// The official per-image step (`pq_per_image`): each valid GT takes the first prediction of
    /// highest IoU (zero across categories); IoU strictly above 0.5 and a valid prediction make a
    /// TP, anything else a FN. A valid, unmatched prediction is a FP when at most half of it lies
    /// outside valid GT (`1 - Σ_valid g inter/|p| <= 0.5`). Pairs sharing no pixel have IoU 0, so
    /// only the stored pairs are visited, in the official order (ascending prediction, then GT).
    func match(into stats: inout PQStats) {
        let P = predCount
        guard P > 0 else {
            for g in 0..<gtCount where gtValid[g] { stats.categories[gtCategory[g]].fn += 1 }
            return
        }
        var matched = [Bool](repeating: false, count: P)
        for g in 0..<gtCount where gtValid[g] {
            // The official argmax over all predictions: index 0 when every IoU is 0.
            var best = 0.0
            var bestJ = 0
            for (j, i) in inter[g] where gtCategory[g] == predCategory[j] {
                let iou = Double(i) / Double(gtArea[g] + predArea[j] - i)
                if iou > best { best = iou; bestJ = j }
            }
            let c = gtCategory[g]
            if best <= 0.5 || !predValid[bestJ] {
                stats.categories[c].fn += 1
            } else {
                stats.categories[c].tp += 1
                stats.categories[c].iou += best
                matched[bestJ] = true
            }
        }
        // Σ over valid GT of inter/|p|, summed in ascending GT order as the official loop does
        // (the zero terms it adds change nothing).
        var covered = [Double](repeating: 0, count: P)
        for g in 0..<gtCount where gtValid[g] {
            for (j, i) in inter[g] where predArea[j] > 0 { covered[j] += Double(i) / Double(predArea[j]) }
        }
        for j in 0..<P where predValid[j] && !matched[j] {
            if 1 - covered[j] > 0.5 { continue }
            stats.categories[predCategory[j]].fp += 1
        }
    }
}
