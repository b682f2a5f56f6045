import Foundation
import XCTest
import ZooRegistry

final class RegistryTests: XCTestCase {
    func testBuiltInRegistryHasTheFiveCheckpointsWithPublishedScores() throws {
        let r = try Registry.builtIn()
        XCTAssertEqual(r.models.map(\.id), ["r50_1x", "r50_3x", "r50_5x", "r101_3x", "r101_5x"])
        let published: [String: (Double, Double)] = [
            "r50_1x": (21.52, 20.59), "r50_3x": (22.39, 21.76), "r50_5x": (23.38, 22.04),
            "r101_3x": (22.61, 22.34), "r101_5x": (23.90, 22.50),
        ]
        for m in r.models {
            XCTAssertEqual(m.pqVal, published[m.id]?.0, m.id)
            XCTAssertEqual(m.pqTest, published[m.id]?.1, m.id)
            XCTAssertEqual(m.depth, m.id.hasPrefix("r101") ? 101 : 50)
            XCTAssertEqual(m.msTrain, m.schedule != "1x")
            XCTAssertEqual(Set(m.artifacts.keys), Set(ArtifactKind.allCases))
        }
        XCTAssertEqual(r.classes.count, 40)
        XCTAssertEqual(r.classes.first, "person")
        XCTAssertEqual(r.classes[10], "dynamic")
        XCTAssertEqual(r.classes.last, "sky")
        XCTAssertEqual(r.testConfig.imgScale, [1280, 720])
        XCTAssertEqual(r.testConfig.mean, [123.675, 116.28, 103.53])
        XCTAssertEqual(r.testConfig.std, [58.395, 57.12, 57.375])
        XCTAssertEqual(r.testConfig.panoptic.scoreThr, 0.6)
        XCTAssertEqual(r.testConfig.panoptic.stuffAreaLimit, 4096)
        XCTAssertEqual(r.testConfig.rpn.nmsIoU, 0.7)
    }

    func testArtifactURLs() throws {
        let r = try Registry.builtIn()
        let e = try r.resolve("r101_5x")
        XCTAssertEqual(r.url(of: .model, for: e),
                       "https://dl.cv.ethz.ch/bdd100k/pan_seg/models/panoptic_fpn_r101_fpn_5x_pan_seg_bdd100k.pth")
        XCTAssertEqual(r.url(of: .scores_val, for: e),
                       "https://dl.cv.ethz.ch/bdd100k/pan_seg/scores-val/panoptic_fpn_r101_fpn_5x_pan_seg_bdd100k.json")
        XCTAssertEqual(r.url(of: .visuals, for: e, base: "http://127.0.0.1:8080/mirror/"),
                       "http://127.0.0.1:8080/mirror/visuals/panoptic_fpn_r101_fpn_5x_pan_seg_bdd100k.zip")
        // The config lives on GitHub: mirrors do not apply to it.
        XCTAssertFalse(r.isRelative(.config, for: e))
        XCTAssertEqual(r.url(of: .config, for: e, base: "http://mirror"), r.url(of: .config, for: e))
        XCTAssertTrue(r.url(of: .config, for: e)?.contains("SysCV/bdd100k-models") ?? false)
    }

    func testResolutionIsCaseInsensitiveAndAcceptsFullNames() throws {
        let r = try Registry.builtIn()
        XCTAssertEqual(try r.resolve("R101_5X").id, "r101_5x")
        XCTAssertEqual(try r.resolve("panoptic_fpn_r50_fpn_3x_pan_seg_bdd100k").id, "r50_3x")
        XCTAssertEqual(try r.resolve("PANOPTIC_FPN_R50_FPN_3X_PAN_SEG_BDD100K").id, "r50_3x")
    }

