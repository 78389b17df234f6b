/* writer.c - the table of output formats (writer.h): text (report_text.c),
 * JSON and JSON Lines (report_json.c). */
#include <string.h>

#include "writer.h"

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
