/* DEPTHWISE_CONV_2D, int8, per-channel requantisation (TFLite's DepthwiseConvPerChannel).
 *
 * Two kernels, by the filter layout the generator chose (kws_nn.h): 3x3
 * layers with stride 1 (the DS-CNN templates' every depthwise layer) take the
 * planar kernel at the end of this file; every other shape the tap-pair
 * kernel below.
 *
 * Tap pairs. Output channel c reads input channel c / depth_multiplier. For each output
 * pixel the kernel first finds where each tap reads: an input pixel, or a row
 * of the input zero point where the tap falls in the padding (which then
 * contributes exactly nothing, as TFLite's skipped terms do). The channel
 * loops need no bounds checks after that.
 *
 * The generator stores the weights as int16 pairs: for each group of four
 * channels, each pair of taps 2j, 2j + 1 and each channel of the group,
 * (w[2j][c], w[2j + 1][c]) (see kws_nn.h). With depth
 * multiplier 1 the DSP path reads four channels of two taps as two input
 * words, splits them with SXTB16, packs each channel's two taps into one word
 * with PKHBT / PKHTB, and SMLAD multiplies both taps at once. The last tap of
 * an odd count goes alone, through SMLABB / SMLATB. */
#include <stddef.h>
#include <string.h>

#include "kws_nn.h"
#include "kws_nn_dsp.h"
#include "kws_nn_requant.h"

/* Scratch: the padding row (in_c bytes, rounded up to 8), then one pointer per
 * tap, then one int32 offset per tap. Returns the pointer table. */
static const int8_t **tap_table(const kws_conv_params_t *p, int8_t *scratch)
{
    const int32_t pad_bytes = ((int32_t)p->in_c + 7) & ~(int32_t)7;
    memset(scratch, p->pad_value, (size_t)pad_bytes);
    return (const int8_t **)(void *)(scratch + pad_bytes);
}

static void find_taps(const kws_conv_params_t *p, const int8_t *input, const int8_t *pad, int oy, int ox,
                      const int8_t **taps)
{
    const int32_t row_bytes = (int32_t)p->in_w * p->in_c;
    const int ix0 = ox * p->stride_w - p->pad_w;
    int ky, kx;
    if (ix0 >= 0 && ix0 + (p->k_w - 1) * p->dil_w < p->in_w) {
        /* Every column inside: only the rows need checking. */
        const int32_t step = (int32_t)p->dil_w * p->in_c;
        for (ky = 0; ky < p->k_h; ky++) {
            const int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) {
                for (kx = 0; kx < p->k_w; kx++) {
                    *taps++ = pad;
                }
            } else {
                const int8_t *at = input + iy * row_bytes + (int32_t)ix0 * p->in_c;
                for (kx = 0; kx < p->k_w; kx++, at += step) {
                    *taps++ = at;
                }
            }
        }
    } else {
        for (ky = 0; ky < p->k_h; ky++) {
            const int iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
            const int row_inside = iy >= 0 && iy < p->in_h;
            for (kx = 0; kx < p->k_w; kx++) {
                const int ix = ix0 + kx * p->dil_w;
                const int inside = row_inside && ix >= 0 && ix < p->in_w;
                *taps++ = inside ? input + iy * row_bytes + (int32_t)ix * p->in_c : pad;
            }
        }
    }
}

/* Where weight (tap t, channel c) is in the packed int16 layout (see kws_nn.h). */
static int32_t weight_index(int t, int c, int pairs)
{
    return ((int32_t)(c >> 2) * pairs + (t >> 1)) * 8 + (c & 3) * 2 + (t & 1);
}

/* Channels [from, out_c) of one pixel, one at a time: any depth multiplier. */
KWS_INLINE void channels_scalar(const kws_conv_params_t *p, const kws_requant_params_t *rq, int mode,
                                const int8_t **taps, int n_taps, int from, int8_t *out)
{
    const int16_t *weights = (const int16_t *)p->filter;
    const int pairs = (n_taps + 1) >> 1;
    int oc, t;
    for (oc = from; oc < p->out_c; oc++) {
        const int ic = p->depth_multiplier == 1 ? oc : oc / p->depth_multiplier;
        int32_t acc = 0;
        for (t = 0; t < n_taps; t++) {
            acc += taps[t][ic] * weights[weight_index(t, oc, pairs)];
        }
        out[oc] = kws_requant(mode, rq, kws_add_wrap(p->bias[oc], acc), oc);
    }
}

