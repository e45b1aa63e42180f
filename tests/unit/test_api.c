/* Unit tests of the API's request parsing: header fields, paths, the JSON reader and writer, token compare. */
#define TEST_SUITE "api"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "net/api/http.h"
#include "net/api/json.h"
#include "kernel/errno.h"

static int head(const char *s, struct http_head *h, const char **why)
{
    return http_head_parse(s, strlen(s), h, why);
}

TEST(api_head_bearer_token)
{
    struct http_head h;
    const char *why;
    CHECK_EQ(head("GET /api/host HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc.DEF-123\r\n\r\n", &h, &why), 0);
    CHECK_STR(h.token, "abc.DEF-123");
    CHECK_EQ(h.has_auth, 1);
    CHECK_EQ(h.content_length, -1);
    /* Scheme and field name are case-insensitive; spaces around the value are not part of it. */
    CHECK_EQ(head("GET / HTTP/1.1\r\nauthorization:   bEaReR tok12345  \r\n\r\n", &h, &why), 0);
    CHECK_STR(h.token, "tok12345");
    /* Basic: no bearer token; the base64 credentials are kept for api_auth_basic_ok to decode. */
    CHECK_EQ(head("GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjpwdw==\r\n\r\n", &h, &why), 0);
    CHECK_STR(h.token, "");
    CHECK_STR(h.basic, "dXNlcjpwdw==");
    CHECK_EQ(h.has_auth, 1);
    /* Another scheme: no credentials (the caller answers 401), not a parse error. */
    CHECK_EQ(head("GET / HTTP/1.1\r\nAuthorization: Digest x=1\r\n\r\n", &h, &why), 0);
    CHECK_STR(h.token, "");
    CHECK_STR(h.basic, "");
    /* Basic credentials that are not base64: a bad request. */
    CHECK_EQ(head("GET / HTTP/1.1\r\nAuthorization: Basic dXNlc\r\n\r\n", &h, &why), -EINVAL);
    CHECK_EQ(head("GET / HTTP/1.1\r\nAuthorization: Basic dX=lcjpw\r\n\r\n", &h, &why), -EINVAL);
    CHECK_EQ(head("GET / HTTP/1.1\r\nAuthorization: Basic dXNl!jpw\r\n\r\n", &h, &why), -EINVAL);
}

