/// NVRTC, loaded at run time: compiles `zoo`'s CUDA C kernels to PTX inside the process, so the package needs
/// no CUDA toolkit at build time. Compiling does not need a GPU.
public final class NVRTC: Sendable {
    /// The oldest NVRTC `zoo` accepts (CUDA 12.0: sm_90 and the C++17 it compiles our kernels with).
    public static let minimumVersion = (major: 12, minor: 0)

    public let library: DynamicLibrary
    public let version: (major: Int, minor: Int)

    private typealias VersionFn = @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32
    private typealias CreateFn = @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafePointer<CChar>,
                                                 UnsafePointer<CChar>, Int32, UnsafePointer<UnsafePointer<CChar>?>?,
                                                 UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    private typealias CompileFn = @convention(c) (OpaquePointer?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    private typealias SizeFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>) -> Int32
    private typealias TextFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>) -> Int32
    private typealias DestroyFn = @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias ErrorStringFn = @convention(c) (Int32) -> UnsafePointer<CChar>?

    private let create: CreateFn
    private let compileProgram: CompileFn
    private let ptxSize: SizeFn
    private let ptx: TextFn
    private let logSize: SizeFn
    private let log: TextFn
    private let destroy: DestroyFn
    private let errorString: ErrorStringFn

    /// Loads NVRTC through `locator` and checks its version.
    public init(locator: CUDALibraryLocator) throws {
        let lib = try locator.open(.nvrtc)
        library = lib
        let versionFn = try lib.function("nvrtcVersion", as: VersionFn.self)
        create = try lib.function("nvrtcCreateProgram", as: CreateFn.self)
        compileProgram = try lib.function("nvrtcCompileProgram", as: CompileFn.self)
        ptxSize = try lib.function("nvrtcGetPTXSize", as: SizeFn.self)
        ptx = try lib.function("nvrtcGetPTX", as: TextFn.self)
        logSize = try lib.function("nvrtcGetProgramLogSize", as: SizeFn.self)
        log = try lib.function("nvrtcGetProgramLog", as: TextFn.self)
        destroy = try lib.function("nvrtcDestroyProgram", as: DestroyFn.self)
        errorString = try lib.function("nvrtcGetErrorString", as: ErrorStringFn.self)
        var major: Int32 = 0, minor: Int32 = 0
        let status = versionFn(&major, &minor)
        guard status == 0 else { throw CUDAError.nvrtc(call: "nvrtcVersion", code: status, text: "failed") }
        version = (Int(major), Int(minor))
        let needed = Self.minimumVersion
        if version.major < needed.major || (version.major == needed.major && version.minor < needed.minor) {
            throw CUDAError.libraryTooOld(library: lib.library, path: lib.path, found: "\(major).\(minor)",
                                          needed: "\(needed.major).\(needed.minor)")
        }
    }

    /// Compiles `source` for `architecture` (e.g. `compute_90`) and returns the PTX text.
    /// `--fmad=false` keeps each multiply and add rounded as the CPU path rounds them.
    public func compile(source: String, name: String, architecture: String,
                        extraOptions: [String] = []) throws -> String {
        let options = ["--gpu-architecture=\(architecture)", "--std=c++17", "--fmad=false",
                       "--include-path=/nonexistent"] + extraOptions
        var program: OpaquePointer?
        try check("nvrtcCreateProgram", create(&program, source, name, 0, nil, nil))
        defer { _ = destroy(&program) }
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let status = cOptions.map { UnsafePointer<CChar>($0) }.withUnsafeBufferPointer {
            compileProgram(program, Int32($0.count), $0.baseAddress)
        }
        if status != 0 {
            throw CUDAError.compile(architecture: architecture, log: programLog(program))
        }
        var size = 0
        try check("nvrtcGetPTXSize", ptxSize(program, &size))
        guard size > 0, size < 256 << 20 else {
            throw CUDAError.nvrtc(call: "nvrtcGetPTXSize", code: 0, text: "implausible PTX size \(size)")
        }
        var bytes = [CChar](repeating: 0, count: size)
        try check("nvrtcGetPTX", ptx(program, &bytes))
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func programLog(_ program: OpaquePointer?) -> String {
        var size = 0
        guard logSize(program, &size) == 0, size > 0, size < 16 << 20 else { return "(no log)" }
        var bytes = [CChar](repeating: 0, count: size)
        guard log(program, &bytes) == 0 else { return "(no log)" }
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func check(_ call: String, _ status: Int32) throws {
        guard status == 0 else {
            let text = errorString(status).map { String(cString: $0) } ?? "unknown error"
            throw CUDAError.nvrtc(call: call, code: status, text: text)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
