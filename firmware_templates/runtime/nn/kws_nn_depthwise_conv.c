/* DEPTHWISE_CONV_2D, int8, per-channel requantisation (TFLite's DepthwiseConvPerChannel).
 * Output channel c reads input channel c / depth_multiplier. */
#include "kws_nn.h"
#include "kws_nn_requant.h"

void kws_depthwise_conv_s8(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch)
{
    (void)scratch; /* the portable path reads the padding value directly */
    int oy, ox, oc, ky, kx;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            for (oc = 0; oc < p->out_c; oc++) {
                const int ic = oc / p->depth_multiplier;
                int32_t acc = p->bias[oc];
                for (ky = 0; ky < p->k_h; ky++) {
                    const int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
                    for (kx = 0; kx < p->k_w; kx++) {
                        const int ix = ox * p->stride_w - p->pad_w + kx * p->dil_w;
                        const int32_t x = (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
                                              ? p->pad_value
                                              : input[((int32_t)iy * p->in_w + ix) * p->in_c + ic];
                        acc += x * p->filter[((int32_t)ky * p->k_w + kx) * p->out_c + oc];
                    }
                }
                *output++ = kws_requant(acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min,
                                        p->act_max);
            }
        }
    }
}
