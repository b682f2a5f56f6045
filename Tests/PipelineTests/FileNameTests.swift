import Foundation
import XCTest
import ZooFiles

final class FileNameTests: XCTestCase {
    func testPlainNamesPassAndEverythingThatLeavesTheFolderIsRefused() throws {
        for ok in ["b1c66a42-6f7d68ca.jpg", "a b.png", "é.jpg", "..a", "a..b.jpg", ".hidden.jpg"] {
            XCTAssertEqual(try FileName.checked(ok), ok)
        }
        for (bad, why) in [("", "empty"), (".", "folder"), ("..", "folder"), ("../x.jpg", "separator"), ("/etc/passwd", "absolute"),
                           ("a/b.jpg", "separator"), ("a\\b.jpg", "backslash"), ("a\u{0}.jpg", "NUL"), ("a\nb", "control"),
                           (String(repeating: "x", count: 256), "255")] {
            XCTAssertThrowsError(try FileName.checked(bad, what: "frame"), bad) { e in
                XCTAssertTrue("\(e)".contains(why), "\(e)")
                XCTAssertTrue("\(e)".hasPrefix("frame \""), "\(e)")
            }
        }
        XCTAssertEqual(FileName.stem("a.b.jpg"), "a.b")
        XCTAssertEqual(FileName.stem(".jpg"), ".jpg")
        XCTAssertEqual(FileName.stem("noext"), "noext")
    }

    func testNonPrintableCharactersAreEscapedAndAngleBracketsKept() {
        XCTAssertEqual(FileName.printable("a\u{7f}<b>\u{1b}[0m\nc"), "a\\x7f<b>\\x1b[0m\nc")
        XCTAssertEqual(FileName.printable("x\u{202e}y\u{85}"), "x\\u{202e}y\\u{85}")
        XCTAssertEqual(FileName.quoted("a\"\nb"), "\"a\\\"\\x0ab\"")
        XCTAssertEqual(FileName.printable("é 日本 <>"), "é 日本 <>")
    }

    func testFoundationFileErrorsBecomeSentences() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-syserr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        do {
            try FileManager.default.createDirectory(atPath: file.path, withIntermediateDirectories: true)
            XCTFail("created a folder over a file")
        } catch {
            let s = SystemError.describe(error)
            XCTAssertFalse(s.contains("NSCocoaErrorDomain"), s)
            XCTAssertTrue(s.contains(file.path), s)
            XCTAssertTrue(s.contains("already exists") || s.contains("is a file"), s)
        }
        do {
            _ = try Data(contentsOf: dir.appendingPathComponent("missing"))
            XCTFail("read a missing file")
        } catch {
            let s = SystemError.describe(error)
            XCTAssertTrue(s.contains("no such file"), s)
        }
    }

    func testDecodingErrorsNameTheField() {
        struct M: Decodable { var images: [String]; var n: Int }
        func text(_ json: String) -> String {
            do { _ = try JSONDecoder().decode(M.self, from: Data(json.utf8)); return "decoded" } catch { return DecodingErrorText.describe(error) }
        }
        XCTAssertEqual(text(#"{"images": ["a", 3], "n": 1}"#), "field 'images[1]': expected a string")
        XCTAssertEqual(text(#"{"images": []}"#), "field 'n' is missing")
        XCTAssertEqual(text(#"{"images": [], "n": null}"#), "field 'n': expected an integer, found null")
        XCTAssertTrue(text("{").hasPrefix("not valid JSON"), text("{"))
    }
}
