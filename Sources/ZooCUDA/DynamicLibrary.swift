#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A shared library opened with `dlopen`, never closed (its functions stay callable for the life of the
/// process). Immutable after opening.
public final class DynamicLibrary: Sendable {
    /// What the library is called in messages ("NVRTC", "the NVIDIA driver (libcuda)", ...).
    public let library: String
    /// The file that was opened: the full path, or the soname when the system loader found it.
    public let path: String
    /// The `dlopen` handle, kept as an integer so the class is plainly `Sendable`; it never changes.
    private let handle: UInt

    init(library: String, path: String, handle: UnsafeMutableRawPointer) {
        self.library = library
        self.path = path
        self.handle = UInt(bitPattern: handle)
    }

    /// The address of `name`, or an error naming the library and the symbol.
    public func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
        guard let pointer = UnsafeMutableRawPointer(bitPattern: handle), let address = dlsym(pointer, name) else {
            throw CUDAError.missingSymbol(library: library, path: path, symbol: name)
        }
        return address
    }

    /// The address of `name` as a C function of type `T`.
    public func function<T>(_ name: String, as type: T.Type) throws -> T {
        unsafeBitCast(try symbol(name), to: type)
    }
}

/// One of the CUDA libraries `zoo` loads at run time, with the file names it may have.
public struct CUDALibrarySpec: Sendable, Equatable {
    /// For messages.
    public let library: String
    /// File names to try, newest first (sonames, as the loader and the pip wheels name them).
    public let fileNames: [String]

    public static let driver = CUDALibrarySpec(library: "the NVIDIA driver (libcuda.so.1)", fileNames: ["libcuda.so.1"])
    public static let nvrtc = CUDALibrarySpec(library: "NVRTC (libnvrtc)",
                                              fileNames: ["libnvrtc.so.13", "libnvrtc.so.12"])
    public static let cublas = CUDALibrarySpec(library: "cuBLAS (libcublas)",
                                               fileNames: ["libcublas.so.13", "libcublas.so.12"])
    public static let cudnn = CUDALibrarySpec(library: "cuDNN (libcudnn)", fileNames: ["libcudnn.so.9"])
}

/// Finds and opens the CUDA libraries: first in the folders of `ZOO_CUDA_LIBS` (each folder itself, and for
/// a folder such as `site-packages/nvidia`, every `*/lib` below it), then through the system loader
/// (`LD_LIBRARY_PATH`, the ld.so cache).
public struct CUDALibraryLocator: Sendable {
    /// The folders from `ZOO_CUDA_LIBS`, in order.
    public let folders: [String]

    public init(folders: [String]) {
        self.folders = folders
    }

    /// Reads `ZOO_CUDA_LIBS` from `environment` (colon-separated; empty entries ignored).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let value = environment["ZOO_CUDA_LIBS"] ?? ""
        self.init(folders: value.split(separator: ":", omittingEmptySubsequences: true).map(String.init))
    }

    /// The full paths to try for `spec` in the `ZOO_CUDA_LIBS` folders, in order.
    public func candidatePaths(for spec: CUDALibrarySpec) -> [String] {
        var paths: [String] = []
        let fm = FileManager.default
        for folder in folders {
            var dirs = [folder]
            // A PyTorch-style `site-packages/nvidia` folder: its packages keep their libraries in `*/lib`.
            if let children = try? fm.contentsOfDirectory(atPath: folder) {
                for child in children.sorted() {
                    let lib = folder + "/" + child + "/lib"
                    var isDir: ObjCBool = false
                    if fm.fileExists(atPath: lib, isDirectory: &isDir), isDir.boolValue { dirs.append(lib) }
                }
            }
            for dir in dirs {
                for name in spec.fileNames {
                    let path = dir + "/" + name
                    if fm.fileExists(atPath: path) { paths.append(path) }
                }
            }
        }
        return paths
    }

    /// Opens `spec`: the first candidate in `ZOO_CUDA_LIBS` that loads, else the system loader's copy.
    public func open(_ spec: CUDALibrarySpec) throws -> DynamicLibrary {
        var searched: [String] = []
        for path in candidatePaths(for: spec) {
            if let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) {
                return DynamicLibrary(library: spec.library, path: path, handle: handle)
            }
            searched.append("\(path) (\(Self.lastError()))")
        }
        if !folders.isEmpty && searched.isEmpty {
            searched.append("ZOO_CUDA_LIBS=\(folders.joined(separator: ":"))")
        }
        for name in spec.fileNames {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
                return DynamicLibrary(library: spec.library, path: name, handle: handle)
            }
        }
        searched.append("the system loader path (\(spec.fileNames.joined(separator: ", ")))")
        throw CUDAError.libraryNotFound(library: spec.library, searched: searched)
    }

    private static func lastError() -> String {
        guard let text = dlerror() else { return "could not be loaded" }
        return String(cString: text)
    }
}
