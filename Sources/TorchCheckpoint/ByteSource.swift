#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random access to the bytes of a checkpoint: a file read with `pread` (so only what is read is in
/// memory, and nothing stays mapped) or bytes held in memory (tests, fuzzing).
public final class ByteSource: @unchecked Sendable {
    public let name: String
    public let size: Int
    let path: String?
    private let fd: Int32
    private let memory: UnsafeMutableRawBufferPointer?

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError.io(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw CheckpointError.io(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CheckpointError.io(path: path, reason: "not a regular file")
        }
        self.fd = fd
        self.size = Int(st.st_size)
        self.path = path
        self.name = path
        self.memory = nil
    }

    public init(bytes: [UInt8], name: String = "<memory>") {
        let m = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { src in if src.count > 0 { m.copyMemory(from: src) } }
        self.memory = m
        self.size = bytes.count
        self.fd = -1
        self.path = nil
        self.name = name
    }

    deinit {
        if fd >= 0 { close(fd) }
        memory?.deallocate()
    }

    /// The whole buffer when the source is in memory (libzip reads it from there).
    var memoryBytes: UnsafeRawBufferPointer? {
        memory.map { UnsafeRawBufferPointer(rebasing: $0[0 ..< size]) }
    }

    /// Fills `buffer` with the bytes at `offset`; the range must lie inside the source.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        guard offset >= 0, buffer.count <= size, offset <= size - buffer.count else {
            throw CheckpointError.corrupt("\(name): a read of \(buffer.count) bytes at \(offset) runs past the end of the file (\(size) bytes); the file is truncated")
        }
        if buffer.count == 0 { return }
        if let m = memory {
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: m[offset ..< offset + buffer.count]))
            return
        }
        var done = 0
        while done < buffer.count {
            let r = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if r < 0 {
                if errno == EINTR { continue }
                throw CheckpointError.io(path: name, reason: String(cString: strerror(errno)))
            }
            if r == 0 { throw CheckpointError.corrupt("\(name): the file shrank while being read") }
            done += r
        }
    }

    public func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= size else {
            throw CheckpointError.corrupt("\(name): a read of \(count) bytes is larger than the file")
        }
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        return out
    }
}

/// A heap buffer that frees itself; holds one storage record or one materialised tensor.
public final class OwnedBytes: @unchecked Sendable {
    public let buffer: UnsafeMutableRawBufferPointer
    public init(count: Int) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        count_ = count
    }
    private let count_: Int
    public var count: Int { count_ }
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0 ..< count_]) }
    deinit { buffer.deallocate() }
}
