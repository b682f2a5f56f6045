import Foundation
import XCTest
import SafeTensors

final class SafeTensorsTests: XCTestCase {
    private func tempURL(_ name: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name)
    }

    private func file(_ header: String, data: [UInt8] = []) -> [UInt8] {
        var h = Array(header.utf8)
        var n = UInt64(h.count).littleEndian
        var out = withUnsafeBytes(of: &n) { Array($0) }
        out += h
        h = []
        return out + data
    }

    func testWriteThenReadRoundTrip() throws {
        let url = tempURL("a.safetensors")
        let w = try SafeTensorsWriter(url: url, tensors: [
            .init(name: "w", dtype: .F32, shape: [2, 3]),
            .init(name: "empty", dtype: .F32, shape: [0, 4]),
            .init(name: "h", dtype: .F16, shape: [2]),
            .init(name: "b", dtype: .BF16, shape: [2]),
            .init(name: "n", dtype: .I64, shape: []),
            .init(name: "quote\"name", dtype: .U8, shape: [3]),
        ], metadata: ["format": "pt", "note": "a \"quoted\"\nline"])
        let floats: [Float] = [1, -2, 3.5, 0, 1e-3, 7]
        try floats.withUnsafeBytes { try w.write(UnsafeRawBufferPointer(rebasing: $0[0 ..< 10])) } // in two parts
        try floats.withUnsafeBytes { try w.write(UnsafeRawBufferPointer(rebasing: $0[10 ..< 24])) }
        XCTAssertEqual(w.nextTensor, "h")
        try w.write([0x00, 0x3C, 0x00, 0xC0]) // f16 1.0, -2.0
        try w.write([0x80, 0x3F, 0x40, 0x40]) // bf16 1.0, 3.0
        var n = Int64(-5).littleEndian
        try withUnsafeBytes(of: &n) { try w.write($0) }
        XCTAssertThrowsError(try w.write([1, 2, 3, 4])) // too many bytes
        try w.write([1, 2, 3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path)) // not before finish
        try w.finish()

        let r = try SafeTensorsFile(url: url)
        XCTAssertEqual(r.names, ["w", "empty", "h", "b", "n", "quote\"name"])
        XCTAssertEqual(r.metadata, ["format": "pt", "note": "a \"quoted\"\nline"])
        XCTAssertEqual(try r.info("w").pair.0, .F32)
        XCTAssertEqual(try r.info("w").shape, [2, 3])
        XCTAssertEqual(try r.floats("w"), floats)
        r.evict("w")
        XCTAssertEqual(try r.floats("w"), floats) // still readable after its pages were released
        XCTAssertEqual(try r.floats("h"), [1, -2])
        XCTAssertEqual(try r.floats("b"), [1, 3])
        XCTAssertEqual(try r.floats("empty"), [])
        XCTAssertEqual(try r.bytes("n"), [0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(try r.info("n").shape, [])
        XCTAssertEqual(r.dataStart % 8, 0)
        XCTAssertThrowsError(try r.floats("n"))
        XCTAssertThrowsError(try r.info("nope")) { XCTAssertEqual($0 as? SafeTensorsError, .noSuchTensor("nope")) }
    }

    func testUnfinishedWriterLeavesNothing() throws {
        let url = tempURL("b.safetensors")
        do {
            let w = try SafeTensorsWriter(url: url, tensors: [.init(name: "x", dtype: .F32, shape: [4])])
            try w.write([1, 2, 3, 4])
            XCTAssertThrowsError(try w.finish())
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        XCTAssertFalse(left.contains { $0.contains("b.safetensors") }, "\(left)")
    }

    func testEmptyFileMatchesTheReferenceLayout() throws {
        let url = tempURL("c.safetensors")
        let w = try SafeTensorsWriter(url: url, tensors: [])
        try w.finish()
        // safetensors.torch.save_file({}, p) writes exactly these 16 bytes.
        XCTAssertEqual(Array(try Data(contentsOf: url)), [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        XCTAssertEqual(try SafeTensorsFile(url: url).names, [])
    }

    func testHeaderValidation() throws {
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        XCTAssertNoThrow(try SafeTensorsFile(bytes: file(ok, data: [UInt8](repeating: 0, count: 8))))
        let bad: [(String, [UInt8], String)] = [
            (ok, [UInt8](repeating: 0, count: 7), "the file is"),                         // short data
            (ok, [UInt8](repeating: 0, count: 9), "the file is"),                         // trailing bytes
            (#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8), "unknown dtype"),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8), "needs 12"),
            (#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8), "non-negative"),
            (#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8), "shape"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, Array(repeating: 0, count: 12), "starts at 4"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
             Array(repeating: 0, count: 12), "gap or overlap"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, Array(repeating: 0, count: 8), "ends before"),
            (#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}"#, Array(repeating: 0, count: 1), "whole number"),
            (#"{"__metadata__":{"k":1}}"#, [], "not a string"),
            (#"{"a":{"dtype":"U8","shape":[9223372036854775800],"data_offsets":[0,9223372036854775800]}}"#, [], "too many"),
            ("{" + (0 ..< 8).map { i in "\"t\(i)\":{\"dtype\":\"U8\",\"shape\":[1152921504606846975],\"data_offsets\":[\(i * 1152921504606846975),\((i + 1) * 1152921504606846975)]}" }.joined(separator: ",") + "}", [], "the file is"),
            (#"{"a":5}"#, [], "not an object"),
            (#"[1,2]"#, [], "not a JSON object"),
            (#"{"a":"#, [], "not valid JSON"),
        ]
        for (header, data, fragment) in bad {
            XCTAssertThrowsError(try SafeTensorsFile(bytes: file(header, data: data)), header) { error in
                XCTAssertTrue(String(describing: error).contains(fragment), "\(header): \(error)")
            }
        }
        // Deeply nested JSON must be an error, not a stack overflow in the parser.
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        XCTAssertThrowsError(try SafeTensorsFile(bytes: file(#"{"a":"# + deep + "}")))
        var huge = [UInt8](repeating: 0, count: 16)
        huge[0] = 0x01; huge[4] = 0x01 // 2^32 + 1: over the 100 MB limit
        XCTAssertThrowsError(try SafeTensorsFile(bytes: huge)) { XCTAssertTrue(String(describing: $0).contains("at most")) }
        XCTAssertThrowsError(try SafeTensorsFile(bytes: [1, 2, 3]))
        XCTAssertThrowsError(try SafeTensorsFile(bytes: [200, 0, 0, 0, 0, 0, 0, 0, 0x7B])) { XCTAssertTrue(String(describing: $0).contains("truncated")) }
    }

    func testReadsAFileWrittenByTheSafetensorsLibrary() throws {
        // Written by safetensors 0.8.0 `save_file` in Tests/Fixtures/checkpoints/make_fixtures.py.
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/checkpoints/st_reference.safetensors")
        let r = try SafeTensorsFile(url: url)
        XCTAssertEqual(r.metadata["format"], "pt")
        XCTAssertEqual(try r.floats("f32"), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try r.info("f32").shape, [2, 3])
        XCTAssertEqual(try r.floats("f16"), [0.5, -1, 2])
        XCTAssertEqual(try r.floats("bf16"), [1, -3])
        XCTAssertEqual(try r.bytes("i64"), [7, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try r.info("empty").shape, [0, 3])
        XCTAssertEqual(try r.info("bool").dtype, .BOOL)
    }
}

final class SafeTensorsFuzzTests: XCTestCase {
    func testMutatedFilesNeverCrash() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/checkpoints/st_reference.safetensors")
        let original = Array(try Data(contentsOf: url))
        var state: UInt64 = 42
        func next() -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
        }
        var opened = 0
        for _ in 0 ..< 5000 {
            var b = original
            switch next() % 3 {
            case 0: for _ in 0 ... next() % 3 { let i = next() % b.count; b[i] ^= UInt8(1 << (next() % 8)) }
            case 1: b = Array(b.prefix(next() % (b.count + 1)))
            default: b.insert(contentsOf: (0 ..< 1 + next() % 16).map { _ in UInt8(truncatingIfNeeded: next()) }, at: next() % (b.count + 1))
            }
            if let f = try? SafeTensorsFile(bytes: b) {
                opened += 1
                for n in f.names { _ = try f.withBytes(n) { $0.count } }
            }
        }
        XCTAssertGreaterThan(opened, 0)
        XCTAssertLessThan(opened, 5000)
    }
}
