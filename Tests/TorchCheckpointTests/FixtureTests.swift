import Foundation
import XCTest
import TorchCheckpoint

/// Every fixture real torch wrote decodes to exactly the bytes torch sees; every hostile or broken
/// one fails with the expected message.
final class FixtureTests: XCTestCase {
    func testEveryFixtureMatchesItsExpectation() throws {
        let expected = try Fixtures.expected()
        XCTAssertGreaterThanOrEqual(expected.count, 36)
        for (file, exp) in expected.sorted(by: { $0.key < $1.key }) {
            if let fragment = exp.error {
                do {
                    let c = try Checkpoint(path: Fixtures.path(file))
                    _ = try c.digests()
                    XCTFail("\(file): expected an error containing '\(fragment)', got none")
                } catch {
                    XCTAssertTrue(String(describing: error).contains(fragment), "\(file): '\(error)' lacks '\(fragment)'")
                }
                continue
            }
            let c: Checkpoint
            do { c = try Checkpoint(path: Fixtures.path(file)) } catch {
                XCTFail("\(file): \(error)")
                continue
            }
            let got = try c.digests()
            let want = exp.tensors ?? [:]
            XCTAssertEqual(Set(got.keys), Set(want.keys), file)
            for (name, w) in want {
                guard let g = got[name] else { continue }
                XCTAssertEqual(g.0, w.dtype, "\(file) \(name)")
                XCTAssertEqual(g.1, w.shape, "\(file) \(name)")
                XCTAssertEqual(g.2, w.sha256, "\(file) \(name)")
            }
        }
    }

    func testFormatsAndPrefixes() throws {
        XCTAssertEqual(try Checkpoint(path: Fixtures.path("a_mixed_dtypes.pth")).archivePrefix, "a_mixed_dtypes")
        XCTAssertEqual(try Checkpoint(path: Fixtures.path("b_views.pth")).archivePrefix, "archive")
        XCTAssertEqual(try Checkpoint(path: Fixtures.path("d2_views_legacy.pth")).format, .legacy)
        XCTAssertEqual(try Checkpoint(path: Fixtures.path("f_d2_p4.pkl")).format, .pickle)
        XCTAssertTrue(try Checkpoint(path: Fixtures.path("be_zip.pth")).bigEndian)
        XCTAssertTrue(try Checkpoint(path: Fixtures.path("be_legacy.pth")).bigEndian)
        XCTAssertFalse(try Checkpoint(path: Fixtures.path("a_mixed_dtypes.pth")).bigEndian)
    }

    func testLegacyTwinsDecodeLikeTheirZipTwins() throws {
        let zipViews = try Checkpoint(path: Fixtures.path("b_views.pth")).digests()
        let legacyViews = try Checkpoint(path: Fixtures.path("d2_views_legacy.pth")).digests()
        XCTAssertEqual(zipViews.count, 13)
        for (k, v) in zipViews { XCTAssertEqual(legacyViews[k]?.2, v.2, k) }
    }

    func testPythonValuesAreModelled() throws {
        let root = try Checkpoint(path: Fixtures.path("c2_python_types.pth")).root
        XCTAssertEqual(root["set"], .set([.int(1), .int(2), .int(3)]))
        XCTAssertEqual(root["complex"], .complex(1.5, -2))
        XCTAssertEqual(root["bytes"], .bytes([0, 0xFF, 0x61, 0x62, 0x63]))
        XCTAssertEqual(root["bytearray"], .bytes(Array("xyz".utf8)))
        XCTAssertEqual(root["float"], .float(0.1))
        XCTAssertEqual(root["none"], PickleValue.none)
        XCTAssertEqual(root["yes"], .bool(true))
        XCTAssertEqual(root["unicode"], .string("δx"))
        XCTAssertEqual(root["tuple"], .tuple([.int(1), .string("two"), .float(3)]))
        XCTAssertEqual(root["size"], .tuple([.int(2), .int(3)]))
        XCTAssertEqual(root["dtype"], .global("torch.float16"))
        XCTAssertEqual(root["device"], .object(type: "torch.device", args: [.string("cuda"), .int(1)]))
        guard case let .list(big)? = root["big"] else { return XCTFail("big") }
        XCTAssertEqual(big[0], .int(1 << 31))
        XCTAssertEqual(big[1], .bigInt([0, 0, 0, 0, 0, 0, 0, 0x80, 0])) // 2**63 needs 9 bytes
        if case let .bigInt(b) = big[2] { XCTAssertEqual(b.count, 13) } else { XCTFail("2**100") }
        if case let .bigInt(b) = big[3] { XCTAssertEqual(b.last, 0xC0) } else { XCTFail("-2**70") }
        XCTAssertEqual(big[4], .int(-1))
        XCTAssertEqual(big[5], .int(-(1 << 31)))
    }

