import CCRC32
import CZip

/// CRC-32 (the zip polynomial): by carry-less multiplication (CCRC32) where the CPU has it, for the
/// whole 16-byte blocks of anything of 64 bytes or more; zlib for the rest. Same value either way.
enum CRC32 {
    static let folding = zoo_crc32_fold_available() != 0

    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { return seed }
        var crc = seed
        var done = 0
        if folding && bytes.count >= 64 {
            done = bytes.count & ~15
            crc = zoo_crc32_fold(crc, base, done)
        }
        if done == bytes.count { return crc }
        return UInt32(truncatingIfNeeded: crc32_z(UInt(crc), base + done, bytes.count - done))
    }

    /// zlib alone (tests compare the two).
    static func zlib(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        return UInt32(truncatingIfNeeded: crc32_z(UInt(seed), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }
}
