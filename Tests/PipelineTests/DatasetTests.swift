import Foundation
import XCTest
import Pipeline

final class DatasetTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testLayoutPathsAndSortedImageNames() throws {
        let layout = DatasetLayout(root: dir.path, split: "val")
        XCTAssertEqual(layout.imagesDirectory, dir.path + "/images/10k/val")
        XCTAssertEqual(layout.bitmaskDirectory, dir.path + "/labels/pan_seg/bitmasks/val")
        XCTAssertEqual(layout.bitmaskPath(forImage: "abc-1.jpg"), dir.path + "/labels/pan_seg/bitmasks/val/abc-1.png")
        try FileManager.default.createDirectory(atPath: layout.imagesDirectory, withIntermediateDirectories: true)
        for n in ["c.jpg", "a.jpg", "b.png", "notes.txt"] {
            _ = FileManager.default.createFile(atPath: layout.imagesDirectory + "/" + n, contents: Data([1]))
        }
        XCTAssertEqual(try layout.imageNames(), ["a.jpg", "b.png", "c.jpg"])
    }

    func testMissingRootMissingFolderAndEmptyFolderSayWhatToDo() throws {
        let missing = DatasetLayout(root: dir.path + "/nope", split: "val")
        XCTAssertThrowsError(try missing.imageNames()) { e in
            XCTAssertTrue("\(e)".contains("does not exist"), "\(e)")
            XCTAssertTrue("\(e)".contains("--data-root"), "\(e)")
        }
        let layout = DatasetLayout(root: dir.path, split: "val")
        XCTAssertThrowsError(try layout.imageNames()) { e in XCTAssertTrue("\(e)".contains("images/10k/val"), "\(e)") }
        try FileManager.default.createDirectory(atPath: layout.imagesDirectory, withIntermediateDirectories: true)
        XCTAssertThrowsError(try layout.imageNames()) { e in XCTAssertTrue("\(e)".contains("holds no .jpg"), "\(e)") }
    }

    func testSelectionGlobThenShardThenLimit() throws {
        let names = (0..<10).map { String(format: "img-%02d.jpg", $0) }.reversed() + ["other.jpg"]
        XCTAssertEqual(ImageSelection().apply(to: Array(names)).count, 11)
        XCTAssertFalse(ImageSelection().isPartial)
        let glob = ImageSelection(glob: "img-0[2-5]*")
        XCTAssertEqual(glob.apply(to: Array(names)), ["img-02.jpg", "img-03.jpg", "img-04.jpg", "img-05.jpg"])
        XCTAssertTrue(glob.isPartial)
        let shard = ImageSelection(glob: "img-*", shard: try Shard(parsing: "1/3"))
        XCTAssertEqual(shard.apply(to: Array(names)), ["img-01.jpg", "img-04.jpg", "img-07.jpg"])
        let limited = ImageSelection(glob: "img-*", shard: try Shard(parsing: "1/3"), limit: 2)
        XCTAssertEqual(limited.apply(to: Array(names)), ["img-01.jpg", "img-04.jpg"])
        XCTAssertTrue(ImageSelection(limit: 100).isPartial)
        // The shards of a selection partition it.
        let all = (0..<3).flatMap { i in ImageSelection(shard: try! Shard(index: i, count: 3)).apply(to: Array(names)) }
        XCTAssertEqual(all.sorted(), Array(names).sorted())
    }

    func testSyntheticDatasetWritesImagesAndMatchingGroundTruth() throws {
        let names = try SyntheticDataset.write(root: dir.path, count: 2, width: 64, height: 40, seed: 7)
        XCTAssertEqual(names, ["synthetic-0000.jpg", "synthetic-0001.jpg"])
        let layout = DatasetLayout(root: dir.path, split: "val")
        XCTAssertEqual(try layout.imageNames(), names)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: layout.imagesDirectory + "/synthetic-0000.jpg"))
        XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF])
        let truth = GroundTruth.bitmasks(directory: layout.bitmaskDirectory)
        XCTAssertEqual(try truth.missing(for: names + ["x.jpg"]), ["x.jpg"])
        XCTAssertEqual(try truth.extra(beyond: names), 0)
        XCTAssertEqual(try truth.extra(beyond: [names[1]]), 1)
    }
}