#if KWS_USE_DSP
/* Depth multiplier 1: every whole group of four channels; returns the first channel not done.
 * Each group's weights are contiguous: per pair of taps, four words (w[2j][c], w[2j+1][c]). */
KWS_INLINE int channels_by_four(const kws_conv_params_t *p, const kws_requant_params_t *rq, int mode,
                                const int8_t **taps, int n_taps, int8_t *out)
{
    const int8_t *w = (const int8_t *)p->filter; /* int16 pairs, read as words through memcpy */
    const int32_t *bias = p->bias, *mult = rq->multiplier, *rounding = rq->rounding;
    const int8_t *shift = rq->shift;
    const int32_t offset = rq->offset, lo = rq->lo, hi = rq->hi;
    const int8_t **pairs_end = taps + (n_taps & ~1);
    const int odd = n_taps & 1;
    int c;
    for (c = 0; c + 3 < p->out_c; c += 4) {
        const int8_t **tap = taps;
        int32_t s0 = bias[c], s1 = bias[c + 1], s2 = bias[c + 2], s3 = bias[c + 3];
        while (tap != pairs_end) {
            const int32_t xa = kws_read_s8x4(tap[0] + c), xb = kws_read_s8x4(tap[1] + c);
            int32_t lo_a = kws_sxtb16_lo(xa), lo_b = kws_sxtb16_lo(xb);
            s0 = __smlad(kws_pkhbt16(lo_a, lo_b), kws_read_word(w), s0);
            s2 = __smlad(kws_pkhtb16(lo_b, lo_a), kws_read_word(w + 8), s2);
            KWS_SCHEDULE_BARRIER();
            lo_a = kws_sxtb16_hi(xa);
            lo_b = kws_sxtb16_hi(xb);
            s1 = __smlad(kws_pkhbt16(lo_a, lo_b), kws_read_word(w + 4), s1);
            s3 = __smlad(kws_pkhtb16(lo_b, lo_a), kws_read_word(w + 12), s3);
            tap += 2;
            w += 16;
        }
        if (odd) {
            /* The last tap alone: its weights sit in the low halves, beside zeros. */
            const int32_t x = kws_read_s8x4(tap[0] + c);
            const int32_t x02 = kws_sxtb16_lo(x), x13 = kws_sxtb16_hi(x);
            s0 = __smlabb(x02, kws_read_word(w), s0);
            s2 = __smlatb(x02, kws_read_word(w + 8), s2);
            s1 = __smlabb(x13, kws_read_word(w + 4), s1);
            s3 = __smlatb(x13, kws_read_word(w + 12), s3);
            w += 16;
        }
        {
            /* Read before the first int8 store, which could otherwise alias them. */
            const int32_t m0 = mult[c], m1 = mult[c + 1], m2 = mult[c + 2], m3 = mult[c + 3];
            const int sh0 = shift[c], sh1 = shift[c + 1], sh2 = shift[c + 2], sh3 = shift[c + 3];
            const int32_t r0 = rounding[c], r1 = rounding[c + 1], r2 = rounding[c + 2], r3 = rounding[c + 3];
            out[c] = kws_requant_one(mode, s0, m0, sh0, r0, offset, lo, hi);
            out[c + 1] = kws_requant_one(mode, s1, m1, sh1, r1, offset, lo, hi);
            out[c + 2] = kws_requant_one(mode, s2, m2, sh2, r2, offset, lo, hi);
            out[c + 3] = kws_requant_one(mode, s3, m3, sh3, r3, offset, lo, hi);
        }
    }
    return c;
}
#endif

