/* writer.c - the table of output formats (writer.h): text (report_text.c),
 * JSON and JSON Lines (report_json.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "writer.h"

_Static_assert(RS_WRITE_BUFFER > RS_JSON_RECORD_MAX + 2, "a record fits the records buffer");

int outbuf_init(struct outbuf *b, FILE *out)
{
        b->out = out;
        b->used = 0;
        return (b->buf = malloc(RS_WRITE_BUFFER)) ? 0 : -1;
}

int outbuf_flush(struct outbuf *b)
{
        const char *p = b->buf;
        size_t n = b->used;
        int fd = fileno(b->out);

        b->used = 0;
        if (!n)
                return 0;
        if (fd < 0)                     /* a stream without a descriptor */
                return fwrite(p, 1, n, b->out) == n ? 0 : -1;
        if (fflush(b->out) != 0)
                return -1;
        while (n) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -1;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

void outbuf_free(struct outbuf *b)
{
        free(b->buf);
        b->buf = NULL;
}

/* ---- text: a table row per connection, after the report's head ---- */

static size_t text_connection(char *buf, size_t len, const struct conn *c, const struct det_result *d,
                              int verbose, uint64_t nth)
{
        (void)d;
        (void)nth;
        return report_text_row(c, verbose, buf, len);
}

static int text_end(FILE *out, const struct report *r, const struct writer_records *rec)
{
        report_text_head(out, r);
        if (rec->write(rec->ctx, out, "\n") < 0)
                return -1;
        if (r->sum->nconns)
                fputc('\n', out);
        return 0;
}

/* ---- JSON: one document, records streamed into its connections array ---- */

static size_t json_connection(char *buf, size_t len, const struct conn *c, const struct det_result *d,
                              int verbose, uint64_t nth)
{
        size_t sep = nth ? 2 : 0, n;

        (void)verbose;
        if (len < RS_JSON_RECORD_MAX + 2)
                return 0;
        memcpy(buf, ",\n", sep);
        n = report_json_conn(c, d, 0, buf + sep, RS_JSON_RECORD_MAX);
        return n ? sep + n : 0;
}

static int json_end(FILE *out, const struct report *r, const struct writer_records *rec)
{
        (void)rec;
        return report_json_close(out, r);
}

/* ---- JSON Lines: a line per connection, then one per finding ---- */

static size_t jsonl_connection(char *buf, size_t len, const struct conn *c, const struct det_result *d,
                               int verbose, uint64_t nth)
{
        size_t n;

        (void)verbose;
        (void)nth;
        if (len < RS_JSON_RECORD_MAX + 2 || !(n = report_json_conn(c, d, 1, buf, RS_JSON_RECORD_MAX - 1)))
                return 0;
        buf[n] = '\n';
        return n + 1;
}

static size_t jsonl_finding(char *buf, size_t len, const struct conn *c, const struct finding *f)
{
        size_t n;

        if (len < RS_JSON_RECORD_MAX + 2 || !(n = report_json_finding(c, f, buf, RS_JSON_RECORD_MAX - 1)))
                return 0;
        buf[n] = '\n';
        return n + 1;
}

static int jsonl_end(FILE *out, const struct report *r, const struct writer_records *rec)
{
        (void)rec;
        return report_jsonl_end(out, r);
}

static const struct writer writers[] = {
        { "text", 1, NULL, text_connection, NULL, text_end },
        { "json", 0, report_json_open, json_connection, NULL, json_end },
        { "jsonl", 0, NULL, jsonl_connection, jsonl_finding, jsonl_end },
};

#define NWRITERS (sizeof writers / sizeof writers[0])

const struct writer *writer_find(const char *name)
{
        for (size_t i = 0; i < NWRITERS; i++)
                if (strcmp(name, writers[i].name) == 0)
                        return &writers[i];
        return NULL;
}

const char *writer_names(void)
{
        static char names[128];

        if (!names[0])
                for (size_t i = 0; i < NWRITERS; i++) {
                        if (i)
                                strcat(names, ", ");
                        strcat(names, writers[i].name);
                }
        return names;
}

const struct writer *writer_default(void)
{
        return &writers[0];
}
