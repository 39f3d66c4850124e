/* FULLY_CONNECTED, int8 (TFLite's FullyConnected / FullyConnectedPerChannel). */
#include "kws_nn.h"
#include "kws_nn_dot.h"
#include "kws_nn_requant.h"

void kws_fully_connected_s8(const kws_fc_params_t *p, const int8_t *input, int8_t *output)
{
    int b, u;
    for (b = 0; b < p->batches; b++) {
        const int8_t *x = input + (int32_t)b * p->depth;
        for (u = 0; u < p->units; u++) {
            const int32_t acc = p->bias[u] + kws_dot_s8(p->filter + (int32_t)u * p->depth, x, p->depth);
            *output++ = kws_requant(acc, p->multiplier[u], p->shift[u], p->output_offset, p->act_min, p->act_max);
        }
    }
}
