/* The end of every accumulating kernel: requantise, add the output zero point, clamp.
 *
 * The generator picks one of three modes per layer (field requant_mode):
 *
 *  KWS_REQUANT_EXACT: TFLite's MultiplyByQuantizedMultiplier as written, for
 *  any multiplier and shift; shift[] holds TFLite's signed shifts.
 *
 *  KWS_REQUANT_FAST: kws_requant_fast (kws_nn_math.h), which gives the same
 *  int8 results when every multiplier is below 1, every right shift is at most
 *  20 and no accumulator can reach 2^29 (the bias plus 128 times the sum of a
 *  channel's absolute weights); the generator checks all three. shift[] then
 *  holds right + 1, and rounding[] the per-channel constant of
 *  kws_requant_fast, which includes the output zero point.
 *
 *  KWS_REQUANT_FAST_INT8: the same where the activation range is all of int8,
 *  so the final clamp is one saturation.
 *
 * Kernels take the mode as a constant argument of an inlined body, so each
 * mode gets its own loop with no per-output branch. */
#ifndef KWS_NN_REQUANT_H
#define KWS_NN_REQUANT_H

#include "kws_nn_math.h"

enum { KWS_REQUANT_EXACT = 0, KWS_REQUANT_FAST = 1, KWS_REQUANT_FAST_INT8 = 2 };

/* A layer's requantisation parameters, copied into a local by the kernels so
 * that the compiler keeps them in registers across int8 stores. */
typedef struct {
    const int32_t *multiplier;
    const int8_t *shift;
    const int32_t *rounding; /* read by the fast modes only */
    int32_t offset, lo, hi;
} kws_requant_params_t;

#define KWS_REQUANT_PARAMS(p) \
    {(p)->multiplier, (p)->shift, (p)->rounding, (p)->output_offset, (p)->act_min, (p)->act_max}

/* The requantised value v clamped to the activation range: one saturation in the full-int8 mode. */
KWS_INLINE int8_t kws_requant_clamp(int mode, int32_t v, int32_t lo, int32_t hi)
{
    if (mode == KWS_REQUANT_FAST_INT8) {
        return kws_sat_s8(v);
    }
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

KWS_INLINE int8_t kws_requant_one(int mode, int32_t acc, int32_t multiplier, int shift, int32_t rounding,
                                  int32_t offset, int32_t lo, int32_t hi)
{
    int32_t v;
    if (mode == KWS_REQUANT_EXACT) {
        v = kws_mbqm(acc, multiplier, shift) + offset;
    } else {
        v = kws_requant_fast(acc, multiplier, rounding, shift);
    }
    return kws_requant_clamp(mode, v, lo, hi);
}

KWS_INLINE int8_t kws_requant(int mode, const kws_requant_params_t *rq, int32_t acc, int channel)
{
    return kws_requant_one(mode, acc, rq->multiplier[channel], rq->shift[channel], rq->rounding[channel], rq->offset,
                           rq->lo, rq->hi);
}

#endif /* KWS_NN_REQUANT_H */
