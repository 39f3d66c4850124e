#include "kws_pipeline.h"

#include <string.h>

#include "kws_model.h"

#if KWS_MODEL_OUTPUT_SIZE != KWS_APP_N_CLASSES
#error "the model's outputs and the application's classes differ: regenerate both with kwsgen build"
#endif
#if KWS_MODEL_INPUT_SIZE != KWS_FE_CASCADE_LEN * KWS_FE_N_COEFFS
#error "the model's input is not one cascade of the front end: regenerate both with kwsgen build"
#endif

void kws_pipeline_init(kws_pipeline_t *p, kws_result_fn on_result, void *user)
{
    p->on_result = on_result;
    p->user = user;
    kws_model_init();
    kws_frontend_init(&p->fe, &kws_app_minmax);
    kws_pipeline_reset(p);
}

void kws_pipeline_reset(kws_pipeline_t *p)
{
    kws_frontend_reset(&p->fe);
#if KWS_APP_CONTINUOUS
    p->fe.filter.enabled = 0; /* the filter asks every hop; the pipeline picks every KWS_APP_EVERY-th */
#endif
    p->inferences = 0;
    p->quiet_until = 0;
    p->history_next = 0;
    p->history_fill = 0;
    p->streak = 0;
    p->streak_class = 0;
    memset(p->history, 0, sizeof(p->history));
}

/* The first index of the largest value, as numpy's argmax. */
static uint16_t argmax_u32(const uint32_t *v, uint16_t n)
{
    uint16_t best = 0, i;
    for (i = 1; i < n; i++) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return best;
}

static const int8_t *infer(kws_pipeline_t *p)
{
    kws_frontend_cascade(&p->fe, kws_model_input());
    kws_model_invoke();
    p->inferences++;
    return kws_model_output();
}

static void report(kws_pipeline_t *p, const kws_fe_hop_t *hop, uint16_t classification, uint32_t sum, uint32_t n)
{
    kws_result_t r;
    r.frame = hop->frame;
    r.sample = hop->frame * (uint32_t)KWS_FE_HOP_SIZE + (uint32_t)(KWS_FE_WINDOW_SIZE - 1);
    r.classification = classification;
    r.score = kws_pipeline_score(sum, n);
    p->on_result(&r, p->user);
}

uint8_t kws_pipeline_score(uint32_t sum, uint32_t n)
{
    return (uint8_t)((sum * 100u + n * 128u) / (n * 256u));
}

/* Whether probability sum / (256 n) of class top reaches the class's threshold: sum >= min[top] * n. */
static int confident(uint16_t top, uint32_t sum, uint32_t n)
{
    return sum >= (uint32_t)kws_app_thresholds[top] * n;
}

static int is_keyword(uint16_t classification)
{
    return classification != 0 && classification != KWS_APP_UNKNOWN_CLASS;
}

#if !KWS_APP_CONTINUOUS
static void classify_hop(kws_pipeline_t *p, const kws_fe_hop_t *hop)
{
    uint32_t probs[KWS_APP_N_CLASSES];
    const int8_t *out;
    uint16_t i, top, classification;
    if (!hop->classify) {
        return;
    }
    out = infer(p);
    for (i = 0; i < KWS_APP_N_CLASSES; i++) {
        probs[i] = (uint32_t)(out[i] + 128);
    }
    top = argmax_u32(probs, KWS_APP_N_CLASSES);
    classification = confident(top, probs[top], 1) ? (uint16_t)(top + 1) : 0;
    if (is_keyword(classification)) {
        /* The filter fires again while a long word still sounds: one word, one detection. */
        if (hop->frame < p->quiet_until) {
            classification = 0;
        } else {
            p->quiet_until = hop->frame + KWS_APP_HOLDOFF;
        }
    }
    report(p, hop, classification, probs[top], 1);
}
#else
static void classify_hop(kws_pipeline_t *p, const kws_fe_hop_t *hop)
{
    uint32_t sums[KWS_APP_N_CLASSES];
    const int8_t *out;
    uint16_t i, j, top, candidate;
    if (!hop->cascade_ready || (hop->frame - (KWS_FE_CASCADE_LEN - 1u)) % KWS_APP_EVERY != 0) {
        return;
    }
    out = infer(p);
    for (i = 0; i < KWS_APP_N_CLASSES; i++) {
        p->history[p->history_next][i] = (uint8_t)(out[i] + 128);
    }
    p->history_next = (uint8_t)((p->history_next + 1u) % KWS_APP_AVERAGE);
    if (p->history_fill < KWS_APP_AVERAGE) {
        p->history_fill++;
    }
    for (i = 0; i < KWS_APP_N_CLASSES; i++) {
        sums[i] = 0;
        for (j = 0; j < p->history_fill; j++) {
            sums[i] += p->history[j][i];
        }
    }
    top = argmax_u32(sums, KWS_APP_N_CLASSES);
    candidate = confident(top, sums[top], p->history_fill) ? (uint16_t)(top + 1) : 0;
    if (!is_keyword(candidate)) {
        p->streak = 0;
        p->streak_class = 0;
        return;
    }
    /* A keyword must lead KWS_APP_HITS classifications in a row: one loud frame is not a word. */
    if (candidate == p->streak_class) {
        if (p->streak < 255u) {
            p->streak++;
        }
    } else {
        p->streak_class = candidate;
        p->streak = 1;
    }
    if (p->streak < KWS_APP_HITS || hop->frame < p->quiet_until) {
        return;
    }
    p->quiet_until = hop->frame + KWS_APP_SUPPRESS;
    p->streak = 0;
    report(p, hop, candidate, sums[top], p->history_fill);
}
#endif

uint32_t kws_pipeline_process(kws_pipeline_t *p, const int16_t *x, size_t n)
{
    const uint32_t before = p->inferences;
    while (n > 0) {
        kws_fe_hop_t hop;
        size_t used = kws_frontend_process(&p->fe, x, n, &hop);
        x += used;
        n -= used;
        if (hop.produced) {
            classify_hop(p, &hop);
        }
    }
    return p->inferences - before;
}

const char *kws_pipeline_label(uint16_t classification)
{
    return classification <= KWS_APP_N_CLASSES ? kws_app_labels[classification] : "?";
}

static char *put_text(char *o, const char *s)
{
    while (*s) {
        *o++ = *s++;
    }
    return o;
}

static char *put_uint(char *o, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) {
        *o++ = digits[--n];
    }
    return o;
}

size_t kws_pipeline_format(const kws_result_t *r, char *out, size_t cap)
{
    const char *label = kws_pipeline_label(r->classification);
    char *o = out;
    if (cap < KWS_LINE_MAX || strlen(label) > KWS_APP_LABEL_MAX) {
        return 0;
    }
    o = put_text(o, "{\"ModelNumber\":");
    o = put_uint(o, KWS_APP_MODEL_NUMBER);
    o = put_text(o, ",\"Classification\":");
    o = put_uint(o, r->classification);
    o = put_text(o, ",\"label\":\"");
    o = put_text(o, label);
    o = put_text(o, "\",\"score\":");
    o = put_uint(o, r->score / 100u);
    *o++ = '.';
    *o++ = (char)('0' + (r->score % 100u) / 10u);
    *o++ = (char)('0' + r->score % 10u);
    o = put_text(o, ",\"sample\":");
    o = put_uint(o, r->sample);
    *o++ = '}';
    *o++ = '\n';
    *o = '\0';
    return (size_t)(o - out);
}
