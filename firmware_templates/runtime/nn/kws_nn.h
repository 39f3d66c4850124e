/* int8 kernels for compiled networks, one operator per source file.
 *
 * Tensors are NHWC with batch 1. Every parameter block is const data that the
 * generator (kwsgen/codegen) fills in; multipliers and shifts are those TFLite
 * Micro computes, and biases already include the input offset times the sum
 * of each filter's weights, so the inner loops are plain int8 dot products.
 * Padding reads the input's zero point, which contributes exactly zero, as
 * TFLite's skipped terms do. */
#ifndef KWS_NN_H
#define KWS_NN_H

#include <stdint.h>

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c;
    int16_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int16_t depth_multiplier; /* depthwise only */
    int8_t pad_value; /* the input zero point */
    int8_t requant_mode; /* KWS_REQUANT_EXACT, _FAST or _FAST_INT8 (kws_nn_requant.h); it sets what shift holds */
    int8_t filter_layout; /* depthwise only: KWS_DW_TAP_PAIRS or KWS_DW_PLANAR_3X3 (below) */
    int16_t act_min, act_max, output_offset;
    const void *filter; /* the generator's packed layouts: see below */
    const int32_t *bias; /* [out_c]: bias + input_offset * sum(filter weights) */
    const int32_t *multiplier; /* [out_c] */
    const int8_t *shift; /* [out_c] */
    const int32_t *rounding; /* [out_c], read by the fast requantisation modes (kws_nn_requant.h) */
    /* For CONV_2D with an odd out_c, bias, multiplier and shift have one more
     * (unused) entry, to match the pair-packed filter. */
} kws_conv_params_t;

typedef struct {
    int16_t batches, depth, units;
    int8_t requant_mode;
    int16_t act_min, act_max, output_offset;
    const int8_t *filter; /* [units][depth], symmetric (zero point 0) as TFLite requires */
    const int32_t *bias; /* [units]: bias + input_offset * sum(weights) */
    const int32_t *multiplier; /* [units] */
    const int8_t *shift; /* [units] */
    const int32_t *rounding; /* [units], read by the fast requantisation modes */
} kws_fc_params_t;

typedef struct {
    int16_t in_h, in_w, channels, out_h, out_w;
    int16_t k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int16_t act_min, act_max;
} kws_pool_params_t;

typedef struct {
    int16_t spatial, channels;
    int16_t input_zero_point, output_zero_point;
    int32_t multiplier; /* input_scale / output_scale / spatial */
    int16_t shift;
} kws_mean_params_t;

typedef struct {
    int16_t rows, depth;
    int32_t multiplier;
    int16_t left_shift;
    int32_t diff_min;
} kws_softmax_params_t;

typedef struct {
    int32_t size;
    int16_t input1_offset, input2_offset, output_offset, left_shift;
    int32_t input1_multiplier, input2_multiplier, output_multiplier;
    int16_t input1_shift, input2_shift, output_shift;
    int16_t act_min, act_max;
} kws_add_params_t;

/* Depthwise filter layouts (field filter_layout). */
enum { KWS_DW_TAP_PAIRS = 0, KWS_DW_PLANAR_3X3 = 1 };

/* scratch: 7 * (k_h * k_w * in_c rounded up to 8) bytes, 8-byte aligned (an int8 im2col column, then
 * the int16 columns of three pixels). */
/* Filter layouts (the generator packs them so the inner loops walk one pointer):
 *
 * CONV_2D, int8, "pair-packed". D is k_h * k_w * in_c rounded up to a multiple
 * of 4. For each pair of output channels (2p, 2p + 1) and each group of four
 * depth positions (in [k_h][k_w][in_c] order): the four weights of channel 2p,
 * then the four of channel 2p + 1. Positions beyond the depth, and a missing
 * last channel of an odd count, hold zeros. Size: ceil(out_c / 2) * 2 * D.
 *
 * DEPTHWISE_CONV_2D, int16. For each group of four output channels (the last
 * one padded with zero weights), each pair of taps (2j, 2j + 1) in [k_h][k_w]
 * order (an odd count padded with a zero-weight tap), and each channel c of
 * the group: w[2j][c], w[2j + 1][c]. Weight (tap t, channel c) is at
 * ((c / 4) * P + t / 2) * 8 + (c % 4) * 2 + t % 2, P = ceil(k_h * k_w / 2).
 *
 * DEPTHWISE_CONV_2D, int16, planar 3x3 (KWS_DW_PLANAR_3X3): for a 3x3 kernel
 * with stride 1, no dilation, depth multiplier 1 and a fast requantisation
 * mode. Per channel, per kernel row r: (w[r][0], w[r][1]), (w[r][1], w[r][2]),
 * every weight doubled, and the bias doubled too, so that the accumulator is
 * already the 2 * acc that the requantisation's SMMULR takes (the fast modes
 * prove |acc| < 2^29, so 2 * acc fits). 12 int16 per channel.
 *
 * FULLY_CONNECTED, int8, TFLite's own [units][depth]. */

/* May run in place (output == input) when it is 1x1, stride 1, unpadded and out_c <= in_c:
 * each pixel is read into the scratch columns before its outputs are written. */
void kws_conv_s8(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch);
/* scratch, 8-byte aligned. Tap pairs: in_c rounded up to 8, plus 12 bytes per tap rounded up to 8
 * (padding row, tap tables). Planar 3x3: two int16 channel planes (the portable path uses one),
 * each of out_h + 2 rows of (out_w rounded up to even) + 2 values, rounded up to 8 bytes.
 * May run in place (output == input) with stride 1, depth multiplier 1 and the output the input's
 * shape. With tap pairs the scratch then also holds pad_h + 1 output rows (out_w * out_c bytes
 * each) after the tap tables; the planar path needs nothing more (a channel is all in the plane
 * before its outputs are written). */
void kws_depthwise_conv_s8(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch);
void kws_fully_connected_s8(const kws_fc_params_t *p, const int8_t *input, int8_t *output);
void kws_avg_pool_s8(const kws_pool_params_t *p, const int8_t *input, int8_t *output);
void kws_max_pool_s8(const kws_pool_params_t *p, const int8_t *input, int8_t *output);
void kws_mean_s8(const kws_mean_params_t *p, const int8_t *input, int8_t *output);
void kws_softmax_s8(const kws_softmax_params_t *p, const int8_t *input, int8_t *output);
void kws_add_s8(const kws_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#endif /* KWS_NN_H */
