import XCTest
@testable import TorchCheckpoint

/// The CRC-32 every zip record is checked with: the carry-less multiplication path gives zlib's value
/// and the textbook bitwise one, for every length (below 64 bytes, tails that are not whole 16-byte
/// blocks), alignment and running seed.
final class CRC32Tests: XCTestCase {
    /// Bit by bit, reflected polynomial 0xEDB88320: the definition.
    private func bitwise(_ bytes: ArraySlice<UInt8>, seed: UInt32) -> UInt32 {
        var c = ~seed
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    func testFoldingEqualsZlibAndTheDefinition() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        data.withUnsafeBytes { all in
            for length in Array(0...200) + [255, 256, 1000, 4096 + 7, 65_536, 69_000] {
                for offset in [0, 1, 13] where offset + length <= data.count {
                    let seed: UInt32 = length % 3 == 0 ? 0 : UInt32.random(in: 0 ... .max, using: &rng)
                    let piece = UnsafeRawBufferPointer(rebasing: all[offset ..< offset + length])
                    let want = bitwise(data[offset ..< offset + length], seed: seed)
                    XCTAssertEqual(CRC32.checksum(piece, seed: seed), want, "length \(length) offset \(offset)")
                    XCTAssertEqual(CRC32.zlib(piece, seed: seed), want, "length \(length) offset \(offset)")
                }
            }
        }
        // "123456789" is the standard check value of CRC-32.
        Array("123456789".utf8).withUnsafeBytes { XCTAssertEqual(CRC32.checksum($0), 0xCBF4_3926) }
    }

    /// Pieces chained through the seed give the CRC of the whole, as a streamed record is checked.
    func testChainedPiecesGiveTheWhole() {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        data.withUnsafeBytes { all in
            let whole = CRC32.checksum(all)
            for piece in [1, 15, 16, 63, 64, 100, 4096] {
                var crc: UInt32 = 0
                var at = 0
                while at < all.count {
                    let n = min(piece, all.count - at)
                    crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[at ..< at + n]), seed: crc)
                    at += n
                }
                XCTAssertEqual(crc, whole, "piece \(piece)")
            }
        }
        XCTAssertTrue(CRC32.folding || !isX86, "this x86-64 CPU has PCLMULQDQ and SSE4.1; the fast path should be taken")
    }

    private var isX86: Bool {
        #if arch(x86_64)
        return true
        #else
        return false
        #endif
    }
}
