import Foundation
import Panoptic
import PanopticFPN
import Pipeline
import XCTest

/// `zoo run` end to end through the built binary: the synthetic R-50 on mmdetection's small test image (with a
/// registry whose `img_scale` is the reference's (320, 192)), and the errors users meet.
final class RunCLITests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures/reference-heads")

    /// zoo.json with the reference's test scale for the small image.
    func smallScaleRegistry(in dir: URL) throws -> URL {
        let data = try Data(contentsOf: Self.packageRoot.appendingPathComponent("zoo.json"))
        guard var root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              var config = root["test_config"] as? [String: Any] else { throw CocoaError(.fileReadCorruptFile) }
        config["img_scale"] = [320, 192]
        root["test_config"] = config
        let url = dir.appendingPathComponent("zoo-small.json")
        try JSONSerialization.data(withJSONObject: root).write(to: url)
        return url
    }

    func frames(_ url: URL) throws -> [[String: Any]] {
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        return root?["frames"] as? [[String: Any]] ?? []
    }

    /// A good image and a file that is not an image: the header check refuses the run before the weights
    /// load and writes nothing; without it, the good image's frame matches mmdetection's segments, with
    /// bitmasks, overlays and the profile.
    func testRunsSyntheticModelAndRefusesANonImageBeforeLoading() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("images/small_192x320.jpg"),
                                         to: images.appendingPathComponent("a_small.jpg"))
        try Data("not a jpeg".utf8).write(to: images.appendingPathComponent("b_broken.jpg"))
        let out = dir.appendingPathComponent("out")
        let registry = try smallScaleRegistry(in: dir).path
        let bad = try ZooProcess.run(["run", "--registry", registry, "--synthetic", "r50",
                                      images.path, "-o", out.path, "--bitmasks", "--vis", "--profile"])
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("b_broken.jpg is neither a JPEG nor a PNG"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("nothing was run"), bad.stderr)
        XCTAssertFalse(bad.stderr.contains("detections"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("pan_seg.json").path))
        try FileManager.default.removeItem(at: images.appendingPathComponent("b_broken.jpg"))
        let r = try ZooProcess.run(["run", "--registry", registry, "--synthetic", "r50",
                                    images.path, "-o", out.path, "--bitmasks", "--vis", "--profile"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("[1/1] a_small.jpg: 100 detections"), r.stderr)
        XCTAssertTrue(r.stderr.contains("mask_head"), "--profile prints the stages")
        let f = try frames(out.appendingPathComponent("pan_seg.json"))
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?["name"] as? String, "a_small.jpg")
        // The same segments as mmdetection's pan_seg.json for this image (ids as strings).
        let ref = try frames(Self.fixtures.appendingPathComponent("small/pan_seg.json"))
        let ids = { (frame: [String: Any]?) in Set((frame?["labels"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }) }
        XCTAssertEqual(ids(f.first), ids(ref.first))
        let png = try Data(contentsOf: out.appendingPathComponent("bitmasks/a_small.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        let jpeg = try Data(contentsOf: out.appendingPathComponent("vis/a_small.jpg"))
        XCTAssertEqual(Array(jpeg.prefix(2)), [0xFF, 0xD8])
    }

    /// An image whose header passes the check but whose data cannot be decoded stops the run once the
    /// model is loaded: exit 1, the image named, and no pan_seg.json (nor its temporary file) left behind.
    func testAnUndecodableImageLeavesNoPartialResult() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-run-undecodable")
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("images/small_192x320.jpg"),
                                         to: images.appendingPathComponent("a_small.jpg"))
        try ReproduceCLITests.undecodablePNG().write(to: images.appendingPathComponent("b_bad.png"))
        let out = dir.appendingPathComponent("out")
        let registry = try smallScaleRegistry(in: dir).path
        let r = try ZooProcess.run(["run", "--registry", registry, "--synthetic", "r50", images.path, "-o", out.path, "--bitmasks"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("model:"), "the header check passed, so the model loaded: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("b_bad.png: cannot read the image"), r.stderr)
        XCTAssertTrue(r.stderr.contains("no \(out.path)/pan_seg.json was written"), r.stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0 != "bitmasks" }
        XCTAssertEqual(left, [], "no pan_seg.json, no temporary file")
    }

    /// The ways a run can go give the same frames: one image from a .safetensors file (weights copied
    /// out on all cores, Winograd weights transformed into scratch per layer), two images from in-memory
    /// weights (Winograd weights kept for the second image), and the same weights as a .pth.
    func testOneImageFromSafetensorsMatchesTwoImagesFromMemory() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-run-paths")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("r50.safetensors")
        try SyntheticWeights.writeSafeTensors(spec: try ModelSpec.r50, seed: 1, to: file)
        let image = Self.fixtures.appendingPathComponent("images/small_192x320.jpg")
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for name in ["a.jpg", "b.jpg"] { try FileManager.default.copyItem(at: image, to: images.appendingPathComponent(name)) }
        let registry = try smallScaleRegistry(in: dir).path
        let one = try ZooProcess.run(["run", "--registry", registry, "--weights", file.path,
                                      images.appendingPathComponent("a.jpg").path, "-o", dir.appendingPathComponent("one").path])
        XCTAssertEqual(one.status, 0, one.stderr)
        let two = try ZooProcess.run(["run", "--registry", registry, "--synthetic", "r50", images.path,
                                      "-o", dir.appendingPathComponent("two").path])
        XCTAssertEqual(two.status, 0, two.stderr)
        let f1 = try frames(dir.appendingPathComponent("one/pan_seg.json"))
        let f2 = try frames(dir.appendingPathComponent("two/pan_seg.json"))
        XCTAssertEqual(f1.count, 1)
        XCTAssertEqual(f2.count, 2)
        let labels = { (f: [String: Any]) in NSArray(array: f["labels"] as? [Any] ?? []) }
        XCTAssertGreaterThan(labels(f1[0]).count, 10)
        XCTAssertEqual(labels(f1[0]), labels(f2[0]))
        XCTAssertEqual(labels(f2[1]), labels(f2[0]))
        // The same weights as a PyTorch checkpoint, converted in memory: the same frame.
        let pth = dir.appendingPathComponent("r50.pth")
        let convert = try ZooProcess.run(["convert", file.path, "-o", pth.path])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        let fromPth = try ZooProcess.run(["run", "--registry", registry, "--weights", pth.path,
                                          images.appendingPathComponent("a.jpg").path, "-o", dir.appendingPathComponent("pth").path])
        XCTAssertEqual(fromPth.status, 0, fromPth.stderr)
        let f3 = try frames(dir.appendingPathComponent("pth/pan_seg.json"))
        XCTAssertEqual(f3.count, 1)
        XCTAssertEqual(labels(f3[0]), labels(f1[0]))
    }

    /// The panoptic map of a frame (segment index per pixel, -1 for VOID) and its segment ids.
    func panopticMap(_ frame: [String: Any]) throws -> (map: [Int], ids: [String]) {
        let labels = frame["labels"] as? [[String: Any]] ?? []
        let size = (labels.first?["rle"] as? [String: Any])?["size"] as? [Int] ?? [0, 0]
        var map = [Int](repeating: -1, count: size[0] * size[1])
        for (k, l) in labels.enumerated() {
            let rle = l["rle"] as? [String: Any]
            let bits = try RLE(counts: rle?["counts"] as? String ?? "", height: size[0], width: size[1]).decodeRowMajor()
            for i in bits.indices where bits[i] != 0 { map[i] = k }
        }
        return (map, labels.map { $0["id"] as? String ?? "" })
    }

    /// zoo's AVX-512 SGEMM (where the CPU has it) and OpenBLAS's (`ZOO_GEMM=openblas`) sum in different
    /// orders: the same segments, and the same maps up to float32 near-ties.
    func testOpenBLASSGEMMGivesTheSameSegments() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-run-gemm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = try smallScaleRegistry(in: dir).path
        let image = Self.fixtures.appendingPathComponent("images/small_192x320.jpg").path
        var maps: [(map: [Int], ids: [String])] = []
        for (tag, env) in [("default", [String: String]()), ("openblas", ["ZOO_GEMM": "openblas"])] {
            let r = try ZooProcess.run(["run", "--registry", registry, "--synthetic", "r50", image, "--profile",
                                        "-o", dir.appendingPathComponent(tag).path], environment: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            if tag == "openblas" { XCTAssertTrue(r.stderr.contains("sgemm: OpenBLAS"), r.stderr) }
            let f = try frames(dir.appendingPathComponent("\(tag)/pan_seg.json"))
            maps.append(try panopticMap(try XCTUnwrap(f.first)))
        }
        XCTAssertEqual(Set(maps[0].ids), Set(maps[1].ids))
        let a = maps[0].map.map { $0 < 0 ? "" : maps[0].ids[$0] }, b = maps[1].map.map { $0 < 0 ? "" : maps[1].ids[$0] }
        XCTAssertEqual(a.count, 192 * 320)
        XCTAssertGreaterThanOrEqual(Double(zip(a, b).filter { $0 == $1 }.count) / Double(a.count), 0.999)
    }

    /// `taskset -c 0`: --profile says 1 thread, and the bytes equal those of a 2-thread run.
    func testThreadsFollowAffinityAndKeepBytes() throws {
        let taskset = URL(fileURLWithPath: "/usr/bin/taskset")
        guard FileManager.default.isExecutableFile(atPath: taskset.path) else { throw XCTSkip("no taskset") }
        let dir = try ZooProcess.temporaryDirectory("zoo-run-threads")
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = try smallScaleRegistry(in: dir).path
        let image = Self.fixtures.appendingPathComponent("images/small_192x320.jpg").path
        let one = try ZooProcess.run(["-c", "0", ZooProcess.binary.path, "run", "--registry", registry,
                                      "--synthetic", "r50", image, "--profile", "-o", dir.appendingPathComponent("one").path],
                                     executable: taskset)
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stderr.contains("threads: 1 (affinity 1 of"), one.stderr)
        let two = try ZooProcess.run(["run", "--registry", registry, "--synthetic", "r50", image, "--threads", "2",
                                      "-o", dir.appendingPathComponent("two").path])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("one/pan_seg.json")),
                       try Data(contentsOf: dir.appendingPathComponent("two/pan_seg.json")))
    }

    /// Several images at once (`--pipelines 2`, each pipeline on one thread) write the same bytes as one
    /// pipeline on two threads: pan_seg.json (frames in input order), bitmasks and overlays; --profile
    /// reports the pipelines and why.
    func testPipelinesKeepBytesAndOrder() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-run-pipelines")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data").path
        try SyntheticDataset.write(root: data, count: 5, width: 160, height: 96, seed: 5)
        let images = DatasetLayout(root: data, split: "val").imagesDirectory
        let registry = try smallScaleRegistry(in: dir).path
        var outs: [URL] = []
        for k in [1, 2] {
            let out = dir.appendingPathComponent("k\(k)")
            outs.append(out)
            let r = try ZooProcess.run(["run", "--registry", registry, "--synthetic", "r50", images, "--threads", "2",
                                        "--pipelines", String(k), "--profile", "--bitmasks", "--vis", "-o", out.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("pipelines: \(k) x \(2 / k) thread(s) (--pipelines \(k))"), r.stderr)
            XCTAssertTrue(r.stderr.contains("[5/5] synthetic-0004.jpg"), r.stderr)
        }
        let names = try frames(outs[1].appendingPathComponent("pan_seg.json")).compactMap { $0["name"] as? String }
        XCTAssertEqual(names, (0..<5).map { String(format: "synthetic-%04d.jpg", $0) })
        let files = ["pan_seg.json"] + (0..<5).flatMap { [String(format: "bitmasks/synthetic-%04d.png", $0), String(format: "vis/synthetic-%04d.jpg", $0)] }
        for file in files {
            XCTAssertEqual(try Data(contentsOf: outs[0].appendingPathComponent(file)),
                           try Data(contentsOf: outs[1].appendingPathComponent(file)), file)
        }
        // Automatic on one image: one pipeline with every thread.
        let one = try ZooProcess.run(["run", "--registry", registry, "--synthetic", "r50", "\(images)/synthetic-0000.jpg",
                                      "--threads", "2", "--profile", "-o", dir.appendingPathComponent("one").path])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stderr.contains("pipelines: 1 x 2 thread(s)"), one.stderr)
        let bad = try ZooProcess.run(["run", "--synthetic", "r50", images, "--pipelines", "0", "-o", dir.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--pipelines must be at least 1"), bad.stderr)
    }

    func testInputErrorsAreClear() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-run-errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        var r = try ZooProcess.run(["run", "--synthetic", "r50", empty.path, "-o", dir.appendingPathComponent("o").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("no .jpg or .png images in this folder"), r.stderr)
        r = try ZooProcess.run(["run", "--synthetic", "r50", dir.appendingPathComponent("nope.jpg").path, "-o", dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("no such file or folder"), r.stderr)
        r = try ZooProcess.run(["run", dir.appendingPathComponent("nope.jpg").path, "-o", dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("no model: give a zoo id"), r.stderr)
        r = try ZooProcess.run(["run", "--synthetic", "r77", empty.path, "-o", dir.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--synthetic takes r50 or r101"), r.stderr)
        // A zoo id that is not cached is fetched first; offline (no network in tests) that is a clear error.
        r = try ZooProcess.run(["run", "--offline", "r50_1x",
                                Self.fixtures.appendingPathComponent("images/small_192x320.jpg").path, "-o", dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("offline mode and") && r.stderr.contains("zoo fetch r50_1x"), r.stderr)
    }

    /// Weights of another architecture: every missing key is listed.
    func testWeightsOfAnotherModelAreRefused() throws {
        let dir = try ZooProcess.temporaryDirectory("zoo-run-weights")
        defer { try? FileManager.default.removeItem(at: dir) }
        var header = Array(#"{"classifier.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        bytes += [UInt8](repeating: 0, count: 8)
        let file = dir.appendingPathComponent("classifier.safetensors")
        try Data(bytes).write(to: file)
        let r = try ZooProcess.run(["run", "--weights", file.path,
                                    Self.fixtures.appendingPathComponent("images/small_192x320.jpg").path, "-o", dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("cannot tell the ResNet depth from the weights"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("pan_seg.json").path))
    }
}
