/* The Cortex-M DSP-extension building blocks of the int8 kernels (KWS_USE_DSP).
 *
 * SXTB16 sign-extends bytes 0 and 2 of a word into two int16 halves; with the
 * word rotated by 8 it takes bytes 1 and 3. So four int8 values a0 a1 a2 a3
 * become the pairs (a0, a2) and (a1, a3), and SMLAD multiplies two such pairs
 * and adds both products to an accumulator. Activations are widened once into
 * that same (0, 2), (1, 3) order, so the weights can stay int8 in flash. */
#ifndef KWS_NN_DSP_H
#define KWS_NN_DSP_H

#include <stdint.h>
#include <string.h>

#include "../kws_dsp.h"
#include "../kws_fixed.h"

/* Four bytes as one word, from any address (Cortex-M4 LDR allows unaligned words). */
KWS_INLINE int32_t kws_read_word(const void *p)
{
    int32_t v;
    KWS_MEMCPY4(&v, p);
    return v;
}

/* Four int8 as one word. */
KWS_INLINE int32_t kws_read_s8x4(const int8_t *p)
{
    int32_t v;
    KWS_MEMCPY4(&v, p);
    return v;
}

/* int16 through memcpy: scratch memory is declared as int8_t, so this keeps
 * every access within the aliasing rules. */
KWS_INLINE int32_t kws_load_s16(const int16_t *p)
{
    int16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

KWS_INLINE void kws_store_s16(int16_t *p, int32_t v)
{
    const int16_t x = (int16_t)v;
    memcpy(p, &x, sizeof(x));
}

#if KWS_USE_DSP

KWS_INLINE int32_t kws_sxtb16_lo(int32_t x)
{
    return (int32_t)__sxtb16((uint32_t)x);
}

KWS_INLINE int32_t kws_sxtb16_hi(int32_t x)
{
    int32_t r;
    /* GCC does not fold a rotate into SXTB16 by itself. */
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* acc + bytes 1 and 3 of x, sign-extended, lane by lane. */
KWS_INLINE int32_t kws_sxtab16_hi(int32_t acc, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

#endif /* KWS_USE_DSP */

/* Where the kernels may use their two assembly loops (the innermost ones,
 * where GCC 12 runs out of registers and spills): GCC on the DSP path, unless
 * KWS_NN_NO_ASM is defined. Each is a naked function (KWS_NAKED): it saves
 * and uses all 14 general registers itself, so it builds the same whatever
 * the optimisation level or frame-pointer flags. Each has a C twin that
 * computes the same integers and is used otherwise (clang, other compilers). */
#if KWS_USE_DSP && defined(__GNUC__) && !defined(__clang__) && !defined(KWS_NN_NO_ASM)
#define KWS_NN_ASM 1
#define KWS_NAKED static __attribute__((naked, noinline)) /* arguments in r0-r3, per the AAPCS */
#define KWS_ASM_ARG __attribute__((unused)) /* a naked function's parameter: read by its assembly only */
#else
#define KWS_NN_ASM 0
#endif

/* A compile-time check in C99: a negative array size if cond is false. */
#define KWS_STATIC_ASSERT(name, cond) typedef char kws_static_assert_##name[(cond) ? 1 : -1]

/* Keeps the compiler from moving loads across this point: in the tightest
 * loops, loads hoisted early hold registers that the loop needs, and the
 * resulting spills cost more than the load latency saves. */
#define KWS_SCHEDULE_BARRIER() __asm__ volatile("" ::: "memory")

#endif /* KWS_NN_DSP_H */
