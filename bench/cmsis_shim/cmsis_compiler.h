/* kwsgen's stand-in for CMSIS-Core's cmsis_compiler.h, used only by
 * bench/frontend.py to build CMSIS-DSP's arm_mfcc_q15 as a reference.
 *
 * CMSIS-DSP's PyPI sdist ships without CMSIS-Core, whose header maps the
 * CMSIS intrinsic names onto compiler intrinsics. This file does that
 * mapping for GCC onto the ACLE intrinsics of <arm_acle.h>, so CMSIS-DSP
 * builds with its Cortex-M4 DSP-extension code paths enabled. */
#ifndef KWSGEN_CMSIS_COMPILER_SHIM_H
#define KWSGEN_CMSIS_COMPILER_SHIM_H

#include <arm_acle.h>
#include <stdint.h>

#define __ASM __asm
#define __INLINE inline
#define __STATIC_INLINE static inline
#define __STATIC_FORCEINLINE static inline __attribute__((always_inline))
#define __ALIGNED(x) __attribute__((aligned(x)))
#define __WEAK __attribute__((weak))
#define __PACKED __attribute__((packed))
#define __SIMD32_TYPE int32_t

#define __CLZ(x) ((uint8_t)((uint32_t)(x) == 0u ? 32 : __builtin_clz((uint32_t)(x))))
#define __SSAT(x, bits) __ssat((x), (bits))
#define __USAT(x, bits) __usat((x), (bits))
#define __QADD(a, b) __qadd((a), (b))
#define __QSUB(a, b) __qsub((a), (b))
#define __QADD8(a, b) __qadd8((a), (b))
#define __QSUB8(a, b) __qsub8((a), (b))
#define __QADD16(a, b) __qadd16((a), (b))
#define __QSUB16(a, b) __qsub16((a), (b))
#define __QASX(a, b) __qasx((a), (b))
#define __QSAX(a, b) __qsax((a), (b))
#define __SHADD16(a, b) __shadd16((a), (b))
#define __SHSUB16(a, b) __shsub16((a), (b))
#define __SHASX(a, b) __shasx((a), (b))
#define __SHSAX(a, b) __shsax((a), (b))
#define __SMUAD(a, b) __smuad((a), (b))
#define __SMUADX(a, b) __smuadx((a), (b))
#define __SMUSD(a, b) __smusd((a), (b))
#define __SMUSDX(a, b) __smusdx((a), (b))
#define __SMLAD(a, b, c) __smlad((a), (b), (c))
#define __SMLADX(a, b, c) __smladx((a), (b), (c))
#define __SMLSDX(a, b, c) __smlsdx((a), (b), (c))
#define __SMLALD(a, b, c) __smlald((a), (b), (c))
#define __SMLALDX(a, b, c) __smlaldx((a), (b), (c))
#define __SXTB16(x) __sxtb16((x))
#define __PKHBT(a, b, s) ((int32_t)(((uint32_t)(a) & 0x0000FFFFu) | (((uint32_t)(b) << (s)) & 0xFFFF0000u)))
#define __PKHTB(a, b, s) ((int32_t)(((uint32_t)(a) & 0xFFFF0000u) | (((uint32_t)(b) >> (s)) & 0x0000FFFFu)))

static inline uint32_t __ROR(uint32_t x, uint32_t n)
{
    n %= 32u;
    return n == 0u ? x : (x >> n) | (x << (32u - n));
}

static inline int32_t __SMMLA(int32_t a, int32_t b, int32_t c)
{
    return (int32_t)(((int64_t)c << 32) + (int64_t)a * b >> 32);
}

#endif /* KWSGEN_CMSIS_COMPILER_SHIM_H */
