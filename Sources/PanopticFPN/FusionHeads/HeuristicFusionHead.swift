import ZooRegistry

/// mmdetection's `HeuristicFusionHead`: things from the instance masks, stuff from the semantic argmax.
///
/// Panoptic values: stuff pixels `num_things + stuff channel` (10..39), the merged thing channel and small
/// stuff regions `num_things + num_stuff` (40, VOID), thing pixels `label + instance_offset * instance id`.
public struct HeuristicFusionHead: Sendable {
    public var numThings: Int
    public var numStuff: Int
    public var config: TestConfig.Panoptic

    public init(numThings: Int, numStuff: Int, config: TestConfig.Panoptic) {
        self.numThings = numThings; self.numStuff = numStuff; self.config = config
    }

    /// VOID: `num_things + num_stuff`.
    public var void: Int32 { Int32(numThings + numStuff) }
    /// Things are `label + instanceOffset * instance id` (`panoptic.instance_offset`).
    public var instanceOffset: Int32 { Int32(config.instanceOffset) }

    /// `_lay_masks`: masks by descending score (stable); a mask is skipped when empty or when
    /// `overlap / (area + 1e-5) > mask_overlap` (float32) with the pixels already laid; otherwise it takes its
    /// free pixels. Returns the id map (0 = none, 1... in laying order) and the labels of the laid masks.
    public func layMasks(detections: [Detection], masks: [InstanceMask], height: Int,
                         width: Int) -> (idMap: [Int32], labels: [Int]) {
        var idMap = [Int32](repeating: 0, count: height * width)
        let order = Array(detections.indices).sorted { a, b in
            detections[a].score > detections[b].score || (detections[a].score == detections[b].score && a < b)
        }
        var labels: [Int] = []
        let thr = Float(config.maskOverlap)
        for idx in order {
            let m = masks[idx]
            var area = 0, intersect = 0
            for y in 0..<m.height {
                let row = (m.y0 + y) * width + m.x0
                for x in 0..<m.width where m.bits[y * m.width + x] != 0 {
                    area += 1
                    if idMap[row + x] > 0 { intersect += 1 }
                }
            }
            if area == 0 { continue }
            if Float(intersect) / (Float(area) + Float(1e-5)) > thr { continue }
            let id = Int32(labels.count + 1)
            for y in 0..<m.height {
                let row = (m.y0 + y) * width + m.x0
                for x in 0..<m.width where m.bits[y * m.width + x] != 0 && idMap[row + x] == 0 {
                    idMap[row + x] = id
                }
            }
            labels.append(detections[idx].label)
        }
        return (idMap, labels)
    }

    /// `simple_test`: the panoptic map `[height * width]` from the laid masks and the semantic argmax
    /// (`semantic[i]` in 0 ..< num_stuff + 1, the last channel being all things).
    public func fuse(idMap: [Int32], labels: [Int], semantic: [UInt8]) -> [Int32] {
        precondition(idMap.count == semantic.count, "fusion: id map and semantic map differ in size")
        let offset = instanceOffset
        var pan = semantic.map { Int32($0) + Int32(numThings) }
        // Instance ids are the laying order; every laid mask kept at least one pixel.
        for i in pan.indices where idMap[i] > 0 {
            let k = Int(idMap[i])
            pan[i] = Int32(labels[k - 1]) + Int32(k) * offset
        }
        // Stuff classes (and the thing channel) with fewer than stuff_area_limit pixels become VOID.
        var counts = [Int](repeating: 0, count: numThings + numStuff + 1)
        for v in pan {
            let sem = Int(v % offset)
            if sem >= numThings && sem < counts.count { counts[sem] += 1 }
        }
        let voidValue = void
        var small = [Bool](repeating: false, count: counts.count)
        for c in numThings..<counts.count where counts[c] > 0 && counts[c] < config.stuffAreaLimit { small[c] = true }
        for i in pan.indices {
            let v = pan[i]
            if v >= 0, Int(v) < small.count, small[Int(v)] { pan[i] = voidValue }
        }
        return pan
    }
}
