/* smp_call's mailbox (arch/x86/smpcall.h): a withdrawn call never runs, a taken one is waited for; two threads race it. */
#include <pthread.h>
#include <sched.h>
#include "tests/unit/test.h"
#include "arch/x86/smpcall.h"

static int ran;

static void count(void *arg)
{
    (*(int *)arg)++;
    ran++;
}

static int always(void *ctx) { (void)ctx; return 1; }

TEST(mailbox_take_runs_posted_call)
{
    struct smp_mailbox m = { 0 };
    int hits = 0;
    void *arg, *again;
    mailbox_post(&m, count, &hits);
    void (*fn)(void *) = mailbox_take(&m, &arg);
    CHECK(fn == count);
    CHECK(arg == &hits);
    CHECK(mailbox_take(&m, &again) == NULL);        /* taken once */
    CHECK_EQ(mailbox_withdraw(&m), 0);              /* too late: the caller must wait */
    CHECK_EQ(mailbox_is_done(&m), 0);
    fn(arg);
    mailbox_done(&m);
    CHECK_EQ(mailbox_wait(&m, always, NULL), 0);    /* done: not withdrawn, even past the deadline */
    CHECK_EQ(hits, 1);
}

TEST(mailbox_withdrawn_call_never_taken)
{
    struct smp_mailbox m = { 0 };
    int hits = 0;
    void *arg = &m;
    mailbox_post(&m, count, &hits);
    CHECK_EQ(mailbox_wait(&m, always, NULL), -1);
    CHECK(mailbox_take(&m, &arg) == NULL);          /* the late IPI finds nothing */
    CHECK(arg == NULL);
    mailbox_post(&m, count, &hits);                 /* the next call is whole */
    CHECK(mailbox_take(&m, &arg) == count);
    CHECK(arg == &hits);
}

/* The race: the called side takes each call after a varying delay; the caller gives up after another. A call
 * must never run once its caller has returned (its argument, on the caller's stack, is gone by then). */
#define ROUNDS 20000

static struct smp_mailbox race;
static volatile int returned_round = -1, stop;
static int late_runs, runs_seen;

struct race_arg {
    int round;
};

static void check_alive(void *p)
{
    struct race_arg *a = p;
    if (__atomic_load_n(&returned_round, __ATOMIC_SEQ_CST) >= a->round)
        __atomic_fetch_add(&late_runs, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&runs_seen, 1, __ATOMIC_RELAXED);
}

static void spin(unsigned n)
{
    for (volatile unsigned i = 0; i < n; i++)
        ;
}

static void *callee(void *unused)
{
    unsigned seed = 7;
    (void)unused;
    while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
        void *arg;
        void (*fn)(void *);
        seed = seed * 1103515245u + 12345u;
        spin((seed >> 16) % 600);                   /* the IPI's delivery takes a while */
        if ((fn = mailbox_take(&race, &arg))) {
            spin((seed >> 8) % 200);                /* ...and so does the call */
            fn(arg);
            mailbox_done(&race);
        }
    }
    return NULL;
}

struct budget {
    unsigned left;
};

static int spent(void *ctx)
{
    struct budget *b = ctx;
    return b->left == 0 || --b->left == 0;
}

TEST(mailbox_race_no_call_after_return)
{
    pthread_t t;
    int gave_up = 0;
    CHECK_EQ(pthread_create(&t, NULL, callee, NULL), 0);
    for (int r = 0; r < ROUNDS; r++) {
        struct race_arg a = { .round = r };
        struct budget b = { .left = (unsigned)(r % 300) };
        mailbox_post(&race, check_alive, &a);
        gave_up += mailbox_wait(&race, spent, &b) != 0;
        __atomic_store_n(&returned_round, r, __ATOMIC_SEQ_CST);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
    CHECK_EQ(late_runs, 0);
    CHECK(gave_up > 0);                             /* both outcomes happened: the test raced */
    CHECK(gave_up < ROUNDS);
    CHECK_EQ(runs_seen, ROUNDS - gave_up);
    (void)ran;
}
