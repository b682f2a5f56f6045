import Foundation
import XCTest
@testable import Panoptic

final class ScalabelTests: XCTestCase {
    /// The panoptic map a Scalabel prediction file describes: each label's id painted, VOID (40) elsewhere.
    func panopticMap(_ frame: ScalabelFrame) throws -> (map: [Int32], h: Int, w: Int) {
        let labels = try XCTUnwrap(frame.labels)
        let first = try XCTUnwrap(labels.first?.rle)
        var map = [Int32](repeating: 40, count: first.height * first.width)
        var overlaps = 0
        defer { XCTAssertEqual(overlaps, 0, "labels overlap") }
        for l in labels {
            let rle = try XCTUnwrap(l.rle)
            let v = try XCTUnwrap(Int32(try XCTUnwrap(l.id)))
            var pos = 0
            for (k, n) in try rle.validatedRuns().enumerated() {
                if k % 2 == 1 {
                    for idx in pos..<(pos + Int(n)) {
                        let i = (idx % rle.height) * rle.width + idx / rle.height
                        if map[i] != 40 { overlaps += 1 }
                        map[i] = v
                    }
                }
                pos += Int(n)
            }
        }
        return (map, first.height, first.width)
    }

    /// The offset comes from the caller (the model's test config) and must leave room for every class.
    func testPanopticLabelsUseTheGivenInstanceOffset() throws {
        let classes = ["a", "b", "c"]
        let map: [Int32] = [0, 3, 2 + 10 * 1, 2 + 10 * 2]
        let labels = try ScalabelWriter.panopticLabels(panMap: map, height: 2, width: 2, classes: classes, instanceOffset: 10)
        XCTAssertEqual(labels.map(\.id), ["0", "12", "22"])
        XCTAssertEqual(labels.map(\.category), ["a", "c", "c"])
        let other = try ScalabelWriter.panopticLabels(panMap: [0, 3, 2 + 100], height: 1, width: 3, classes: classes,
                                                      instanceOffset: 100)
        XCTAssertEqual(other.map(\.category), ["a", "c"])
        XCTAssertThrowsError(try ScalabelWriter.panopticLabels(panMap: map, height: 2, width: 2, classes: classes,
                                                               instanceOffset: 3))
    }

