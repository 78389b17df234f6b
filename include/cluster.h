/* cluster.h - distributions of intervals (percentiles, log-scaled
 * histogram), the peak finder that turns them into clusters, and the table
 * of well-known timeouts that names a cluster's likely cause.  Pure
 * functions over caller-owned arrays. */
#ifndef RS_CLUSTER_H
#define RS_CLUSTER_H

#include <stddef.h>

struct dist_summary {
        size_t n;
        double min, p50, p90, p99, max;         /* s */
};

/* Sorts v in place and summarises it. */
void dist_summarize(double *v, size_t n, struct dist_summary *s);

/* Log-scaled histogram: bin k holds values in [edge[k], edge[k+1]), edges
 * at 1, 2, 5 x 10^e seconds.  Returns the number of bins (<= max) that
 * span the sorted values; counts and left edges are written. */
size_t dist_histogram(const double *sorted, size_t n, size_t *count, double *edge, size_t max);
double dist_edge_next(double edge);     /* the 1-2-5 edge after edge */

struct peak {
        size_t count;                   /* values in the peak */
        double center;                  /* median, s */
        double spread;                  /* standard deviation, s */
        double lo, hi;                  /* smallest and largest value */
};

/* Tight peaks among the sorted values (at most max): each window holds
 * at least min_count values, at least min_share of all, and several times
 * what a log-uniform spread would put there; centres below min_center are
 * ignored.  Returns the number found, largest first. */
size_t cluster_peaks(const double *sorted, size_t n, size_t min_count, double min_share,
                     double min_center, struct peak *out, size_t max);

/* For intervals [lo[i], hi[i]] (give-up bounds): the value covered by the
 * most intervals, repeatedly, as peaks (center = that value). */
size_t cluster_stab(const double *lo, const double *hi, size_t n, size_t min_count,
                    double min_share, struct peak *out, size_t max);

enum cluster_measure { M_IDLE_BEFORE_CLOSE = 0, M_SYN_TO_CLOSE, M_CONNECT_GIVE_UP, M_N };

struct known_default {
        double seconds;
        const char *what;               /* "Node.js http.Server keepAliveTimeout ..." */
        const char *source;             /* where the default is documented */
        unsigned measures;              /* bit per enum cluster_measure, and who closes */
};

/* Known defaults consistent with a cluster between lo and hi seconds (lo =
 * hi = its centre, or the interval give-up bounds agree on) of closes by
 * the server (server_closes) or the client, timer slack allowed; at most
 * max; returns how many. */
size_t cluster_likely(enum cluster_measure m, int server_closes, double lo, double hi,
                      const struct known_default **out, size_t max);

const char *cluster_measure_name(enum cluster_measure m);

/* Every entry, for the documentation and tests. */
const struct known_default *cluster_defaults(size_t *n);

#endif /* RS_CLUSTER_H */
