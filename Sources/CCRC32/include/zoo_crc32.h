#ifndef ZOO_CRC32_H
#define ZOO_CRC32_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the carry-less multiply (PCLMULQDQ) and SSE4.1 that zoo_crc32_fold needs.
int zoo_crc32_fold_available(void);

/// The zip CRC-32 (reflected polynomial 0xEDB88320) of `len` bytes, continuing from `crc` (a previous
/// result, or 0 to start), as zlib's crc32 computes it. `len` must be at least 64 and a multiple of 16;
/// call only when zoo_crc32_fold_available() (the instructions trap on a CPU without them); other
/// lengths return `crc` unchanged.
uint32_t zoo_crc32_fold(uint32_t crc, const unsigned char *buf, size_t len);

#endif
