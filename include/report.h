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
#include "diagnose.h"
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
        const char *saved_to;           /* live: the -w file, or NULL */
        const struct diagnosis *diag;   /* per server (NULL or empty: none) */
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

/* ---- shared by the writers (report_common.c) ---- */

/* The address's text into buf. */
const char *report_ip(int family, const struct endpoint *e, char *buf, size_t len);
/* The address's text at p (at most 46 bytes written); returns its end. */
char *report_ip_put(char *p, int family, const struct endpoint *e);
/* "10.0.0.1:80" or "[::1]:80" into buf. */
void report_endpoint(int family, const struct endpoint *e, char *buf, size_t len);
/* Local time of ns: "2024-03-01 12:00:00.123456 UTC" (date_too) or
 * "12:00:00.123456". */
const char *report_time(int64_t ns, int date_too, char *buf, size_t len);

const char *report_close_text(enum close_kind k);      /* "client FIN" */
const char *report_close_key(enum close_kind k);       /* "client_fin" */
const char *report_side_name(int side);                 /* "client", "server" */
const char *report_how_name(int how);                   /* "fin", "rst", NULL */

struct kind_text {                      /* what the text report says of a finding kind */
        const char *what;               /* one line */
        const char *measure;            /* histogram label, NULL = none */
        const char *remedy;             /* when no cluster names one */
};
const struct kind_text *report_kind_text(enum finding_kind k);

#endif /* RS_REPORT_H */
