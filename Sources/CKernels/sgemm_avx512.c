// A blocked single-precision GEMM for AVX-512 CPUs (Goto/BLIS structure): B is packed in KC x NR strips,
// A in MR x KC strips, and an 8 x 48 register-blocked micro-kernel does the multiply-adds. Compiled for
// AVX-512 per function (target attribute), so the library loads on any x86-64 CPU; callers check
// zoo_avx512_available() first.

#include "zoo_kernels.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define MR 8
#define NR 48
#define KC 384
#define MC 96
#define NC 2304

bool zoo_avx512_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cached == 1;
}

// Per-thread packing buffers (A: MC x KC, then B: KC x NC), allocated on a thread's first call and freed when
// the thread exits (pthread key destructor).
static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;
static bool buffer_key_made;

static void make_buffer_key(void) { buffer_key_made = pthread_key_create(&buffer_key, free) == 0; }

static float *buffers(void) {
    pthread_once(&buffer_once, make_buffer_key);
    if (!buffer_key_made) return NULL;
    float *p = pthread_getspecific(buffer_key);
    if (p) return p;
    if (posix_memalign((void **)&p, 64, sizeof(float) * (MC * KC + KC * NC)) != 0) return NULL;
    if (pthread_setspecific(buffer_key, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

// Rows r0..r7 (8 floats each) become columns: on return r_j holds element j of every input row.
__attribute__((target("avx2")))
static inline void transpose8(__m256 *r) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// op(A)[i0 + r, p0 + p] for r < mr, p < kc into strips of MR rows: dst[strip][p][r], zero past mr.
__attribute__((target("avx512f")))
static void pack_a(bool trans, const float *a, long lda, long i0, long mr, long p0, long kc, float *dst) {
    for (long s = 0; s < mr; s += MR) {
        long rows = mr - s < MR ? mr - s : MR;
        float *d = dst + s * kc;
        if (!trans && rows == MR) {
            // 8 x 8 blocks transposed in registers.
            const float *src = a + (i0 + s) * lda + p0;
            long p = 0;
            for (; p + 8 <= kc; p += 8) {
                __m256 r[8];
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lda + p);
                transpose8(r);
                for (int j = 0; j < 8; j++) _mm256_store_ps(d + (p + j) * MR, r[j]);
            }
            for (; p < kc; p++) {
                for (long i = 0; i < MR; i++) d[p * MR + i] = src[i * lda + p];
            }
        } else if (!trans) {
            for (long p = 0; p < kc; p++) {
                long r = 0;
                for (; r < rows; r++) d[p * MR + r] = a[(i0 + s + r) * lda + p0 + p];
                for (; r < MR; r++) d[p * MR + r] = 0;
            }
        } else {
            for (long p = 0; p < kc; p++) {
                const float *src = a + (p0 + p) * lda + i0 + s;
                long r = 0;
                for (; r < rows; r++) d[p * MR + r] = src[r];
                for (; r < MR; r++) d[p * MR + r] = 0;
            }
        }
    }
}

// op(B)[p0 + p, j0 + j] for p < kc, j < nc into strips of NR columns: dst[strip][p][j], zero past nc.
__attribute__((target("avx512f")))
static void pack_b(bool trans, const float *b, long ldb, long p0, long kc, long j0, long nc, float *dst) {
    for (long s = 0; s < nc; s += NR) {
        long cols = nc - s < NR ? nc - s : NR;
        float *d = dst + s * kc;
        if (!trans) {
            if (cols == NR) {
                for (long p = 0; p < kc; p++) {
                    const float *src = b + (p0 + p) * ldb + j0 + s;
                    _mm512_store_ps(d + p * NR, _mm512_loadu_ps(src));
                    _mm512_store_ps(d + p * NR + 16, _mm512_loadu_ps(src + 16));
                    _mm512_store_ps(d + p * NR + 32, _mm512_loadu_ps(src + 32));
                }
            } else {
                for (long p = 0; p < kc; p++) {
                    const float *src = b + (p0 + p) * ldb + j0 + s;
                    long j = 0;
                    for (; j < cols; j++) d[p * NR + j] = src[j];
                    for (; j < NR; j++) d[p * NR + j] = 0;
                }
            }
        } else {
            for (long j = 0; j < NR; j++) {
                if (j < cols) {
                    const float *src = b + (j0 + s + j) * ldb + p0;
                    for (long p = 0; p < kc; p++) d[p * NR + j] = src[p];
                } else {
                    for (long p = 0; p < kc; p++) d[p * NR + j] = 0;
                }
            }
        }
    }
}

// c[0..MR, 0..NR] (row stride ldc) = (accumulate ? c : 0) + ap · bp over kc.
__attribute__((target("avx512f")))
static void kernel_8x48(long kc, const float *ap, const float *bp, float *c, long ldc, bool accumulate) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c02 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps(), c12 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c22 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c32 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c42 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps(), c52 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c62 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps(), c72 = _mm512_setzero_ps();
#define ZOO_ROW(r)                                             \
    do {                                                       \
        __m512 a = _mm512_set1_ps(ap[r]);                      \
        c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0);             \
        c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);             \
        c##r##2 = _mm512_fmadd_ps(a, b2, c##r##2);             \
    } while (0)
    for (long p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16), b2 = _mm512_load_ps(bp + 32);
        _mm_prefetch((const char *)(bp + 8 * NR), _MM_HINT_T0);
        ZOO_ROW(0); ZOO_ROW(1); ZOO_ROW(2); ZOO_ROW(3);
        ZOO_ROW(4); ZOO_ROW(5); ZOO_ROW(6); ZOO_ROW(7);
        ap += MR;
        bp += NR;
    }
