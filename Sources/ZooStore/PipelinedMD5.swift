import Crypto
import Foundation

/// MD5 computed on a helper thread while the network thread keeps receiving, so hashing overlaps the
/// transfer instead of adding to it (still one pass: each byte is hashed once, from memory, as it arrives).
///
/// The producer copies bytes into a small pool of 1 MiB buffers; the worker hashes full buffers in
/// order. `reset()` and `finalize()` first wait until everything queued has been hashed.
final class PipelinedMD5: @unchecked Sendable {
    private static let bufferSize = 1 << 20
    private static let poolSize = 8

    private let cond = NSCondition()
    private var md5: Insecure.MD5
    private var free: [UnsafeMutableRawBufferPointer] = []
    private var queue: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var all: [UnsafeMutableRawBufferPointer] = []
    private var busy = false
    private var closed = false
    private var workerDone = false
    /// The buffer being filled by the producer and how much of it is used.
    private var current: UnsafeMutableRawBufferPointer?
    private var used = 0

    init(_ initial: Insecure.MD5) {
        md5 = initial
        for _ in 0..<Self.poolSize {
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 64)
            all.append(b)
            free.append(b)
        }
        let t = Thread { [self] in work() }
        t.name = "zoo.md5"
        t.start()
    }

    deinit {
        for b in all { b.deallocate() }
    }

    /// Queues bytes for hashing (copies them; waits only when all buffers are full).
    func update(_ bytes: UnsafeRawBufferPointer) {
        var off = 0
        while off < bytes.count {
            if current == nil {
                cond.lock()
                while free.isEmpty { cond.wait() }
                current = free.removeLast()
                cond.unlock()
                used = 0
            }
            guard let buf = current, let src = bytes.baseAddress, let dst = buf.baseAddress else { return }
            let n = min(bytes.count - off, buf.count - used)
            (dst + used).copyMemory(from: src + off, byteCount: n)
            used += n
            off += n
            if used == buf.count { flush() }
        }
    }

    /// Starts over with an empty hash.
    func reset() {
        drain()
        cond.lock(); md5 = Insecure.MD5(); cond.unlock()
    }

    /// The hex digest of everything queued; stops the worker.
    func finalize() -> String {
        drain()
        cond.lock()
        let digest = md5.finalize()
        cond.unlock()
        close()
        return Checksum.hex(digest)
    }

    /// Stops the worker thread (after it has hashed what is queued). Safe to call more than once.
    func close() {
        cond.lock()
        closed = true
        cond.broadcast()
        while !workerDone { cond.wait() }
        cond.unlock()
    }

    private func flush() {
        guard let buf = current else { return }
        current = nil
        cond.lock()
        if used > 0 { queue.append((buf, used)) } else { free.append(buf) }
        cond.broadcast()
        cond.unlock()
        used = 0
    }

    private func drain() {
        flush()
        cond.lock()
        while !queue.isEmpty || busy { cond.wait() }
        cond.unlock()
    }

    private func work() {
        cond.lock()
        while true {
            while queue.isEmpty && !closed { cond.wait() }
            if queue.isEmpty && closed { break }
            let (buf, n) = queue.removeFirst()
            busy = true
            var h = md5
            cond.unlock()
            h.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            cond.lock()
            md5 = h
            busy = false
            free.append(buf)
            cond.broadcast()
        }
        workerDone = true
        cond.broadcast()
        cond.unlock()
    }
}
