import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a file could not be written. The message names the path and what the system said.
public struct AtomicFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var operation: String
    public var reason: String

    public var description: String {
        let hint: String
        switch reason.lowercased() {
        case let r where r.contains("space") || r.contains("quota"): hint = "; free some disk space and run again"
        case let r where r.contains("not a directory"): hint = "; a part of the path is a file, not a folder: remove it or choose another output folder"
        case let r where r.contains("permission"): hint = "; choose a folder you can write to"
        case let r where r.contains("read-only"): hint = "; the file system is read-only: choose another folder"
        default: hint = ""
        }
        return "\(path): cannot \(operation) (\(reason))" + hint
    }
}

/// Files that land at their final path only when complete: a temporary sibling, fsync, rename, then an
/// fsync of the folder so the new name survives a crash. Every module that writes a final file uses this.
public enum AtomicFile {
    public static func write(_ data: Data, to target: URL) throws {
        let dir = target.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))-" + target.lastPathComponent)
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(path: target.path, operation: "create", reason: errnoString()) }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, raw.baseAddress.map { $0 + off }, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            return true
        }
        var reason = ok ? "" : errnoString()
        if ok, fsync(fd) != 0 { ok = false; reason = errnoString() }
        close(fd)
        guard ok else {
            unlink(tmp.path)
            throw AtomicFileError(path: target.path, operation: "write", reason: reason)
        }
        try rename(tmp, to: target)
    }

    public static func write(_ data: Data, to path: String) throws {
        try write(data, to: URL(fileURLWithPath: path))
    }

    /// Creates the file at `target` with `data` only if no file is there, atomically: a complete temporary
    /// sibling is hard-linked to the final name (link(2) never replaces), so of several processes racing,
    /// exactly one creates it and the others see the winner's complete file. Returns false when a file was
    /// already there (it is left untouched).
    public static func createIfAbsent(_ data: Data, at target: URL) throws -> Bool {
        let dir = target.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))-" + target.lastPathComponent)
        try write(data, to: tmp)
        defer { unlink(tmp.path) }
        guard link(tmp.path, target.path) == 0 else {
            if errno == EEXIST { return false }
            throw AtomicFileError(path: target.path, operation: "create", reason: errnoString())
        }
        let dfd = open(dir.path, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        return true
    }

    /// rename(2) then fsync of the containing folder, so the new name survives a crash.
    public static func rename(_ from: URL, to target: URL) throws {
        guard Foundation.rename(from.path, target.path) == 0 else {
            let reason = errnoString()
            unlink(from.path)
            throw AtomicFileError(path: target.path, operation: "rename \(from.lastPathComponent) to", reason: reason)
        }
        let dfd = open(target.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    static func errnoString() -> String { String(cString: strerror(errno)) }
}

/// `write(2)`, named apart from the writers' own `write` methods (shared by the streaming writers).
public func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
