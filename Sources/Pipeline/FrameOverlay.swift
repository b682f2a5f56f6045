import Foundation
import ZooFiles
import Imaging
import Panoptic

/// A frame's segments drawn over its image (BDD100K palette, white thing outlines, a legend of the
/// categories present), as JPEG bytes: what `zoo vis` and `--vis` write.
public enum FrameOverlay {
    public static func jpeg(image: BGRImage, frame: FrameRecord, quality: Int = 90) throws -> [UInt8] {
        if let s = frame.size, s.height != image.height || s.width != image.width {
            throw PipelineError.dataset("\(frame.name): the result is \(s.width)x\(s.height) but the image is \(image.width)x\(image.height); is it the right image folder?")
        }
        let index = try frame.segmentIndex(height: image.height, width: image.width)
        let segments = frame.labels.map {
            OverlaySegment(category: $0.category, isThing: BDD100K.id(of: $0.category).map(BDD100K.isThing) ?? false)
        }
        return try jpeg(image: image, segmentIndex: index, segments: segments, quality: quality)
    }

    /// Any segmentation over a BGR image: `segmentIndex` gives each pixel's index into `segments` (-1: none).
    public static func jpeg(image: BGRImage, segmentIndex: [Int32], segments: [OverlaySegment], quality: Int = 90) throws -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: image.width * image.height * 3)
        image.pixels.withUnsafeBufferPointer { bgr in
            for i in 0..<(image.width * image.height) {
                rgb[3 * i] = bgr[3 * i + 2]; rgb[3 * i + 1] = bgr[3 * i + 1]; rgb[3 * i + 2] = bgr[3 * i]
            }
        }
        Overlay.draw(rgb: &rgb, width: image.width, height: image.height, segmentIndex: segmentIndex, segments: segments)
        do { return try JPEGEncoder.encode(rgb: rgb, width: image.width, height: image.height, quality: quality) } catch {
            throw PipelineError.io(path: "overlay", reason: "cannot encode the overlay: \(error)")
        }
    }

    /// Draws the overlay of `frame` over the image at `imagePath` and writes `<directory>/<stem>.jpg`.
    @discardableResult
    public static func write(frame: FrameRecord, imagePath: String, directory: String,
                             options: DecodeOptions = DecodeOptions()) throws -> String {
        try FileName.checked(frame.name)
        let image: BGRImage
        do { image = try BGRImage.load(path: imagePath, options: options) } catch {
            throw PipelineError.dataset("\(imagePath): cannot read the image (\(error))")
        }
        let out = "\(directory)/\(FileName.stem(frame.name)).jpg"
        try AtomicFile.write(Data(try jpeg(image: image, frame: frame)), to: out)
        return out
    }
}

/// How close our predictions are to the zoo's published ones (`preds`): per image, the share of pixels
/// with the same category (VOID included) and how many of their segments we match (same category,
/// IoU > 0.5). A check of the runner on real data.
public struct PredictionAgreement: Sendable, Equatable {
    public var name: String
    public var pixels: Int
    public var agreeing: Int
    public var theirSegments: Int
    public var matchedSegments: Int

    public var pixelAgreement: Double { pixels == 0 ? 1 : Double(agreeing) / Double(pixels) }

    public static func compare(ours: FrameRecord, theirs: ScalabelFrame, height: Int, width: Int) throws -> PredictionAgreement {
        let a = try ours.segmentIndex(height: height, width: width)
        let theirLabels = (theirs.labels ?? []).compactMap { l -> SegmentRecord? in
            guard let rle = l.rle else { return nil }
            return SegmentRecord(id: l.id ?? "", category: l.category ?? "", counts: rle.counts, size: [rle.height, rle.width])
        }
        let b = try FrameRecord(name: theirs.name, labels: theirLabels).segmentIndex(height: height, width: width)
        let catA = ours.labels.map(\.category), catB = theirLabels.map(\.category)
        var agree = 0
        var inter = [Int: Int](), areaA = [Int](repeating: 0, count: catA.count), areaB = [Int](repeating: 0, count: catB.count)
        for i in 0..<a.count {
            let x = Int(a[i]), y = Int(b[i])
            let ca = x >= 0 ? catA[x] : "", cb = y >= 0 ? catB[y] : ""
            if ca == cb { agree += 1 }
            if x >= 0 { areaA[x] += 1 }
            if y >= 0 { areaB[y] += 1 }
            if x >= 0, y >= 0, ca == cb { inter[x * catB.count + y, default: 0] += 1 }
        }
        var matched = 0
        for y in 0..<catB.count {
            for x in 0..<catA.count where catA[x] == catB[y] {
                let i = inter[x * catB.count + y] ?? 0
                let union = areaA[x] + areaB[y] - i
                if union > 0, Double(i) / Double(union) > 0.5 { matched += 1; break }
            }
        }
        return PredictionAgreement(name: ours.name, pixels: a.count, agreeing: agree,
                                   theirSegments: catB.count, matchedSegments: matched)
    }
}
