/* Compile-time choice between portable C and the Cortex-M DSP extension.
 *
 * KWS_USE_DSP defaults to 1 where the compiler reports the ARMv7E-M DSP
 * instructions (__ARM_FEATURE_DSP: Cortex-M4, M7, M33 with DSP) and to 0
 * elsewhere. Both paths compute exactly the same integers; -DKWS_USE_DSP=0
 * forces the portable one, e.g. to compare them. */
#ifndef KWS_DSP_H
#define KWS_DSP_H

#include <stdint.h>
#include <string.h>

#ifndef KWS_USE_DSP
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define KWS_USE_DSP 1
#else
#define KWS_USE_DSP 0
#endif
#endif

#if KWS_USE_DSP
#include <arm_acle.h>
#endif

/* Two adjacent int16 as one word (first one in the low half), without
 * breaking strict aliasing: a 4-byte memcpy compiles to a single LDR/STR.
 * The builtin keeps that true under -ffreestanding / -fno-builtin too. */
#if defined(__GNUC__) || defined(__clang__)
#define KWS_MEMCPY4(dst, src) __builtin_memcpy((dst), (src), 4)
#else
#define KWS_MEMCPY4(dst, src) memcpy((dst), (src), 4)
#endif

static inline int32_t kws_load_pair(const int16_t *p)
{
    int32_t v;
    KWS_MEMCPY4(&v, p);
    return v;
}

static inline void kws_store_pair(int16_t *p, int32_t v)
{
    KWS_MEMCPY4(p, &v);
}

#if KWS_USE_DSP
/* PKHBT and PKHTB: pack two halfwords into one word in one instruction.
 * ACLE has no intrinsic for them and GCC 12 does not form them from C. */

/* (a.bottom, b.bottom): a's low half stays low, b's low half goes high. */
static inline int32_t kws_pkhbt16(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* (a.top, b.top): b's high half stays high, a's high half goes low. */
static inline int32_t kws_pkhtb16(int32_t b, int32_t a)
{
    int32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
}
#endif

#endif /* KWS_DSP_H */
