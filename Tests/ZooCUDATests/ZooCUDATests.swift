import Foundation
import XCTest
@testable import ZooCUDA

final class DeviceRequestTests: XCTestCase {
    func testParsesEveryForm() throws {
        XCTAssertEqual(try DeviceRequest(parsing: "auto"), .auto)
        XCTAssertEqual(try DeviceRequest(parsing: "cpu"), .cpu)
        XCTAssertEqual(try DeviceRequest(parsing: "CPU"), .cpu)
        XCTAssertEqual(try DeviceRequest(parsing: "cuda"), .cuda(ordinal: 0))
        XCTAssertEqual(try DeviceRequest(parsing: "cuda:0"), .cuda(ordinal: 0))
        XCTAssertEqual(try DeviceRequest(parsing: "cuda:7"), .cuda(ordinal: 7))
        XCTAssertEqual(DeviceRequest.cuda(ordinal: 3).description, "cuda:3")
    }

    func testRefusesWhatIsNotADevice() {
        for text in ["", "tpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1.5", "cuda: 1", "cuda:+1", "cuda:99999",
                     "cuda:٣", "cuda:0:1"] {
            XCTAssertThrowsError(try DeviceRequest(parsing: text), text) { error in
                XCTAssertEqual(error as? CUDAError, .badDeviceSpec(text))
                XCTAssertTrue("\(error)".contains("use auto, cpu, cuda or cuda:N"), "\(error)")
            }
        }
    }

    func testCPUIsChosenWithoutProbing() throws {
        let probe = DeviceProbe(locator: CUDALibraryLocator(folders: ["/nonexistent"]))
        XCTAssertEqual(try probe.decide(.cpu), .cpu(reason: "device: cpu (--device cpu)"))
    }
}

final class LibraryDiscoveryTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "zoo-cuda-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func testEnvironmentFoldersAreSplitOnColons() {
        let locator = CUDALibraryLocator(environment: ["ZOO_CUDA_LIBS": "/a::/b/c:"])
        XCTAssertEqual(locator.folders, ["/a", "/b/c"])
        XCTAssertEqual(CUDALibraryLocator(environment: [:]).folders, [])
    }

    /// A PyTorch-style `site-packages/nvidia` folder: libraries under `*/lib` are candidates, in name order,
    /// after a library directly in the folder.
    func testFindsLibrariesInPipWheelLayout() throws {
        let fm = FileManager.default
        for sub in ["cuda_nvrtc/lib", "cu13/lib", "cublas/lib"] {
            try fm.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true)
        }
        XCTAssertTrue(fm.createFile(atPath: folder + "/cuda_nvrtc/lib/libnvrtc.so.12", contents: Data("not ELF".utf8)))
        XCTAssertTrue(fm.createFile(atPath: folder + "/cu13/lib/libnvrtc.so.13", contents: Data("not ELF".utf8)))
        XCTAssertTrue(fm.createFile(atPath: folder + "/libnvrtc.so.12", contents: Data("not ELF".utf8)))
        let locator = CUDALibraryLocator(folders: [folder])
        XCTAssertEqual(locator.candidatePaths(for: .nvrtc), [
            folder + "/libnvrtc.so.12", folder + "/cu13/lib/libnvrtc.so.13", folder + "/cuda_nvrtc/lib/libnvrtc.so.12",
        ])
        XCTAssertEqual(locator.candidatePaths(for: .cudnn), [])
    }

    /// A file that is not a library is reported with the loader's reason, and the search goes on.
    func testBrokenLibraryIsNamedWithTheLoadersReason() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: folder + "/libcudnn.so.9", contents: Data("not ELF".utf8)))
        let locator = CUDALibraryLocator(folders: [folder])
        do {
            let lib = try locator.open(.cudnn)
            // A machine with cuDNN installed: the system's copy was taken, never the broken file.
            XCTAssertNotEqual(lib.path, folder + "/libcudnn.so.9")
        } catch let error as CUDAError {
            guard case let .libraryNotFound(library, searched) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(library, "cuDNN (libcudnn)")
            XCTAssertTrue(searched[0].hasPrefix(folder + "/libcudnn.so.9 ("), searched[0])
            XCTAssertTrue(searched.last?.contains("system loader") ?? false, "\(searched)")
            let message = "\(error)"
            XCTAssertTrue(message.contains("ZOO_CUDA_LIBS") && message.contains("--device cpu"), message)
        }
    }

    func testAutoFallsBackToTheCPUAndExplicitCUDAFailsWhenNoDriver() throws {
        let probe = DeviceProbe(locator: CUDALibraryLocator(folders: [folder]))
        if let handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) {
            dlclose(handle)
            // A GPU machine: auto takes the GPU when its libraries are found, and says which.
            if case let .cuda(gpu, reason) = try probe.decide(.auto) {
                XCTAssertTrue(reason.hasPrefix("device: cuda:0 (\(gpu.name)"), reason)
            }
            return
        }
        let decision = try probe.decide(.auto)
        guard case let .cpu(reason) = decision else { return XCTFail("\(decision)") }
        XCTAssertTrue(reason.hasPrefix("device: cpu (auto: no usable GPU: the NVIDIA driver (libcuda.so.1) was not found"),
                      reason)
        XCTAssertThrowsError(try probe.decide(.cuda(ordinal: 0))) { error in
            guard case .libraryNotFound(let library, _)? = error as? CUDAError else { return XCTFail("\(error)") }
            XCTAssertEqual(library, "the NVIDIA driver (libcuda.so.1)")
        }
    }

    func testMessagesSayWhatToDo() {
        XCTAssertEqual("\(CUDAError.noSuchDevice(ordinal: 2, count: 1))",
                       "cuda:2 was asked for but the driver sees 1 GPU (cuda:0 to cuda:0)")
        XCTAssertTrue("\(CUDAError.noSuchDevice(ordinal: 0, count: 0))".contains("sees no GPU"))
        let old = CUDAError.libraryTooOld(library: "NVRTC (libnvrtc)", path: "/x/libnvrtc.so.12", found: "11.8",
                                          needed: "12.0")
        XCTAssertEqual("\(old)", "NVRTC (libnvrtc) at /x/libnvrtc.so.12 is version 11.8; zoo needs 12.0 or newer: "
                       + "update it, point ZOO_CUDA_LIBS at a newer copy, or use --device cpu")
        XCTAssertEqual(CUDADriver.versionText(12040), "12.4")
        XCTAssertEqual(CUDADriver.versionText(13000), "13.0")
    }
}

