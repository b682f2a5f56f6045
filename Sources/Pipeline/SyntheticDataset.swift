import Foundation
import ZooFiles
import Imaging
import Panoptic

/// A small dataset in the BDD100K layout made of `SyntheticScene`s: JPEG images under
/// `ROOT/images/10k/SPLIT/` and their exact ground truth as bitmask PNGs under
/// `ROOT/labels/pan_seg/bitmasks/SPLIT/`. For the offline demo and tests.
public enum SyntheticDataset {
    /// Writes `count` scenes named `synthetic-0000.jpg`, ... and returns the image names.
    @discardableResult
    public static func write(root: String, split: String = "val", count: Int, width: Int = 1280, height: Int = 720,
                             seed: UInt64 = 1) throws -> [String] {
        let layout = DatasetLayout(root: root, split: split)
        let fm = FileManager.default
        for d in [layout.imagesDirectory, layout.bitmaskDirectory] {
            do { try fm.createDirectory(atPath: d, withIntermediateDirectories: true) } catch {
                throw PipelineError.io(path: d, reason: "cannot create the folder (\(SystemError.describe(error)))")
            }
        }
        var names: [String] = []
        for i in 0..<count {
            let stem = String(format: "synthetic-%04d", i)
            let scene = SyntheticScene.make(width: width, height: height, seed: seed &+ UInt64(i))
            let jpeg: [UInt8]
            do { jpeg = try JPEGEncoder.encode(rgb: scene.rgb, width: width, height: height, quality: 92) } catch {
                throw PipelineError.io(path: stem, reason: "cannot encode the image: \(error)")
            }
            try AtomicFile.write(Data(jpeg), to: "\(layout.imagesDirectory)/\(stem).jpg")
            let gt = Bitmask(height: height, width: width, rgba: scene.bitmaskRGBA)
            do { try gt.write(path: "\(layout.bitmaskDirectory)/\(stem).png") } catch {
                throw PipelineError.io(path: "\(layout.bitmaskDirectory)/\(stem).png", reason: "cannot write the ground truth: \(error)")
            }
            names.append("\(stem).jpg")
        }
        return names
    }
}
