import Foundation

/// Hand-made PNG files for the hostile-input tests: a sound signature, chunks with correct CRCs, and
/// whatever header and data the test needs (a 100000x100000 bomb, data that is not zlib, ...).
enum CraftedPNG {
    /// One chunk: length, type, payload, CRC-32 of type and payload (bit by bit, as the PNG spec defines it).
    static func chunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + payload
        var crc: UInt32 = 0xFFFF_FFFF
        for b in body {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        return bigEndian(UInt32(payload.count)) + body + bigEndian(crc)
    }

    /// Signature, IHDR (8-bit, `colorType` 2 = RGB, 6 = RGBA), an IDAT of `data` when given, IEND.
    static func file(width: UInt32, height: UInt32, colorType: UInt8, data: [UInt8]? = nil) -> Data {
        let ihdr = bigEndian(width) + bigEndian(height) + [8, colorType, 0, 0, 0]
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr)
        if let data { png += chunk("IDAT", data) }
        return Data(png + chunk("IEND", []))
    }

    /// A 45-byte PNG whose IHDR says 100000x100000 RGBA (40 GB decoded).
    static func bomb() -> Data { file(width: 100_000, height: 100_000, colorType: 6) }

    private static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
    }
}
