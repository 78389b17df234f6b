/* report.h - writes the analysis as text or JSON.  Reads the finished
 * records and input statistics; owns nothing and changes nothing. */
#ifndef RS_REPORT_H
#define RS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "capture.h"
#include "conn.h"
#include "detect.h"
#include "summary.h"
#include "tcpsm.h"

struct report {
        const struct capture *cap;      /* inputs and their statistics */
        const struct conn *conns;       /* finished records, sorted by id */
        size_t nconns;
        const struct tcpsm_stats *st;
        int flags_only;                 /* capture holds only SYN/FIN/RST packets */
        int64_t first, last;            /* capture time span, ns (0 = no packets) */
        uint64_t evicted;               /* records expired early at the table cap */
        int verbose;
        const struct det_result *det;   /* findings of conns[i] */
        const struct summary *sum;      /* across connections */
};

void report_text(FILE *out, const struct report *r);
int report_json(FILE *out, const struct report *r);

/* JSON Lines: one connection as it finishes, then the clusters. */
int report_jsonl_conn(FILE *out, const struct conn *c, const struct det_result *d, int flags_only);
int report_jsonl_end(FILE *out, const struct report *r);

/* Shared by both writers. */
const char *report_ip(const struct conn *c, int side, char *buf, size_t len);
void report_close_counts(const struct report *r, size_t counts[5]); /* cFIN cRST sFIN sRST none */

#define RS_VERSION "0.1.0"

#endif /* RS_REPORT_H */
