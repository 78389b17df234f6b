/* report.h - writes the analysis as text, JSON or JSON Lines: one record
 * per connection (made when it finishes, see analysis.c), and the
 * document around them.  Reads records, statistics and the summary; owns
 * nothing and changes nothing. */
#ifndef RS_REPORT_H
#define RS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "capture.h"
#include "record.h"
#include "detect.h"
#include "summary.h"
#include "tcpsm.h"

#define RS_VERSION "0.1.0"

struct report {
        const struct capture *cap;      /* inputs and their statistics */
        const struct tcpsm_stats *st;
        const struct summary *sum;      /* across connections */
        int flags_only;                 /* capture holds only SYN/FIN/RST packets */
        int64_t first, last;            /* capture time span, ns (0 = no packets) */
        uint64_t evicted;               /* records expired early at the table cap */
        uint64_t skipped_shard;         /* TCP packets of other shards */
        uint32_t shard_i, shard_n;
        int verbose;
};

/* One connection's table row (no newline) into buf; returns its length. */
size_t report_text_row(const struct conn *c, int verbose, char *buf, size_t len);
/* Everything before the rows, including the table heading. */
void report_text_head(FILE *out, const struct report *r);

/* One connection as a JSON object (no newline) into buf; returns its
 * length, or 0 when it does not fit.  RS_JSON_RECORD_MAX always fits. */
#define RS_JSON_RECORD_MAX 8192
size_t report_json_conn(const struct conn *c, const struct det_result *d, int with_type,
                        char *buf, size_t len);
/* JSON Lines: one finding of a connection, with the connection's id and
 * endpoints, into buf; returns its length, or 0 when it does not fit. */
size_t report_json_finding(const struct conn *c, const struct finding *f, char *buf, size_t len);
/* The JSON document: its start, up to the connections array (whose
 * records are written as connections end, ",\n" between them), and the
 * rest after the records: inputs, capture, summary, clusters and
 * distributions. */
void report_json_open(FILE *out);
int report_json_close(FILE *out, const struct report *r);
/* JSON Lines: after the connection lines, one per cluster, then a summary. */
int report_jsonl_end(FILE *out, const struct report *r);

/* Shared by the writers. */
const char *report_ip(int family, const struct endpoint *e, char *buf, size_t len);
/* The address's text at p (at most 46 bytes written); returns its end. */
char *report_ip_put(char *p, int family, const struct endpoint *e);

#endif /* RS_REPORT_H */
