/* int8 dot products, the inner loop of convolutions and fully connected layers. */
#ifndef KWS_NN_DOT_H
#define KWS_NN_DOT_H

#include <stdint.h>

#include "../kws_fixed.h"

KWS_INLINE int32_t kws_dot_s8(const int8_t *a, const int8_t *b, int32_t n)
{
    int32_t acc = 0, i;
    for (i = 0; i < n; i++) {
        acc += (int32_t)a[i] * b[i];
    }
    return acc;
}

#endif /* KWS_NN_DOT_H */
