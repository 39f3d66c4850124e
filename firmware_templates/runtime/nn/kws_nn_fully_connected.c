/* FULLY_CONNECTED, int8 (TFLite's FullyConnected / FullyConnectedPerChannel).
 * The weights are TFLite's [units][depth], symmetric as its int8 scheme requires. */
#include "kws_nn.h"
#include "kws_nn_dot.h"
#include "kws_nn_requant.h"

KWS_INLINE void fc_body(const kws_fc_params_t *p, const int8_t *input, int8_t *output, int mode)
{
    const kws_requant_params_t rq = KWS_REQUANT_PARAMS(p);
    int b, u;
    for (b = 0; b < p->batches; b++) {
        const int8_t *x = input + (int32_t)b * p->depth;
        for (u = 0; u < p->units; u++) {
            const int32_t dot = kws_dot_s8(p->filter + (int32_t)u * p->depth, x, p->depth);
            *output++ = kws_requant(mode, &rq, kws_add_wrap(p->bias[u], dot), u);
        }
    }
}

void kws_fully_connected_s8(const kws_fc_params_t *p, const int8_t *input, int8_t *output)
{
    switch (p->requant_mode) {
    case KWS_REQUANT_FAST_INT8:
        fc_body(p, input, output, KWS_REQUANT_FAST_INT8);
        break;
    case KWS_REQUANT_FAST:
        fc_body(p, input, output, KWS_REQUANT_FAST);
        break;
    default:
        fc_body(p, input, output, KWS_REQUANT_EXACT);
        break;
    }
}
