/// Greedy non-maximum suppression, as mmcv's CPU `nms` computes it (`mmcv/ops/csrc/pytorch/cpu/nms.cpp`).
///
/// Boxes are `(x1, y1, x2, y2)` rows of a flat `[n * 4]` array. The boxes are visited in descending score
/// order (a stable order, so equal scores keep their input order); a box is dropped when its IoU with an
/// already kept box is strictly greater than `iouThreshold`. IoU uses mmcv's `offset` (0 for mmdetection
/// 2.x): `area = (x2 - x1 + offset) * (y2 - y1 + offset)`, all in float32 like the C++ code.
public enum NMS {
    /// The indices of the kept boxes, highest score first.
    public static func keep(boxes: [Float], scores: [Float], iouThreshold: Float, offset: Float = 0) -> [Int] {
        let n = scores.count
        precondition(boxes.count == n * 4, "NMS: \(boxes.count) box values for \(n) scores")
        if n == 0 { return [] }
        let order = descendingOrder(scores)
        var areas = [Float](repeating: 0, count: n)
        boxes.withUnsafeBufferPointer { b in
            for i in 0..<n {
                areas[i] = (b[4 * i + 2] - b[4 * i] + offset) * (b[4 * i + 3] - b[4 * i + 1] + offset)
            }
        }
        var selected = [Bool](repeating: true, count: n)
        var kept: [Int] = []
        boxes.withUnsafeBufferPointer { b in
            areas.withUnsafeBufferPointer { area in
                for oi in 0..<n where selected[oi] {
                    let i = order[oi]
                    kept.append(i)
                    let ix1 = b[4 * i], iy1 = b[4 * i + 1], ix2 = b[4 * i + 2], iy2 = b[4 * i + 3]
                    let iarea = area[i]
                    var oj = oi + 1
                    while oj < n {
                        if selected[oj] {
                            let j = order[oj]
                            let xx1 = max(ix1, b[4 * j]), yy1 = max(iy1, b[4 * j + 1])
                            let xx2 = min(ix2, b[4 * j + 2]), yy2 = min(iy2, b[4 * j + 3])
                            let w = max(0, xx2 - xx1 + offset)
                            let h = max(0, yy2 - yy1 + offset)
                            let inter = w * h
                            let ovr = inter / (iarea + area[j] - inter)
                            if ovr > iouThreshold { selected[oj] = false }
                        }
                        oj += 1
                    }
                }
            }
        }
        return kept
    }

    /// mmcv's `batched_nms` (not class-agnostic): boxes of different `groups` (class or level ids) never
    /// suppress each other. Like mmcv, each group is shifted by `group * (max coordinate + 1)` in float32
    /// before one NMS, so the IoUs round exactly as mmdetection's do.
    public static func batchedKeep(boxes: [Float], scores: [Float], groups: [Int], iouThreshold: Float,
                                   offset: Float = 0) -> [Int] {
        precondition(groups.count == scores.count, "NMS: \(groups.count) group ids for \(scores.count) scores")
        guard let maxCoordinate = boxes.max() else { return [] }
        let step = maxCoordinate + 1
        var shifted = boxes
        for (i, g) in groups.enumerated() {
            let shift = Float(g) * step
            for k in 0..<4 { shifted[4 * i + k] = boxes[4 * i + k] + shift }
        }
        return keep(boxes: shifted, scores: scores, iouThreshold: iouThreshold, offset: offset)
    }

    /// Indices sorting `scores` high to low; ties keep their input order (torch's CPU sort is stable).
    public static func descendingOrder(_ scores: [Float]) -> [Int] {
        Array(scores.indices).sorted { a, b in
            scores[a] > scores[b] || (scores[a] == scores[b] && a < b)
        }
    }

    /// The first `k` indices of `descendingOrder(scores)`, without sorting all of them: the k-th largest
    /// value is selected in linear time, then only the indices above it (and the lowest-index ties at it)
    /// are sorted.
    public static func topDescending(_ scores: [Float], _ k: Int) -> [Int] {
        let n = scores.count
        if k >= n || k <= 0 || scores.contains(where: { $0.isNaN }) {
            return Array(descendingOrder(scores).prefix(max(k, 0)))
        }
        // The k-th largest value (quickselect on a copy, descending).
        var v = scores
        var lo = 0, hi = n - 1
        let target = k - 1
        var rng = SystemRandomNumberGenerator()
        while lo < hi {
            let pivot = v[Int.random(in: lo...hi, using: &rng)]
            var i = lo, j = hi
            while i <= j {
                while v[i] > pivot { i += 1 }
                while v[j] < pivot { j -= 1 }
                if i <= j { v.swapAt(i, j); i += 1; j -= 1 }
            }
            if target <= j { hi = j } else if target >= i { lo = i } else { break }
        }
        let threshold = v[target]
        var picked: [Int] = []
        picked.reserveCapacity(k)
        var ties = 0
        let above = scores.reduce(0) { $0 + ($1 > threshold ? 1 : 0) }
        for i in 0..<n {
            if scores[i] > threshold {
                picked.append(i)
            } else if scores[i] == threshold && ties < k - above {
                picked.append(i)
                ties += 1
            }
        }
        return picked.sorted { a, b in scores[a] > scores[b] || (scores[a] == scores[b] && a < b) }
    }
}

/// `NMS.keep` as a free function (the RPN's proposal step calls it this way).
public func nms(boxes: [Float], scores: [Float], iouThreshold: Float) -> [Int] {
    NMS.keep(boxes: boxes, scores: scores, iouThreshold: iouThreshold)
}

/// `NMS.descendingOrder`: indices sorting `values` high to low, ties in index order.
public func sortedDescending(_ values: [Float]) -> [Int] {
    NMS.descendingOrder(values)
}

/// `NMS.topDescending`: the first `k` indices of `sortedDescending(values)`.
public func topDescending(_ values: [Float], _ k: Int) -> [Int] {
    NMS.topDescending(values, k)
}
