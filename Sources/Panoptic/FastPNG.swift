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

    struct Library: Sendable {
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

        /// `useLibdeflate: false` makes every call return nil, so callers take the libpng path.
        init(useLibdeflate: Bool = true) {
            lib = useLibdeflate ? FastPNG.library : nil
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

    @inline(__always) static func load(_ p: UnsafePointer<UInt8>, _ x: Int) -> SIMD4<UInt8> {
        UnsafeRawPointer(p + x).loadUnaligned(as: SIMD4<UInt8>.self)
    }

    @inline(__always) static func store(_ v: SIMD4<UInt8>, _ p: UnsafeMutablePointer<UInt8>, _ x: Int) {
        UnsafeMutableRawPointer(p + x).storeBytes(of: v, as: SIMD4<UInt8>.self)
    }

    @inline(__always) static func load32(_ p: UnsafePointer<UInt8>, _ x: Int) -> UInt32 {
        UnsafeRawPointer(p + x).loadUnaligned(as: UInt32.self)
    }

    @inline(__always) static func store32(_ v: UInt32, _ p: UnsafeMutablePointer<UInt8>, _ x: Int) {
        UnsafeMutableRawPointer(p + x).storeBytes(of: v, as: UInt32.self)
    }

    /// Adds the four bytes of two words lane by lane, modulo 256 (no carry between lanes).
    @inline(__always) static func addBytes(_ x: UInt32, _ y: UInt32) -> UInt32 {
        ((x & 0x7F7F_7F7F) &+ (y & 0x7F7F_7F7F)) ^ ((x ^ y) & 0x8080_8080)
    }

    /// The Paeth predictor for each byte of left `a`, above `b` and above-left `c` pixels.
    static func paeth(_ a: UInt32, _ b: UInt32, _ c: UInt32) -> UInt32 {
        let av = SIMD4<Int16>(truncatingIfNeeded: unsafeBitCast(a, to: SIMD4<UInt8>.self))
        let bv = SIMD4<Int16>(truncatingIfNeeded: unsafeBitCast(b, to: SIMD4<UInt8>.self))
        let cv = SIMD4<Int16>(truncatingIfNeeded: unsafeBitCast(c, to: SIMD4<UInt8>.self))
        var pa = bv &- cv, pb = av &- cv, pc = av &+ bv &- cv &- cv
        pa.replace(with: 0 &- pa, where: pa .< 0)
        pb.replace(with: 0 &- pb, where: pb .< 0)
        pc.replace(with: 0 &- pc, where: pc .< 0)
        var pred = cv
        pred.replace(with: bv, where: pb .<= pc)
        pred.replace(with: av, where: (pa .<= pb) .& (pa .<= pc))
        return unsafeBitCast(SIMD4<UInt8>(truncatingIfNeeded: pred), to: UInt32.self)
    }

    /// PNG filters (None, Sub, Up, Average, Paeth) for 4 bytes per pixel.
    static func unfilter(_ raw: UnsafeBufferPointer<UInt8>, _ out: UnsafeMutableBufferPointer<UInt8>, height: Int, stride: Int) -> Bool {
        guard let r = raw.baseAddress, let o = out.baseAddress, stride >= 4, stride % 4 == 0 else { return false }
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
                // One pixel (4 channels, one 32-bit word) at a time: each depends on the pixel to its left.
                var a: UInt32 = 0
                for x in Swift.stride(from: 0, to: stride, by: 4) {
                    a = addBytes(load32(src, x), a)
                    store32(a, dst, x)
                }
            case 2:
                // Explicit 16-byte vectors: the compiler cannot prove `dst` and `up` (two rows of one
                // buffer) do not overlap, so it would not vectorise this itself.
                var x = 0
                while x + 16 <= stride {
                    let v = UnsafeRawPointer(src + x).loadUnaligned(as: SIMD16<UInt8>.self)
                        &+ UnsafeRawPointer(up + x).loadUnaligned(as: SIMD16<UInt8>.self)
                    UnsafeMutableRawPointer(dst + x).storeBytes(of: v, as: SIMD16<UInt8>.self)
                    x += 16
                }
                while x < stride { dst[x] = src[x] &+ up[x]; x += 1 }
            case 3:
                var a = SIMD4<UInt16>(repeating: 0)
                for x in Swift.stride(from: 0, to: stride, by: 4) {
                    let b = SIMD4<UInt16>(truncatingIfNeeded: load(up, x))
                    let v = load(src, x) &+ SIMD4<UInt8>(truncatingIfNeeded: (a &+ b) &>> 1)
                    store(v, dst, x)
                    a = SIMD4<UInt16>(truncatingIfNeeded: v)
                }
            case 4:
                // Bitmasks are mostly flat: where the pixel above equals the one above-left the
                // predictor is the left pixel, where the left equals the above-left it is the one above
                // (for each channel, so also for whole pixels). Only the rest needs the full predictor.
                var a: UInt32 = 0, c: UInt32 = 0
                for x in Swift.stride(from: 0, to: stride, by: 4) {
                    let b = load32(up, x)
                    let pred = b == c ? a : a == c ? b : paeth(a, b, c)
                    a = addBytes(load32(src, x), pred)
                    store32(a, dst, x)
                    c = b
                }
            default:
                return false
            }
        }
        return true
    }
}
