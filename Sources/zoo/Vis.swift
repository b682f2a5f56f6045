import ArgumentParser
import Foundation
import Imaging
import ZooFiles
import Panoptic
import Pipeline

struct Vis: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw each frame's segments over its image in the BDD100K palette.",
        discussion: """
        RESULT is a Scalabel JSON with RLE labels (pan_seg.json from `zoo run` or `zoo reproduce`, the \
        zoo's published predictions, or ground truth). For each frame, the image of the same name in \
        --images is tinted with each segment's category colour, things get white outlines, and a legend \
        lists the categories present; OUT/<stem>.jpg is written.
        """)

    @Argument(help: ArgumentHelp("A pan_seg.json (Scalabel frames with RLE labels).", valueName: "RESULT"))
    var result: String

    @Option(name: .long, help: ArgumentHelp("The folder of the images the frames are named after.", valueName: "DIR"))
    var images: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output folder for the overlays.", valueName: "OUT"))
    var output: String

    @Option(name: .long, help: ArgumentHelp("Only the first N frames.", valueName: "N"))
    var limit: Int?

    @Flag(name: [.short, .long], help: "No progress lines.")
    var quiet = false

    @OptionGroup var limits: ImageLimitOptions

    func run() throws {
        try guarded {
            let started = Date()
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: images, isDirectory: &isDir), isDir.boolValue else {
                throw CLIError(message: "\(images): no such image folder")
            }
            let written = try Vis.draw(result: result, imagePath: { "\(images)/\($0)" }, directory: output, limit: limit,
                                       quiet: quiet, options: try limits.decodeOptions())
            print(String(format: "wrote %d overlay(s) to %@ in %.2f s", written, output, Date().timeIntervalSince(started)))
        }
    }

    /// Draws the overlay of each frame of `result`; returns how many were written.
    @discardableResult
    static func draw(result: String, imagePath: (String) -> String, directory: String, limit: Int?, quiet: Bool,
                     options: DecodeOptions = DecodeOptions()) throws -> Int {
        let source: ScalabelSource
        do { source = try ScalabelSource(path: result, maxPixels: options.maxPixels) } catch { throw CLIError(error) }
        let count = min(source.frames.count, limit ?? Int.max)
        // Names come from the file (a mirror's preds, anyone's results): each must stay a plain file
        // name inside the image and output folders. All are checked before anything is written.
        for ref in source.frames.prefix(count) {
            do { try FileName.checked(ref.name) } catch { throw CLIError(message: "\(result): \(error)") }
        }
        var written = 0
        var missing: [String] = []
        for i in 0..<count {
            let frame: ScalabelFrame
            do { frame = try source.frame(at: i) } catch { throw CLIError(error) }
            let record = FrameRecord(name: frame.name, labels: (frame.labels ?? []).compactMap { l in
                l.rle.map { SegmentRecord(id: l.id ?? "", category: l.category ?? "", counts: $0.counts, size: [$0.height, $0.width]) }
            })
            let path = imagePath(frame.name)
            guard FileManager.default.fileExists(atPath: path) else { missing.append(frame.name); continue }
            do {
                let out = try FrameOverlay.write(frame: record, imagePath: path, directory: directory, options: options)
                written += 1
                if !quiet { Console.note("[\(i + 1)/\(count)] \(out)") }
            } catch { throw CLIError(error) }
        }
        if !missing.isEmpty {
            throw CLIError(message: "\(missing.count) frame(s) have no image (first: \(missing[0]) in \((imagePath(missing[0]) as NSString).deletingLastPathComponent)); \(written) overlay(s) written to \(directory)")
        }
        return written
    }
}
