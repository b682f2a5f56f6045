import Foundation
import Panoptic
import PanopticFPN
import XCTest
import ZooRegistry

/// `pan_seg.json` as `zoo run` writes it (Scalabel frames, COCO RLE, one label per panoptic value) against the
/// reference files bdd100k-models' `convert_format` wrote for the same images.
final class PanSegTests: XCTestCase {
    static func document(_ frames: [(String, PanopticResult)]) throws -> String {
        let classes = try Registry.builtIn().classes
        return try ScalabelWriter.document(frames: frames.map { name, r in
            (name: name, labels: try ScalabelWriter.panopticLabels(panMap: r.panoptic, height: r.height,
                                                                    width: r.width, classes: classes,
                                                                    instanceOffset: r.instanceOffset))
        })
    }

    /// Per frame of the reference: the share of pixels with the same panoptic id, and whether the ids match.
    static func agreement(ours: String, reference: Data) throws -> [(name: String, pixels: Double, sameIDs: Bool)] {
        func frames(_ d: Data) throws -> [String: [[String: Any]]] {
            let root = try JSONSerialization.jsonObject(with: d) as? [String: Any]
            var out: [String: [[String: Any]]] = [:]
            for f in root?["frames"] as? [[String: Any]] ?? [] {
                if let n = f["name"] as? String { out[n] = f["labels"] as? [[String: Any]] ?? [] }
            }
            return out
        }
        func idMap(_ labels: [[String: Any]], _ h: Int, _ w: Int) throws -> [Int] {
            var m = [Int](repeating: -1, count: h * w)
            for (k, l) in labels.enumerated() {
                let rle = l["rle"] as? [String: Any]
                let bits = try RLE(counts: rle?["counts"] as? String ?? "", height: h, width: w).decodeRowMajor()
                for i in bits.indices where bits[i] != 0 { m[i] = k }
            }
            return m
        }
        let mine = try frames(Data(ours.utf8)), ref = try frames(reference)
        return try ref.keys.sorted().map { name in
            let r = ref[name] ?? [], o = mine[name] ?? []
            let size = (r.first?["rle"] as? [String: Any])?["size"] as? [Int] ?? [0, 0]
            let (h, w) = (size[0], size[1])
            let rIDs = r.map { $0["id"] as? String ?? "" }, oIDs = o.map { $0["id"] as? String ?? "" }
            let rm = try idMap(r, h, w).map { $0 < 0 ? "" : rIDs[$0] }
            let om = try idMap(o, h, w).map { $0 < 0 ? "" : oIDs[$0] }
            let same = zip(rm, om).filter { $0 == $1 }.count
            return (name, Double(same) / Double(max(h * w, 1)), Set(rIDs) == Set(oIDs))
        }
    }

    func check(_ doc: String, _ refFile: String, frames: Int) throws {
        let ref = try HeadsFixtures.data(refFile)
        let result = try Self.agreement(ours: doc, reference: ref)
        XCTAssertEqual(result.count, frames)
        for r in result {
            XCTAssertGreaterThanOrEqual(r.pixels, 0.999, "\(r.name): pixel agreement")
            XCTAssertTrue(r.sameIDs, "\(r.name): every segment present")
        }
    }

    /// Our maps differ from mmdetection's only at near-ties (small_192x320: one pixel whose top two semantic
    /// logits are exactly equal in mmdetection), so the bytes are compared on mmdetection's own maps.
    func testWriterGivesTheReferenceBytesFromTheReferenceMaps() throws {
        func frame(_ dir: String, _ h: Int, _ w: Int) throws -> PanopticResult {
            PanopticResult(height: h, width: w, panoptic: try HeadsFixtures.runs("\(dir)/pan_results.runs"),
                           instanceOffset: Int32(try Registry.builtIn().testConfig.panoptic.instanceOffset),
                           detections: [])
        }
        let small = try Self.document([("small_192x320.jpg", try frame("small", 192, 320))])
        XCTAssertEqual(small, String(decoding: try HeadsFixtures.data("small/pan_seg.json"), as: UTF8.self))
        let full = try Self.document([("street_720x1280.jpg", try frame("street_720x1280", 720, 1280)),
                                      ("coffee_375x500.jpg", try frame("coffee_375x500", 375, 500))])
        XCTAssertEqual(full, String(decoding: try HeadsFixtures.data("full_pan_seg.json"), as: UTF8.self))
    }

    func testSmallR50() throws {
        let r = try PanopticFPNTests.result(depth: 50, small: true, image: "small_192x320.jpg")
        let doc = try Self.document([("small_192x320.jpg", r)])
        try check(doc, "small/pan_seg.json", frames: 1)
    }

    func testSmallR101() throws {
        let r = try PanopticFPNTests.result(depth: 101, small: true, image: "small_192x320.jpg")
        let doc = try Self.document([("small_192x320.jpg", r)])
        try check(doc, "r101_small/pan_seg.json", frames: 1)
    }

    func testFullSizeFrames() throws {
        let frames = try ["street_720x1280.jpg", "coffee_375x500.jpg"].map { name in
            (name, try PanopticFPNTests.result(depth: 50, small: false, image: name))
        }
        try check(try Self.document(frames), "full_pan_seg.json", frames: 2)
    }
}
