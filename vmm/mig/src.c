/* A migration source session's lifecycle: connect, HELLO, pre-copy rounds, the final pause, the hand-over. */
#include "vmm/mig/src.h"
#include "vmm/dirty.h"
#include "vmm/vmstate.h"
#include "vmm/linux.h"
#include "vmm/sched.h"
#include "arch/x86/xstate.h"
#include "blk/cow.h"
#include "blk/blk.h"
#include "net/tls/chan.h"
#include "net/tools.h"
#include "kernel/heap.h"
#include "kernel/zpage.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "kernel/time.h"

#define MIG_SRC_MAX     4
#define QUIESCE_MS      10000                      /* disk requests in flight must finish within this */
#define CONFIRM_MS      30000                      /* READY / RUNNING must come within this */
#define PROGRESS_NS     1000000000ull

static struct mig_src *srcs[MIG_SRC_MAX];

static uint64_t ms_since(uint64_t t)
{
    return (time_ns() - t) / 1000000;
}

/* The session is over: close the channel; mig_src_poll frees it (callers may still look at s). */
static void src_end(struct mig_src *s)
{
    if (s->io.ch)
        tls_close(s->io.ch);
    s->io.ch = NULL;
    s->phase = S_DONE;
}

static void src_free(struct mig_src *s)
{
    for (int i = 0; i < MIG_SRC_MAX; i++)
        if (srcs[i] == s)
            srcs[i] = NULL;
    kfree(s->todo);
    kfree(s->state);
    zpage_free(s->z);
    kfree(s);
}

/* The guest still ours: the operator may have destroyed it meanwhile. */
static struct vm *src_vm(struct mig_src *s)
{
    struct vm *vm = vm_find(s->name);
    return vm == s->vm && vm->mig == s ? vm : NULL;
}

/* The session lets go of vm: no dirty tracking, no throttle, start and stop allowed again. */
static void src_release(struct mig_src *s, struct vm *vm)
{
    if (s->tracking)
        dirty_stop(vm);
    s->tracking = 0;
    sched_throttle(vm, 0);
    vm->mig = NULL;
    vm->held = 0;                        /* vm_gather's: the balancer may move it again */
}

/* Put the guest back as it was (tracking off, running again if it ran) and end the session. */
static void src_fail(struct mig_src *s, const char *why)
{
    struct vm *vm = src_vm(s);
    mig_io_refuse(&s->io, why);
    if (!vm) {
        kprintf("error: vm migrate %s: %s; the VM was destroyed here meanwhile\n", s->name, why);
    } else {
        src_release(s, vm);
        if (s->paused && s->was == VM_RUNNING)
            vm_start(vm);
        kprintf("error: vm migrate %s: %s; %s keeps running here\n", s->name, why, s->name);
    }
    src_end(s);
}

/* The hand-over went out but was not confirmed: nobody can say which host runs the guest. */
static void src_unconfirmed(struct mig_src *s, const char *why)
{
    struct vm *vm = src_vm(s);
    if (vm)
        src_release(s, vm);
    kprintf("error: vm migrate %s: %s after the hand-over; %s stays paused here: `vm start %s` only if %s does "
            "not run it\n", s->name, why, s->name, s->name, s->peer);
    src_end(s);
}

/* A round begins: its clock, bytes and entries count from here. */
static void round_start(struct mig_src *s)
{
    s->round_t0 = time_ns();
    s->round_bytes0 = s->io.bytes_out;
    s->round_hashed0 = s->hashed;
}

/*
 * The final pause if it began now, in ms: dirty entries at this round's pace (its time per entry hashed).
 * Hash-first makes that pace, not the link's byte rate, the measure: a page rewritten with the same
 * content costs its hash, not its bytes.
 */
static uint64_t expected_ms(struct mig_src *s, uint64_t dirty)
{
    uint64_t ms = ms_since(s->round_t0) + 1, n = s->hashed - s->round_hashed0;
    return n ? dirty * ms / n : 0;
}

static void progress(struct mig_src *s, const char *what, uint64_t dirty)
{
    uint64_t ms = ms_since(s->round_t0) + 1, bytes = s->io.bytes_out - s->round_bytes0;
    uint64_t kbps = bytes / ms;                    /* bytes per ms = KB/s */
    kprintf("migrate %s: %s %u: %llu hashed, %llu found there, %llu zero, %llu sent, %llu blocks, "
            "%llu.%03llu MB/s, %llu dirty (%llu pages/s), expected downtime %llu ms, throttle %u%%\n",
            s->name, what, s->round, (unsigned long long)s->hashed, (unsigned long long)s->found,
            (unsigned long long)s->zero, (unsigned long long)s->sent, (unsigned long long)s->blocks,
            (unsigned long long)(kbps / 1000), (unsigned long long)(kbps % 1000), (unsigned long long)dirty,
            (unsigned long long)(dirty * 1000 / ms),
            (unsigned long long)expected_ms(s, dirty), s->vm->throttle_pct);
}

