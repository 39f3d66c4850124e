/* TFLite's int8 requantisation arithmetic, spelled out in C99.
 *
 * These reproduce gemmlowp's SaturatingRoundingDoublingHighMul and
 * RoundingDivideByPOT and TFLite's (double-rounding) MultiplyByQuantizedMultiplier
 * exactly, including C's truncating division where gemmlowp divides. Shifts
 * that TFLite performs on possibly negative values are done on 64-bit or
 * unsigned values here, so nothing relies on undefined behaviour. */
#ifndef KWS_NN_MATH_H
#define KWS_NN_MATH_H

#include <stdint.h>

#include "../kws_fixed.h"

/* (a * b) / 2^31, rounded to nearest (ties away from zero), saturating INT32_MIN^2. */
KWS_INLINE int32_t kws_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * b;
    ab += ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)(ab / ((int64_t)1 << 31)); /* C division truncates toward zero, as gemmlowp's */
}

/* x / 2^exponent rounded to nearest, ties away from zero. 0 <= exponent <= 31. */
KWS_INLINE int32_t kws_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^left with the wrap-around of 32-bit arithmetic, but no undefined behaviour. */
KWS_INLINE int32_t kws_shl_wrap(int32_t x, int left)
{
    return (int32_t)(uint32_t)((uint32_t)x << left);
}

/* TFLite's MultiplyByQuantizedMultiplier: x * multiplier * 2^shift / 2^31. */
KWS_INLINE int32_t kws_mbqm(int32_t x, int32_t multiplier, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return kws_rdbpot(kws_srdhm(kws_shl_wrap(x, left), multiplier), right);
}

#endif /* KWS_NN_MATH_H */