/// The kernels' source compiles with NVRTC, for the architectures of the GPUs our users have (A100: sm_80,
/// H100/H200: sm_90). Needs NVRTC only (no GPU): `ZOO_CUDA_LIBS=$(scripts/fetch-nvrtc.sh)`; CI sets it.
final class KernelCompileTests: XCTestCase {
    private func nvrtc() throws -> NVRTC {
        do {
            return try NVRTC(locator: CUDALibraryLocator())
        } catch {
            throw XCTSkip("NVRTC is not installed here (\(error)); run ZOO_CUDA_LIBS=$(scripts/fetch-nvrtc.sh)")
        }
    }

    func testKernelsCompileToPTXWithEveryEntryPoint() throws {
        let compiler = try nvrtc()
        XCTAssertGreaterThanOrEqual(compiler.version.major, 12)
        for architecture in ["compute_80", "compute_90"] {
            let ptx = try compiler.compile(source: CUDAKernels.source, name: "zoo_kernels.cu", architecture: architecture)
            XCTAssertTrue(ptx.contains(".target sm_\(architecture.dropFirst(8))"), architecture)
            for entry in CUDAKernels.entryPoints {
                XCTAssertTrue(ptx.contains(".entry \(entry)("), "\(entry) missing for \(architecture)")
            }
            // --fmad=false: no fused multiply-add in the single-precision arithmetic.
            XCTAssertFalse(ptx.contains("fma.rn.f32"), architecture)
        }
    }

    func testCompileErrorsCarryNVRTCsLog() throws {
        let compiler = try nvrtc()
        XCTAssertThrowsError(try compiler.compile(source: "extern \"C\" __global__ void k() { undeclared = 1; }",
                                                  name: "bad.cu", architecture: "compute_90")) { error in
            guard case let .compile(architecture, log)? = error as? CUDAError else { return XCTFail("\(error)") }
            XCTAssertEqual(architecture, "compute_90")
            XCTAssertTrue(log.contains("undeclared"), log)
        }
    }
}
