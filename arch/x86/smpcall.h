/* smp_call's mailbox: one cross-CPU call at a time, which the caller can withdraw until the called CPU takes it. */
#ifndef SHOAL_ARCH_SMPCALL_H
#define SHOAL_ARCH_SMPCALL_H
#include <stddef.h>

/*
 * The caller posts fn and arg, then interrupts the called CPU, which takes the call and runs it. A caller
 * that stops waiting withdraws the call: either the withdrawal wins (the called CPU never runs fn) or the
 * called CPU took it first (fn runs now or ran: the caller waits for done). So fn never runs after the
 * caller returned, and arg may live on the caller's stack. The exchange on fn decides which side won.
 */
struct smp_mailbox {
    void (*fn)(void *arg);
    void *arg;
    int done;
};

/* The caller: post fn(arg) (the mailbox is idle: no call out). */
static inline void mailbox_post(struct smp_mailbox *m, void (*fn)(void *arg), void *arg)
{
    __atomic_store_n(&m->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&m->arg, arg, __ATOMIC_RELAXED);
    __atomic_store_n(&m->fn, fn, __ATOMIC_SEQ_CST);
}

/* The called CPU: take the posted call, NULL when there is none (never posted, withdrawn, or taken). */
static inline void (*mailbox_take(struct smp_mailbox *m, void **arg))(void *arg)
{
    void (*fn)(void *) = __atomic_exchange_n(&m->fn, NULL, __ATOMIC_SEQ_CST);
    *arg = fn ? __atomic_load_n(&m->arg, __ATOMIC_RELAXED) : NULL;
    return fn;
}

/* The called CPU, after running what it took: tell the caller. */
static inline void mailbox_done(struct smp_mailbox *m)
{
    __atomic_store_n(&m->done, 1, __ATOMIC_RELEASE);
}

/* The caller: whether the call has run. */
static inline int mailbox_is_done(struct smp_mailbox *m)
{
    return __atomic_load_n(&m->done, __ATOMIC_ACQUIRE);
}

/* The caller, giving up: 1 when the call was withdrawn before it was taken (it will never run), 0 when the
 * called CPU took it (wait for mailbox_is_done). */
static inline int mailbox_withdraw(struct smp_mailbox *m)
{
    void (*fn)(void *) = __atomic_exchange_n(&m->fn, NULL, __ATOMIC_SEQ_CST);
    return fn != NULL;
}

/* The caller: wait until the call has run (0), or, once expired(ctx) says so, withdraw it if it was not
 * taken yet (-1: it never runs). A call already taken is waited for to its end. */
static inline int mailbox_wait(struct smp_mailbox *m, int (*expired)(void *ctx), void *ctx)
{
    while (!mailbox_is_done(m)) {
        if (expired(ctx) && mailbox_withdraw(m))
            return -1;
        __builtin_ia32_pause();
    }
    return 0;
}
#endif