/* In place (output == input; the generator aliases only stride-1 layers with
 * depth multiplier 1 whose output has the input's shape), output row oy would
 * overwrite input row oy, which output rows up to oy + pad_h still read. So
 * each output row is held in one of pad_h + 1 row buffers after the tap
 * tables and copied home once the last row that reads its input is done. */
static int8_t *held_rows(const kws_conv_params_t *p, int8_t *scratch)
{
    const int32_t pad_bytes = ((int32_t)p->in_c + 7) & ~(int32_t)7;
    const int32_t table_bytes = (12 * (int32_t)p->k_h * p->k_w + 7) & ~(int32_t)7;
    return scratch + pad_bytes + table_bytes;
}

KWS_INLINE void depthwise_body(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch,
                               int mode)
{
    const kws_requant_params_t rq = KWS_REQUANT_PARAMS(p);
    const int8_t **taps = tap_table(p, scratch);
    const int n_taps = p->k_h * p->k_w, in_c = p->in_c, out_c = p->out_c;
    const int span_h = (p->k_h - 1) * p->dil_h, span_w = (p->k_w - 1) * p->dil_w;
    const int32_t row_bytes = (int32_t)p->out_w * out_c;
    const int in_place = output == input, held = p->pad_h + 1;
    int8_t *const rows = in_place ? held_rows(p, scratch) : output;
    int32_t *offsets = (int32_t *)(void *)(taps + n_taps); /* of each tap from the top-left one */
    int oy, ox, t;
    for (t = 0; t < n_taps; t++) {
        offsets[t] = ((int32_t)(t / p->k_w) * p->dil_h * p->in_w + (t % p->k_w) * p->dil_w) * in_c;
    }
    for (oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        const int rows_inside = iy0 >= 0 && iy0 + span_h < p->in_h;
        int8_t *out = in_place ? rows + (oy % held) * row_bytes : output + oy * row_bytes;
        for (ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            int done = 0;
            if (rows_inside && ix0 >= 0 && ix0 + span_w < p->in_w) {
                const int8_t *corner = input + ((int32_t)iy0 * p->in_w + ix0) * in_c;
                for (t = 0; t < n_taps; t++) {
                    taps[t] = corner + offsets[t];
                }
            } else {
                find_taps(p, input, scratch, oy, ox, taps);
            }
#if KWS_USE_DSP
            if (p->depth_multiplier == 1) {
                done = channels_by_four(p, &rq, mode, taps, n_taps, out);
            }
#endif
            channels_scalar(p, &rq, mode, taps, n_taps, done, out);
            out += out_c;
        }
        if (in_place && oy >= p->pad_h) {
            const int home = oy - p->pad_h; /* no later row reads input row `home` */
            memcpy(output + home * row_bytes, rows + (home % held) * row_bytes, (size_t)row_bytes);
        }
    }
    if (in_place) {
        for (oy = p->out_h - p->pad_h < 0 ? 0 : p->out_h - p->pad_h; oy < p->out_h; oy++) {
            memcpy(output + oy * row_bytes, rows + (oy % held) * row_bytes, (size_t)row_bytes);
        }
    }
}

/* ---- Planar 3x3 (filter_layout KWS_DW_PLANAR_3X3) ----
 *
 * One channel at a time: the channel is copied out of the NHWC input into an
 * int16 plane with its padding around it, then every output of that channel
 * is computed from the plane, whose rows are contiguous. The channel's weights
 * stay in registers for the whole plane (the DSP path gathers two channels
 * into two planes at once). Running in place is free: a channel's outputs
 * overwrite only that channel's inputs, which are all in the plane by then.
 *
 * The DSP path computes two neighbouring outputs x, x + 1 per kernel row from
 * two plane words A = (p[x], p[x+1]) and B = (p[x+2], p[x+3]) with the weight
 * words W01 = (w0, w1) and W12 = (w1, w2):
 *   out[x]     += SMLAD(A, W01) + SMLABT(B, W12)   w0 p[x]   + w1 p[x+1] + w2 p[x+2]
 *   out[x + 1] += SMLATB(A, W01) + SMLAD(B, W12)   w0 p[x+1] + w1 p[x+2] + w2 p[x+3]
 * Six instructions and two loads for six multiply-accumulates. */

