#include "kws_scale.h"

void kws_scale_minmax(const int32_t *mfcc, const kws_minmax_t *mm, int8_t *out)
{
    int i;
    for (i = 0; i < KWS_FE_N_COEFFS; i++) {
        const int32_t lo = mm->min[i], hi = mm->max[i];
        const int32_t c = mfcc[i] < lo ? lo : (mfcc[i] > hi ? hi : mfcc[i]);
        /* Unsigned: numerator < 255 * 2^23 fits, and the division truncates. */
        const uint32_t range = (uint32_t)(hi - lo);
        const uint32_t u = ((uint32_t)(c - lo) * 255u + range / 2u) / range;
        out[i] = (int8_t)((int32_t)u - 128);
    }
}
