import Foundation
import Panoptic

extension SegmentRecord {
    /// The journal form of one `pan_seg.json` label.
    public init(_ label: ScalabelWriter.Label) {
        self.init(id: label.id, category: label.category, counts: label.rle.counts, size: [label.rle.height, label.rle.width])
    }

    /// The label as `ScalabelWriter` writes it.
    public var label: ScalabelWriter.Label {
        ScalabelWriter.Label(id: id, category: category,
                             rle: RLE(counts: counts, height: size.first ?? 0, width: size.count > 1 ? size[1] : 0))
    }
}

extension FrameRecord {
    /// The frame as the RLE route of the evaluator reads it.
    public var scalabelFrame: ScalabelFrame { ScalabelFrame(name: name, panopticLabels: labels.map(\.label)) }

    /// The frame's size, from its labels (nil for a frame without segments).
    public var size: (height: Int, width: Int)? {
        guard let s = labels.first?.size, s.count == 2 else { return nil }
        return (s[0], s[1])
    }

    /// Per pixel (row-major), the index of the label covering it, or -1.
    public func segmentIndex(height: Int, width: Int) throws -> [Int32] {
        var index = [Int32](repeating: -1, count: height * width)
        for (k, l) in labels.enumerated() {
            guard l.size == [height, width] else {
                throw PipelineError.dataset("frame \(name): segment \(l.id) is \(l.size) but the image is [\(height), \(width)]")
            }
            let mask: [UInt8]
            do { mask = try l.label.rle.decodeRowMajor() } catch {
                throw PipelineError.dataset("frame \(name): segment \(l.id) has a damaged RLE (\(error))")
            }
            for i in 0..<mask.count where mask[i] != 0 { index[i] = Int32(k) }
        }
        return index
    }

    /// The prediction as a BDD100K bitmask, as `zoo run --bitmasks` writes it: R = category id, B/A =
    /// instance id (stuff its category id, things 31, 32, ... in label order, i.e. ascending panoptic value).
    public func bitmask(height: Int, width: Int) throws -> Bitmask {
        var b = Bitmask(height: height, width: width)
        let index = try segmentIndex(height: height, width: width)
        var ids: [(category: UInt8, instance: Int)] = []
        var nextThing = 31
        for l in labels {
            guard let c = BDD100K.id(of: l.category) else { ids.append((0, 0)); continue }
            if BDD100K.isThing(c) { ids.append((UInt8(c), nextThing)); nextThing += 1 } else { ids.append((UInt8(c), c)) }
        }
        b.rgba.withUnsafeMutableBufferPointer { px in
            for (i, k) in index.enumerated() where k >= 0 {
                let s = ids[Int(k)]
                guard s.instance > 0 else { continue }
                px[4 * i] = s.category
                px[4 * i + 2] = UInt8(truncatingIfNeeded: s.instance >> 8)
                px[4 * i + 3] = UInt8(truncatingIfNeeded: s.instance)
            }
        }
        return b
    }
}

/// Writes the final `pan_seg.json` from journalled frames, byte-identical to what `zoo run` writes for
/// the same images: frames sorted by name, through a temporary sibling renamed into place.
public enum PanSegFile {
    public static func write(_ frames: [FrameRecord], to path: String) throws {
        let writer = try ScalabelWriter(path: path)
        for f in frames.sorted(by: { $0.name < $1.name }) {
            try writer.append(name: f.name, labels: f.labels.map(\.label))
        }
        try writer.finish()
    }
}
