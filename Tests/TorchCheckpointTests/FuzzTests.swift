import Foundation
import XCTest
import TorchCheckpoint

/// Thousands of damaged fixtures (fixed seed): flipped, cut and extended bytes. The reader must return
/// a value or throw, never crash, hang or allocate more than the file justifies (the limits are built
/// into the reader; a violation here would crash or time out).
final class FuzzTests: XCTestCase {
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    static let sources = ["a_mixed_dtypes.pth", "a2_new_dtypes.pth", "b_views.pth", "b2_conj_neg.pth", "c2_python_types.pth",
                          "c_detectron2_style.pth", "d_mixed_dtypes_legacy.pth", "d2_views_legacy.pth", "be_legacy.pth",
                          "f_d2_p2.pkl", "f_d2_p4.pkl", "f_d2_p5.pkl", "p4_protocol.pth", "g_hand_ok.pth", "z_zip64_records.pth"]

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64, focus: Range<Int>? = nil) -> [UInt8] {
        var b = input
        let region = focus ?? 0 ..< b.count
        switch rng.below(4) {
        case 0, 1: // flip a few bytes (a byte of a length, a count, an opcode...)
            for _ in 0 ... rng.below(4) where !region.isEmpty {
                let i = region.lowerBound + rng.below(region.count)
                b[i] = rng.below(3) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : b[i] ^ UInt8(1 << rng.below(8))
            }
        case 2: // cut
            b = Array(b.prefix(rng.below(b.count + 1)))
        default: // extend or insert
            let at = rng.below(b.count + 1)
            let extra = (0 ..< 1 + rng.below(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            b.insert(contentsOf: extra, at: at)
        }
        return b
    }

    /// A small checkpoint whose `withTensorBytes` materialises free-standing (inline) tensors.
    static func holder() throws -> Checkpoint {
        let c = try Checkpoint(path: Fixtures.path("g_hand_ok.pth"))
        c.maxMaterializedBytes = 1 << 20
        return c
    }

    /// Opens and fully reads a checkpoint; returns whether it loaded.
    @discardableResult
    static func exercise(_ bytes: [UInt8]) -> Bool {
        do {
            let c = try Checkpoint(bytes: bytes, name: "fuzz")
            for (name, t) in c.allTensors {
                _ = try c.withTensorBytes(t, name: name) { $0.count }
            }
            return true
        } catch { return false }
    }

    func testMutatedCheckpointFilesNeverCrash() throws {
        var rng = SplitMix64(state: 20_261_125)
        let files = try Self.sources.map { try Fixtures.bytes($0) }
        var loaded = 0, cases = 0
        let start = Date()
        for _ in 0 ..< 20000 {
            let f = files[rng.below(files.count)]
            if Self.exercise(Self.mutate(f, &rng)) { loaded += 1 }
            cases += 1
        }
        XCTAssertEqual(cases, 20000)
        XCTAssertGreaterThan(loaded, 0) // some mutations (in padding, unused records) still load
        XCTAssertLessThan(Date().timeIntervalSince(start), 120)
    }

    /// Zip records are CRC-checked, so damage to data.pkl is caught before unpickling; this feeds
    /// damaged pickles to the unpickler directly, with the zip persistent-id rules.
    func testMutatedPicklesNeverCrash() throws {
        var rng = SplitMix64(state: 7)
        var pickles: [[UInt8]] = []
        for name in Self.sources where name.hasSuffix(".pth") {
            let c = try Checkpoint(path: Fixtures.path(name))
            if c.format == .zip { pickles.append(try c.recordBytes("data.pkl")) }
        }
        for name in ["f_d2_p2.pkl", "f_d2_p4.pkl", "f_d2_p5.pkl"] { pickles.append(try Fixtures.bytes(name)) }
        XCTAssertGreaterThanOrEqual(pickles.count, 10)
        let holder = try Self.holder()
        var ok = 0
        for _ in 0 ..< 20000 {
            let p = Self.mutate(pickles[rng.below(pickles.count)], &rng)
            do {
                let v = try Checkpoint.decodePickle(p)
                // Inline (numpy) tensors can be materialised without their container.
                for (name, t) in v.allTensors() {
                    if case .inline = t.data { _ = try holder.withTensorBytes(t, name: name, storageBytes: nil) { $0.count } }
                }
                ok += 1
            } catch {}
        }
        XCTAssertGreaterThan(ok, 0)
    }

    func testHostilePicklesThatAmplifyOrRecurseAreRefused() throws {
        // A list holding itself twice, 40 levels deep: 2^40 nodes if expanded naively.
        var p: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00] // EMPTY_LIST, BINPUT 0
        for i in 0 ..< 40 {
            p += [0x68, UInt8(i), 0x68, UInt8(i), 0x86, 0x71, UInt8(i + 1)] // (memo[i], memo[i]) → memo[i+1]
        }
        p += [0x2E]
        XCTAssertThrowsError(try Checkpoint(bytes: p)) { XCTAssertTrue(String(describing: $0).contains("limit exceeded"), "\($0)") }
        // A list that contains itself.
        let cyc: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        XCTAssertThrowsError(try Checkpoint(bytes: cyc)) { XCTAssertTrue(String(describing: $0).contains("limit exceeded"), "\($0)") }
        // A million nested tuples, half a million nested lists: refused, and released without
        // recursing once per level (which would overflow the stack).
        let tuples: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
        XCTAssertThrowsError(try Checkpoint(bytes: tuples)) { XCTAssertTrue(String(describing: $0).contains("deeper than"), "\($0)") }
        let lists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: 500_000) + [UInt8](repeating: 0x61, count: 499_999) + [0x2E]
        XCTAssertThrowsError(try Checkpoint(bytes: lists)) { XCTAssertTrue(String(describing: $0).contains("deeper than"), "\($0)") }
        // The same when the pickle never reaches STOP.
        XCTAssertThrowsError(try Checkpoint(bytes: Array(tuples.dropLast())))
        // A LONG4 claiming 4 GB, a BINUNICODE8 claiming 2^63 bytes.
        XCTAssertThrowsError(try Checkpoint(bytes: [0x80, 0x02, 0x8B, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]))
        XCTAssertThrowsError(try Checkpoint(bytes: [0x80, 0x04, 0x8D] + [UInt8](repeating: 0xFF, count: 7) + [0x7F, 0x2E]))
        // APPEND onto a dict, SETITEM onto a list (the CVE-2026-24747 class of confusion).
        XCTAssertThrowsError(try Checkpoint(bytes: [0x80, 0x02, 0x7D, 0x4E, 0x61, 0x2E])) { XCTAssertTrue(String(describing: $0).contains("not a list")) }
        XCTAssertThrowsError(try Checkpoint(bytes: [0x80, 0x02, 0x5D, 0x4E, 0x4E, 0x73, 0x2E])) { XCTAssertTrue(String(describing: $0).contains("not a dict")) }
        // A memo index that was never stored.
        XCTAssertThrowsError(try Checkpoint(bytes: [0x80, 0x02, 0x6A, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E]))
        // A size-1 dimension may carry any stride; the gather must not overflow stepping past it.
        let holder = try Self.holder()
        let four = [Float](arrayLiteral: 1, 2, 3, 4).withUnsafeBytes { Array($0) }
        let odd = TensorRef(dtype: .float32, shape: [1, 2, 2], strides: [1 << 61, 1 << 60, 1], storageOffset: 0, data: .inline(four))
        let strided = TensorRef(dtype: .float32, shape: [1, 2, 2], strides: [1 << 61, 1, 2], storageOffset: 0, data: .inline(four))
        XCTAssertThrowsError(try holder.withTensorBytes(odd, name: "o", storageBytes: nil) { $0.count })
        XCTAssertEqual(try holder.withTensorBytes(strided, name: "s", storageBytes: nil) { Array($0.bindMemory(to: Float.self)) }, [1, 3, 2, 4])
        // A broadcast view of a 4-byte storage claiming 2^40 elements; the same with no storage at all.
        let bcast = TensorRef(dtype: .float32, shape: [1 << 20, 1 << 20], strides: [0, 0], storageOffset: 0, data: .inline([0, 0, 0, 0]))
        XCTAssertThrowsError(try holder.withTensorBytes(bcast, name: "b", storageBytes: nil) { $0.count }) {
            XCTAssertTrue(String(describing: $0).contains("broadcast view"), "\($0)")
        }
        var empty = bcast
        empty.data = .inline([])
        XCTAssertThrowsError(try holder.withTensorBytes(empty, name: "b", storageBytes: nil) { $0.count }) {
            XCTAssertTrue(String(describing: $0).contains("out of bounds"), "\($0)")
        }
    }
}
