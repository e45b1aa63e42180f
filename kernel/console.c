/* The serial console: a 16550 chosen by `console=`, used for output and shell input. */
#include "kernel/console.h"
#include "kernel/printf.h"
#include "kernel/param.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "drivers/uart.h"

static const uint16_t com_ports[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static uint16_t con_port = 0x3f8;
static uint32_t con_baud = 115200;

void console_early_init(void)
{
    uart_init(con_port, con_baud);
}

static struct {
    char *buf;
    size_t size, len;
    int echo;
} cap;

int console_capture_begin(char *buf, size_t size, int echo)
{
    if (cap.buf || !buf || size == 0)
        return cap.buf ? -EBUSY : -EINVAL;
    cap.buf = buf;
    cap.size = size;
    cap.len = 0;
    cap.echo = echo;
    return 0;
}

size_t console_capture_end(void)
{
    size_t n = cap.len;
    if (cap.buf)
        cap.buf[n] = 0;
    cap.buf = NULL;
    return n;
}

void console_write(const char *s, size_t n)
{
    if (cap.buf) {
        size_t room = cap.size - 1 - cap.len, k = n < room ? n : room;
        memcpy(cap.buf + cap.len, s, k);
        cap.len += k;
        if (!cap.echo)
            return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            uart_putc(con_port, '\r');
        uart_putc(con_port, s[i]);
    }
}

int console_getc(void)
{
    return uart_getc(con_port);
}

void console_describe(char *buf, size_t size)
{
    int idx = -1;
    for (int i = 0; i < 4; i++)
        if (com_ports[i] == con_port)
            idx = i;
    ksnprintf(buf, size, "ttyS%d at 0x%x, %u baud", idx, con_port, con_baud);
}

/* console=ttyS<N>[,BAUD] or console=0x<PORT>[,BAUD] */
static int console_param(const char *value)
{
    char name[16];
    const char *comma = strchr(value, ',');
    size_t len = comma ? (size_t)(comma - value) : strlen(value);
    uint64_t port, baud = con_baud;

    if (len == 0 || len >= sizeof(name))
        return -EINVAL;
    memcpy(name, value, len);
    name[len] = 0;
    if (!strncmp(name, "ttyS", 4) && name[4] >= '0' && name[4] <= '3' && !name[5])
        port = com_ports[name[4] - '0'];
    else if (kstrtou64(name, &port, 0) || port > 0xffff)
        return -EINVAL;
    if (comma && kstrtou64(comma + 1, &baud, 0))
        return -EINVAL;
    if (uart_init((uint16_t)port, (uint32_t)baud))
        return -EINVAL;
    con_port = (uint16_t)port;
    con_baud = (uint32_t)baud;
    return 0;
}
BOOT_PARAM("console", "serial console: ttyS0..ttyS3 or 0xPORT, optional ,BAUD (default ttyS0,115200)", console_param);
