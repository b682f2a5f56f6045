import Foundation
import SafeTensors
import XCTest
import TorchCheckpoint

final class ExportTests: XCTestCase {
    private func tempURL(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tc-export-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name)
    }

    /// Every tensor safetensors can hold, from every fixture, is written with the bytes torch sees.
    func testAllTensorsOfEveryFixtureRoundTripThroughSafetensors() throws {
        let expected = try Fixtures.expected()
        var files = 0
        for (file, exp) in expected where exp.error == nil {
            let c = try Checkpoint(path: Fixtures.path(file))
            let tensors = c.allTensors.filter { $0.tensor.dtype.safetensorsName != nil }
            let url = try tempURL(file + ".safetensors")
            try SafeTensorsExport.write(c, tensors: tensors, to: url, metadata: ["format": "pt"], check: true)
            let st = try SafeTensorsFile(url: url)
            XCTAssertEqual(st.names.count, tensors.count, file)
            for (name, t) in tensors {
                guard let want = exp.tensors?[name] else { XCTFail("\(file) \(name)"); continue }
                let info = try st.info(name)
                XCTAssertEqual(info.dtype.rawValue, t.dtype.safetensorsName, "\(file) \(name)")
                if t.dtype != .float4_e2m1fn_x2 { XCTAssertEqual(info.shape, want.shape, "\(file) \(name)") }
                XCTAssertEqual(try st.withBytes(name) { Fixtures.sha256($0) }, want.sha256, "\(file) \(name)")
            }
            files += 1
        }
        XCTAssertGreaterThan(files, 15)
    }

    func testComplex128IsRefusedWithItsName() throws {
        let c = try Checkpoint(path: Fixtures.path("a_mixed_dtypes.pth"))
        XCTAssertThrowsError(try SafeTensorsExport.write(c, tensors: c.allTensors, to: try tempURL("x.safetensors"))) {
            XCTAssertTrue(String(describing: $0).contains("'c128' is complex128"), "\($0)")
        }
    }

    func testDtypeConversionRoundsToNearestEven() throws {
        func conv(_ values: [Double], _ to: DType) throws -> [UInt16] {
            var out: [UInt8] = []
            try values.withUnsafeBytes { try SafeTensorsExport.convert($0, from: .float64, to: to) { out += $0 } }
            return out.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        }
        // 1 + 2^-8 is a tie in bfloat16 (rounds to even: 1.0); 1 + 2^-8 + 2^-30 must round up,
        // which a double → float → bfloat16 path would get wrong only without round-to-odd.
        XCTAssertEqual(try conv([1.0 + 0x1p-8, 1.0 + 0x1p-8 + 0x1p-30, -2.0, .infinity], .bfloat16), [0x3F80, 0x3F81, 0xC000, 0x7F80])
        XCTAssertEqual(try conv([1.0, 65504, 1e-8], .float16), [0x3C00, 0x7BFF, 0x0000])
        let f: [Float] = [1.5, -0.25, .nan]
        var out: [UInt8] = []
        try f.withUnsafeBytes { try SafeTensorsExport.convert($0, from: .float32, to: .bfloat16) { out += $0 } }
        let bf = out.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        XCTAssertEqual(Array(bf.prefix(2)), [0x3FC0, 0xBE80])
        XCTAssertEqual(bf[2] & 0x7FC0, 0x7FC0) // still NaN
    }

    func testDtypeOptionConvertsOnlyFloatingTensors() throws {
        let c = try Checkpoint(path: Fixtures.path("mmdet_tiny.pth"))
        let m = try CheckpointLayout.builtIn()[0].match(c.root)
        let url = try tempURL("tiny-f16.safetensors")
        try SafeTensorsExport.write(c, tensors: m.tensors, to: url, dtype: .f16, check: true)
        let st = try SafeTensorsFile(url: url)
        XCTAssertEqual(try st.info("backbone.conv1.weight").dtype, .F16)
        XCTAssertEqual(try st.info("backbone.bn1.num_batches_tracked").dtype, .I64)
        guard case let .tensor(t)? = c.root["state_dict"]?["head.fc.bias"] else { return XCTFail() }
        let src = try c.tensorBytes(t).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(try st.floats("head.fc.bias"), src.map { Float(Float16($0)) })
    }

    func testBuiltInLayoutsAreTheConvertersFolderInDetectionOrder() throws {
        let layouts = try CheckpointLayout.builtIn()
        XCTAssertEqual(layouts.map(\.name), ["mmdet-panoptic-fpn", "detectron2", "state-dict"])
        let mmdet = layouts[0]
        XCTAssertEqual(mmdet.variants.map(\.name), ["R-50", "R-101"])
        XCTAssertEqual(mmdet.variants[0].tensors.count, 383)
        XCTAssertEqual(mmdet.variants[1].tensors.count, 689)
        XCTAssertEqual(mmdet.variants[0].tensors.first, .init(key: "backbone.conv1.weight", shape: [64, 3, 7, 7], dtype: "float32"))
        XCTAssertEqual(mmdet.variants[1].tensors.filter { $0.dtype == "int64" }.count, 104)
        XCTAssertTrue(mmdet.variants[1].tensors.contains(.init(key: "roi_head.mask_head.upsample.weight", shape: [256, 256, 2, 2], dtype: "float32")))
    }

    func testLayoutDetectionAndMatching() throws {
        let layouts = try CheckpointLayout.builtIn()
        let tiny = try Checkpoint(path: Fixtures.path("mmdet_tiny.pth"))
        XCTAssertEqual(CheckpointLayout.detect(tiny.root, among: layouts)?.name, "mmdet-panoptic-fpn")
        let m = try layouts[0].match(tiny.root, variant: "r-50")
        XCTAssertEqual(m.variant, "R-50")
        XCTAssertEqual(m.missing.count, 380)
        XCTAssertEqual(m.unexpected, ["head.fc.weight", "head.fc.bias"])
        XCTAssertEqual(m.misShaped.map(\.key), ["backbone.conv1.weight", "backbone.bn1.weight"])
        XCTAssertEqual(m.misShaped[0].found, "float32 [4, 3, 3, 3]")
        XCTAssertThrowsError(try layouts[0].match(tiny.root, variant: "R-18"))

        // A layout written for the tiny checkpoint matches it exactly.
        let own = CheckpointLayout(name: "tiny", description: "", stateDict: "state_dict", stripPrefixes: [], meta: "meta", variants: [
            .init(name: "only", tensors: [
                .init(key: "backbone.conv1.weight", shape: [4, 3, 3, 3], dtype: "float32"),
                .init(key: "backbone.bn1.weight", shape: [4], dtype: "float32"),
                .init(key: "backbone.bn1.num_batches_tracked", shape: [], dtype: "int64"),
                .init(key: "head.fc.weight", shape: [2, 4], dtype: "float32"),
                .init(key: "head.fc.bias", shape: [2], dtype: "float32"),
            ]),
        ])
        XCTAssertTrue(try own.match(tiny.root).isClean)

        let bare = try Checkpoint(path: Fixtures.path("bare_module_prefix.pth"))
        let bl = try XCTUnwrap(CheckpointLayout.detect(bare.root, among: layouts))
        XCTAssertEqual(bl.name, "state-dict")
        XCTAssertTrue(try own.match(.dict([.init(key: .string("state_dict"), value: bare.root)], kind: .dict)).missing.count == 5) // prefixes kept without stripping
        XCTAssertEqual(try bl.match(bare.root).tensors.map(\.name).first, "backbone.conv1.weight") // "module." stripped

        let d2 = try Checkpoint(path: Fixtures.path("c_detectron2_style.pth"))
        XCTAssertEqual(CheckpointLayout.detect(d2.root, among: layouts)?.name, "detectron2")
        XCTAssertEqual(try layouts[1].match(d2.root).tensors.count, 9)
        let pkl = try Checkpoint(path: Fixtures.path("f_d2_p4.pkl"))
        XCTAssertEqual(CheckpointLayout.detect(pkl.root, among: layouts)?.name, "detectron2")
        XCTAssertEqual(try layouts[1].match(pkl.root).tensors.count, 10)
    }

    func testPyTorchWriterRoundTrip() throws {
        let src = URL(fileURLWithPath: Fixtures.path("st_all_dtypes.safetensors"))
        let st = try SafeTensorsFile(url: src)
        let out = try tempURL("all.pth")
        XCTAssertEqual(try PyTorchWriter.write(st, to: out), 24)
        let c = try Checkpoint(path: out.path)
        XCTAssertEqual(c.archivePrefix, "all")
        guard case let .dict(entries, kind) = c.root else { return XCTFail() }
        XCTAssertEqual(kind, .ordered)
        XCTAssertEqual(entries.map(\.key.pathComponent), st.names)
        for name in st.names {
            guard case let .tensor(t)? = c.root[name] else { XCTFail(name); continue }
            let info = try st.info(name)
            XCTAssertEqual(t.dtype.safetensorsName, info.dtype.rawValue, name)
            let same = try c.withTensorBytes(t, name: name) { a in try st.withBytes(name) { b in a.elementsEqual(b) } }
            XCTAssertTrue(same, name)
        }
        // Data of every record is 64-byte aligned, as torch writes it.
        XCTAssertTrue(c.records.allSatisfy { $0.dataOffset % 64 == 0 })
        XCTAssertTrue(Set(c.records.map(\.name)).isSuperset(of: ["data.pkl", "byteorder", "version", ".format_version", "data/0", "data/23"]))
        XCTAssertEqual(try c.recordBytes("byteorder"), Array("little".utf8))
    }
}
