#ifndef ZOO_KERNELS_H
#define ZOO_KERNELS_H

#include <stdbool.h>

/// Whether this CPU runs the AVX-512 kernels (avx512f, checked once at run time).
bool zoo_avx512_available(void);

/// Row-major single-precision GEMM on the calling thread with AVX-512:
/// C = op(A) op(B) + beta C, op(A) m x k (A is k x m with lda when trans_a), op(B) k x n (B is n x k with ldb
/// when trans_b). Call only when zoo_avx512_available() is true. Returns false, having done nothing, when its
/// packing buffers (3.6 MB per thread) cannot be allocated.
bool zoo_sgemm_avx512(bool trans_a, bool trans_b, long m, long n, long k,
                      const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

#endif
