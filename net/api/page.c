/* GET /: the status page (one self-contained HTML file; it asks for the token and calls the JSON API). */
#include "net/api/api.h"

static const char page[] =
#include "net/api/page.html.inc"
    ;

void api_page(struct api_resp *rs)
{
    api_json(rs, 200);
    rs->type = "text/html; charset=utf-8";
    jb_raw(&rs->b, page, sizeof(page) - 1);
}
