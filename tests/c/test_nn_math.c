/* The requantisation arithmetic of the int8 kernels against plain definitions.
 *
 * kws_srdhm and kws_rdbpot are checked against their definitions written with
 * 64-bit arithmetic and explicit rounding; kws_requant_fast (the fast mode)
 * against the exact kws_mbqm over its whole stated domain: random
 * accumulators up to +-2^29, every right shift 0..20, random multipliers in
 * [2^30, 2^31), and the boundary values of each. */
#include <stdint.h>
#include <stdio.h>

#include "kws_nn_math.h"

static uint64_t state = 0x9E3779B97F4A7C15ull;

static uint32_t next_u32(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 16);
}

static int32_t next_i32(void)
{
    return (int32_t)next_u32();
}

/* round(a * b / 2^31), halves rounded up (-0.5 gives 0), from the exact 64-bit product. */
static int32_t srdhm_definition(int32_t a, int32_t b)
{
    const int64_t ab = (int64_t)a * b;
    const int64_t half = (int64_t)1 << 30;
    int64_t q;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    q = ab >= 0 ? (ab + half) / ((int64_t)1 << 31) : -((-ab + half - 1) / ((int64_t)1 << 31));
    return (int32_t)q;
}

/* round(x / 2^e), ties away from zero. */
static int32_t rdbpot_definition(int32_t x, int e)
{
    const int64_t d = (int64_t)1 << e, v = x;
    if (e == 0) {
        return x;
    }
    return (int32_t)(v >= 0 ? (v + d / 2) / d : -((-v + d / 2) / d));
}

static int failures;

static void expect(int ok, const char *what, int64_t a, int64_t b, int64_t c)
{
    if (!ok && failures++ < 10) {
        printf("FAIL %s: %lld %lld %lld\n", what, (long long)a, (long long)b, (long long)c);
    }
}

static int clamp8(int32_t v)
{
    return v < -128 ? -128 : (v > 127 ? 127 : v);
}

int main(void)
{
    static const int32_t edges[] = {0, 1, -1, 2, -2, (1 << 29) - 1, -(1 << 29) + 1, 12345, -12345, 1 << 20, -(1 << 20)};
    long i;
    int e, k;
    for (i = 0; i < 2000000; i++) {
        const int32_t a = next_i32(), b = next_i32();
        expect(kws_srdhm(a, b) == srdhm_definition(a, b), "srdhm", a, b, 0);
        e = (int)(next_u32() % 32);
        expect(kws_rdbpot(a, e) == rdbpot_definition(a, e), "rdbpot", a, e, 0);
    }
    expect(kws_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX, "srdhm saturation", 0, 0, 0);
    for (i = 0; i < 3000000; i++) {
        const int32_t m = (int32_t)((1u << 30) | (next_u32() >> 2));
        const int right = (int)(next_u32() % 21);
        const int32_t offset = (int32_t)(next_u32() % 256) - 128;
        int32_t x = (int32_t)(next_u32() % (1u << 30)) - (1 << 29) + 1;
        if (i % 4 == 0) {
            x = edges[next_u32() % (sizeof(edges) / sizeof(edges[0]))];
        } else if (i % 4 == 1) {
            x >>= next_u32() % 24; /* small accumulators are the common case */
        }
        {
            const int32_t rounding = (int32_t)(((int64_t)1 << right) + (int64_t)offset * ((int64_t)1 << (right + 1)));
            const int32_t fast = kws_requant_fast(x, m, rounding, right + 1);
            const int32_t exact = kws_mbqm(x, m, -right) + offset;
            expect(clamp8(fast) == clamp8(exact) && (fast == exact || (clamp8(exact) != exact)), "requant_fast", x,
                   m, right);
        }
    }
    for (k = 0; k < 2; k++) {
        /* Every rounding tie: x * m / 2^31 exactly half-way, for each shift. */
        for (e = 0; e <= 20; e++) {
            const int32_t m = 1 << 30; /* h = x / 2 */
            int32_t x;
            for (x = -4000; x <= 4000; x++) {
                const int32_t sign_x = k ? -x : x;
                const int32_t rounding = (int32_t)1 << e;
                expect(kws_requant_fast(sign_x, m, rounding, e + 1) == kws_mbqm(sign_x, m, -e), "ties", sign_x, e, 0);
            }
        }
    }
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("nn math: all checks passed\n");
    return 0;
}
