/// `--device auto|cpu|cuda|cuda:N`.
public enum DeviceRequest: Sendable, Equatable, CustomStringConvertible {
    case auto
    case cpu
    case cuda(ordinal: Int)

    public init(parsing text: String) throws {
        let t = text.lowercased()
        switch t {
        case "auto": self = .auto
        case "cpu": self = .cpu
        case "cuda", "gpu": self = .cuda(ordinal: 0)
        default:
            guard t.hasPrefix("cuda:"), let n = Int(t.dropFirst(5)), n >= 0, n < 1024,
                  t.dropFirst(5).allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw CUDAError.badDeviceSpec(text)
            }
            self = .cuda(ordinal: n)
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case let .cuda(n): return "cuda:\(n)"
        }
    }
}

/// Where the network runs, and why (the first progress line prints `reason`).
public enum DeviceDecision: Sendable, Equatable {
    case cpu(reason: String)
    case cuda(GPUInfo, reason: String)

    public var reason: String {
        switch self {
        case let .cpu(reason), let .cuda(_, reason): return reason
        }
    }
}

/// Turns a request into a decision by probing the driver and the libraries the GPU path needs.
/// `auto` falls back to the CPU with the reason; an explicit `cuda[:N]` that cannot be had is an error.
public struct DeviceProbe: Sendable {
    public let locator: CUDALibraryLocator
    /// The libraries the GPU path loads besides the driver.
    public let libraries: [CUDALibrarySpec]

    public init(locator: CUDALibraryLocator, libraries: [CUDALibrarySpec] = [.nvrtc, .cublas, .cudnn]) {
        self.locator = locator
        self.libraries = libraries
    }

    public func decide(_ request: DeviceRequest) throws -> DeviceDecision {
        let ordinal: Int
        switch request {
        case .cpu: return .cpu(reason: "device: cpu (--device cpu)")
        case .auto: ordinal = 0
        case let .cuda(n): ordinal = n
        }
        do {
            let driver = try CUDADriver(locator: locator)
            let gpu = try driver.device(ordinal)
            for spec in libraries { _ = try locator.open(spec) }
            let gib = Double(gpu.memoryBytes) / Double(1 << 30)
            let what = "\(gpu.name), \(String(format: "%.0f", gib)) GiB, sm_\(gpu.computeCapability.major)"
                + "\(gpu.computeCapability.minor), driver \(CUDADriver.versionText(driver.version))"
            return .cuda(gpu, reason: "device: cuda:\(ordinal) (\(what); --device \(request))")
        } catch let error as CUDAError {
            if request == .auto { return .cpu(reason: "device: cpu (auto: no usable GPU: \(error))") }
            throw error
        }
    }
}

#if canImport(Foundation)
import Foundation
#endif