/* ---- the phases ---- */

static void send_hello(struct mig_src *s)
{
    struct mig_hello h;
    struct vm *vm = s->vm;
    memset(&h, 0, sizeof(h));
    h.version = MIG_VERSION;
    h.nvcpus = (uint32_t)vm->nvcpus;
    h.mem_size = vm->mem_size;
    h.vendor = hvm == &vmx_ops ? 1 : 2;
    h.xsave_size = xstate_area_size();
    h.xcr0 = xstate_host_xcr0();
    h.disk_blocks = s->delta ? s->disk_blocks : 0;
    h.argc = (uint32_t)vm->create_argc;
    kstrlcpy(h.name, s->as, sizeof(h.name));
    memcpy(h.args, vm->create_args, sizeof(h.args) < sizeof(vm->create_args) ? sizeof(h.args)
                                                                               : sizeof(vm->create_args));
    if (mig_io_frame(&s->io, MIG_HELLO, &h, sizeof(h)) < 0)
        src_fail(s, "the channel failed sending HELLO");
    else
        s->phase = S_HELLO;
}

static void start_rounds(struct mig_src *s)
{
    int rc = dirty_start(s->vm);
    if (rc) {
        src_fail(s, rc == -EBUSY ? "its pages are already tracked (vm dirty NAME stop)" : "dirty tracking failed");
        return;
    }
    s->tracking = 1;
    s->nwords = dirty_words(s->vm);
    if (!(s->todo = kzalloc(2 * s->nwords * 8))) {    /* this round's pages, then quiesce's scratch half */
        src_fail(s, "out of memory for the page bitmap");
        return;
    }
    for (uint64_t p = 0; p < s->nwords * 64; p++)        /* round 0: every page */
        if (p < s->npages) s->todo[p / 64] |= 1ull << (p % 64);
        else s->todo[p / 64] &= ~(1ull << (p % 64));
    s->phase = S_ROUNDS;
    round_start(s);
    mig_src_round_begin(s, 1);
}

/*
 * The remainder fits the budget, or rounds stopped converging: pause for the final copy. Auto-converge
 * first: while a round leaves more than half as many dirty pages as the one before, the guest dirties
 * faster than the link carries; slow its vCPUs (20%, then 10 points more a round, up to 99%, as QEMU's
 * cpu-throttle does) unless throttle=off. Only rounds that stall at full throttle count towards giving up.
 */
static int converged(struct mig_src *s, uint64_t dirty)
{
    uint64_t expect = expected_ms(s, dirty), prev = s->dirty_prev;
    unsigned pct = s->vm->throttle_pct;
    s->dirty_prev = dirty;
    if (expect <= s->o.downtime_ms || s->round + 1 >= s->o.max_rounds)
        return 1;
    if (s->round && !s->o.no_throttle && pct < 99 && dirty * 2 > prev) {
        sched_throttle(s->vm, pct ? pct + 10 : 20);
        s->stalled = 0;
        return 0;
    }
    s->stalled = dirty >= prev && s->round ? s->stalled + 1 : 0;
    return s->stalled >= 3;
}

static void pause_guest(struct mig_src *s)
{
    s->was = s->vm->state;
    s->paused = 1;
    if (s->vm->state == VM_RUNNING)
        s->vm->state = VM_PAUSED;
    s->pause_t0 = time_ns();
    s->quiesce_end = s->pause_t0 + QUIESCE_MS * 1000000ull;
    s->phase = S_QUIESCE;
}

/* A round ended: collect what the guest wrote meanwhile and go on, or pause. */
static void round_over(struct mig_src *s)
{
    struct mig_round r = { s->round, 0, 0, s->io.bytes_out };
    int n = dirty_collect(s->vm, s->todo, s->nwords);
    if (n < 0) {
        src_fail(s, "collecting the dirty log failed");
        return;
    }
    r.dirty = (uint64_t)n;
    mig_io_frame(&s->io, MIG_ROUND, &r, sizeof(r));
    progress(s, "round", (uint64_t)n);
    if (converged(s, (uint64_t)n)) {
        pause_guest(s);
        return;
    }
    s->round++;
    round_start(s);
    mig_src_round_begin(s, 0);
}

