/* diagnose.h - per-upstream diagnosis: for each server endpoint of the
 * summary, its idle-close timer (measured from its own idle closes, a
 * polling timer's whole spread as one timer), how long clients left
 * connections idle before reusing them, the races, and a verdict with the
 * settings to change.  Reads the finished summary; owns its results. */
#ifndef RS_DIAGNOSE_H
#define RS_DIAGNOSE_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "summary.h"

enum verdict {
        V_IDLE_TIMEOUT_MISMATCH = 0,    /* clients reuse connections as long as the server
                                           keeps them, or a request raced its idle close */
        V_SERVER_RESETS_REQUESTS,       /* the server reset requests it had not answered */
        V_CONNECT_TIMEOUT,              /* connection attempts went unanswered */
        V_REFUSED,                      /* nothing listened */
        V_OK,
        V_N
};

const char *verdict_name(enum verdict v);

struct server_diag {
        int server;                     /* index into summary.servers */
        /* the idle-close timer, when measured */
        int timer;
        enum close_how how;             /* HOW_FIN or HOW_RST */
        uint64_t count, of;             /* closes at the timer, of the server's closes that way */
        double center, spread, lo, hi;  /* s */
        const struct known_default *likely[SUM_MAX_LIKELY];
        size_t nlikely;
        const char *unknown;            /* why the timer is not measured, or NULL */
        /* without it, in a SYN/FIN/RST-only capture: the server's FIN closes
         * clustering after the SYN (the timer, for connections that carried
         * one request), or NULL */
        const struct sum_cluster *syn_hint;
        /* new requests on reused connections */
        uint64_t reuse_n;
        double reuse_p50, reuse_p99, reuse_max;         /* idle before them, s */
        uint64_t raced;                 /* requests that raced the idle close */
        uint64_t resets;                /* requests reset while the server was busy */
        uint64_t affected;              /* connections with a problem */
        enum verdict verdict;
        char text[384];
        char remedy[768];
};

struct diagnosis {
        struct server_diag *srv;        /* most connections affected first */
        size_t n;
};

/* The diagnosis of every server of s (after summary_finish); flags_only:
 * the capture holds only SYN/FIN/RST packets.  -1 when out of memory. */
int diagnose(const struct summary *s, int flags_only, struct diagnosis *d);
void diagnosis_free(struct diagnosis *d);

#endif /* RS_DIAGNOSE_H */
