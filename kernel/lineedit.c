/* Line editor for the serial shell: cursor editing with VT100 sequences, Ctrl-U, history. */
#include "kernel/lineedit.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"

#define CTRL(c) ((c) & 0x1f)

static void out(struct lineedit *le, const char *s)
{
    le->echo(s, strlen(s));
}

static void cursor_left(struct lineedit *le, int n)
{
    char seq[16];
    if (n > 0) {
        ksnprintf(seq, sizeof(seq), "\x1b[%dD", n);
        out(le, seq);
    }
}

/* Redraw from the cursor to the end of the line, clear what is left, put the cursor back. */
static void redraw_tail(struct lineedit *le)
{
    le->echo(le->buf + le->cursor, (size_t)(le->len - le->cursor));
    out(le, "\x1b[K");
    cursor_left(le, le->len - le->cursor);
}

static void replace_line(struct lineedit *le, const char *s)
{
    cursor_left(le, le->cursor);
    le->len = (int)kstrlcpy(le->buf, s, sizeof(le->buf));
    if (le->len > LINE_MAX_LEN - 1)
        le->len = LINE_MAX_LEN - 1;
    le->cursor = 0;
    redraw_tail(le);
    le->echo(le->buf, (size_t)le->len);
    le->cursor = le->len;
}

void lineedit_init(struct lineedit *le, void (*echo)(const char *s, size_t n))
{
    memset(le, 0, sizeof(*le));
    le->echo = echo;
}

static void insert(struct lineedit *le, char c)
{
    if (le->len >= LINE_MAX_LEN - 1)
        return;
    memmove(le->buf + le->cursor + 1, le->buf + le->cursor, (size_t)(le->len - le->cursor));
    le->buf[le->cursor] = c;
    le->len++;
    le->echo(&c, 1);
    le->cursor++;
    if (le->cursor < le->len)
        redraw_tail(le);
}

static void backspace(struct lineedit *le)
{
    if (!le->cursor)
        return;
    memmove(le->buf + le->cursor - 1, le->buf + le->cursor, (size_t)(le->len - le->cursor));
    le->len--;
    le->cursor--;
    out(le, "\b");
    redraw_tail(le);
}

static void history_step(struct lineedit *le, int dir)
{
    int pos = le->hist_pos + dir;
    if (pos < 0 || pos > le->hist_count)
        return;
    le->hist_pos = pos;
    replace_line(le, pos == le->hist_count ? "" : le->history[pos]);
}

static void history_add(struct lineedit *le)
{
    if (!le->len)
        return;
    if (le->hist_count && !strcmp(le->history[le->hist_count - 1], le->buf))
        return;
    if (le->hist_count == HISTORY_LEN) {
        memmove(le->history[0], le->history[1], sizeof(le->history[0]) * (HISTORY_LEN - 1));
        le->hist_count--;
    }
    kstrlcpy(le->history[le->hist_count++], le->buf, LINE_MAX_LEN);
}

static void escape_final(struct lineedit *le, int c)
{
    switch (c) {
    case 'A': history_step(le, -1); break;
    case 'B': history_step(le, +1); break;
    case 'C':
        if (le->cursor < le->len) {
            le->echo(le->buf + le->cursor, 1);
            le->cursor++;
        }
        break;
    case 'D':
        if (le->cursor > 0) {
            cursor_left(le, 1);
            le->cursor--;
        }
        break;
    default: break;
    }
}

int lineedit_feed(struct lineedit *le, int c)
{
    if (le->esc == 1) {
        le->esc = c == '[' || c == 'O' ? 2 : 0;
        return 0;
    }
    if (le->esc == 2) {
        if (c >= 0x40 && c <= 0x7e) {   /* final byte of a CSI sequence */
            le->esc = 0;
            escape_final(le, c);
        }
        return 0;
    }
    switch (c) {
    case '\r': case '\n':
        le->buf[le->len] = 0;
        out(le, "\r\n");
        history_add(le);
        le->hist_pos = le->hist_count;
        le->len = le->cursor = 0;
        return 1;
    case 0x1b: le->esc = 1; break;
    case 0x7f: case '\b': backspace(le); break;
    case CTRL('U'):
        cursor_left(le, le->cursor);
        memmove(le->buf, le->buf + le->cursor, (size_t)(le->len - le->cursor));
        le->len -= le->cursor;
        le->cursor = 0;
        redraw_tail(le);
        break;
    case CTRL('A'): cursor_left(le, le->cursor); le->cursor = 0; break;
    case CTRL('E'):
        le->echo(le->buf + le->cursor, (size_t)(le->len - le->cursor));
        le->cursor = le->len;
        break;
    default:
        if (c >= 0x20 && c < 0x7f)
            insert(le, (char)c);
        break;
    }
    return 0;
}
