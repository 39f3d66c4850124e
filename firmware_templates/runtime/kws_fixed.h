/* Small integer helpers shared by the kwsgen runtime. C99, no floating point.
 *
 * The runtime relies on `>>` of a negative signed integer being an arithmetic
 * shift (floor division by a power of two). C99 leaves that to the
 * implementation; every compiler kwsgen targets (GCC, Clang, arm-none-eabi,
 * xtensa) does it, and the check below refuses any that does not. */
#ifndef KWS_FIXED_H
#define KWS_FIXED_H

#include <stdint.h>

#if ((-1) >> 1) != -1
#error "kwsgen needs arithmetic right shifts of negative integers"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define KWS_INLINE static inline __attribute__((always_inline))
#define KWS_NOINLINE __attribute__((noinline))
#else
#define KWS_INLINE static inline
#define KWS_NOINLINE
#endif

/* Asks GCC and Clang to unroll the next loop (GCC: up to 16 iterations); other compilers ignore it. */
#if defined(__GNUC__) && !defined(__clang__)
#define KWS_UNROLL _Pragma("GCC unroll 16")
#elif defined(__clang__)
#define KWS_UNROLL _Pragma("unroll")
#else
#define KWS_UNROLL
#endif

/* Count of leading zero bits; x must not be 0. */
KWS_INLINE int kws_clz32(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_clz(x);
#else
    int n = 0;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

/* Round half up, then shift right: (x + 2^(bits-1)) >> bits. bits >= 1. */
KWS_INLINE int32_t kws_shr_round(int32_t x, int bits)
{
    return (x + ((int32_t)1 << (bits - 1))) >> bits;
}

KWS_INLINE int32_t kws_abs32(int32_t x)
{
    return x < 0 ? -x : x;
}

#endif /* KWS_FIXED_H */
