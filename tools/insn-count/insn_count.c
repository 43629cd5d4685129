/*
 * insn_count: a QEMU TCG plugin (API version 1, QEMU 7.x) that counts the
 * guest instructions each vCPU executes and prints the totals at exit.
 *
 * Only the few entry points used are declared here, after the public
 * plugin API, so that no QEMU headers are needed. Build: see build.sh.
 * Use: -plugin ./insn_count.so  (prints "insn vcpu N: COUNT" per vCPU and
 * "insn total: COUNT"); -plugin ./insn_count.so,blocks also prints
 * "block ADDR INSNS RUNS" for every block CPU 0 ran (hex address).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*vcpu_udata_cb)(unsigned int, void *);
typedef void (*udata_cb)(qemu_plugin_id_t, void *);

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *, vcpu_udata_cb,
                                                 enum qemu_plugin_cb_flags, void *);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb, void *);
extern void qemu_plugin_outs(const char *);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_VCPUS 16
/* One counter per vCPU, each written only by that vCPU's thread. */
static uint64_t counts[MAX_VCPUS];

/* With the "blocks" argument: every translated block's start address,
 * instruction count and executions (vCPU 0 only), printed at exit. */
#define MAX_BLOCKS 65536
struct block { uint64_t vaddr; uint64_t n; uint64_t runs; };
static struct block blocks[MAX_BLOCKS];
static unsigned n_blocks;
static int per_block;

static void on_exec(unsigned int vcpu, void *udata)
{
    if (vcpu < MAX_VCPUS) {
        counts[vcpu] += (uint64_t)(uintptr_t)udata;
    }
}

static void on_exec_block(unsigned int vcpu, void *udata)
{
    struct block *b = udata;
    if (vcpu < MAX_VCPUS) {
        counts[vcpu] += b->n;
    }
    if (vcpu == 0) {
        b->runs++;
    }
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (per_block && n_blocks < MAX_BLOCKS) {
        /* Translation runs under QEMU's TB lock: one writer at a time. */
        struct block *b = &blocks[n_blocks++];
        b->vaddr = qemu_plugin_tb_vaddr(tb);
        b->n = n;
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec_block, QEMU_PLUGIN_CB_NO_REGS, b);
        return;
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)n);
}

static void on_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    char line[96];
    uint64_t total = 0;
    for (int i = 0; i < MAX_VCPUS; i++) {
        if (counts[i]) {
            snprintf(line, sizeof line, "insn vcpu %d: %" PRIu64 "\n", i, counts[i]);
            qemu_plugin_outs(line);
        }
        total += counts[i];
    }
    snprintf(line, sizeof line, "insn total: %" PRIu64 "\n", total);
    qemu_plugin_outs(line);
    for (unsigned i = 0; i < n_blocks; i++) {
        if (blocks[i].runs) {
            snprintf(line, sizeof line, "block %" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
                     blocks[i].vaddr, blocks[i].n, blocks[i].runs);
            qemu_plugin_outs(line);
        }
    }
}

__attribute__((visibility("default"))) int
qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == 'b') { /* "blocks" */
            per_block = 1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_atexit_cb(id, on_exit, NULL);
    return 0;
}
