/* ADD, int8, two tensors of one shape (TFLite's integer Add): both inputs
 * are shifted up by 2^left_shift, rescaled to a common scale, summed, and the
 * sum rescaled to the output. */
#include "kws_nn.h"
#include "kws_nn_math.h"

static int32_t scale_down(int32_t x, int32_t multiplier, int shift)
{
    return kws_rdbpot(kws_srdhm(x, multiplier), -shift); /* shift <= 0 */
}

void kws_add_s8(const kws_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    int32_t i;
    for (i = 0; i < p->size; i++) {
        const int32_t a = kws_shl_wrap(p->input1_offset + input1[i], p->left_shift);
        const int32_t b = kws_shl_wrap(p->input2_offset + input2[i], p->left_shift);
        const int32_t sum = scale_down(a, p->input1_multiplier, p->input1_shift) +
                            scale_down(b, p->input2_multiplier, p->input2_shift);
        int32_t v = scale_down(sum, p->output_multiplier, p->output_shift) + p->output_offset;
        v = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
        output[i] = (int8_t)v;
    }
}
