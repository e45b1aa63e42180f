/* printf-family formatter: one engine writing into a bounded buffer. */
#include "kernel/printf.h"
#include <stdint.h>
#include "kernel/kstring.h"
#include "kernel/console.h"

struct out {
    char *buf;
    size_t size;
    size_t len;
};

struct spec {
    int left, zero, plus, space, alt;
    int width, prec;     /* prec < 0: none */
    int len;             /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t/ptrdiff/intmax */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

static void put_str(struct out *o, const struct spec *sp, const char *s)
{
    int n;
    if (!s)
        s = "(null)";
    n = (int)(sp->prec >= 0 ? strnlen(s, (size_t)sp->prec) : strlen(s));
    if (!sp->left)
        pad(o, ' ', sp->width - n);
    for (int i = 0; i < n; i++)
        put(o, s[i]);
    if (sp->left)
        pad(o, ' ', sp->width - n);
}

static void put_num(struct out *o, const struct spec *sp, uint64_t v, int neg, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0, zeros, total;
    const char *prefix = "";

    if (neg)
        prefix = "-";
    else if (sp->plus)
        prefix = "+";
    else if (sp->space)
        prefix = " ";
    if (sp->alt && v && base == 16)
        prefix = upper ? "0X" : "0x";
    if (sp->alt && base == 8)
        prefix = "0";
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (sp->prec == 0 && n == 1 && tmp[0] == '0')
        n = 0;
    zeros = sp->prec > n ? sp->prec - n : 0;
    total = (int)strlen(prefix) + zeros + n;
    if (sp->zero && !sp->left && sp->prec < 0 && sp->width > total) {
        zeros += sp->width - total;
        total = sp->width;
    }
    if (!sp->left)
        pad(o, ' ', sp->width - total);
    for (const char *p = prefix; *p; p++)
        put(o, *p);
    pad(o, '0', zeros);
    while (n)
        put(o, tmp[--n]);
    if (sp->left)
        pad(o, ' ', sp->width - total);
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    memset(sp, 0, sizeof(*sp));
    sp->prec = -1;
    for (;; f++) {
        if (*f == '-') sp->left = 1;
        else if (*f == '0') sp->zero = 1;
        else if (*f == '+') sp->plus = 1;
        else if (*f == ' ') sp->space = 1;
        else if (*f == '#') sp->alt = 1;
        else break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = 1;
            sp->width = -sp->width;
        }
        f++;
    }
    for (; *f >= '0' && *f <= '9'; f++)
        sp->width = sp->width * 10 + (*f - '0');
    if (*f == '.') {
        f++;
        sp->prec = 0;
        if (*f == '*') {
            sp->prec = va_arg(*ap, int);
            f++;
        }
        for (; *f >= '0' && *f <= '9'; f++)
            sp->prec = sp->prec * 10 + (*f - '0');
    }
    for (;; f++) {
        if (*f == 'l') sp->len = sp->len == 1 ? 2 : 1;
        else if (*f == 'h') sp->len = sp->len == -1 ? -2 : -1;
        else if (*f == 'z' || *f == 't' || *f == 'j') sp->len = 3;
        else break;
    }
    return f;
}

static int64_t arg_signed(const struct spec *sp, va_list *ap)
{
    switch (sp->len) {
    case 1: return va_arg(*ap, long);
    case 2: return va_arg(*ap, long long);
    case 3: return (int64_t)va_arg(*ap, intptr_t);
    case -1: return (short)va_arg(*ap, int);
    case -2: return (signed char)va_arg(*ap, int);
    default: return va_arg(*ap, int);
    }
}

static uint64_t arg_unsigned(const struct spec *sp, va_list *ap)
{
    switch (sp->len) {
    case 1: return va_arg(*ap, unsigned long);
    case 2: return va_arg(*ap, unsigned long long);
    case 3: return va_arg(*ap, size_t);
    case -1: return (unsigned short)va_arg(*ap, unsigned);
    case -2: return (unsigned char)va_arg(*ap, unsigned);
    default: return va_arg(*ap, unsigned);
    }
}

static void convert(struct out *o, char c, struct spec *sp, va_list *ap)
{
    int64_t s;
    switch (c) {
    case 'd': case 'i':
        s = arg_signed(sp, ap);
        put_num(o, sp, s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s, s < 0, 10, 0);
        break;
    case 'u': put_num(o, sp, arg_unsigned(sp, ap), 0, 10, 0); break;
    case 'x': put_num(o, sp, arg_unsigned(sp, ap), 0, 16, 0); break;
    case 'X': put_num(o, sp, arg_unsigned(sp, ap), 0, 16, 1); break;
    case 'o': put_num(o, sp, arg_unsigned(sp, ap), 0, 8, 0); break;
    case 'p':
        sp->alt = 1;
        put_num(o, sp, (uint64_t)(uintptr_t)va_arg(*ap, void *), 0, 16, 0);
        break;
    case 's': put_str(o, sp, va_arg(*ap, const char *)); break;
    case 'c': {
        char ch[2] = { (char)va_arg(*ap, int), 0 };
        sp->prec = 1;
        put_str(o, sp, ch);
        break;
    }
    case '%': put(o, '%'); break;
    default:  /* unknown conversion: print it literally so the mistake is visible */
        put(o, '%');
        if (c)
            put(o, c);
    }
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    struct spec sp;
    va_list aq;

    va_copy(aq, ap);
    while (*fmt) {
        if (*fmt != '%') {
            put(&o, *fmt++);
            continue;
        }
        fmt = parse_spec(fmt + 1, &sp, &aq);
        convert(&o, *fmt, &sp, &aq);
        if (*fmt)
            fmt++;
    }
    va_end(aq);
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static unsigned error_lines;

unsigned kprintf_error_lines(void)
{
    return error_lines;
}

/* Console output: the console (or, in host builds, the test shim) provides console_write. */
int kvprintf(const char *fmt, va_list ap)
{
    char buf[512];
    if (!strncmp(fmt, "error: ", 7))
        error_lines++;
    int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
    console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}