    /// mmdetection's reference outputs (bdd100k-models convert_format + scalabel save), rebuilt from
    /// the panoptic maps they describe: same bytes.
    func testWriterReproducesReferenceFilesByteForByte() throws {
        for name in ["r50_seed1_small", "r101_seed3_small", "r50_seed1_full"] {
            let path = Fixtures.path("reference_pan_seg/\(name).json")
            let expected = try Data(contentsOf: URL(fileURLWithPath: path))
            let frames = try ScalabelSource(path: path).allFrames()
            XCTAssertFalse(frames.isEmpty)
            var out: [(name: String, labels: [ScalabelWriter.Label])] = []
            for f in frames {
                let (map, h, w) = try panopticMap(f)
                // The reference files were made with mmdetection's INSTANCE_OFFSET, 1000.
                let labels = try ScalabelWriter.panopticLabels(panMap: map, height: h, width: w, instanceOffset: 1000)
                XCTAssertEqual(labels.count, f.labels?.count)
                out.append((f.name, labels))
            }
            let doc = ScalabelWriter.document(frames: out)
            XCTAssertEqual(Data(doc.utf8), expected, name)

            // The streaming writer writes the same bytes.
            let dir = try Fixtures.tempDirectory(self)
            let dest = dir + "/pan_seg.json"
            let writer = try ScalabelWriter(path: dest)
            for f in out { try writer.append(name: f.name, labels: f.labels) }
            try writer.finish()
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dest)), expected, name)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["pan_seg.json"])
        }
    }

    /// `discard()` after frames were appended leaves nothing: no file at the destination, no temporary file,
    /// and an older file at the destination untouched; `finish()` after it is refused.
    func testDiscardLeavesNoPartialFile() throws {
        let dir = try Fixtures.tempDirectory(self)
        let dest = dir + "/pan_seg.json"
        let writer = try ScalabelWriter(path: dest)
        try writer.append(name: "a.jpg", labels: [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).count, 1, "the temporary file")
        writer.discard()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        XCTAssertThrowsError(try writer.finish())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])

        try Data("old".utf8).write(to: URL(fileURLWithPath: dest))
        let second = try ScalabelWriter(path: dest)
        try second.append(name: "b.jpg", labels: [])
        second.discard()
        XCTAssertEqual(try String(contentsOfFile: dest, encoding: .utf8), "old")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["pan_seg.json"])
    }

    func testEmptyDocumentsAreWhatPythonWrites() {
        XCTAssertEqual(ScalabelWriter.document(frames: []), "{\n  \"frames\": [],\n  \"groups\": null,\n  \"config\": null\n}")
        let one = ScalabelWriter.document(frames: [(name: "a.jpg", labels: [])])
        XCTAssertTrue(one.contains("      \"labels\": []\n    }\n  ],"), one)
    }

    func testPythonStringEscapes() {
        XCTAssertEqual(pythonJSONString("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"")
        XCTAssertEqual(pythonJSONString("é\u{7f}\n\u{01}"), "\"\\u00e9\\u007f\\n\\u0001\"")
        XCTAssertEqual(pythonJSONString("😀"), "\"\\ud83d\\ude00\"")
    }

    func write(_ text: String, _ dir: String, _ name: String) throws -> String {
        let p = dir + "/" + name
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func testReaderAcceptsListDictAndFolder() throws {
        let dir = try Fixtures.tempDirectory(self)
        let list = try write("""
        [{"name": "a\\"\\u00e9.jpg", "labels": [
           {"id": 5, "category": "car", "attributes": {"crowd": 1, "ignored": ""},
            "rle": {"counts": "52", "size": [7, 1]}, "poly2d": null, "box2d": {"x1": 1}},
           {"id": "x", "category": null, "attributes": {"ignored": "yes"}, "poly2d": [{"vertices": [[0, 0]]}]}]},
         {"name": "b.jpg", "labels": null, "videoName": "v"}]
        """, dir, "list.json")
        let frames = try ScalabelSource(path: list).allFrames()
        XCTAssertEqual(frames.map(\.name), ["a\"é.jpg", "b.jpg"])
        XCTAssertEqual(frames[1].videoName, "v")
        XCTAssertNil(frames[1].labels)
        let l = try XCTUnwrap(frames[0].labels)
        XCTAssertEqual(l[0], ScalabelLabel(id: "5", category: "car", crowd: true, ignored: false,
                                          rle: RLE(counts: "52", height: 7, width: 1)))
        XCTAssertEqual(l[1], ScalabelLabel(id: "x", category: nil, crowd: false, ignored: true, rle: nil, hasPoly2d: true))

        let sub = dir + "/folder"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        _ = try write(#"{"frames": [{"name": "2.jpg"}], "groups": null, "config": null}"#, sub, "b.json")
        _ = try write(#"[{"name": "1.jpg", "labels": []}]"#, sub, "a.json")
        _ = try write("not json", sub, "c.txt")
        let folder = try ScalabelSource(path: sub)
        XCTAssertEqual(folder.frames.map(\.name), ["1.jpg", "2.jpg"])
        XCTAssertEqual(try folder.frame(at: 0).labels, [])
    }

    func testReaderErrorsSayWhatIsWrong() throws {
        let dir = try Fixtures.tempDirectory(self)
        let noFrames = try write(#"{"images": []}"#, dir, "a.json")
        XCTAssertThrowsError(try ScalabelSource(path: noFrames)) { e in
            XCTAssertTrue("\(e)".contains("\"frames\""), "\(e)")
        }
        let broken = try write("[\n{\"name\": \"a\",\n \"labels\": [}\n]", dir, "b.json")
        XCTAssertThrowsError(try ScalabelSource(path: broken).allFrames()) { e in
            XCTAssertTrue("\(e)".contains("at line 4"), "\(e)")
        }
        let noName = try write(#"[{"labels": []}]"#, dir, "c.json")
        XCTAssertThrowsError(try ScalabelSource(path: noName))
        XCTAssertThrowsError(try ScalabelSource(path: dir + "/missing.json"))
    }
}
