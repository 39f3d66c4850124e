/* Exact executed-instruction counts for one single-core guest.
 *
 * Every translated instruction gets an inline counter add (per instruction,
 * not per block: a block that faults or exits early would otherwise be
 * over-counted). Each time the guest executes the first instruction of the
 * marker function (arg mark=ADDR), the running count is appended to a list;
 * at exit the list and the total go to the file named by out=PATH as lines
 * "mark N" and "total N". Differences between marks are then the exact
 * instruction counts of the code between them.
 *
 * With arg profile=on it also counts per guest address and writes lines
 * "pc ADDR N", which host tools map to functions with the ELF symbols. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_min.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

static uint64_t executed;
static uint64_t mark_addr = UINT64_MAX;
static uint64_t *marks;
static size_t n_marks, cap_marks;
static char out_path[4096];

/* Per-address counters for profile=on. Translated code keeps pointers to
 * them, so the table is allocated once and never moves; half full is an error
 * (firmware with more than 64k distinct instructions). */
typedef struct {
    uint64_t addr_plus_one; /* 0: empty */
    uint64_t count;
} pc_slot_t;
#define PC_SLOTS (1u << 17)
static pc_slot_t *slots;
static size_t used_slots;

static uint64_t *pc_counter(uint64_t addr)
{
    size_t i = (size_t)(((addr >> 1) * 0x9E3779B97F4A7C15ull) >> 40) & (PC_SLOTS - 1);
    while (slots[i].addr_plus_one != 0 && slots[i].addr_plus_one != addr + 1) {
        i = (i + 1) & (PC_SLOTS - 1);
    }
    if (slots[i].addr_plus_one == 0) {
        if (2 * ++used_slots > PC_SLOTS) {
            fprintf(stderr, "kws_insn_count: too many distinct instructions to profile\n");
            exit(1);
        }
        slots[i].addr_plus_one = addr + 1;
    }
    return &slots[i].count;
}

static void on_mark(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    (void)userdata;
    if (n_marks == cap_marks) {
        cap_marks = cap_marks ? 2 * cap_marks : 1024;
        marks = realloc(marks, cap_marks * sizeof(*marks));
        if (marks == NULL) {
            fprintf(stderr, "kws_insn_count: out of memory\n");
            exit(1);
        }
    }
    marks[n_marks++] = executed;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    const size_t n = qemu_plugin_tb_n_insns(tb);
    size_t i;
    (void)id;
    for (i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        /* The marker callback runs before this instruction's own count. */
        if (qemu_plugin_insn_vaddr(insn) == mark_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        if (slots != NULL) {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                       pc_counter(qemu_plugin_insn_vaddr(insn)), 1);
        }
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *userdata)
{
    FILE *f = out_path[0] ? fopen(out_path, "w") : stderr;
    size_t i;
    (void)id;
    (void)userdata;
    if (f == NULL) {
        fprintf(stderr, "kws_insn_count: cannot write %s\n", out_path);
        return;
    }
    for (i = 0; i < n_marks; i++) {
        fprintf(f, "mark %llu\n", (unsigned long long)marks[i]);
    }
    for (i = 0; slots != NULL && i < PC_SLOTS; i++) {
        if (slots[i].count != 0) {
            fprintf(f, "pc 0x%llx %llu\n", (unsigned long long)(slots[i].addr_plus_one - 1),
                    (unsigned long long)slots[i].count);
        }
    }
    fprintf(f, "total %llu\n", (unsigned long long)executed);
    if (f != stderr) {
        fclose(f);
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    int i;
    (void)info;
    for (i = 0; i < argc; i++) {
        if (strncmp(argv[i], "mark=", 5) == 0) {
            /* Thumb function addresses carry bit 0; instructions do not. */
            mark_addr = strtoull(argv[i] + 5, NULL, 0) & ~(uint64_t)1;
        } else if (strcmp(argv[i], "profile=on") == 0) {
            slots = calloc(PC_SLOTS, sizeof(*slots));
            if (slots == NULL) {
                fprintf(stderr, "kws_insn_count: out of memory\n");
                return -1;
            }
        } else if (strncmp(argv[i], "out=", 4) == 0) {
            strncpy(out_path, argv[i] + 4, sizeof(out_path) - 1);
        } else {
            fprintf(stderr, "kws_insn_count: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