    func testDetectron2StyleTreeAndPaths() throws {
        let c = try Checkpoint(path: Fixtures.path("c_detectron2_style.pth"))
        XCTAssertEqual(c.root["iteration"], .int(123))
        XCTAssertEqual(c.root["__author__"], .string("fixture"))
        let names = Set(c.allTensors.map(\.name))
        XCTAssertTrue(names.contains("model.0.weight"))
        XCTAssertTrue(names.contains("optimizer.state.0.momentum_buffer"))
        guard case let .dict(milestones, kind)? = c.root.value(atPath: "scheduler.milestones") else { return XCTFail("milestones") }
        XCTAssertEqual(kind, .counter)
        XCTAssertEqual(milestones.map(\.key), [.int(100), .int(200)])
        XCTAssertEqual(c.root.value(atPath: "optimizer.param_groups.0.lr"), .float(0.02))
    }

    func testViewsKeepTheirStridesAndOffsets() throws {
        let c = try Checkpoint(path: Fixtures.path("b_views.pth"))
        guard case let .tensor(t)? = c.root["transposed"] else { return XCTFail() }
        XCTAssertEqual(t.shape, [6, 4])
        XCTAssertEqual(t.strides, [1, 6])
        XCTAssertFalse(t.isContiguous)
        let floats = try c.tensorBytes(t).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(Array(floats.prefix(5)), [0, 6, 12, 18, 1])
        guard case let .tensor(e)? = c.root["expanded"] else { return XCTFail() }
        XCTAssertEqual(e.strides, [1, 0])
        let ex = try c.tensorBytes(e).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(ex, [1, 1, 1, 2, 2, 2])
    }

    /// A Python 2 pickle (numpy data in a SHORT_BINSTRING) keeps its bytes, even those that look like UTF-8.
    func testPython2ByteStringArrayData() throws {
        var p: [UInt8] = [0x80, 0x02]
        func text(_ s: String) { p += Array(s.utf8) }
        text("cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"); p += [0x4B, 0, 0x85, 0x55, 1] + Array("b".utf8) + [0x87, 0x52]
        p += [0x28, 0x4B, 1, 0x4B, 2, 0x85]
        text("cnumpy\ndtype\n"); p += [0x55, 2] + Array("f2".utf8) + [0x89, 0x88, 0x87, 0x52]
        p += [0x28, 0x4B, 3, 0x55, 1, UInt8(ascii: "<"), 0x4E, 0x4E, 0x4E, 0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x4B, 0, 0x74, 0x62]
        p += [0x89, 0x55, 4, 0xC3, 0xA9, 0x00, 0x3C, 0x74, 0x62, 0x2E]
        let c = try Checkpoint(bytes: p)
        guard case let .tensor(t) = c.root else { return XCTFail("\(c.root)") }
        XCTAssertEqual(t.dtype, .float16)
        XCTAssertEqual(t.shape, [2])
        XCTAssertEqual(try c.tensorBytes(t), [0xC3, 0xA9, 0x00, 0x3C])
    }

    func testMaliciousGlobalIsRefusedBeforeAnythingRuns() throws {
        XCTAssertThrowsError(try Checkpoint(path: Fixtures.path("h_os_system.pth"))) { error in
            XCTAssertEqual(error as? CheckpointError, .globalNotAllowed("posix.system"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/pwned"))
    }
}