/* Values per plane row: every output pair reads two words past its first column. */
static int32_t plane_stride(const kws_conv_params_t *p)
{
    return (((int32_t)p->out_w + 1) & ~(int32_t)1) + 2;
}

static void plane_fill(const kws_conv_params_t *p, int16_t *plane)
{
    const int32_t n = ((int32_t)p->out_h + 2) * plane_stride(p);
    const int16_t pad = p->pad_value;
    int32_t i;
    for (i = 0; i < n; i++) {
        plane[i] = pad;
    }
}

/* Where the input goes in a plane: rows and columns copied (those past the
 * plane are never read), and the first destination. Read into locals once, as
 * the int16 stores into the plane could alias the parameter block's fields. */
typedef struct {
    int32_t stride, in_c, skip;
    int rows, cols;
    int32_t first;
} kws_plane_geometry_t;

static kws_plane_geometry_t plane_geometry(const kws_conv_params_t *p)
{
    kws_plane_geometry_t g;
    g.stride = plane_stride(p);
    g.in_c = p->in_c;
    g.rows = p->in_h < p->out_h + 2 - p->pad_h ? p->in_h : p->out_h + 2 - p->pad_h;
    g.cols = p->in_w < g.stride - p->pad_w ? p->in_w : (int)g.stride - p->pad_w;
    g.skip = ((int32_t)p->in_w - g.cols) * g.in_c;
    g.first = (int32_t)p->pad_h * g.stride + p->pad_w;
    return g;
}

/* Channel c of the input into the plane's interior; the padding around it stays as filled. */
static void plane_gather(const kws_plane_geometry_t *g, const int8_t *input, int c, int16_t *plane)
{
    const int32_t in_c = g->in_c, stride = g->stride, skip = g->skip;
    const int cols = g->cols;
    const int8_t *src = input + c;
    int16_t *row = plane + g->first;
    int iy, n;
    for (iy = g->rows; iy > 0; iy--, row += stride, src += skip) {
        int16_t *dst = row;
        for (n = cols; n > 0; n--, src += in_c) {
            *dst++ = *src;
        }
    }
}

#if KWS_USE_DSP
/* Channels c and c + 1 into two planes at once: the (c, c + 1) halfwords of
 * two neighbouring pixels make one word (x0, x1, y0, y1), and SXTB16 splits it
 * into (x0, y0) and (x1, y1), one word of each plane. */
static void plane_gather_two(const kws_plane_geometry_t *g, const int8_t *input, int c, int16_t *plane0,
                             int16_t *plane1)
{
    const int32_t in_c = g->in_c, stride = g->stride, skip = g->skip;
    const int cols = g->cols;
    const int8_t *src = input + c;
    int16_t *row0 = plane0 + g->first, *row1 = plane1 + g->first;
    int iy, n;
    for (iy = g->rows; iy > 0; iy--, row0 += stride, row1 += stride, src += skip) {
        int16_t *dst0 = row0, *dst1 = row1;
        for (n = cols >> 1; n > 0; n--, src += 2 * in_c, dst0 += 2, dst1 += 2) {
            uint16_t x, y;
            int32_t z;
            memcpy(&x, src, 2);
            memcpy(&y, src + in_c, 2);
            z = (int32_t)((uint32_t)x | ((uint32_t)y << 16));
            kws_store_pair(dst0, kws_sxtb16_lo(z));
            kws_store_pair(dst1, kws_sxtb16_hi(z));
        }
        if (cols & 1) {
            dst0[0] = src[0];
            dst1[0] = src[1];
            src += in_c;
        }
    }
}
#endif

/* The per-channel constants of the planar kernels. */
typedef struct {
    int32_t bias2, multiplier, rounding;
    int right_plus_one;
} kws_planar_channel_t;

KWS_INLINE int8_t planar_requant(int mode, int32_t acc2, const kws_planar_channel_t *k, int32_t lo, int32_t hi)
{
    return kws_requant_clamp(mode, kws_requant_fast_x2(acc2, k->multiplier, k->rounding, k->right_plus_one), lo, hi);
}