    func testUnknownIDSuggestsTheClosest() throws {
        let r = try Registry.builtIn()
        XCTAssertThrowsError(try r.resolve("r102_5x")) { error in
            guard case let RegistryError.unknownModel(id, suggestions, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(id, "r102_5x")
            XCTAssertEqual(suggestions, ["r101_5x"])
            XCTAssertTrue("\(error)".contains("did you mean r101_5x?".capitalizedFirst))
        }
        XCTAssertThrowsError(try r.resolve("resnet")) { error in
            XCTAssertTrue("\(error)".contains("Known ids"))
        }
    }

    func testGlobFilter() throws {
        let r = try Registry.builtIn()
        XCTAssertEqual(r.matching("r101*").map(\.id), ["r101_3x", "r101_5x"])
        XCTAssertEqual(r.matching("*_5x").map(\.id), ["r50_5x", "r101_5x"])
        XCTAssertEqual(r.matching("r50_?x").map(\.id), ["r50_1x", "r50_3x", "r50_5x"])
        XCTAssertEqual(r.matching("r50_[13]x").map(\.id), ["r50_1x", "r50_3x"])
        XCTAssertEqual(r.matching("*r101_fpn_3x*").map(\.id), ["r101_3x"])
        XCTAssertEqual(r.matching("nothing*").count, 0)
        XCTAssertEqual(r.matching(nil).count, 5)
    }

    // MARK: - Bad registries name the file, the entry and the field.

    private func mutated(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: Registry.builtInJSON) as? [String: Any])
        edit(&root)
        return try JSONSerialization.data(withJSONObject: root)
    }

    private func model(_ root: inout [String: Any], _ i: Int, _ edit: (inout [String: Any]) -> Void) {
        var models = root["models"] as? [[String: Any]] ?? []
        edit(&models[i])
        root["models"] = models
    }

    // MARK: - Values outside RegistryLimits are refused at load time, naming the field.

    /// Sets `test_config.<path>` (dot-separated) to `value` in the built-in registry.
    private func withTestConfig(_ path: String, _ value: Any) throws -> Data {
        try mutated { root in
            func set(_ obj: Any?, _ keys: ArraySlice<Substring>) -> Any {
                var o = obj as? [String: Any] ?? [:]
                let k = String(keys[keys.startIndex])
                o[k] = keys.count == 1 ? value : set(o[k], keys.dropFirst())
                return o
            }
            root["test_config"] = set(root["test_config"], path.split(separator: ".")[...])
        }
    }

    private func assertRefused(_ data: Data, entry: String = "(top level)", field: String,
                               contains: String? = nil, line: UInt = #line) {
        XCTAssertThrowsError(try Registry.parse(data, source: "bad.json"), line: line) { e in
            guard case let RegistryError.invalid(file, en, f, problem) = e else { return XCTFail("\(e)", line: line) }
            XCTAssertEqual(file, "bad.json", line: line)
            XCTAssertEqual(en, entry, line: line)
            XCTAssertEqual(f, field, line: line)
            if let contains { XCTAssertTrue(problem.contains(contains), "\(problem)", line: line) }
            XCTAssertTrue("\(e)".hasPrefix("registry bad.json, entry \(entry), field '\(field)': "), "\(e)", line: line)
        }
    }

    func testTestConfigValuesOutOfRangeAreRefused() throws {
        let cases: [(String, Any, String, String?)] = [
            ("pad_size_divisor", 0, "test_config.pad_size_divisor", "outside 1...128"),
            ("pad_size_divisor", -32, "test_config.pad_size_divisor", nil),
            ("img_scale", [1e9, 1e9], "test_config.img_scale[0]", "outside 32...4096"),
            ("img_scale", [1280], "test_config.img_scale", "expected 2 values"),
            ("img_scale", [1280, 14.5], "test_config.img_scale[1]", nil),
            ("std", [58.0, 0.0, 57.0], "test_config.std[1]", nil),
            ("mean", [1.0, 2.0], "test_config.mean", nil),
            ("rpn.max_per_img", -1, "test_config.rpn.max_per_img", nil),
            ("rpn.nms_pre", 1e30, "test_config.rpn.nms_pre", nil),
            ("rpn.nms_iou", 1.5, "test_config.rpn.nms_iou", nil),
            ("rpn.anchor_strides", [4, 8, 16], "test_config.rpn.anchor_strides", "expected 5 values"),
            ("rpn.anchor_ratios", [0.5, -1.0], "test_config.rpn.anchor_ratios[1]", nil),
            ("rpn.target_stds", [1.0, 1.0, 0.0, 1.0], "test_config.rpn.target_stds[2]", nil),
            ("rcnn.mask_size", 0, "test_config.rcnn.mask_size", nil),
            ("rcnn.featmap_strides", [4, 8, 16, 0], "test_config.rcnn.featmap_strides[3]", nil),
            ("rcnn.finest_scale", 0, "test_config.rcnn.finest_scale", nil),
            ("rcnn.roi_output_size", 100000, "test_config.rcnn.roi_output_size", nil),
            ("panoptic.instance_offset", 0, "test_config.panoptic.instance_offset", "larger than the class count"),
            ("panoptic.instance_offset", 40, "test_config.panoptic.instance_offset", nil),
            ("panoptic.score_thr", -0.1, "test_config.panoptic.score_thr", nil),
            ("panoptic.mask_thr_binary", 2, "test_config.panoptic.mask_thr_binary", nil),
            ("panoptic.max_per_img", 0, "test_config.panoptic.max_per_img", nil),
            ("panoptic.stuff_area_limit", -1, "test_config.panoptic.stuff_area_limit", nil),
            ("rpn", 5, "test_config.rpn", nil),
            ("rpn.nms_iou", "0.7", "test_config.rpn.nms_iou", nil),
        ]
        for (path, value, field, contains) in cases {
            assertRefused(try withTestConfig(path, value), field: field, contains: contains)
        }
        // A test_config that is not an object at all.
        assertRefused(try mutated { $0["test_config"] = "fast" }, field: "test_config", contains: "expected an object")
        assertRefused(try mutated { $0["test_config"] = [1, 2] }, field: "test_config", contains: "expected an object")
        // The values of zoo.json itself pass.
        XCTAssertNoThrow(try Registry.parse(try withTestConfig("pad_size_divisor", 32), source: "ok.json"))
    }

    func testModelValuesOutOfRangeAreRefused() throws {
        assertRefused(try mutated { root in model(&root, 0) { $0["depth"] = -5 } }, entry: "models[0] (r50_1x)",
                      field: "depth", contains: "50 or 101")
        assertRefused(try mutated { root in model(&root, 0) { $0["depth"] = 1e30 } }, entry: "models[0] (r50_1x)",
                      field: "depth", contains: "not an integer")
        assertRefused(try mutated { root in model(&root, 1) { $0["epochs"] = 14.5 } }, entry: "models[1] (r50_3x)",
                      field: "epochs", contains: "not an integer")
        assertRefused(try mutated { root in model(&root, 1) { $0["epochs"] = 0 } }, entry: "models[1] (r50_3x)",
                      field: "epochs")
        assertRefused(try mutated { root in model(&root, 2) { $0["pq_val"] = 1000 } }, entry: "models[2] (r50_5x)",
                      field: "pq_val")
        assertRefused(try mutated { root in model(&root, 2) { $0["backbone"] = "" } }, entry: "models[2] (r50_5x)",
                      field: "backbone")
        assertRefused(try mutated { root in model(&root, 3) { $0["artifacts"] = "x" } }, entry: "models[3] (r101_3x)",
                      field: "artifacts")
        assertRefused(try mutated { $0["classes"] = [String]() }, field: "classes")
        assertRefused(try mutated { $0["num_things"] = "10" }, field: "num_things")
    }

    func testArtifactURLsMustBeHTTP() throws {
        for loc in ["file:///etc/passwd", "ftp://example.com/x.pth", "FILE:///etc/passwd", "gopher://h/x"] {
            assertRefused(try mutated { root in model(&root, 0) { m in
                var a = m["artifacts"] as? [String: Any] ?? [:]; a["model"] = loc; m["artifacts"] = a
            } }, entry: "models[0] (r50_1x)", field: "artifacts.model")
        }
        assertRefused(try mutated { $0["base_url"] = "file:///tmp/zoo" }, field: "base_url")
        assertRefused(try mutated { $0["mirrors"] = ["file:///tmp/zoo"] }, field: "mirrors[0]")
    }

    func testMalformedJSON() {
        XCTAssertThrowsError(try Registry.parse(Data("{\"schema_version\": 1,".utf8), source: "bad.json")) { e in
            guard case let RegistryError.malformedJSON(file, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(file, "bad.json")
            XCTAssertTrue("\(e)".contains("not valid JSON"))
        }
    }

    func testMissingField() throws {
        let data = try mutated { root in model(&root, 2) { $0.removeValue(forKey: "pq_val") } }
        XCTAssertThrowsError(try Registry.parse(data, source: "mine.json")) { e in
            XCTAssertEqual(e as? RegistryError, .invalid(file: "mine.json", entry: "models[2] (r50_5x)", field: "pq_val", problem: "missing"))
        }
    }

    func testWrongType() throws {
        let data = try mutated { root in model(&root, 0) { $0["ms_train"] = "no" } }
        XCTAssertThrowsError(try Registry.parse(data, source: "t.json")) { e in
            XCTAssertEqual(e as? RegistryError, .invalid(file: "t.json", entry: "models[0] (r50_1x)", field: "ms_train", problem: "expected true or false"))
        }
        let data2 = try mutated { root in model(&root, 0) { $0["depth"] = true } }
        XCTAssertThrowsError(try Registry.parse(data2, source: "t.json")) { e in
            XCTAssertEqual(e as? RegistryError, .invalid(file: "t.json", entry: "models[0] (r50_1x)", field: "depth", problem: "expected a number"))
        }
    }

    func testDuplicateID() throws {
        let data = try mutated { root in model(&root, 4) { $0["id"] = "R50_1X" } }
        XCTAssertThrowsError(try Registry.parse(data, source: "d.json")) { e in
            XCTAssertEqual(e as? RegistryError, .duplicateID(file: "d.json", id: "r50_1x"))
        }
    }

    func testBadURLs() throws {
        let data = try mutated { root in root["base_url"] = "dl.cv.ethz.ch/bdd100k" }
        XCTAssertThrowsError(try Registry.parse(data, source: "u.json")) { e in
            guard case let RegistryError.invalid(_, _, field, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(field, "base_url")
        }
        let data2 = try mutated { root in root["mirrors"] = ["https://ok.example/zoo", "ftp:/nope"] }
        XCTAssertThrowsError(try Registry.parse(data2, source: "u.json")) { e in
            guard case let RegistryError.invalid(_, _, field, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(field, "mirrors[1]")
        }
        let data3 = try mutated { root in model(&root, 1) { m in
            var a = m["artifacts"] as? [String: Any] ?? [:]; a["md5"] = "../../etc/passwd"; m["artifacts"] = a
        } }
        XCTAssertThrowsError(try Registry.parse(data3, source: "u.json")) { e in
            guard case let RegistryError.invalid(_, entry, field, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(entry, "models[1] (r50_3x)")
            XCTAssertEqual(field, "artifacts.md5")
        }
    }

    func testBadTestConfigNamesThePath() throws {
        let data = try mutated { root in
            var tc = root["test_config"] as? [String: Any] ?? [:]
            var p = tc["panoptic"] as? [String: Any] ?? [:]
            p.removeValue(forKey: "score_thr"); tc["panoptic"] = p; root["test_config"] = tc
        }
        XCTAssertThrowsError(try Registry.parse(data, source: "c.json")) { e in
            guard case let RegistryError.invalid(file, _, field, problem) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(file, "c.json")
            XCTAssertEqual(field, "test_config.panoptic.score_thr")
            XCTAssertEqual(problem, "missing")
        }
    }

    func testUnreadableFileAndEnvironment() throws {
        XCTAssertThrowsError(try Registry.load(path: "/nonexistent/zoo.json")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/zoo.json"))
            XCTAssertTrue("\(e)".contains("no such file"))
        }
        XCTAssertThrowsError(try Registry.load(path: nil, environment: ["ZOO_REGISTRY": "/nonexistent/env.json"])) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/env.json"))
        }
        XCTAssertEqual(try Registry.load(path: nil, environment: [:]).source, "built-in zoo.json")
    }
}

private extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
