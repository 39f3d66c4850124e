/* The end of every accumulating kernel: requantise, add the output zero point, clamp. */
#ifndef KWS_NN_REQUANT_H
#define KWS_NN_REQUANT_H

#include "kws_nn_math.h"

KWS_INLINE int8_t kws_requant(int32_t acc, int32_t multiplier, int shift, int32_t offset, int32_t lo, int32_t hi)
{
    int32_t v = kws_mbqm(acc, multiplier, shift) + offset;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

#endif /* KWS_NN_REQUANT_H */
