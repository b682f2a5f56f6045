import Crypto
import Foundation

/// MD5 helpers: parsing published `.md5` files and hashing files in large reads.
public enum Checksum {
    /// The MD5 a `.md5` file states: the first 32 hex digits, so a bare hash and `md5sum` output
    /// (`<hash>  <file>`) both work. Leading whitespace is allowed; anything else is malformed.
    public static func parseMD5File(_ data: Data) -> String? {
        let bytes = [UInt8](data.prefix(4096))
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        func isHex(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
        }
        var i = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 } // a UTF-8 byte-order mark
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        guard bytes.count - i >= 32 else { return nil }
        let digits = bytes[i..<(i + 32)]
        guard digits.allSatisfy(isHex) else { return nil }
        // The hash must end there (end of file, whitespace, or md5sum's binary-mode `*`).
        if i + 32 < bytes.count {
            let next = bytes[i + 32]
            guard isSpace(next) || next == 0x2A else { return nil }
        }
        return String(decoding: digits, as: UTF8.self).lowercased()
    }

    /// The lowercase hex string of a digest.
    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Hashes the first `length` bytes of a file (all of it when nil) into `hasher`, in 4 MiB reads.
    /// Returns the number of bytes read.
    @discardableResult
    static func feed(_ hasher: inout Insecure.MD5, file: URL, length: Int64? = nil) throws -> Int64 {
        let fd = open(file.path, O_RDONLY)
        guard fd >= 0 else { throw StoreError.fileSystem(path: file.path, operation: "open", reason: errnoString()) }
        defer { close(fd) }
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while length.map({ total < $0 }) ?? true {
            let want = length.map { min(Int64(chunk), $0 - total) } ?? Int64(chunk)
            let n = read(fd, buffer.baseAddress, Int(want))
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.fileSystem(path: file.path, operation: "read", reason: errnoString())
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
        }
        return total
    }

    /// The MD5 of a whole file, as lowercase hex.
    public static func md5(of file: URL) throws -> String {
        var h = Insecure.MD5()
        try feed(&h, file: file)
        return hex(h.finalize())
    }
}