#if KWS_USE_DSP
#if KWS_NN_ASM
/* The assembly channel loop's arguments, read once: the row loop keeps the
 * first eight words on its stack. Offsets are spelled out in the assembly,
 * and checked here. */
typedef struct {
    int32_t bias2, multiplier, rounding, right_plus_one; /* the channel's constants (sp + 0..12) */
    int32_t step; /* out_c: from one output pixel to the next (sp + 16) */
    const int16_t *end; /* the first row pointer after the current row's last pair (sp + 20) */
    int32_t row_bytes; /* the plane's stride in bytes (sp + 24) */
    const int16_t *stop; /* end once the last row is done (sp + 28) */
    const int16_t *plane; /* offset 32 */
    int8_t *out; /* the channel's first output, offset 36 */
    const int16_t *weights; /* the channel's six weight words, offset 40 */
} kws_planar_asm_t;

KWS_STATIC_ASSERT(planar_args, offsetof(kws_planar_asm_t, stop) == 28 && offsetof(kws_planar_asm_t, plane) == 32 &&
                                   offsetof(kws_planar_asm_t, weights) == 40 && sizeof(void *) == 4);

/* A whole channel of an even output width in KWS_REQUANT_FAST_INT8 mode:
 * exactly planar_pair, then kws_requant_fast_x2 and SSAT, for every pair, in
 * 35 instructions a pair where GCC 12 spills to 47. A naked function, so
 * that it has all 14 registers whatever the build's flags (a frame pointer
 * would take one): r4-r9 the six weight words, r10-r12 the three row
 * pointers, lr the output, r0-r3 working values. A row's pairs end two values
 * before the next plane row starts (the stride is out_w + 2). */
KWS_NAKED void planar_channel_int8(const kws_planar_asm_t *args KWS_ASM_ARG)
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "ldm    r0, {r1-r8}\n\t"
        "push   {r1-r8}\n\t"
        "ldr    r10, [r0, #32]\n\t"
        "ldr    lr, [r0, #36]\n\t"
        "ldr    r1, [r0, #40]\n\t"
        "ldr    r4, [r1, #0]\n\t"
        "ldr    r5, [r1, #4]\n\t"
        "ldr    r6, [r1, #8]\n\t"
        "ldr    r7, [r1, #12]\n\t"
        "ldr    r8, [r1, #16]\n\t"
        "ldr    r9, [r1, #20]\n\t"
        "ldr    r2, [sp, #24]\n\t"
        "add    r11, r10, r2\n\t"
        "add    r12, r11, r2\n\t"
        "1:\n\t"
        "ldrd   r0, r1, [r10], #4\n\t"
        "ldr    r3, [sp, #0]\n\t"
        "smlad  r2, r0, r4, r3\n\t"
        "smlatb r3, r0, r4, r3\n\t"
        "smlabt r2, r1, r5, r2\n\t"
        "smlad  r3, r1, r5, r3\n\t"
        "ldrd   r0, r1, [r11], #4\n\t"
        "smlad  r2, r0, r6, r2\n\t"
        "smlatb r3, r0, r6, r3\n\t"
        "smlabt r2, r1, r7, r2\n\t"
        "smlad  r3, r1, r7, r3\n\t"
        "ldrd   r0, r1, [r12], #4\n\t"
        "smlad  r2, r0, r8, r2\n\t"
        "smlatb r3, r0, r8, r3\n\t"
        "smlabt r2, r1, r9, r2\n\t"
        "smlad  r3, r1, r9, r3\n\t"
        /* h = SMMULR(acc2, multiplier); (rounding + 2h - (h >>> 31)) >> right_plus_one; SSAT 8 */
        "ldr    r0, [sp, #4]\n\t"
        "smmulr r2, r2, r0\n\t"
        "smmulr r3, r3, r0\n\t"
        "ldr    r0, [sp, #8]\n\t"
        "add    r1, r0, r2, lsl #1\n\t"
        "sub    r1, r1, r2, lsr #31\n\t"
        "ldr    r2, [sp, #12]\n\t"
        "asr    r1, r1, r2\n\t"
        "ssat   r1, #8, r1\n\t"
        "strb   r1, [lr]\n\t"
        "add    r1, r0, r3, lsl #1\n\t"
        "sub    r1, r1, r3, lsr #31\n\t"
        "asr    r1, r1, r2\n\t"
        "ssat   r1, #8, r1\n\t"
        "ldr    r0, [sp, #16]\n\t"
        "strb   r1, [lr, r0]\n\t"
        "add    lr, lr, r0, lsl #1\n\t"
        "ldr    r0, [sp, #20]\n\t"
        "cmp    r10, r0\n\t"
        "bne    1b\n\t"
        /* Row done: past the plane's two extra columns, the next row's end, unless that is the stop. */
        "add    r10, r10, #4\n\t"
        "add    r11, r11, #4\n\t"
        "add    r12, r12, #4\n\t"
        "ldr    r1, [sp, #24]\n\t"
        "add    r0, r0, r1\n\t"
        "str    r0, [sp, #20]\n\t"
        "ldr    r1, [sp, #28]\n\t"
        "cmp    r0, r1\n\t"
        "bne    1b\n\t"
        "add    sp, sp, #32\n\t"
        "pop    {r4-r11, pc}\n\t");
}
#endif

