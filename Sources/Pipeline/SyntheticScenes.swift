/// Simple street-like scenes with exact panoptic ground truth, for the offline demo and tests:
/// sky, buildings, vegetation, a road with sidewalks, cars on the road and people on the sidewalks.
///
/// Category ids are BDD100K's (1-30 stuff, 31-40 things). Instance ids follow the ground-truth
/// convention of `panseg_to_bitmasks`: stuff uses its category id, things 31, 32, ... in paint order.
public struct SyntheticScene: Sendable {
    public let width: Int
    public let height: Int
    /// Interleaved RGB, row-major.
    public var rgb: [UInt8]
    /// Per pixel: the BDD100K category id (0 = unlabeled).
    public var category: [UInt8]
    /// Per pixel: the instance id (0 = none).
    public var instance: [UInt16]

    public enum Category {
        public static let road: UInt8 = 7, sidewalk: UInt8 = 8, building: UInt8 = 10, vegetation: UInt8 = 29
        public static let sky: UInt8 = 30, person: UInt8 = 31, car: UInt8 = 35
    }

    /// A deterministic scene for a seed.
    public static func make(width: Int, height: Int, seed: UInt64) -> SyntheticScene {
        var rng = SplitMix(seed: seed)
        var s = SyntheticScene(width: width, height: height,
                               rgb: [UInt8](repeating: 0, count: width * height * 3),
                               category: [UInt8](repeating: 0, count: width * height),
                               instance: [UInt16](repeating: 0, count: width * height))
        let horizon = Int(Double(height) * (0.38 + 0.1 * rng.unit()))
        // Sky, then buildings and trees standing on the horizon, then the ground.
        s.fill(x0: 0, y0: 0, x1: width, y1: horizon, category: Category.sky, instance: UInt16(Category.sky),
               color: (70, 130, 180), rng: &rng)
        var x = 0
        while x < width {
            let w = Int(Double(width) * (0.08 + 0.12 * rng.unit()))
            let top = Int(Double(horizon) * (0.15 + 0.6 * rng.unit()))
            let isTree = rng.unit() < 0.3
            let cat = isTree ? Category.vegetation : Category.building
            let base: (UInt8, UInt8, UInt8) = isTree ? (107, 142, 35) : (70 + UInt8(rng.below(60)), 70, 70 + UInt8(rng.below(40)))
            s.fill(x0: x, y0: top, x1: min(width, x + w), y1: horizon, category: cat, instance: UInt16(cat),
                   color: base, rng: &rng)
            x += w
        }
        // Road as a trapezoid widening towards the viewer, sidewalks beside it.
        for y in horizon..<height {
            let t = Double(y - horizon) / Double(max(1, height - horizon))
            let half = Double(width) * (0.06 + 0.5 * t)
            let walk = Double(width) * (0.02 + 0.25 * t)
            let cx = Double(width) / 2
            for x in 0..<width {
                let d = abs(Double(x) - cx)
                let (cat, color): (UInt8, (UInt8, UInt8, UInt8)) =
                    d <= half ? (Category.road, (128, 64, 128)) :
                    d <= half + walk ? (Category.sidewalk, (244, 35, 232)) : (Category.vegetation, (107, 142, 35))
                s.set(x, y, category: cat, instance: UInt16(cat), color: color, rng: &rng)
            }
        }
        // Things, painted far to near so nearer ones cover farther ones.
        var nextInstance: UInt16 = 31
        let cars = 1 + rng.below(3)
        for k in 0..<cars {
            let t = 0.3 + 0.6 * (Double(k) + rng.unit()) / Double(cars)
            let y1 = horizon + Int(t * Double(height - horizon))
            let h = Int(Double(height) * (0.05 + 0.18 * t))
            let w = Int(Double(h) * (1.4 + 0.6 * rng.unit()))
            let cx = Int(Double(width) * (0.3 + 0.4 * rng.unit()))
            s.fill(x0: max(0, cx - w / 2), y0: max(0, y1 - h), x1: min(width, cx + w / 2), y1: min(height, y1),
                   category: Category.car, instance: nextInstance,
                   color: (UInt8(rng.below(60)), UInt8(rng.below(60)), 100 + UInt8(rng.below(100))), rng: &rng)
            nextInstance += 1
        }
        let people = rng.below(3)
        for _ in 0..<people {
            let y1 = horizon + Int((0.4 + 0.5 * rng.unit()) * Double(height - horizon))
            let h = Int(Double(height) * 0.12)
            let w = max(2, h / 3)
            let left = rng.unit() < 0.5
            let cx = left ? Int(Double(width) * 0.08) : Int(Double(width) * 0.92)
            s.fill(x0: max(0, cx - w / 2), y0: max(0, y1 - h), x1: min(width, cx + w / 2), y1: min(height, y1),
                   category: Category.person, instance: nextInstance, color: (220, 20, 60), rng: &rng)
            nextInstance += 1
        }
        return s
    }

    mutating func set(_ x: Int, _ y: Int, category c: UInt8, instance i: UInt16, color: (UInt8, UInt8, UInt8),
                      rng: inout SplitMix) {
        let p = y * width + x
        category[p] = c
        instance[p] = i
        let n = Int(rng.below(17)) - 8  // a little texture, as a camera would give
        rgb[3 * p] = UInt8(clamping: Int(color.0) + n)
        rgb[3 * p + 1] = UInt8(clamping: Int(color.1) + n)
        rgb[3 * p + 2] = UInt8(clamping: Int(color.2) + n)
    }

    mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, category c: UInt8, instance i: UInt16,
                       color: (UInt8, UInt8, UInt8), rng: inout SplitMix) {
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 { for x in x0..<x1 { set(x, y, category: c, instance: i, color: color, rng: &rng) } }
    }

    /// The ground truth as a BDD100K bitmask (RGBA: R category, G attributes, B and A instance id).
    public var bitmaskRGBA: [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * 4)
        for p in 0..<(width * height) {
            out[4 * p] = category[p]
            out[4 * p + 2] = UInt8(instance[p] >> 8)
            out[4 * p + 3] = UInt8(instance[p] & 0xFF)
        }
        return out
    }
}

/// A small counter-based generator (SplitMix64): the same scenes on every platform.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}
