import Foundation
import Synchronization

/// An advisory lock (flock(2)) on `<target>.lock`, held while one process downloads the target.
/// A second process that wants the same file waits, then finds it verified. The lock dies with its
/// process, so a killed fetch never leaves the cache locked. (On network file systems flock works
/// where the server supports it, as on NFSv4 and Lustre with `flock` mounts.)
public final class FileLock: Sendable {
    /// The locked file's descriptor, -1 once released (a lock may be released on another thread).
    private let fd: Mutex<Int32>
    public let path: URL

    private init(fd: Int32, path: URL) { self.fd = Mutex(fd); self.path = path }

    /// Takes the lock; calls `waiting` once if another process holds it, then blocks until it is free.
    public static func acquire(_ path: URL, waiting: () -> Void) throws -> FileLock {
        let fd = open(path.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.fileSystem(path: path.path, operation: "create the lock file", reason: errnoString()) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return FileLock(fd: fd, path: path) }
        guard errno == EWOULDBLOCK else {
            let reason = errnoString()
            close(fd)
            throw StoreError.fileSystem(path: path.path, operation: "lock", reason: reason)
        }
        waiting()
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let reason = errnoString()
            close(fd)
            throw StoreError.fileSystem(path: path.path, operation: "lock", reason: reason)
        }
        return FileLock(fd: fd, path: path)
    }

    /// Takes the lock if it is free now, else returns nil (never waits).
    public static func tryAcquire(_ path: URL) -> FileLock? {
        let fd = open(path.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); return nil }
        return FileLock(fd: fd, path: path)
    }

    /// Takes the lock only if its file already exists and the lock is free: `.absent` when there is no
    /// lock file (no process has fetched the target since it was created), never creating one.
    enum Existing { case acquired(FileLock), absent, busy }
    static func tryAcquireExisting(_ path: URL) -> Existing {
        let fd = open(path.path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT ? .absent : .busy }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); return .busy }
        return .acquired(FileLock(fd: fd, path: path))
    }

    /// Whether some process holds the lock on this file now (without waiting).
    public static func isHeld(_ path: URL) -> Bool {
        let fd = open(path.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return errno == EWOULDBLOCK
    }

    public func release() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    deinit { release() }
}
