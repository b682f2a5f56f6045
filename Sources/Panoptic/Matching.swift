/// The segments of one image after parsing, and their pairwise intersections: the input of the
/// matching step both routes share.
struct ImageOverlaps {
    var gtCategory: [Int]
    var gtArea: [Int]
    /// False for crowd / ignored GT (bitmask route; the RLE route drops them before).
    var gtValid: [Bool]
    var predCategory: [Int]
    var predArea: [Int]
    var predValid: [Bool]
    /// `inter[g * predCount + p]` = pixels of GT g inside prediction p.
    var inter: [Int]

    var gtCount: Int { gtCategory.count }
    var predCount: Int { predCategory.count }

    /// The official per-image step (`pq_per_image`): each valid GT takes the first prediction of
    /// highest IoU (zero across categories); IoU strictly above 0.5 and a valid prediction make a
    /// TP, anything else a FN. A valid, unmatched prediction is a FP when at most half of it lies
    /// outside valid GT (`1 - Σ_valid g inter/|p| <= 0.5`).
    func match(into stats: inout PQStats) {
        let P = predCount
        guard P > 0 else {
            for g in 0..<gtCount where gtValid[g] { stats.categories[gtCategory[g]].fn += 1 }
            return
        }
        var matched = [Bool](repeating: false, count: P)
        for g in 0..<gtCount where gtValid[g] {
            var best = 0.0
            var bestJ = 0
            let row = g * P
            for j in 0..<P {
                let i = inter[row + j]
                var iou = 0.0
                if i > 0 && gtCategory[g] == predCategory[j] {
                    iou = Double(i) / Double(gtArea[g] + predArea[j] - i)
                }
                if j == 0 { best = iou } else if iou > best { best = iou; bestJ = j }
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
        for j in 0..<P where predValid[j] && !matched[j] {
            var covered = 0.0
            var first = true
            for g in 0..<gtCount where gtValid[g] {
                let iof = predArea[j] > 0 ? Double(inter[g * P + j]) / Double(predArea[j]) : 0
                if first { covered = iof; first = false } else { covered += iof }
            }
            if 1 - covered > 0.5 { continue }
            stats.categories[predCategory[j]].fp += 1
        }
    }
}
