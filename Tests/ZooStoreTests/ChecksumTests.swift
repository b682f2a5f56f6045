import Foundation
import XCTest
import ZooStore

final class ChecksumTests: XCTestCase {
    let hash = "0123456789abcdef0123456789abcdef"

    func testBareHash() {
        XCTAssertEqual(Checksum.parseMD5File(Data(hash.utf8)), hash)
        XCTAssertEqual(Checksum.parseMD5File(Data((hash + "\n").utf8)), hash)
    }

    func testMd5sumOutput() {
        XCTAssertEqual(Checksum.parseMD5File(Data("\(hash)  model.pth\n".utf8)), hash)
        XCTAssertEqual(Checksum.parseMD5File(Data("\(hash) *model.pth\n".utf8)), hash)
    }

    func testUppercaseLeadingSpaceAndByteOrderMark() {
        XCTAssertEqual(Checksum.parseMD5File(Data(("  \n" + hash.uppercased()).utf8)), hash)
        XCTAssertEqual(Checksum.parseMD5File(Data([0xEF, 0xBB, 0xBF] + Array(hash.utf8))), hash)
    }

    func testMalformed() {
        for bad in ["", "not a hash", String(hash.prefix(31)), hash + "0", "MD5 (model.pth) = \(hash)",
                    "<html>404</html>", hash.replacingOccurrences(of: "a", with: "g"), "\(hash)x"] {
            XCTAssertNil(Checksum.parseMD5File(Data(bad.utf8)), "accepted \(bad)")
        }
    }

    func testMD5OfFileMatchesKnownVector() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("md5-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("The quick brown fox jumps over the lazy dog".utf8).write(to: url)
        XCTAssertEqual(try Checksum.md5(of: url), "9e107d9d372bb6826bd81d3542a419d6")
    }
}
