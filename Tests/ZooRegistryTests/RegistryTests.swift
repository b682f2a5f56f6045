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

    func testBuiltInCopyMatchesZooJSON() throws {
        // The binary embeds zoo.json; scripts/embed-registry.sh regenerates it. They must not drift.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try String(contentsOf: repo.appendingPathComponent("zoo.json"), encoding: .utf8)
        XCTAssertEqual(file, BuiltInRegistry.json + "\n", "run scripts/embed-registry.sh")
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
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(BuiltInRegistry.json.utf8)) as? [String: Any])
        edit(&root)
        return try JSONSerialization.data(withJSONObject: root)
    }

    private func model(_ root: inout [String: Any], _ i: Int, _ edit: (inout [String: Any]) -> Void) {
        var models = root["models"] as? [[String: Any]] ?? []
        edit(&models[i])
        root["models"] = models
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
