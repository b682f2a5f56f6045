#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fast path for the PNGs evaluation reads: 8-bit RGBA, not interlaced, inflated with libdeflate
/// (loaded at run time when the system has it; about twice as fast as zlib) into buffers reused from
/// image to image. Anything else, or a system without libdeflate, goes through libpng.
enum FastPNG {
    typealias Alloc = @convention(c) () -> OpaquePointer?
    typealias Free = @convention(c) (OpaquePointer?) -> Void
    typealias ZlibDecompress = @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?, Int, UnsafeMutablePointer<Int>?) -> Int32

    struct Library: @unchecked Sendable {
        let alloc: Alloc
        let free: Free
        let zlibDecompress: ZlibDecompress
    }

    /// libdeflate, if the system has it (`ZOO_NO_LIBDEFLATE=1` turns the fast path off).
    static let library: Library? = {
        if getenv("ZOO_NO_LIBDEFLATE") != nil { return nil }
        for name in ["libdeflate.so.0", "libdeflate.so", "libdeflate.0.dylib", "libdeflate.dylib"] {
            guard let h = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let a = dlsym(h, "libdeflate_alloc_decompressor"), let f = dlsym(h, "libdeflate_free_decompressor"),
                  let z = dlsym(h, "libdeflate_zlib_decompress") else { continue }
            return Library(alloc: unsafeBitCast(a, to: Alloc.self), free: unsafeBitCast(f, to: Free.self),
                           zlibDecompress: unsafeBitCast(z, to: ZlibDecompress.self))
        }
        return nil
    }()

    /// Per-thread state: a libdeflate decompressor and buffers kept between images.
    final class Decoder {
        private let lib: Library?
        private let handle: OpaquePointer?
        var compressed: [UInt8] = []
        var filtered: [UInt8] = []

        init() {
            lib = FastPNG.library
            handle = lib?.alloc()
        }

        deinit { if let l = lib, let h = handle { l.free(h) } }

        var available: Bool { handle != nil }

        /// Decodes `png` into `rgba` (resized as needed). Returns nil when the fast path does not apply
        /// (not 8-bit RGBA, interlaced, no libdeflate), so the caller can use libpng.
        func decode(_ png: UnsafeRawBufferPointer, into rgba: inout [UInt8]) -> (height: Int, width: Int)? {
            guard let lib = lib, let handle = handle, png.count >= 33 else { return nil }
            let sig: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
            for i in 0..<8 where png[i] != sig[i] { return nil }
            func u32(_ i: Int) -> Int { Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3]) }
            func type(_ i: Int) -> UInt32 { UInt32(png[i]) << 24 | UInt32(png[i + 1]) << 16 | UInt32(png[i + 2]) << 8 | UInt32(png[i + 3]) }
            let IHDR: UInt32 = 0x4948_4452, IDAT: UInt32 = 0x4944_4154, IEND: UInt32 = 0x4945_4E44
            guard type(12) == IHDR else { return nil }
            let w = u32(16), h = u32(20)
            // 8-bit, colour type 6 (RGBA), compression 0, filter 0, no interlace.
            guard png[24] == 8, png[25] == 6, png[26] == 0, png[27] == 0, png[28] == 0, w > 0, h > 0,
                  w < 1 << 24, h < 1 << 24 else { return nil }
            compressed.removeAll(keepingCapacity: true)
            var i = 8
            while i + 12 <= png.count {
                let len = u32(i)
                let t = type(i + 4)
                guard i + 12 + len <= png.count else { return nil }
                if t == IDAT { compressed.append(contentsOf: UnsafeRawBufferPointer(rebasing: png[(i + 8)..<(i + 8 + len)])) }
                if t == IEND { break }
                i += 12 + len
            }
            let stride = w * 4
            let rawSize = h * (stride + 1)
            if filtered.count < rawSize { filtered = [UInt8](repeating: 0, count: rawSize) }
            var got = 0
            let rc = compressed.withUnsafeBytes { src in
                filtered.withUnsafeMutableBytes { dst in
                    lib.zlibDecompress(handle, src.baseAddress, src.count, dst.baseAddress, rawSize, &got)
                }
            }
            guard rc == 0, got == rawSize else { return nil }
            if rgba.count != h * stride { rgba = [UInt8](repeating: 0, count: h * stride) }
            let ok = filtered.withUnsafeBufferPointer { raw in
                rgba.withUnsafeMutableBufferPointer { out in FastPNG.unfilter(raw, out, height: h, stride: stride) }
            }
            return ok ? (h, w) : nil
        }
    }

    /// PNG filters (None, Sub, Up, Average, Paeth) for 4 bytes per pixel.
    static func unfilter(_ raw: UnsafeBufferPointer<UInt8>, _ out: UnsafeMutableBufferPointer<UInt8>, height: Int, stride: Int) -> Bool {
        guard let r = raw.baseAddress, let o = out.baseAddress, stride >= 4 else { return false }
        let zero = UnsafeMutablePointer<UInt8>.allocate(capacity: stride)
        zero.initialize(repeating: 0, count: stride)
        defer { zero.deallocate() }
        for y in 0..<height {
            let f = r[y * (stride + 1)]
            let src = r + y * (stride + 1) + 1
            let dst = o + y * stride
            let up: UnsafePointer<UInt8> = y > 0 ? UnsafePointer(o + (y - 1) * stride) : UnsafePointer(zero)
            switch f {
            case 0:
                dst.update(from: src, count: stride)
            case 1:
                for x in 0..<4 { dst[x] = src[x] }
                for x in 4..<stride { dst[x] = src[x] &+ dst[x - 4] }
            case 2:
                for x in 0..<stride { dst[x] = src[x] &+ up[x] }
            case 3:
                for x in 0..<4 { dst[x] = src[x] &+ UInt8(Int(up[x]) >> 1) }
                for x in 4..<stride { dst[x] = src[x] &+ UInt8(truncatingIfNeeded: (Int32(dst[x - 4]) &+ Int32(up[x])) >> 1) }
            case 4:
                for x in 0..<4 { dst[x] = src[x] &+ up[x] } // a = c = 0: Paeth picks b
                for x in 4..<stride {
                    let a = Int32(dst[x - 4]), b = Int32(up[x]), c = Int32(up[x - 4])
                    var pa = b &- c, pb = a &- c, pc = a &+ b &- c &- c
                    pa = pa < 0 ? 0 &- pa : pa
                    pb = pb < 0 ? 0 &- pb : pb
                    pc = pc < 0 ? 0 &- pc : pc
                    let pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                    dst[x] = src[x] &+ UInt8(truncatingIfNeeded: pred)
                }
            default:
                return false
            }
        }
        return true
    }
}
