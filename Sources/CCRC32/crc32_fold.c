// CRC-32 of the zip format by carry-less multiplication (folding), after Gopal, Ozturk et al., "Fast CRC
// Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Intel, 2009): four 128-bit lanes are
// folded 64 bytes at a time, then into one lane, then reduced to 32 bits with Barrett's method. The
// constants are x^k mod P(x) in the bit-reflected domain, for P = 0x104C11DB7:
//   k1 = x^(4*128+32) mod P, k2 = x^(4*128-32) mod P   fold by 64 bytes
//   k3 = x^(128+32) mod P,   k4 = x^(128-32) mod P     fold by 16 bytes
//   k5 = x^64 mod P                                     128 -> 64 bits
//   mu = x^64 / P, and P itself                         Barrett reduction
// The result equals zlib's crc32(crc, buf, len); the tests compare the two on random data.
#include "zoo_crc32.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

int zoo_crc32_fold_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_PCLMUL) != 0 && (c & bit_SSE4_1) != 0;
}

__attribute__((target("pclmul,sse4.1")))
static uint32_t fold(uint32_t crc, const unsigned char *buf, size_t len) {
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i x1 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
    // The running CRC enters as the first 32 bits of the message (the register's state is ~crc).
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)~crc));
    buf += 64;
    len -= 64;

    while (len >= 64) {
        __m128i l1 = _mm_clmulepi64_si128(x1, k1k2, 0x00), h1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
        __m128i l2 = _mm_clmulepi64_si128(x2, k1k2, 0x00), h2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
        __m128i l3 = _mm_clmulepi64_si128(x3, k1k2, 0x00), h3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
        __m128i l4 = _mm_clmulepi64_si128(x4, k1k2, 0x00), h4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(l1, h1), _mm_loadu_si128((const __m128i *)(buf + 0x00)));
        x2 = _mm_xor_si128(_mm_xor_si128(l2, h2), _mm_loadu_si128((const __m128i *)(buf + 0x10)));
        x3 = _mm_xor_si128(_mm_xor_si128(l3, h3), _mm_loadu_si128((const __m128i *)(buf + 0x20)));
        x4 = _mm_xor_si128(_mm_xor_si128(l4, h4), _mm_loadu_si128((const __m128i *)(buf + 0x30)));
        buf += 64;
        len -= 64;
    }

    // Four lanes into one, then any remaining 16-byte blocks.
    __m128i next[3] = {x2, x3, x4};
    for (int i = 0; i < 3; i++) {
        __m128i l = _mm_clmulepi64_si128(x1, k3k4, 0x00), h = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(l, h), next[i]);
    }
    while (len >= 16) {
        __m128i l = _mm_clmulepi64_si128(x1, k3k4, 0x00), h = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(l, h), _mm_loadu_si128((const __m128i *)buf));
        buf += 16;
        len -= 16;
    }

    // 128 -> 96 -> 64 bits.
    __m128i t = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
    t = _mm_srli_si128(x1, 4);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00);
    x1 = _mm_xor_si128(x1, t);

    // Barrett reduction to 32 bits.
    t = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), poly, 0x00);
    x1 = _mm_xor_si128(x1, t);
    return ~(uint32_t)_mm_extract_epi32(x1, 1);
}

uint32_t zoo_crc32_fold(uint32_t crc, const unsigned char *buf, size_t len) {
    if (len < 64 || len % 16 != 0) return crc;
    return fold(crc, buf, len);
}

#else

int zoo_crc32_fold_available(void) { return 0; }
uint32_t zoo_crc32_fold(uint32_t crc, const unsigned char *buf, size_t len) { (void)buf; (void)len; return crc; }

#endif
