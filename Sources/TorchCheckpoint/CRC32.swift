import CZip

/// CRC-32 (the zip polynomial) through zlib.
enum CRC32 {
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        return UInt32(truncatingIfNeeded: crc32_z(UInt(seed), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }
}
