/* Queue notifications from vCPUs on other CPUs, handed to the boot CPU's I/O context through a pending list. */
#include "vmm/dev/virtio_mmio.h"
#include "kernel/shell.h"
#include "kernel/init.h"
#include "arch/x86/smp.h"

/*
 * How it runs. The boot CPU is the I/O context: the block layers, iSCSI, the switch and lwIP work there,
 * from its poll loop. A guest's QueueNotify on the boot CPU is handled at once, as before. On another CPU
 * the exit only records the queue in m->kicked, puts m on the pending list (once) and kicks the boot CPU,
 * then the vCPU goes back to its guest; the boot CPU's running slice ends at its next exit (the list is
 * work handed over: shell_io_waiting says SHELL_WAIT_HANDED) and its poll loop hands each recorded queue to
 * the device (virtio_kick_poll), whose completions come back to the vCPU as interrupts (an IPI to its
 * CPU). The list and the bits are under the big lock, as all exit handling is. A device leaves the list
 * when it is flushed (quiesce, before a migration's last copy or a reset), reset (its bits dropped: the
 * queues restart) or destroyed.
 */
static struct virtio_mmio *pending;
static uint64_t handed;                /* notifications recorded for the boot CPU since boot */

int virtio_kick_defer(struct virtio_mmio *m, int q)
{
    if (smp_this_cpu() == 0)
        return 0;
    m->kicked |= 1u << q;
    handed++;
    if (!m->kick_queued) {
        m->kick_queued = 1;
        m->kick_next = pending;
        pending = m;
        smp_kick(0);
    }
    return 1;
}

/* Take m off the pending list (it may not be on it). */
static void unlink_kick(struct virtio_mmio *m)
{
    for (struct virtio_mmio **pp = &pending; *pp; pp = &(*pp)->kick_next)
        if (*pp == m) {
            *pp = m->kick_next;
            break;
        }
    m->kick_queued = 0;
    m->kick_next = NULL;
}

void virtio_kick_flush(struct virtio_mmio *m)
{
    uint32_t k = m->kicked;
    unlink_kick(m);
    m->kicked = 0;
    for (int q = 0; k && q < m->ops->nqueues; q++, k >>= 1)
        if ((k & 1) && m->st.q[q].ready && virtio_mmio_live(m))
            m->ops->notify(m->dev, q);
}

void virtio_kick_forget(struct virtio_mmio *m)
{
    unlink_kick(m);
    m->kicked = 0;
}

int virtio_kick_poll(void)
{
    int worked = 0;
    while (pending) {
        virtio_kick_flush(pending);
        worked = 1;
    }
    return worked;
}

uint64_t virtio_kick_handed(void)
{
    return handed;
}

static int kicks_waiting(void)
{
    return pending ? SHELL_WAIT_HANDED : 0;
}

static int virtio_kick_init(void)
{
    int rc = shell_add_poller(virtio_kick_poll);
    return rc ? rc : shell_add_waiting(kicks_waiting);
}
INIT_HOOK(INIT_VMM, virtio_kick_init);