/* One kernel row's part of output pair (x, x + 1), from the plane row r at x (see above). */
KWS_INLINE void planar_row(const int16_t *r, int32_t w01, int32_t w12, int32_t *s0, int32_t *s1)
{
    const int32_t a = kws_load_pair(r), b = kws_load_pair(r + 2);
    *s0 = __smlabt(b, w12, __smlad(a, w01, *s0));
    *s1 = __smlad(b, w12, __smlatb(a, w01, *s1));
}

/* Output pair (x, x + 1) from rows r0..r2 at x: the C twin of the assembly loop. */
KWS_INLINE void planar_pair(const int16_t *r0, const int16_t *r1, const int16_t *r2, const int32_t w[6],
                            int32_t bias2, int32_t *s0, int32_t *s1)
{
    *s0 = *s1 = bias2;
    planar_row(r0, w[0], w[1], s0, s1);
    planar_row(r1, w[2], w[3], s0, s1);
    planar_row(r2, w[4], w[5], s0, s1);
}

/* One channel: w holds its six weight words (see kws_nn.h), out its first output. */
KWS_INLINE void planar_channel(const kws_conv_params_t *p, int mode, const int16_t *plane, const int16_t *w16,
                               kws_planar_channel_t k, int8_t *out)
{
    const int32_t stride = plane_stride(p), step = p->out_c, lo = p->act_min, hi = p->act_max;
    const int out_w = p->out_w, pairs = out_w >> 1;
    int32_t w[6];
    int y, i;
    for (i = 0; i < 6; i++) {
        w[i] = kws_load_pair(w16 + 2 * i);
    }
#if KWS_NN_ASM
    if (mode == KWS_REQUANT_FAST_INT8 && pairs > 0 && !(out_w & 1) && p->out_h > 0) {
        const kws_planar_asm_t args = {k.bias2,     k.multiplier, k.rounding,
                                       k.right_plus_one, step,     plane + out_w,
                                       2 * stride,  plane + out_w + (int32_t)p->out_h * stride, plane,
                                       out,         w16};
        planar_channel_int8(&args);
        return;
    }
#endif
    for (y = 0; y < p->out_h; y++) {
        const int16_t *r0 = plane + (int32_t)y * stride, *r1 = r0 + stride, *r2 = r1 + stride;
        int32_t s0, s1;
        for (i = 0; i < pairs; i++, r0 += 2, r1 += 2, r2 += 2, out += 2 * step) {
            planar_pair(r0, r1, r2, w, k.bias2, &s0, &s1);
            out[0] = planar_requant(mode, s0, &k, lo, hi);
            out[step] = planar_requant(mode, s1, &k, lo, hi);
        }
        if (out_w & 1) {
            /* An odd last column: the first output of a pair alone (the second has no place in the row). */
            planar_pair(r0, r1, r2, w, k.bias2, &s0, &s1);
            out[0] = planar_requant(mode, s0, &k, lo, hi);
            out += step;
        }
    }
}
#else
KWS_INLINE void planar_channel(const kws_conv_params_t *p, int mode, const int16_t *plane, const int16_t *w,
                               kws_planar_channel_t k, int8_t *out)
{
    /* (w0, w1), (w1, w2) per row: w0 and w1 from the first word, w2 from the second. */
    const int32_t a0 = w[0], a1 = w[1], a2 = w[3], b0 = w[4], b1 = w[5], b2 = w[7];
    const int32_t c0 = w[8], c1 = w[9], c2 = w[11];
    const int32_t stride = plane_stride(p), step = p->out_c, lo = p->act_min, hi = p->act_max;
    int y, x;
    for (y = 0; y < p->out_h; y++) {
        const int16_t *r0 = plane + (int32_t)y * stride, *r1 = r0 + stride, *r2 = r1 + stride;
        for (x = 0; x < p->out_w; x++, out += step) {
            const int32_t acc2 = k.bias2 + a0 * r0[x] + a1 * r0[x + 1] + a2 * r0[x + 2] + b0 * r1[x] +
                                 b1 * r1[x + 1] + b2 * r1[x + 2] + c0 * r2[x] + c1 * r2[x + 1] + c2 * r2[x + 2];
            *out = planar_requant(mode, acc2, &k, lo, hi);
        }
    }
}
#endif

