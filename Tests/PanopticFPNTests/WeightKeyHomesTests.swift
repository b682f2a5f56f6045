import Foundation
import PanopticFPN
import XCTest

/// Every checkpoint key has one Swift home: its prefix (the key up to its first index, without the parameter
/// name) is written once, as a string literal, in the model's sources (`Sources/PanopticFPN` but `Weights/`,
/// whose synthetic-weight recipe quotes a few keys as data), so a grep of a key lands on the layer holding it.
final class WeightKeyHomesTests: XCTestCase {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/PanopticFPN")

    /// `roi_head.mask_head.convs.2.conv.weight` -> `roi_head.mask_head.convs`; `backbone.bn1.running_var` ->
    /// `backbone.bn1`; `backbone.layer3.0.conv1.weight` -> `backbone.layer` + the stage number.
    static func home(of key: String) -> (literal: String, indexed: Bool) {
        let parts = key.split(separator: ".").map(String.init)
        guard let i = parts.firstIndex(where: { Int($0) != nil }) else {
            return (parts.dropLast().joined(separator: "."), false)
        }
        let prefix = Array(parts[..<i])
        // A list numbered in its name (`layer3.0`, mmdetection's f'layer{i + 1}'): the literal interpolates the number.
        if let last = prefix.last, last.last?.isNumber == true {
            let stem = String(last.reversed().drop(while: \.isNumber).reversed())
            return ((prefix.dropLast() + [stem]).joined(separator: "."), true)
        }
        return (prefix.joined(separator: "."), false)
    }

    func testHomeOfAKey() {
        XCTAssertEqual(Self.home(of: "roi_head.mask_head.convs.2.conv.weight").literal, "roi_head.mask_head.convs")
        XCTAssertEqual(Self.home(of: "backbone.bn1.running_var").literal, "backbone.bn1")
        XCTAssertEqual(Self.home(of: "backbone.layer3.0.conv1.weight").literal, "backbone.layer")
        XCTAssertTrue(Self.home(of: "backbone.layer3.0.conv1.weight").indexed)
        XCTAssertEqual(Self.home(of: "rpn_head.rpn_cls.bias").literal, "rpn_head.rpn_cls")
    }

    func testEveryLayoutKeyPrefixIsWrittenOnceInTheModelSources() throws {
        var text = ""
        let files = try XCTUnwrap(FileManager.default.enumerator(at: Self.sources, includingPropertiesForKeys: nil))
        for case let url as URL in files where url.pathExtension == "swift" && !url.path.contains("/Weights/") {
            text += try String(contentsOf: url, encoding: .utf8) + "\n"
        }
        XCTAssertFalse(text.isEmpty)
        let keys = try ModelSpec.r101.map(\.key) + ModelSpec.r50.map(\.key)
        var homes: [String: Bool] = [:]
        for k in keys {
            let h = Self.home(of: k)
            homes[h.literal] = h.indexed
        }
        XCTAssertEqual(homes.count, 16, homes.keys.sorted().joined(separator: "\n"))
        for (literal, indexed) in homes {
            // The literal starts a Swift string and goes on with a dot, an interpolation or the closing quote.
            let endings = indexed ? ["\\("] : [".", "\\(", "\""]
            let count = endings.reduce(0) { $0 + text.components(separatedBy: "\"" + literal + $1).count - 1 }
            XCTAssertEqual(count, 1, "the key prefix '\(literal)' should be written exactly once as a literal in Sources/PanopticFPN")
        }
    }
}
