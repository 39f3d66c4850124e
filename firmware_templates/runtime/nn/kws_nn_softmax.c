/* SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128): TFLite's
 * quantised Softmax with gemmlowp's fixed-point exp and reciprocal.
 *
 * Fixed-point values are int32 with a stated number of integer bits: F0 is
 * Q0.31, F2 is Q2.29, F5 (the scaled input differences) is Q5.26 and F12 (the
 * sum of exponentials) is Q12.19. A product of Qa and Qb values is a
 * Q(a+b) value (kws_srdhm), and rescaling between formats is a saturating
 * left shift or a rounding right shift. */
#include "kws_nn.h"
#include "kws_nn_math.h"

/* x * 2^e, saturating, for e >= 1. */
static int32_t sat_shl(int32_t x, int e)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - e)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return kws_shl_wrap(x, e);
}

/* exp(a) for a in [-1/4, 0), a in F0; a Taylor expansion around -1/8. */
static int32_t exp_quarter_interval(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in F0 */
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28); /* a + 1/8 */
    const int32_t x2 = kws_srdhm(x, x);
    const int32_t x3 = kws_srdhm(x2, x);
    const int32_t x4 = kws_srdhm(x2, x2);
    const int32_t x4_over_4 = kws_rdbpot(x4, 2);
    const int32_t poly = kws_rdbpot(kws_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + kws_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0, a in F5 (Q5.26), result in F0. */
static int32_t exp_negative(int32_t a)
{
    /* exp(-2^k) in F0 for k = -2 .. 4, applied for each set bit of the remainder. */
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = (int32_t)1 << 24;
    const int32_t a_mod_quarter_minus_quarter = (a & (quarter - 1)) - quarter;
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    int32_t result = exp_quarter_interval(sat_shl(a_mod_quarter_minus_quarter, 5));
    int k;
    for (k = 0; k < 7; k++) {
        if (remainder & ((int32_t)1 << (24 + k))) {
            result = kws_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* (a + b) / 2 rounded to nearest, ties away from zero. */
static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* 1 / (1 + a) for a in [0, 1), a and result in F0: three Newton-Raphson steps in F2. */
static int32_t one_over_one_plus(int32_t a)
{
    const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
    const int32_t c48_17 = 1515870810, c_neg32_17 = -1010580540; /* 48/17, -32/17 in F2 */
    const int32_t one_f2 = (int32_t)1 << 29;
    int32_t x = c48_17 + kws_srdhm(half_denominator, c_neg32_17);
    int i;
    for (i = 0; i < 3; i++) {
        const int32_t one_minus = one_f2 - kws_srdhm(half_denominator, x);
        x = x + sat_shl(kws_srdhm(x, one_minus), 2);
    }
    return sat_shl(x, 1);
}

void kws_softmax_s8(const kws_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    int r, c;
    for (r = 0; r < p->rows; r++) {
        const int8_t *in = input + (int32_t)r * p->depth;
        int8_t *out = output + (int32_t)r * p->depth;
        int32_t max = -128, sum = 0, scale;
        int headroom, bits_over_unit;
        for (c = 0; c < p->depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        for (c = 0; c < p->depth; c++) {
            const int32_t diff = in[c] - max;
            if (diff >= p->diff_min) {
                const int32_t scaled = kws_srdhm(kws_shl_wrap(diff, p->left_shift), p->multiplier);
                sum += kws_rdbpot(exp_negative(scaled), 12); /* F0 -> F12 */
            }
        }
        headroom = kws_clz32((uint32_t)sum);
        bits_over_unit = 12 - headroom;
        scale = one_over_one_plus((int32_t)(((uint32_t)sum << headroom) - 0x80000000u));
        for (c = 0; c < p->depth; c++) {
            const int32_t diff = in[c] - max;
            if (diff >= p->diff_min) {
                const int32_t scaled = kws_srdhm(kws_shl_wrap(diff, p->left_shift), p->multiplier);
                int32_t v = kws_rdbpot(kws_srdhm(scale, exp_negative(scaled)), bits_over_unit + 31 - 8) - 128;
                v = v < -128 ? -128 : (v > 127 ? 127 : v);
                out[c] = (int8_t)v;
            } else {
                out[c] = -128;
            }
        }
    }
}
