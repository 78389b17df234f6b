/* writer.h - the output formats, one table entry each (writer.c): how a
 * finished connection becomes a record, and the document around the
 * records.  The pipeline (analysis.c) calls them; a new format is a new
 * file with its functions and one row in the table. */
#ifndef RS_WRITER_H
#define RS_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "detect.h"
#include "record.h"
#include "report.h"

/* Where an ordered writer's records are, for its end() to write them:
 * write(ctx, out, sep) writes them in first-packet order, sep between
 * them; -1 on an error. */
struct writer_records {
        int (*write)(void *ctx, FILE *out, const char *sep);
        void *ctx;
};

struct writer {
        const char *name;               /* the -F value */
        /* 1: records are kept (spooled) and put in first-packet order, for
         * end() to write; 0: each is written as its connection ends */
        int ordered;
        /* before the first record (or before end() when there is none);
         * NULL: nothing */
        void (*begin)(FILE *out);
        /* One connection's record into buf, with whatever separates it
         * from the record before (nth: records written before it, 0 for
         * the first); its length, 0 when it does not fit in len (at
         * least RS_JSON_RECORD_MAX + 2 bytes are given). */
        size_t (*connection)(char *buf, size_t len, const struct conn *c, const struct det_result *d,
                             int verbose, uint64_t nth);
        /* A line of its own per finding, after its connection's record;
         * NULL: none */
        size_t (*finding)(char *buf, size_t len, const struct conn *c, const struct finding *f);
        /* Everything after the records; -1 on an output error. */
        int (*end)(FILE *out, const struct report *r, const struct writer_records *rec);
};

/* ---- the records buffer of streamed writers ----
 *
 * Records are made in place at outbuf_end() and written RS_WRITE_BUFFER
 * bytes at a time straight to the stream's file descriptor (after what
 * stdio holds), not copied once more through stdio's buffer. */
struct outbuf {
        FILE *out;
        char *buf;                      /* RS_WRITE_BUFFER bytes; NULL: none */
        size_t used;
};

int outbuf_init(struct outbuf *b, FILE *out);           /* -1 when out of memory */
/* Less than RS_JSON_RECORD_MAX + 2 bytes left: flush before the next record. */
static inline int outbuf_full(const struct outbuf *b)
{
        return RS_WRITE_BUFFER - b->used < RS_JSON_RECORD_MAX + 2;
}
static inline char *outbuf_end(struct outbuf *b) { return b->buf + b->used; }
/* Write out what is buffered; -1 on an error (errno says which). */
int outbuf_flush(struct outbuf *b);
void outbuf_free(struct outbuf *b);

/* The writer named name, or NULL. */
const struct writer *writer_find(const char *name);
/* The names, ", " between them: "text, json, jsonl". */
const char *writer_names(void);
/* The default (text). */
const struct writer *writer_default(void);

#endif /* RS_WRITER_H */
