import CKernels
import XCTest
@testable import Tensors

/// The SGEMMs against a double-precision definition: every transpose, beta 0 / 1 / other, leading dimensions
/// wider than the rows, sizes that leave partial register tiles and span several cache blocks (KC 384,
/// MC 96, NC 2304), and the columns past n left alone.
final class GEMMTests: XCTestCase {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (7, 5, 3), (8, 48, 384), (9, 49, 385), (97, 130, 50), (200, 2400, 20), (13, 60, 800), (3, 17, 256),
    ]

    typealias SGEMM = (Bool, Bool, Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Float,
                       UnsafeMutablePointer<Float>, Int) -> Void

    func check(_ name: String, _ gemm: SGEMM, file: StaticString = #filePath, line: UInt = #line) {
        var seed: UInt64 = 7
        for (m, n, k) in Self.shapes {
            for transA in [false, true] { for transB in [false, true] { for beta: Float in [0, 1, 0.5] {
                let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 7
                seed += 1
                let a = pseudoRandom((transA ? k : m) * lda, seed: seed)
                let b = pseudoRandom((transB ? n : k) * ldb, seed: seed + 100)
                let c0 = pseudoRandom(m * ldc, seed: seed + 200)
                var c = c0
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    gemm(transA, transB, m, n, k, ap.baseAddress!, lda, bp.baseAddress!, ldb, beta, cp.baseAddress!, ldc)
                } } }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<ldc {
                        let got = Double(c[i * ldc + j])
                        if j >= n {
                            XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "\(name): column \(j) past n = \(n) written",
                                           file: file, line: line)
                            continue
                        }
                        var s = 0.0, magnitude = 0.0
                        for p in 0..<k {
                            let av = transA ? a[p * lda + i] : a[i * lda + p]
                            let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                            s += Double(av) * Double(bv)
                            magnitude += abs(Double(av) * Double(bv))
                        }
                        s += Double(beta) * Double(c0[i * ldc + j])
                        magnitude += abs(Double(beta) * Double(c0[i * ldc + j]))
                        // The float32 summation bound (k + 2) u sum |terms|: a wrong or missing term breaks it.
                        worst = max(worst, abs(got - s) / (Double(k + 2) * 1.2e-7 * magnitude + 1e-30))
                    }
                }
                XCTAssertLessThan(worst, 1, "\(name) m \(m) n \(n) k \(k) transA \(transA) transB \(transB) beta \(beta)",
                                  file: file, line: line)
            } } }
        }
    }

    func testAVX512KernelMatchesTheDefinition() {
        guard zoo_avx512_available() else {
            // Without AVX-512 the kernels must not pick it.
            XCTAssertEqual(GEMM.backend(.default), .openBLAS)
            return
        }
        check("zoo_sgemm_avx512") { ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc in
            XCTAssertTrue(zoo_sgemm_avx512(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc))
        }
    }

    func testBackendInUseMatchesTheDefinition() {
        let backend = GEMM.backend(.default)
        check(GEMM.backendName(.default)) { ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc in
            GEMM.kernel(backend, transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// With OpenBLAS's own thread pool the kernels call OpenBLAS, never the AVX-512 kernel.
    func testOpenBLASPoolUsesOpenBLAS() {
        var engine = EngineOptions.default
        engine.gemmThreading = .openBLASPool
        XCTAssertEqual(GEMM.backend(engine), .openBLAS)
        XCTAssertTrue(engine.sgemmName.hasPrefix("OpenBLAS"), engine.sgemmName)
    }

    /// The SGEMM is part of the options value: `.openBLAS` picks OpenBLAS whatever the CPU, `.auto` the AVX-512
    /// kernel where the CPU has it; `ZOO_GEMM` only sets the value's default (runs and `EngineOptions.default`).
    func testSGEMMKernelIsAnOption() {
        let forced = EngineOptions(threads: 2, sgemmKernel: .openBLAS)
        XCTAssertEqual(GEMM.backend(forced), .openBLAS)
        XCTAssertTrue(forced.sgemmName.hasPrefix("OpenBLAS"), forced.sgemmName)
        let auto = EngineOptions(threads: 2)
        XCTAssertEqual(GEMM.backend(auto), zoo_avx512_available() ? .avx512 : .openBLAS)
        XCTAssertEqual(EngineOptions.SGEMMKernel.fromEnvironment(["ZOO_GEMM": " OpenBLAS "]), .openBLAS)
        XCTAssertEqual(EngineOptions.SGEMMKernel.fromEnvironment(["ZOO_GEMM": "avx512"]), .auto)
        XCTAssertEqual(EngineOptions.SGEMMKernel.fromEnvironment([:]), .auto)
    }

    /// The GEMM split over the threads (by columns, or by rows when there are few columns), with 1, 3 and 4
    /// threads, and on OpenBLAS's pool.
    func testSplitGEMMMatchesTheDefinition() {
        var pool = EngineOptions(threads: 3)
        pool.gemmThreading = .openBLASPool
        for engine in [EngineOptions(threads: 1), EngineOptions(threads: 3), EngineOptions(threads: 4), pool,
                       EngineOptions(threads: 3, sgemmKernel: .openBLAS)] {
        for (m, n, k) in [(300, 700, 40), (700, 60, 90), (64, 2048, 32)] {
            let a = pseudoRandom(m * k, seed: 1), b = pseudoRandom(k * n, seed: 2)
            var c = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                GEMM.sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!,
                           ldc: n, engine: engine)
            } } }
            var worst = 0.0
            for i in 0..<m { for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                worst = max(worst, abs(Double(c[i * n + j]) - s) / (1 + abs(s)))
            } }
            XCTAssertLessThan(worst, 1e-5, "m \(m) n \(n) k \(k) threads \(engine.threads) \(engine.gemmThreading)")
        }
        }
        EngineOptions.default.prepareBLAS()
    }
}
