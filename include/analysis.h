/* analysis.h - one run of the pipeline: packets in (from files or a live
 * interface), decoded, tracked by the state machine; each connection, as
 * it finishes, goes through the detectors into the summary and out as a
 * record (spooled into first-packet order for an ordered writer, else
 * streamed as connections end); at the end the report.  Owns the state
 * machine, the summary and the spool; the caller owns the capture and the
 * output stream. */
#ifndef RS_ANALYSIS_H
#define RS_ANALYSIS_H

#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "tcpsm.h"
#include "detect.h"
#include "summary.h"
#include "writer.h"

struct rs_config {
        const struct writer *writer;    /* the output format */
        int verbose;
        struct conn_limits lim;
        double min_idle;                /* s, see RS_MIN_IDLE_S */
        size_t cluster_min;             /* see RS_CLUSTER_MIN_COUNT */
        uint32_t shard_i, shard_n;      /* keep 5-tuples hashing to shard i of n (n = 0: all) */
        size_t spool_mem;               /* bytes of records kept in memory, RS_SPOOL_MEM */
        int flags_only_hint;            /* 1: SYN/FIN/RST only (by the capture filter), 0: full,
                                           -1: judge from the packets seen so far */
        int threads;                    /* 2: a worker thread tracks the connections */
        const char *saved_to;           /* live: the -w file (named in the report), or NULL */
        int flush_each;                 /* flush the output after every JSON Lines record (live) */
        /* called with every finished connection (live metrics), or NULL */
        void (*on_conn)(void *ctx, const struct conn *c, const struct det_result *d);
        void *on_conn_ctx;
};

struct analysis;

struct analysis *analysis_create(const struct rs_config *cfg, FILE *out);
/* One captured packet of input in. */
void analysis_packet(struct analysis *a, struct input *in, int64_t ts, const uint8_t *data,
                     uint32_t caplen, uint32_t len);
/* Live: the wall clock (ns) expires idle connections when no packet does. */
void analysis_tick(struct analysis *a, int64_t now);
/* Live, text: one line of counts so far. */
void analysis_interval(const struct analysis *a, FILE *out, int64_t now);
size_t analysis_open_conns(const struct analysis *a);
/* Finish every connection and write the report; -1 on an output or
 * memory error (message printed). */
int analysis_end(struct analysis *a, const struct capture *cap);
const struct summary *analysis_summary(const struct analysis *a);
int analysis_incomplete(const struct analysis *a);  /* connections lost to memory */
void analysis_destroy(struct analysis *a);

#endif /* RS_ANALYSIS_H */
