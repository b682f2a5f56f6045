/// Greedy non-maximum suppression as mmcv's CPU `nms` (offset 0): boxes in score order (descending,
/// ties by index), a box is dropped when its IoU with a kept, higher-scored box is strictly above
/// `iouThreshold`. Returns the kept indices in score order.
///
/// `boxes` holds `x1, y1, x2, y2` per box (`4 * scores.count` values).
public func nms(boxes: [Float], scores: [Float], iouThreshold: Float) -> [Int] {
    let n = scores.count
    precondition(boxes.count == 4 * n, "nms: \(boxes.count) box values for \(n) scores")
    let order = sortedDescending(scores)
    var areas = [Float](repeating: 0, count: n)
    for i in 0..<n { areas[i] = (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]) }
    var suppressed = [Bool](repeating: false, count: n)
    var keep: [Int] = []
    boxes.withUnsafeBufferPointer { b in
        for a in 0..<n where !suppressed[a] {
            let i = order[a]
            keep.append(i)
            let ix1 = b[4 * i], iy1 = b[4 * i + 1], ix2 = b[4 * i + 2], iy2 = b[4 * i + 3], ia = areas[i]
            for c in (a + 1)..<max(n, a + 1) where !suppressed[c] {
                let j = order[c]
                let w = max(0, min(ix2, b[4 * j + 2]) - max(ix1, b[4 * j]))
                let h = max(0, min(iy2, b[4 * j + 3]) - max(iy1, b[4 * j + 1]))
                let inter = w * h
                if inter / (ia + areas[j] - inter) > iouThreshold { suppressed[c] = true }
            }
        }
    }
    return keep
}

/// Indices that sort `values` descending; equal values keep their index order.
public func sortedDescending(_ values: [Float]) -> [Int] {
    Array(0..<values.count).sorted { a, b in values[a] > values[b] || (values[a] == values[b] && a < b) }
}
