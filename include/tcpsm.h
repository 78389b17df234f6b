/* tcpsm.h - the TCP state machine: applies each decoded segment to its
 * connection (creating one, or a new one when the 5-tuple is reused),
 * tracks each side's state, sequence space, counts and Zeek-style history
 * in its connection table (which it creates and destroys), and hands out
 * each connection that leaves the table as a finished record (record.h)
 * with its verdicts computed. */
#ifndef RS_TCPSM_H
#define RS_TCPSM_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "record.h"

struct tcpsm_stats {
        uint64_t segments;      /* segments applied */
        uint64_t duplicates;    /* capture duplicates dropped */
        uint64_t flagless;      /* segments with none of SYN/FIN/RST */
        uint64_t reused;        /* connections started on a reused 5-tuple */
        uint64_t nomem;         /* segments lost to allocation failure */
};

struct conn_table;

struct tcpsm {
        struct conn_table *table;       /* private (conn_table.h) */
        int64_t linger_ns;      /* see RS_CLOSE_LINGER_S */
        int flags_only_hint;    /* 1: SYN/FIN/RST only (by the capture filter), 0: full,
                                   -1: judge from the segments seen so far */
        struct tcpsm_stats st;
        void (*finish)(struct conn *c, void *ctx);      /* each connection leaving */
        /* (or NULL) a new request on a reused connection: a client's first
         * payload after the server's; seg is that segment, idle_ns the time
         * since the server's last payload */
        void (*on_reuse)(void *ctx, const struct segment *seg, int64_t idle_ns);
        void *ctx;                                      /* of both */
};

/* A state machine with its own table; finish (may be NULL) gets every
 * connection as it leaves.  -1 when out of memory. */
int tcpsm_init(struct tcpsm *sm, const struct conn_limits *lim, int flags_only_hint,
               void (*finish)(struct conn *c, void *ctx), void *ctx);
void tcpsm_free(struct tcpsm *sm);

/* Apply one segment (seg->ts set). */
void tcpsm_on_segment(struct tcpsm *sm, const struct segment *seg);

/* A hint, ahead of tcpsm_on_segment(seg): stage 0 asks for seg's hash
 * bucket to be brought into the cache, stage 1 (some segments later) for
 * the record at the head of that bucket.  Changes nothing. */
void tcpsm_prefetch(const struct tcpsm *sm, const struct segment *seg, int stage);

/* Finish what is idle past its timeout at time now (ns). */
void tcpsm_expire(struct tcpsm *sm, int64_t now);
/* Finish every connection still open (end of input). */
void tcpsm_flush(struct tcpsm *sm);

/* "SYN/FIN/RST only", as judged from what was seen so far (or the hint). */
int tcpsm_flags_only(const struct tcpsm *sm);

size_t tcpsm_open_count(const struct tcpsm *sm);        /* connections in the table */
uint64_t tcpsm_evicted(const struct tcpsm *sm);         /* expired early at the cap */

#endif /* RS_TCPSM_H */