TEST(api_head_refusals)
{
    struct http_head h;
    const char *why;
    char big[400];
    CHECK_EQ(head("GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n", &h, &why), -EINVAL);
    CHECK_STR(why, "Authorization appears twice");
    CHECK_EQ(head("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &h, &why), -EINVAL);
    CHECK_EQ(head("POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n", &h, &why), -EINVAL);
    CHECK_EQ(head("POST / HTTP/1.1\r\nContent-Length: 12345678901\r\n\r\n", &h, &why), -EINVAL);
    CHECK_EQ(head("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", &h, &why), -EINVAL);
    CHECK_STR(why, "obsolete line folding in the header");
    CHECK_EQ(head("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &h, &why), -EINVAL);
    CHECK_EQ(head("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &h, &why), -EINVAL);
    CHECK_EQ(head("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", &h, &why), -EINVAL);
    CHECK_EQ(head("GET / HTTP/1.1\r\nX: a\r\n", &h, &why), -EINVAL);     /* no empty line */
    CHECK_EQ(head("GET / HTTP/1.1", &h, &why), -EINVAL);
    CHECK_EQ(http_head_parse("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 25, &h, &why), -EINVAL);
    /* A token longer than HTTP_TOKEN_MAX is refused, not cut. */
    memset(big, 'a', sizeof(big));
    memcpy(big, "G /\r\nAuthorization: Bearer ", 27);
    memcpy(big + 27 + 200, "\r\n\r\n", 5);
    CHECK_EQ(head(big, &h, &why), -EINVAL);
}

TEST(api_head_fields)
{
    struct http_head h;
    const char *why;
    CHECK_EQ(head("POST /api/vms HTTP/1.1\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 42\r\n"
                  "Accept: text/html,*/*\r\nTransfer-Encoding: chunked\r\n\r\n", &h, &why), 0);
    CHECK_EQ(h.json, 1);
    CHECK_EQ(h.content_length, 42);
    CHECK_EQ(h.accept_html, 1);
    CHECK_EQ(h.chunked, 1);
}

TEST(api_path_split)
{
    char p[64], *seg[6];
    strcpy(p, "/api/vms/web1/start");
    CHECK_EQ(http_path_split(p, seg, 6), 4);
    CHECK_STR(seg[0], "api");
    CHECK_STR(seg[3], "start");
    strcpy(p, "/");
    CHECK_EQ(http_path_split(p, seg, 6), 0);
    strcpy(p, "/api/");
    CHECK_EQ(http_path_split(p, seg, 6), 1);
    strcpy(p, "/api//vms");
    CHECK_EQ(http_path_split(p, seg, 6), -EINVAL);
    strcpy(p, "/api/../x");
    CHECK_EQ(http_path_split(p, seg, 6), -EINVAL);
    strcpy(p, "/api/%2e");
    CHECK_EQ(http_path_split(p, seg, 6), -EINVAL);
    strcpy(p, "api");
    CHECK_EQ(http_path_split(p, seg, 6), -EINVAL);
    strcpy(p, "/a/b/c/d/e/f/g");
    CHECK_EQ(http_path_split(p, seg, 6), -EINVAL);
    strcpy(p, "/a/.x/y..");
    CHECK_EQ(http_path_split(p, seg, 6), 3);
}

TEST(api_token_equal)
{
    CHECK_EQ(http_token_equal("secrettoken", "secrettoken"), 1);
    CHECK_EQ(http_token_equal("secrettokem", "secrettoken"), 0);
    CHECK_EQ(http_token_equal("secrettoken1", "secrettoken"), 0);
    CHECK_EQ(http_token_equal("secret", "secrettoken"), 0);
    CHECK_EQ(http_token_equal("", "secrettoken"), 0);
    CHECK_EQ(http_token_equal("", ""), 0);                  /* no token configured never matches */
}

static struct json_obj obj;

static int parse(const char *s, const char **why)
{
    size_t at;
    return json_parse(s, strlen(s), &obj, why, &at);
}

TEST(api_json_accepts)
{
    const char *why;
    const struct json_field *f;
    CHECK_EQ(parse(" {\"name\" : \"web\\u00e94\", \"vcpus\":2, \"neg\":-9223372036854775808, \"on\":true,"
                   "\"off\":false,\"n\":null, \"esc\":\"a\\\"b\\\\c\\/d\\n\\ud83d\\ude00\"}\n", &why), 0);
    CHECK_EQ(obj.n, 7);
    f = json_get(&obj, "name");
    CHECK(f && f->type == JSON_STRING);
    CHECK_STR(f->str, "web\xc3\xa9" "4");
    CHECK_EQ(json_get(&obj, "vcpus")->num, 2);
    CHECK(json_get(&obj, "neg")->num == INT64_MIN);
    CHECK_EQ(json_get(&obj, "on")->num, 1);
    CHECK_EQ(json_get(&obj, "n")->type, JSON_NULL);
    CHECK_STR(json_get(&obj, "esc")->str, "a\"b\\c/d\n\xf0\x9f\x98\x80");
    CHECK_EQ(parse("{}", &why), 0);
    CHECK_EQ(obj.n, 0);
    CHECK(json_get(&obj, "x") == NULL);
    static const char *const allowed[] = { "a", "b", NULL };
    CHECK_EQ(parse("{\"a\":1,\"c\":2}", &why), 0);
    CHECK_STR(json_unknown(&obj, allowed), "c");
}

TEST(api_json_refuses)
{
    static const char *const bad[] = {
        "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{\"a\":{}}", "{\"a\":[1]}",
        "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":01}", "{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":-}",
        "{\"a\":9223372036854775808}", "{\"a\":\"x\ny\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\xc3\"}",
        "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":tru}",
        "{\"a\":1,\"a\":2}", "{a:1}", "\xef\xbb\xbf{}", "{\"a\":\"unterminated}",
    };
    const char *why;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &why) != -EINVAL)
            test_fail(__FILE__, __LINE__, "accepted bad JSON #%zu: %s", i, bad[i]);
        else if (!why)
            test_fail(__FILE__, __LINE__, "no reason for bad JSON #%zu", i);
    }
    /* More members than JSON_MAX_FIELDS. */
    char many[1024] = "{";
    for (int i = 0; i <= JSON_MAX_FIELDS; i++)
        sprintf(many + strlen(many), "%s\"k%d\":%d", i ? "," : "", i, i);
    strcat(many, "}");
    CHECK_EQ(parse(many, &why), -EINVAL);
    CHECK_STR(why, "too many members");
    CHECK_EQ(parse("{\"a\":{\"b\":1}}", &why), -EINVAL);
    CHECK_STR(why, "nested objects and arrays are not accepted");
}

TEST(api_json_writer)
{
    struct jbuf b;
    jb_init(&b, 4096);
    jb_open(&b, '{');
    jb_kstr(&b, "s", "q\"\\\n\x01");
    jb_ku64(&b, "u", 18446744073709551615ull);
    jb_ki64(&b, "i", -5);
    jb_kbool(&b, "t", 1);
    jb_key(&b, "a");
    jb_open(&b, '[');
    jb_elem(&b);
    jb_str(&b, "x");
    jb_elem(&b);
    jb_open(&b, '{');
    jb_close(&b, '}');
    jb_close(&b, ']');
    jb_close(&b, '}');
    CHECK_EQ(b.err, 0);
    CHECK_STR(b.p, "{\"s\":\"q\\\"\\\\\\u000a\\u0001\",\"u\":18446744073709551615,\"i\":-5,\"t\":true,"
                   "\"a\":[\"x\",{}]}");
    /* What the writer produced, the reader reads back. */
    jb_free(&b);
    jb_init(&b, 16);
    jb_puts(&b, "0123456789abcdef0123");
    CHECK_EQ(b.err, -ENOMEM);
    jb_free(&b);
}