/* Paused: once no disk request is in flight, the last round takes the rest and every delta block. */
static void quiesce(struct mig_src *s)
{
    uint64_t *more = s->todo + s->nwords;
    if (vm_state_quiesce(s->vm)) {
        if (time_ns() > s->quiesce_end)
            src_fail(s, "its disk requests did not finish");
        return;
    }
    int n = dirty_collect(s->vm, more, s->nwords);      /* what was written since round_over's collect */
    if (n < 0) {
        src_fail(s, "collecting the dirty log failed");
        return;
    }
    for (size_t i = 0; i < s->nwords; i++)
        s->todo[i] |= more[i];
    s->round++;
    round_start(s);
    mig_io_frame(&s->io, MIG_FINAL, NULL, 0);
    mig_src_round_begin(s, 1);
    s->phase = S_FINAL;
}

/* The final round is over: save the vCPUs and devices. */
static void final_over(struct mig_src *s)
{
    size_t max = vm_state_max(s->vm);
    struct snap sn = { kmalloc(max), max, 0, 1, 0, NULL };
    s->final_t = time_ns();
    progress(s, "final round", 0);
    if (!sn.buf || max > MIG_STATE_MAX) {
        kfree(sn.buf);
        src_fail(s, sn.buf ? "its state record is too large" : "out of memory for the state record");
        return;
    }
    if (vm_state_save(s->vm, &sn)) {
        kfree(sn.buf);
        src_fail(s, sn.err == -EBUSY ? "device requests still in flight" : "saving its state failed");
        return;
    }
    s->state = sn.buf;
    s->state_len = sn.pos;
    s->state_off = 0;
    s->phase = S_STATE;
}

/* One chunk of the state record, then COMMIT. */
static void send_state(struct mig_src *s)
{
    if (s->state_off < s->state_len) {
        size_t n = s->state_len - s->state_off < MIG_STATE_CHUNK ? s->state_len - s->state_off : MIG_STATE_CHUNK;
        uint8_t *p = mig_io_begin(&s->io, MIG_STATE);
        struct mig_state_hdr h = { (uint32_t)s->state_len, (uint32_t)s->state_off };
        memcpy(p, &h, sizeof(h));
        memcpy(p + sizeof(h), s->state + s->state_off, n);
        s->state_off += n;
        mig_io_send(&s->io, (uint32_t)(sizeof(h) + n));
        return;
    }
    mig_io_frame(&s->io, MIG_COMMIT, NULL, 0);
    s->phase = S_COMMIT;
    s->round_t0 = s->commit_t = time_ns();
}

static void handed_over(struct mig_src *s)
{
    struct vm *vm = src_vm(s);
    uint64_t now = time_ns(), down = ms_since(s->pause_t0), total = ms_since(s->t0);
    kprintf("vm %s migrated to %s as %s: %llu bytes sent, %llu pages of %llu sent (%llu found there, %llu zero), "
            "%llu delta blocks sent, %llu of those compressed to %llu%% of their size, %u rounds, downtime %llu ms, "
            "total %llu ms%s\n",
            s->name, s->peer, s->as, (unsigned long long)s->io.bytes_out, (unsigned long long)s->sent,
            (unsigned long long)s->npages, (unsigned long long)s->found, (unsigned long long)s->zero,
            (unsigned long long)s->blocks, (unsigned long long)s->zpages,
            (unsigned long long)(s->zin ? s->zout * 100 / s->zin : 0), s->round + 1, (unsigned long long)down,
            (unsigned long long)total, s->o.hold ? "; both held paused" : "");
    kprintf("vm %s: the downtime's steps: disk requests and last pages %llu ms, state record %llu ms, restore "
            "there %llu ms, start %llu ms\n", s->name, (unsigned long long)((s->final_t - s->pause_t0) / 1000000),
            (unsigned long long)((s->commit_t - s->final_t) / 1000000),
            (unsigned long long)((s->ready_t - s->commit_t) / 1000000),
            (unsigned long long)((now - s->ready_t) / 1000000));
    if (vm) {
        src_release(s, vm);
        if (!s->o.hold)
            vm_destroy(vm);
    }
    src_end(s);
}

/* ---- frames from the destination ---- */

