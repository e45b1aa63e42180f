/* Line editor for the serial shell: insert/delete at a cursor, Ctrl-U, arrows, history. */
#ifndef SHOAL_LINEEDIT_H
#define SHOAL_LINEEDIT_H
#include <stddef.h>

#define LINE_MAX_LEN 256
#define HISTORY_LEN  16

struct lineedit {
    char buf[LINE_MAX_LEN];
    int len, cursor;
    int esc;                                /* escape-sequence state: 0 none, 1 ESC, 2 ESC [ */
    char history[HISTORY_LEN][LINE_MAX_LEN];
    int hist_count, hist_pos;               /* hist_pos == hist_count: editing a new line */
    void (*echo)(const char *s, size_t n);  /* terminal output */
};

/* Start with an empty line and history; echo receives everything to draw. */
void lineedit_init(struct lineedit *le, void (*echo)(const char *s, size_t n));
/*
 * Feed one input byte. Returns 1 when a line is complete (Enter): it is in le->buf, NUL-terminated,
 * recorded in history when not empty, and the editor is ready for the next line. Otherwise 0.
 */
int lineedit_feed(struct lineedit *le, int c);
#endif
