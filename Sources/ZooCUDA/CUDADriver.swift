/// What the driver says about one GPU.
public struct GPUInfo: Sendable, Equatable {
    public let ordinal: Int
    public let name: String
    public let memoryBytes: Int
    public let computeCapability: (major: Int, minor: Int)
    /// The NVRTC architecture to compile for, e.g. `compute_90` on an H100/H200.
    public var architecture: String { "compute_\(computeCapability.major)\(computeCapability.minor)" }

    public static func == (a: GPUInfo, b: GPUInfo) -> Bool {
        a.ordinal == b.ordinal && a.name == b.name && a.memoryBytes == b.memoryBytes
            && a.computeCapability == b.computeCapability
    }
}

/// The NVIDIA driver API (`libcuda.so.1`), loaded at run time: initialisation and device discovery.
public final class CUDADriver: Sendable {
    /// The oldest driver `zoo` accepts: one that runs CUDA 12.0 code.
    public static let minimumVersion = 12000

    public let library: DynamicLibrary
    /// As `cuDriverGetVersion` gives it: 1000 * major + 10 * minor.
    public let version: Int

    private typealias InitFn = @convention(c) (UInt32) -> Int32
    private typealias IntOutFn = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    private typealias DeviceGetFn = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias NameFn = @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> Int32
    private typealias MemFn = @convention(c) (UnsafeMutablePointer<Int>, Int32) -> Int32
    private typealias AttributeFn = @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Int32
    private typealias ErrorNameFn = @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32

    private let deviceCountFn: IntOutFn
    private let deviceGet: DeviceGetFn
    private let deviceName: NameFn
    private let totalMem: MemFn
    private let attribute: AttributeFn
    private let errorName: ErrorNameFn

    public init(locator: CUDALibraryLocator) throws {
        let lib = try locator.open(.driver)
        library = lib
        let initFn = try lib.function("cuInit", as: InitFn.self)
        let versionFn = try lib.function("cuDriverGetVersion", as: IntOutFn.self)
        deviceCountFn = try lib.function("cuDeviceGetCount", as: IntOutFn.self)
        deviceGet = try lib.function("cuDeviceGet", as: DeviceGetFn.self)
        deviceName = try lib.function("cuDeviceGetName", as: NameFn.self)
        totalMem = try lib.function("cuDeviceTotalMem_v2", as: MemFn.self)
        attribute = try lib.function("cuDeviceGetAttribute", as: AttributeFn.self)
        errorName = try lib.function("cuGetErrorName", as: ErrorNameFn.self)
        var v: Int32 = 0
        let status = versionFn(&v)
        version = Int(v)
        if status != 0 { throw Self.error("cuDriverGetVersion", status, errorName) }
        if version < Self.minimumVersion {
            throw CUDAError.libraryTooOld(library: lib.library, path: lib.path,
                                          found: Self.versionText(version), needed: Self.versionText(Self.minimumVersion))
        }
        let initStatus = initFn(0)
        if initStatus != 0 { throw Self.error("cuInit", initStatus, errorName) }
    }

    /// "12.4" for 12040.
    public static func versionText(_ v: Int) -> String { "\(v / 1000).\((v % 1000) / 10)" }

    public func deviceCount() throws -> Int {
        var n: Int32 = 0
        let status = deviceCountFn(&n)
        if status != 0 { throw Self.error("cuDeviceGetCount", status, errorName) }
        return Int(n)
    }

    public func device(_ ordinal: Int) throws -> GPUInfo {
        let count = try deviceCount()
        guard ordinal >= 0, ordinal < count else { throw CUDAError.noSuchDevice(ordinal: ordinal, count: count) }
        var device: Int32 = 0
        var status = deviceGet(&device, Int32(ordinal))
        if status != 0 { throw Self.error("cuDeviceGet", status, errorName) }
        var name = [CChar](repeating: 0, count: 256)
        status = deviceName(&name, Int32(name.count - 1), device)
        if status != 0 { throw Self.error("cuDeviceGetName", status, errorName) }
        var bytes = 0
        status = totalMem(&bytes, device)
        if status != 0 { throw Self.error("cuDeviceTotalMem_v2", status, errorName) }
        var major: Int32 = 0, minor: Int32 = 0
        // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76.
        status = attribute(&major, 75, device)
        if status == 0 { status = attribute(&minor, 76, device) }
        if status != 0 { throw Self.error("cuDeviceGetAttribute", status, errorName) }
        let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return GPUInfo(ordinal: ordinal, name: text, memoryBytes: bytes, computeCapability: (Int(major), Int(minor)))
    }

    private static func error(_ call: String, _ status: Int32, _ errorName: ErrorNameFn) -> CUDAError {
        var text: UnsafePointer<CChar>?
        let name = errorName(status, &text) == 0 ? text.map { String(cString: $0) } ?? "CUDA_ERROR_UNKNOWN"
            : "CUDA_ERROR_UNKNOWN"
        return .driver(call: call, code: status, name: name)
    }
}