/* Take one frame in. 0 to go on, -1 when the session ended. */
static int src_frame(struct mig_src *s, uint32_t type, const uint8_t *p, uint32_t len)
{
    char why[MIG_REASON + 40], reason[MIG_REASON + 1];
    uint32_t flags = s->o.hold ? MIG_GO_HOLD : 0;
    switch (type) {
    case MIG_ACCEPT:
        if (s->phase != S_HELLO)
            break;
        start_rounds(s);
        return s->phase == S_ROUNDS ? 0 : -1;
    case MIG_WANT:
        if (s->phase != S_ROUNDS && s->phase != S_FINAL && s->phase != S_QUIESCE)
            break;
        if (mig_src_want(s, p, len)) {
            src_fail(s, s->io.why);
            return -1;
        }
        return 0;
    case MIG_READY:
        if (s->phase != S_COMMIT)
            break;
        mig_io_frame(&s->io, MIG_GO, &flags, sizeof(flags));
        s->phase = S_GO;
        s->round_t0 = s->ready_t = time_ns();
        return 0;
    case MIG_RUNNING:
        if (s->phase != S_GO)
            break;
        handed_over(s);
        return -1;
    case MIG_REFUSE:
        mig_reason_decode(p, len, reason, sizeof(reason));
        ksnprintf(why, sizeof(why), "%s refused: %s", s->peer, reason);
        if (s->phase == S_GO)
            src_unconfirmed(s, why);
        else
            src_fail(s, why);
        return -1;
    }
    ksnprintf(why, sizeof(why), "unexpected %s from %s", mig_type_name(type), s->peer);
    src_fail(s, why);
    return -1;
}

/* One session's turn. Nonzero when it did work. */
static int src_step(struct mig_src *s)
{
    uint32_t type, len;
    const uint8_t *p;
    int rc, work = 0;
    if (!src_vm(s)) {
        src_fail(s, "the VM was destroyed");
        return 1;
    }
    if (s->o.bandwidth && s->phase == S_ROUNDS &&
        s->io.bytes_out > s->o.bandwidth * (ms_since(s->t0) + 1) / 1000)
        return 0;                                   /* over the bandwidth cap: the guest runs meanwhile */
    for (int frames = 0; frames < 64; frames++) {
        if ((rc = mig_io_flush(&s->io)) != 0)
            break;
        while ((rc = mig_io_recv(&s->io, &type, &p, &len)) == 1) {
            int end = src_frame(s, type, p, len);
            if (end)
                return 1;
            mig_io_next(&s->io);
            work = 1;
        }
        if (rc < 0)
            break;
        if (s->phase == S_ROUNDS || s->phase == S_FINAL) {
            rc = mig_src_round_step(s);
            if (rc == 2 && s->phase == S_ROUNDS)
                round_over(s);
            else if (rc == 2)
                final_over(s);
            if (s->phase == S_DONE)
                return 1;
            if (rc == 0)
                return work;
            if (rc < 0)
                break;
        } else if (s->phase == S_QUIESCE) {
            quiesce(s);
            if (s->phase == S_QUIESCE)
                return work;
        } else if (s->phase == S_STATE) {
            send_state(s);
        } else {
            if ((s->phase == S_COMMIT || s->phase == S_GO) && ms_since(s->round_t0) > CONFIRM_MS) {
                if (s->phase == S_GO)
                    src_unconfirmed(s, "no confirmation came");
                else
                    src_fail(s, "the destination did not confirm the state record");
                return 1;
            }
            return work;
        }
        work = 1;
        if (s->phase == S_DONE)
            return 1;
    }
    if (rc < 0) {
        if (s->phase == S_GO)
            src_unconfirmed(s, mig_io_error(&s->io, rc));
        else
            src_fail(s, mig_io_error(&s->io, rc));
        return 1;
    }
    return work;
}

/* ---- starting, polling, status ---- */

static void connected(struct tls_chan *ch, int err, void *arg)
{
    struct mig_src *s = arg;
    s->connecting = 0;
    if (err) {
        kstrlcpy(s->cwhy, *tls_error(ch) ? tls_error(ch) : "the TLS handshake failed", sizeof(s->cwhy));
        return;
    }
    if (s->phase == S_DONE) {
        tls_close(ch);
    } else {
        s->io.ch = ch;
        tls_set_idle_timeout(ch, CONFIRM_MS);
    }
}

/* Refuse what cannot migrate yet, before anything starts. NULL when vm can go. */
static const char *unmigratable(struct vm *vm, struct blk_dev *disk)
{
    const char *p = vm->create_args;
    if (!vm->create_argc)
        return "its creation parameters were not recorded";
    for (int i = 0; i < vm->create_argc; i++, p += strlen(p) + 1)
        if (!strncmp(p, "disk-rw=", 8))
            return "its disk-rw= disk cannot migrate (use a clone: vm create NAME from IMAGE)";
    if (vm->state == VM_STOPPED)
        return "it has stopped";
    if (vm->mig)
        return "it is being migrated already";
    if (disk && !disk->read_only && !cow_delta(disk))
        return "its writable disk is not a clone's";
    return NULL;
}

