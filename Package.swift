// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "bdd100k-zoo",
    platforms: [.macOS(.v15)],  // Synchronization (Mutex, Atomic)
    products: [
        .executable(name: "zoo", targets: ["zoo"]),
        .library(name: "ZooRegistry", targets: ["ZooRegistry"]),
        .library(name: "ZooStore", targets: ["ZooStore"]),
        .library(name: "TorchCheckpoint", targets: ["TorchCheckpoint"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "PanopticFPN", targets: ["PanopticFPN"]),
        .library(name: "Panoptic", targets: ["Panoptic"]),
        .library(name: "Imaging", targets: ["Imaging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // System libraries (Debian -dev packages).
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev", "libssl-dev"])]),
        .systemLibrary(name: "CZip", pkgConfig: "libzip", providers: [.apt(["libzip-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),

        // Libraries, lowest first. ZooFiles: atomic writes, shared by every module that writes a final file.
        .target(name: "ZooFiles"),
        // zoo.json and Converters/*.json stay at the top level; a symlink in each target folder points at them
        // and SwiftPM embeds their bytes in the binary (`PackageResources`), so no file is needed at run time.
        .target(name: "ZooRegistry", resources: [.embedInCode("zoo.json")]),
        .target(name: "ZooStore", dependencies: [
            "CCurl", "ZooRegistry", "ZooFiles", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "TorchCheckpoint", dependencies: ["CZip", "CCRC32", "SafeTensors", "ZooFiles"], resources: [
            .embedInCode("Converters/mmdet-panoptic-fpn.json"), .embedInCode("Converters/detectron2.json"),
            .embedInCode("Converters/state-dict.json"),
        ]),
        // The zip CRC-32 by carry-less multiplication (C, a per-function target attribute, chosen at run time).
        .target(name: "CCRC32"),
        .target(name: "SafeTensors", dependencies: ["ZooFiles"]),
        // The AVX-512 SGEMM (C, per-function target attributes: loads on any x86-64 CPU).
        .target(name: "CKernels"),
        .target(name: "Tensors", dependencies: ["COpenBLAS", "CKernels"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),
        .target(name: "PanopticFPN", dependencies: ["Tensors", "SafeTensors", "Imaging", "ZooRegistry", "TorchCheckpoint"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),
        .target(name: "Panoptic", dependencies: ["CPNG", "ZooFiles"]),
        .target(name: "Imaging", dependencies: ["CTurboJPEG", "CPNG"]),
        // Datasets through the model: sharding, the resumable journal, merging shard outputs.
        .target(name: "Pipeline", dependencies: ["Panoptic", "Imaging", "ZooFiles"]),
        // The GPU backend's foundation: CUDA libraries loaded at run time (dlopen), kernels compiled by NVRTC.
        .target(name: "ZooCUDA"),

        // From weights and images to written results: weight sources, the engine options, the one
        // decode-ahead / compute / write-behind loop (several pipelines sharing the weights).
        .target(name: "Runner", dependencies: [
            "PanopticFPN", "Pipeline", "TorchCheckpoint", "SafeTensors", "Tensors", "Imaging", "Panoptic",
            "ZooRegistry", "ZooFiles",
        ]),

        // A loopback HTTP server: the demo's local mirror, and the socket under the tests' server.
        .target(name: "DemoSupport"),

        // The command-line tool: thin, one file per subcommand.
        .executableTarget(name: "zoo", dependencies: [
            "ZooRegistry", "ZooStore", "TorchCheckpoint", "SafeTensors", "Tensors", "PanopticFPN",
            "Panoptic", "Imaging", "Pipeline", "ZooFiles", "Runner", "DemoSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // Benchmarks (release builds): see Benchmarks/README.md.
        .executableTarget(name: "dense-bench", dependencies: ["PanopticFPN", "Imaging", "Tensors", "COpenBLAS", "ZooRegistry"],
                          path: "Benchmarks/DenseBenchmark"),
        .executableTarget(name: "heads-bench", dependencies: ["PanopticFPN", "Tensors", "ZooRegistry"],
                          path: "Benchmarks/HeadsBench"),

        // Tests mirror Sources/.
        .testTarget(name: "ZooRegistryTests", dependencies: ["ZooRegistry"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Panoptic", "ZooFiles"]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "PanopticFPN", "Pipeline", "Panoptic", "Imaging", "Tensors", "ZooRegistry"]),
        .testTarget(name: "TorchCheckpointTests", dependencies: [
            "TorchCheckpoint", "SafeTensors", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "ZooCLITests", dependencies: [
            "zoo", "ZooRegistry", "HTTPTestServer", "Pipeline", "Panoptic", "PanopticFPN",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "ZooStoreTests", dependencies: ["ZooStore", "ZooRegistry", "HTTPTestServer"]),
        // A loopback HTTP server with fault injection, shared by the download tests.
        .target(name: "HTTPTestServer", dependencies: ["DemoSupport"], path: "Tests/HTTPTestServer"),
        .testTarget(name: "DemoSupportTests", dependencies: ["DemoSupport"]),
        // Loading the reference arrays of Tests/Fixtures (shared by the numeric test targets).
        .target(name: "FixtureSupport", path: "Tests/FixtureSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CKernels"]),
        .testTarget(name: "ImagingTests", dependencies: [
            "Imaging", "FixtureSupport", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "PanopticFPNTests", dependencies: [
            "PanopticFPN", "Tensors", "Imaging", "ZooRegistry", "Panoptic", "TorchCheckpoint", "FixtureSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "PanopticTests", dependencies: ["Panoptic"]),
        .testTarget(name: "ZooCUDATests", dependencies: ["ZooCUDA"]),

        // Fuzzing: the parsers under test (shared by the fuzzer and the regression replay) and the
        // bounded fuzzer itself (scripts/fuzz.sh; Tests/Fixtures/fuzz/README.md).
        .target(name: "FuzzTargets", dependencies: [
            "Imaging", "Panoptic", "Pipeline", "SafeTensors", "TorchCheckpoint", "ZooRegistry", "ZooStore",
        ], path: "Tests/Fuzz/FuzzTargets"),
        .executableTarget(name: "zoo-fuzz", dependencies: ["FuzzTargets", "Imaging"], path: "Tests/Fuzz/ZooFuzz"),
        .testTarget(name: "FuzzReplayTests", dependencies: ["FuzzTargets"]),
    ],
    swiftLanguageModes: [.v6]
)