#undef ZOO_ROW
#define ZOO_STORE(r)                                                                               \
    do {                                                                                           \
        float *row = c + (r) * ldc;                                                                \
        if (accumulate) {                                                                          \
            c##r##0 = _mm512_add_ps(c##r##0, _mm512_loadu_ps(row));                                 \
            c##r##1 = _mm512_add_ps(c##r##1, _mm512_loadu_ps(row + 16));                            \
            c##r##2 = _mm512_add_ps(c##r##2, _mm512_loadu_ps(row + 32));                            \
        }                                                                                          \
        _mm512_storeu_ps(row, c##r##0);                                                            \
        _mm512_storeu_ps(row + 16, c##r##1);                                                       \
        _mm512_storeu_ps(row + 32, c##r##2);                                                       \
    } while (0)
    ZOO_STORE(0); ZOO_STORE(1); ZOO_STORE(2); ZOO_STORE(3);
    ZOO_STORE(4); ZOO_STORE(5); ZOO_STORE(6); ZOO_STORE(7);
#undef ZOO_STORE
}

__attribute__((target("avx512f")))
bool zoo_sgemm_avx512(bool trans_a, bool trans_b, long m, long n, long k,
                      const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return true;
    float *ap = buffers();
    if (!ap) return false;
    float *bp = ap + MC * KC;
    if (beta != 0 && beta != 1) {
        for (long i = 0; i < m; i++) for (long j = 0; j < n; j++) c[i * ldc + j] *= beta;
    }
    if (k <= 0) {
        if (beta == 0) for (long i = 0; i < m; i++) memset(c + i * ldc, 0, sizeof(float) * n);
        return true;
    }
    float edge[MR * NR] __attribute__((aligned(64)));
    for (long jc = 0; jc < n; jc += NC) {
        long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) {
            long kc = k - pc < KC ? k - pc : KC;
            bool accumulate = pc > 0 || beta != 0;
            pack_b(trans_b, b, ldb, pc, kc, jc, nc, bp);
            for (long ic = 0; ic < m; ic += MC) {
                long mc = m - ic < MC ? m - ic : MC;
                pack_a(trans_a, a, lda, ic, mc, pc, kc, ap);
                for (long jr = 0; jr < nc; jr += NR) {
                    long cols = nc - jr < NR ? nc - jr : NR;
                    const float *bs = bp + jr * kc;
                    for (long ir = 0; ir < mc; ir += MR) {
                        long rows = mc - ir < MR ? mc - ir : MR;
                        const float *as = ap + ir * kc;
                        float *cij = c + (ic + ir) * ldc + jc + jr;
                        if (rows == MR && cols == NR) {
                            kernel_8x48(kc, as, bs, cij, ldc, accumulate);
                        } else {
                            kernel_8x48(kc, as, bs, edge, NR, false);
                            for (long r = 0; r < rows; r++) {
                                float *dst = cij + r * ldc;
                                const float *src = edge + r * NR;
                                if (accumulate) {
                                    for (long j = 0; j < cols; j++) dst[j] += src[j];
                                } else {
                                    memcpy(dst, src, sizeof(float) * cols);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return true;
}

#else

bool zoo_avx512_available(void) { return false; }

bool zoo_sgemm_avx512(bool trans_a, bool trans_b, long m, long n, long k,
                      const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    (void)trans_a; (void)trans_b; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb;
    (void)beta; (void)c; (void)ldc;
    return false;
}

#endif
