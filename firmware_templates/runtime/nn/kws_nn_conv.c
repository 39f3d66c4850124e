/* CONV_2D, int8, per-channel requantisation (TFLite's ConvPerChannel).
 *
 * For each output pixel the receptive field is gathered into a column (the
 * input zero point where it falls outside the image), then every output
 * channel is one dot product with its filter row. A 1x1 convolution with
 * stride 1 and no padding reads the input pixel directly. */
#include "kws_nn.h"

#include <string.h>

#include "kws_nn_dot.h"
#include "kws_nn_requant.h"

static void gather_column(const kws_conv_params_t *p, const int8_t *input, int oy, int ox, int8_t *col)
{
    int ky, kx;
    for (ky = 0; ky < p->k_h; ky++) {
        const int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
        for (kx = 0; kx < p->k_w; kx++) {
            const int ix = ox * p->stride_w - p->pad_w + kx * p->dil_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                memset(col, p->pad_value, (size_t)p->in_c);
            } else {
                memcpy(col, input + ((int32_t)iy * p->in_w + ix) * p->in_c, (size_t)p->in_c);
            }
            col += p->in_c;
        }
    }
}

void kws_conv_s8(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch)
{
    const int32_t depth = (int32_t)p->k_h * p->k_w * p->in_c;
    const int direct = p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
                       p->pad_w == 0;
    int8_t *col = scratch;
    int oy, ox, oc;
    for (oy = 0; oy < p->out_h; oy++) {
        for (ox = 0; ox < p->out_w; ox++) {
            const int8_t *column;
            if (direct) {
                column = input + ((int32_t)oy * p->in_w + ox) * p->in_c;
            } else {
                gather_column(p, input, oy, ox, col);
                column = col;
            }
            for (oc = 0; oc < p->out_c; oc++) {
                const int32_t acc = p->bias[oc] + kws_dot_s8(p->filter + oc * depth, column, depth);
                *output++ = kws_requant(acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min,
                                        p->act_max);
            }
        }
    }
}
