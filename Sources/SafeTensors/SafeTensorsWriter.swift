import Foundation
import ZooFiles
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a safetensors file tensor by tensor, never holding more than the bytes handed to it.
/// The header is written first (all sizes are declared up front), then each tensor's bytes in the
/// declared order, possibly in several `write` calls. Everything goes to a temporary sibling that
/// `finish()` fsyncs and renames into place; a writer dropped before `finish()` removes it.
///
/// ```swift
/// let w = try SafeTensorsWriter(url: out, tensors: [.init(name: "w", dtype: .F32, shape: [2, 3])],
///                               metadata: ["format": "pt"])
/// try w.write(bytesOfW)      // 24 bytes
/// try w.finish()
/// ```
public final class SafeTensorsWriter {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: SafeTensorsDType
        public var shape: [Int]
        public init(name: String, dtype: SafeTensorsDType, shape: [Int]) {
            self.name = name; self.dtype = dtype; self.shape = shape
        }
    }

    public let url: URL
    public let entries: [Entry]
    private let tempPath: String
    private var fd: Int32
    private var sizes: [Int]
    private var current = 0
    private var writtenInCurrent = 0
    /// Tensor bytes still to come, over all tensors.
    private var remainingBytes = 0
    /// Bytes in the file so far, and how many of them have been handed to the disk (`kickWriteback`).
    private var fileBytes = 0
    private var kickedBytes = 0
    private var finished = false
    private let metadataRanges: [String: Range<Int>]

    public init(url: URL, tensors: [Entry], metadata: [String: String] = [:]) throws {
        self.url = url
        self.entries = tensors
        var seen = Set<String>()
        var sizes: [Int] = []
        for e in tensors {
            guard e.name != "__metadata__", seen.insert(e.name).inserted else {
                throw SafeTensorsError.writer("duplicate or reserved tensor name '\(e.name)'")
            }
            guard e.shape.allSatisfy({ $0 >= 0 }) else { throw SafeTensorsError.writer("negative dimension in '\(e.name)'") }
            var n = 1
            for s in e.shape {
                let (p, o) = n.multipliedReportingOverflow(by: s)
                guard !o else { throw SafeTensorsError.writer("'\(e.name)' is too large") }
                n = p
            }
            guard let b = e.dtype.byteCount(elements: n) else { throw SafeTensorsError.writer("'\(e.name)' is not a whole number of bytes") }
            sizes.append(b)
        }
        self.sizes = sizes
        remainingBytes = sizes.reduce(0, +)
        let (header, ranges) = SafeTensorsWriter.header(tensors, sizes, metadata)
        metadataRanges = ranges

        let dir = url.deletingLastPathComponent().path
        tempPath = dir + "/." + url.lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0 ... .max)).tmp"
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError.io(path: tempPath, reason: String(cString: strerror(errno))) }
        do {
            var len = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &len) { try put($0) }
            try header.withUnsafeBytes { try put($0) }
        } catch {
            cancel()
            throw error
        }
        skipEmpty()
    }

    deinit { if !finished { cancel() } }

    /// The compact JSON header, space-padded so the data starts at a multiple of 8, and where each
    /// metadata value sits in it (so a value can be filled in later, same length).
    static func header(_ tensors: [Entry], _ sizes: [Int], _ metadata: [String: String]) -> ([UInt8], [String: Range<Int>]) {
        var b: [UInt8] = Array("{".utf8)
        var ranges: [String: Range<Int>] = [:]
        var first = true
        if !metadata.isEmpty {
            b += Array("\"__metadata__\":{".utf8)
            for (i, k) in metadata.keys.sorted().enumerated() {
                if i > 0 { b.append(UInt8(ascii: ",")) }
                b += Array((jsonString(k) + ":").utf8)
                let v = Array(jsonString(metadata[k] ?? "").utf8)
                ranges[k] = b.count ..< b.count + v.count
                b += v
            }
            b.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for (e, size) in zip(tensors, sizes) {
            if !first { b.append(UInt8(ascii: ",")) }
            first = false
            b += Array((jsonString(e.name) + ":{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[" + e.shape.map(String.init).joined(separator: ",")
                + "],\"data_offsets\":[\(offset),\(offset + size)]}").utf8)
            offset += size
        }
        b.append(UInt8(ascii: "}"))
        while (8 + b.count) % 8 != 0 { b.append(0x20) }
        return (b, ranges)
    }

    /// Replaces a metadata value given at creation by one of the same encoded length (a digest
    /// computed while the tensors were being written). Call before `finish()`.
    public func replaceMetadata(_ key: String, with value: String) throws {
        guard !finished, let r = metadataRanges[key] else { throw SafeTensorsError.writer("no metadata value '\(key)' to replace") }
        let v = Array(SafeTensorsWriter.jsonString(value).utf8)
        guard v.count == r.count else { throw SafeTensorsError.writer("metadata '\(key)': the new value has a different length") }
        let n = v.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(8 + r.lowerBound)) }
        guard n == v.count else { throw SafeTensorsError.io(path: tempPath, reason: String(cString: strerror(errno))) }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    private func put(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let r = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if r < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError.io(path: tempPath, reason: String(cString: strerror(errno)))
            }
            done += r
        }
        fileBytes += bytes.count
        if fileBytes - kickedBytes >= SafeTensorsWriter.writebackStep { kickWriteback() }
    }

    /// How much written data may wait in the page cache before the disk is asked to start on it.
    static let writebackStep = 8 << 20

    /// Starts (does not wait for) the disk writes of what was written since the last call, so that the
    /// final fsync finds little left to do and a large file's writeback overlaps the work producing it.
    private func kickWriteback() {
        #if os(Linux)
        if let f = SafeTensorsWriter.syncFileRange { _ = f(fd, off_t(kickedBytes), off_t(fileBytes - kickedBytes), 2) } // SYNC_FILE_RANGE_WRITE
        #endif
        kickedBytes = fileBytes
    }

    #if os(Linux)
    /// glibc's sync_file_range (Linux only; Swift's Glibc module leaves out the GNU declarations).
    private static let syncFileRange: (@convention(c) (Int32, off_t, off_t, UInt32) -> Int32)? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(sym, to: (@convention(c) (Int32, off_t, off_t, UInt32) -> Int32).self)
    }()
    #endif

    /// Waits until every byte written so far is on the disk (fdatasync). Optional before `finish()`: lets
    /// a caller overlap the wait with other work (the placeholder values being computed).
    public func syncData() throws {
        guard !finished else { throw SafeTensorsError.writer("sync after finish") }
        kickWriteback()
        guard fdatasync(fd) == 0 else { throw SafeTensorsError.io(path: tempPath, reason: String(cString: strerror(errno))) }
    }

    private func skipEmpty() {
        while current < sizes.count && sizes[current] == writtenInCurrent {
            current += 1
            writtenInCurrent = 0
        }
    }

    /// The name of the tensor the next bytes belong to (nil when all are written).
    public var nextTensor: String? { current < entries.count ? entries[current].name : nil }

    /// Appends bytes of the current tensor (and possibly the following ones).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw SafeTensorsError.writer("write after finish") }
        guard bytes.count <= remainingBytes else {
            throw SafeTensorsError.writer("\(bytes.count) bytes given but only \(remainingBytes) remain to be written")
        }
        try put(bytes)
        remainingBytes -= bytes.count
        var left = bytes.count
        while left > 0 {
            let take = min(left, sizes[current] - writtenInCurrent)
            writtenInCurrent += take
            left -= take
            skipEmpty()
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Checks every tensor was written in full, fsyncs and renames the file into place.
    public func finish() throws {
        guard !finished else { return }
        guard current == sizes.count else {
            throw SafeTensorsError.writer("'\(entries[current].name)' and later tensors were not written")
        }
        guard fsync(fd) == 0 else { throw SafeTensorsError.io(path: tempPath, reason: String(cString: strerror(errno))) }
        close(fd)
        fd = -1
        guard rename(tempPath, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tempPath)
            finished = true
            throw SafeTensorsError.io(path: url.path, reason: reason)
        }
        finished = true
        let dfd = open(url.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Abandons the file.
    public func cancel() {
        if fd >= 0 { close(fd); fd = -1 }
        if !finished { unlink(tempPath) }
        finished = true
    }
}