int mig_src_start(struct vm *vm, const char *host, uint16_t port, const struct mig_src_opts *o)
{
    struct blk_dev *disk = linux_vm_disk(vm);
    const char *no = unmigratable(vm, disk);
    struct tls_psk psk;
    ip_addr_t ip;
    int slot = -1, rc;
    for (int i = 0; i < MIG_SRC_MAX && slot < 0; i++)
        if (!srcs[i])
            slot = i;
    if (no || slot < 0) {
        kprintf("error: vm migrate %s: %s\n", vm->name, no ? no : "too many migrations at once");
        return no ? -EINVAL : -EBUSY;
    }
    if (net_resolve(host, &ip) || tls_psk_parse(&psk, o->key, NULL)) {
        kprintf("error: vm migrate %s: %s\n", vm->name, o->key ? "bad destination address" : "give key=");
        return -EINVAL;
    }
    struct mig_src *s = kzalloc(sizeof(*s));
    if (!s) {
        tls_psk_wipe(&psk);
        kprintf("error: vm migrate %s: out of memory\n", vm->name);
        return -ENOMEM;
    }
    s->vm = vm;
    s->o = *o;
    kstrlcpy(s->name, vm->name, sizeof(s->name));
    kstrlcpy(s->as, o->as ? o->as : vm->name, sizeof(s->as));
    ksnprintf(s->peer, sizeof(s->peer), "%s:%u", host, port);
    s->npages = vm->mem_size / MIG_PAGE;
    s->delta = disk ? cow_delta(disk) : NULL;
    s->disk_blocks = disk ? (disk->sectors + 7) / 8 : 0;
    s->t0 = time_ns();
    if (!o->no_compress && !(s->z = zpage_new(ZPAGE_COMPRESS)))
        kprintf("vm migrate %s: no memory to compress pages; they travel as they are\n", vm->name);
    s->connecting = 1;
    rc = tls_connect_psk(&ip, port, &psk, 0, connected, s);
    tls_psk_wipe(&psk);
    if (rc) {
        zpage_free(s->z);
        kfree(s);
        kprintf("error: vm migrate %s: could not connect to %s (%d)\n", vm->name, host, rc);
        return rc;
    }
    vm->mig = s;
    srcs[slot] = s;
    kprintf("vm migrate %s: connecting to %s\n", vm->name, s->peer);
    return 0;
}

int mig_src_poll(void)
{
    int work = 0;
    for (int i = 0; i < MIG_SRC_MAX; i++) {
        struct mig_src *s = srcs[i];
        if (!s)
            continue;
        if (s->phase == S_CONNECT && !s->connecting) {
            if (!s->io.ch) {
                char why[160];
                ksnprintf(why, sizeof(why), "TLS to %s failed: %s", s->peer, s->cwhy);
                src_fail(s, why);
            } else {
                send_hello(s);
            }
            work = 1;
        } else if (s->phase != S_CONNECT && s->phase != S_DONE) {
            work |= src_step(s);
        }
        if (s->phase == S_DONE && !s->connecting)
            src_free(s);
    }
    return work;
}

void mig_src_status(void)
{
    static const char *const names[] = { "connecting", "waiting for the destination", "pre-copy", "quiescing",
                                         "final copy", "sending state", "committing", "handing over", "done" };
    for (int i = 0; i < MIG_SRC_MAX; i++) {
        struct mig_src *s = srcs[i];
        if (!s)
            continue;
        kprintf("migrate out %s -> %s as %s: %s, round %u, %llu hashed, %llu found there, %llu zero, %llu sent, "
                "%llu bytes, %llu ms\n", s->name, s->peer, s->as, names[s->phase], s->round,
                (unsigned long long)s->hashed, (unsigned long long)s->found, (unsigned long long)s->zero,
                (unsigned long long)s->sent, (unsigned long long)s->io.bytes_out,
                (unsigned long long)ms_since(s->t0));
    }
}

int mig_src_cancel(const char *why)
{
    int n = 0;
    for (int i = 0; i < MIG_SRC_MAX; i++) {
        struct mig_src *s = srcs[i];
        if (!s || s->phase == S_DONE)
            continue;
        if (s->phase >= S_GO)
            src_unconfirmed(s, why);
        else
            src_fail(s, why);
        n++;
    }
    return n;
}
