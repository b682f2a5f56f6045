/// Why the GPU cannot be used, phrased for the person at the terminal: what is missing or wrong, and
/// what to do about it.
public enum CUDAError: Error, Equatable, CustomStringConvertible {
    /// No file of a library was found; `searched` lists the places tried, in order.
    case libraryNotFound(library: String, searched: [String])
    /// A library was found but is older than what `zoo` needs.
    case libraryTooOld(library: String, path: String, found: String, needed: String)
    /// A library was found but lacks a function `zoo` calls (a different or damaged build).
    case missingSymbol(library: String, path: String, symbol: String)
    /// A call into the driver failed.
    case driver(call: String, code: Int32, name: String)
    /// `--device` named something that is not a device.
    case badDeviceSpec(String)
    /// `--device cuda:N` named a GPU that does not exist.
    case noSuchDevice(ordinal: Int, count: Int)
    /// NVRTC refused our kernel source (a bug in `zoo`, or an NVRTC too old for the architecture).
    case compile(architecture: String, log: String)
    /// A call into NVRTC failed.
    case nvrtc(call: String, code: Int32, text: String)

    public var description: String {
        switch self {
        case let .libraryNotFound(library, searched):
            return "\(library) was not found (searched: \(searched.joined(separator: ", "))); install the NVIDIA "
                + "driver and CUDA libraries, or point ZOO_CUDA_LIBS at the folders holding them (colon-separated; "
                + "PyTorch wheels keep them under site-packages/nvidia/*/lib), or use --device cpu"
        case let .libraryTooOld(library, path, found, needed):
            return "\(library) at \(path) is version \(found); zoo needs \(needed) or newer: update it, point "
                + "ZOO_CUDA_LIBS at a newer copy, or use --device cpu"
        case let .missingSymbol(library, path, symbol):
            return "\(library) at \(path) has no function \(symbol): it is not a usable build of \(library); "
                + "point ZOO_CUDA_LIBS at another copy, or use --device cpu"
        case let .driver(call, code, name):
            return "the NVIDIA driver failed in \(call) (\(name), code \(code)); check `nvidia-smi`, or use --device cpu"
        case let .badDeviceSpec(text):
            return "'\(text)' is not a device: use auto, cpu, cuda or cuda:N (N counts from 0)"
        case let .noSuchDevice(ordinal, count):
            return count == 0
                ? "cuda:\(ordinal) was asked for but the driver sees no GPU; check `nvidia-smi`, or use --device cpu"
                : "cuda:\(ordinal) was asked for but the driver sees \(count) GPU\(count == 1 ? "" : "s") "
                    + "(cuda:0 to cuda:\(count - 1))"
        case let .compile(architecture, log):
            return "NVRTC could not compile zoo's kernels for \(architecture): \(log)"
        case let .nvrtc(call, code, text):
            return "NVRTC failed in \(call) (\(text), code \(code))"
        }
    }
}
