/* summary.h - findings across connections: how many connections have each
 * finding, distributions of the intervals per (closing side, FIN/RST) and
 * per server endpoint, and the clusters with their likely causes and
 * remedies.  Built once from the finished records; owns its arrays. */
#ifndef RS_SUMMARY_H
#define RS_SUMMARY_H

#include <stddef.h>

#include "cluster.h"
#include "conn.h"
#include "detect.h"

#define SUM_MAX_LIKELY 4
#define SUM_EXAMPLES 3
#define SUM_HIST_BINS 40

struct sum_dist {                       /* one distribution */
        enum cluster_measure measure;
        int side;                       /* closing side: CLIENT, SERVER */
        int how;                        /* HOW_FIN or HOW_RST */
        int server;                     /* index into servers[], -1 = all */
        struct dist_summary s;
        size_t nbins;
        size_t bin_count[SUM_HIST_BINS];
        double bin_edge[SUM_HIST_BINS];
};

struct sum_cluster {
        enum cluster_measure measure;
        int side, how;                  /* how = 0 for connect_give_up */
        int server;                     /* -1 = all servers */
        size_t group_n;                 /* values in the group */
        struct peak pk;
        const struct known_default *likely[SUM_MAX_LIKELY];
        size_t nlikely;
        const char *remedy;
        size_t examples[SUM_EXAMPLES];  /* indices into the records */
        size_t nexamples;
};

struct sum_server {
        const struct conn *rep;         /* a record naming the endpoint */
        size_t conns;                   /* connections to it */
        size_t group;                   /* internal: position before sorting */
};

struct summary {
        size_t kind_conns[DET_NKINDS];  /* connections with >= 1 finding of the kind */
        size_t kind_inferred[DET_NKINDS]; /* of which only inferred */
        struct sum_server *servers;     /* endpoints with closes, most connections first */
        size_t nservers;
        struct sum_dist *dists;
        size_t ndists;
        struct sum_cluster *clusters;   /* largest first */
        size_t nclusters;
};

struct summary_opts {
        size_t min_count;               /* smallest cluster, connections */
        double min_share;               /* smallest cluster share of its group */
        double min_center;              /* clusters below this many seconds are not news */
        size_t max_servers;             /* per-server distributions kept */
};

/* conns[i] has detection results det[i]. */
int summary_build(struct summary *s, const struct conn *conns, const struct det_result *det,
                  size_t n, const struct summary_opts *o);
void summary_free(struct summary *s);

#endif /* RS_SUMMARY_H */
