import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reusable float buffers for the kernels' temporaries (im2col blocks, Winograd transforms).
///
/// Large allocations come from fresh `mmap`ed pages, which the kernel zeroes on first touch; for
/// 30-60 MB temporaries per layer that costs as much as the arithmetic. Buffers are kept after use and
/// handed out again, so a forward pass touches fresh memory only on its first layers.
final class ScratchPool: Sendable {
    static let shared = ScratchPool()

    /// An allocation handed between threads (owned by the pool while free, by one caller while taken).
    private struct Buffer: Sendable {
        var memory: UnsafeSendableMutablePointer<Float>
        var capacity: Int
        var pointer: UnsafeMutablePointer<Float> { memory.pointer }
    }
    /// The buffers not in use (each owned by the pool while here, by one caller while taken).
    private let free = Mutex<[Buffer]>([])

    /// Runs `body` with a buffer of at least `count` floats (uninitialised).
    func with<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let buffer = take(count)
        defer { give(buffer) }
        return try body(buffer.pointer)
    }

    private func take(_ count: Int) -> Buffer {
        free.withLock { free in
            // The smallest free buffer that fits; else replace the largest (it is too small) by a new one.
            if let i = free.indices.filter({ free[$0].capacity >= count })
                .min(by: { free[$0].capacity < free[$1].capacity }) {
                return free.remove(at: i)
            }
            if let i = free.indices.max(by: { free[$0].capacity < free[$1].capacity }) {
                free.remove(at: i).pointer.deallocate()
            }
            return Buffer(memory: UnsafeSendableMutablePointer(.allocate(capacity: max(count, 1))),
                          capacity: max(count, 1))
        }
    }

    private func give(_ buffer: Buffer) {
        free.withLock { $0.append(buffer) }
    }
}

public enum MemoryTuning {
    /// Asks glibc's malloc to serve large blocks from its heap and keep freed memory there instead of
    /// returning it to the system, so feature maps allocated layer after layer reuse already-touched
    /// pages (each fresh page costs a fault and a zero fill). Process-wide; a no-op off glibc.
    public static func keepFreedMemory() {
        #if canImport(Glibc)
        // mallopt is declared in <malloc.h>, which the Glibc module does not export; look it up.
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        _ = mallopt(mmapThreshold, 1 << 30)
        _ = mallopt(trimThreshold, 1 << 30)
        #endif
    }
}
