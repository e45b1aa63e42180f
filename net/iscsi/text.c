/* iSCSI text key=value lists: strict parsing (RFC 7143 6.1), every malformed input is -EBADMSG. */
#include "net/iscsi/text.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

/* Kernel has no memchr: a local one. */
static const char *text_chr(const char *p, int c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == (char)c)
            return p + i;
    return NULL;
}

int iscsi_text_add(struct iscsi_text_buf *t, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    if (t->len + kl + vl + 2 > t->cap) {
        t->overflow = 1;
        return -ENOSPC;
    }
    memcpy(t->buf + t->len, key, kl);
    t->buf[t->len + kl] = '=';
    memcpy(t->buf + t->len + kl + 1, value, vl);
    t->buf[t->len + kl + 1 + vl] = 0;
    t->len += kl + vl + 2;
    return 0;
}

int iscsi_text_next(struct iscsi_text_iter *it, char keybuf[ISCSI_KEY_MAX + 1], const char **value)
{
    const char *p, *end, *eq, *nul;
    while (it->pos < it->len && it->data[it->pos] == 0)
        it->pos++;
    if (it->pos >= it->len)
        return 0;
    p = it->data + it->pos;
    end = it->data + it->len;
    nul = text_chr(p, 0, (size_t)(end - p));
    if (!nul)
        return -EBADMSG;                       /* pair not NUL-terminated */
    eq = text_chr(p, '=', (size_t)(nul - p));
    if (!eq || eq == p || eq - p > ISCSI_KEY_MAX)
        return -EBADMSG;                       /* no '=', empty or overlong key */
    if (nul - eq - 1 > ISCSI_VALUE_MAX)
        return -EBADMSG;
    for (const char *c = p; c < eq; c++)
        if (*c <= ' ' || *c > '~')
            return -EBADMSG;                   /* key names are printable, no blanks */
    memcpy(keybuf, p, (size_t)(eq - p));
    keybuf[eq - p] = 0;
    *value = eq + 1;
    it->pos = (size_t)(nul - it->data) + 1;
    return 1;
}

int iscsi_text_validate(const char *data, size_t len)
{
    struct iscsi_text_iter it = { data, len, 0 };
    char key[ISCSI_KEY_MAX + 1];
    const char *v;
    int r;
    while ((r = iscsi_text_next(&it, key, &v)) > 0)
        ;
    return r;
}
