/* summary.h - findings across connections, accumulated as connections
 * finish, in memory that does not grow with the capture: counters per
 * finding kind, conn_state and close, fine log-scaled histograms of the
 * intervals per (closing side, FIN/RST) over all servers and for the first
 * few server endpoints, connect give-up intervals, and a few example
 * connections.  At the end it turns them into distributions and clusters
 * with likely causes and remedies.  Owns all its memory. */
#ifndef RS_SUMMARY_H
#define RS_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "record.h"
#include "detect.h"

#define HIST_BINS 1400          /* log bins of ratio 1.02 from 1 µs: up to ~12 days */
#define SUM_MAX_LIKELY 4
#define SUM_EXAMPLES 3
#define SUM_SHOW_BINS 40

struct example {                /* enough to name a connection in a report */
        uint64_t id;
        int64_t first;          /* ns */
        int64_t at;             /* the event shown: the finding, close or give-up, ns */
        struct endpoint cli, srv;
        uint8_t family;
        uint8_t used;
};

#define HIST_EXACT 1024           /* values also kept exactly while there are no more */

struct hist {                   /* fine log histogram; arrays allocated on first use */
        uint64_t n;
        double min, max;        /* exact */
        double *exact;          /* the first HIST_EXACT values (exact percentiles) */
        uint32_t *cnt;
        double *sum, *sq;       /* per bin: sum and sum of squares of the values */
        struct example *ex;     /* per bin: the first SUM_EXAMPLES connections (optional) */
};

struct giveup {                 /* connect give-up intervals, by (lo bin, hi bin) */
        struct gu_cell { uint16_t lo, hi; uint32_t count; struct example ex; } *cell;
        size_t n, cap;
        uint64_t total;
};

struct sum_server {
        struct endpoint ep;
        uint8_t family;
        uint64_t conns;
        uint64_t closes[CLOSE_N];       /* per enum close_kind */
        uint64_t kinds[DET_NKINDS];     /* ranked connections per kind (see kind_ranked) */
        uint64_t resets_idle;           /* of kinds[DET_REQUEST_RESET]: reset after idle, at
                                           an idle close (the request was unread) */
        uint64_t drained;               /* of kinds[DET_DATA_AFTER_PEER_FIN]: no RST answered
                                           the request (the server drained it) */
        struct hist h[2][2][2];         /* [measure idle/syn][closing side][how fin/rst] */
        struct hist reuse;              /* idle before each new request on a reused
                                           connection (summary_reuse), s */
        struct giveup gu;
};

struct sum_dist {                       /* one distribution, as reported */
        enum cluster_measure measure;
        int side, how;
        int server;                     /* index into servers, -1 = all */
        struct dist_summary s;
        size_t nbins;
        size_t bin_count[SUM_SHOW_BINS];
        double bin_edge[SUM_SHOW_BINS];
};

struct sum_cluster {
        enum cluster_measure measure;
        int side, how;                  /* how = 0 for connect_give_up */
        int server;                     /* -1 = all servers */
        uint64_t group_n;               /* values in the group */
        struct peak pk;
        const struct known_default *likely[SUM_MAX_LIKELY];
        size_t nlikely;
        const char *remedy;
        struct example ex[SUM_EXAMPLES];
        size_t nexamples;
        /* syn_to_close: a whole multiple (>= 2) of the same server's idle
         * close, idle_s: connections that carried that many requests, each
         * followed by the idle timer; no default is named then (0: not) */
        int idle_multiple;
        double idle_s;
};

struct summary_opts {
        size_t min_count;               /* smallest cluster, connections */
        double min_share;               /* smallest cluster share of its group */
        double min_center;              /* clusters below this many seconds are not news */
        size_t max_servers;             /* server endpoints with their own distributions */
};

struct summary {
        struct summary_opts o;
        uint64_t nconns;
        uint64_t states[ZS_N];          /* per enum zeek_state */
        uint64_t closes[CLOSE_N];       /* per enum close_kind */
        uint64_t kind_conns[DET_NKINDS]; /* connections with >= 1 finding of the kind */
        /* Ranked: the connections whose problem the kind is.  A race is one
         * problem: its connection is not ranked again under request_reset
         * (after a data_after_peer_fin) or idle_close (after any race).
         * The statistics below are of the ranked connections. */
        uint64_t kind_ranked[DET_NKINDS];
        uint64_t kind_inferred[DET_NKINDS]; /* ranked, only inferred */
        struct hist kind_h[DET_NKINDS]; /* each kind's measure (see detect_kind_value) */
        struct example kind_ex[DET_NKINDS][SUM_EXAMPLES];
        struct hist h[2][2][2];         /* all servers */
        struct giveup gu;
        struct sum_server *servers;     /* the first max_servers endpoints */
        size_t nservers;
        uint64_t other_server_conns;    /* connections to endpoints beyond those */
        int oom;                        /* some statistics are missing */
        /* filled by summary_finish */
        int kind_server[DET_NKINDS];    /* index into servers of the one server all the
                                           kind's ranked connections are on, -1 = several
                                           or not among them */
        struct sum_dist *dists;
        size_t ndists;
        struct sum_cluster *clusters;   /* largest first */
        size_t nclusters;
};

void summary_init(struct summary *s, const struct summary_opts *o);
void summary_add(struct summary *s, const struct conn *c, const struct det_result *d);
/* A new request on a reused connection to srv, idle_s after the server's
 * last payload (the state machine's on_reuse). */
void summary_reuse(struct summary *s, int family, const struct endpoint *srv, double idle_s);
int summary_finish(struct summary *s);
void summary_free(struct summary *s);

/* Percentile-style summary and shown bins of a histogram. */
void summary_hist_dist(const struct hist *h, struct sum_dist *d);

#endif /* RS_SUMMARY_H */