/* Channel c's constants: bias holds the doubled bias, shift right + 1 (the fast modes). */
static kws_planar_channel_t planar_constants(const kws_conv_params_t *p, int c)
{
    const kws_planar_channel_t k = {p->bias[c], p->multiplier[c], p->rounding[c], p->shift[c]};
    return k;
}

/* Scratch: one plane, or two on the DSP path (channels go two at a time). */
KWS_INLINE void planar_body(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch,
                            int mode)
{
    const kws_plane_geometry_t g = plane_geometry(p);
    int16_t *plane = (int16_t *)(void *)scratch;
    const int16_t *w = (const int16_t *)p->filter;
    int c = 0;
    plane_fill(p, plane);
#if KWS_USE_DSP
    {
        int16_t *plane1 = plane + ((int32_t)p->out_h + 2) * g.stride;
        plane_fill(p, plane1);
        for (; c + 1 < p->out_c; c += 2, w += 24) {
            plane_gather_two(&g, input, c, plane, plane1);
            planar_channel(p, mode, plane, w, planar_constants(p, c), output + c);
            planar_channel(p, mode, plane1, w + 12, planar_constants(p, c + 1), output + c + 1);
        }
    }
#endif
    for (; c < p->out_c; c++, w += 12) {
        plane_gather(&g, input, c, plane);
        planar_channel(p, mode, plane, w, planar_constants(p, c), output + c);
    }
}

void kws_depthwise_conv_s8(const kws_conv_params_t *p, const int8_t *input, int8_t *output, int8_t *scratch)
{
    if (p->filter_layout == KWS_DW_PLANAR_3X3) {
        /* The generator uses this layout only with a fast requantisation mode. */
        if (p->requant_mode == KWS_REQUANT_FAST_INT8) {
            planar_body(p, input, output, scratch, KWS_REQUANT_FAST_INT8);
        } else {
            planar_body(p, input, output, scratch, KWS_REQUANT_FAST);
        }
        return;
    }
    switch (p->requant_mode) {
    case KWS_REQUANT_FAST_INT8:
        depthwise_body(p, input, output, scratch, KWS_REQUANT_FAST_INT8);
        break;
    case KWS_REQUANT_FAST:
        depthwise_body(p, input, output, scratch, KWS_REQUANT_FAST);
        break;
    default:
        depthwise_body(p, input, output, scratch, KWS_REQUANT_EXACT);
        break;
    }
}
