/* cluster.h - distributions of intervals (percentiles, log-scaled
 * histogram), the peak finder that turns them into clusters, and the table
 * of well-known timeouts that names a cluster's likely cause.  Pure
 * functions over caller-owned arrays. */
#ifndef RS_CLUSTER_H
#define RS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

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
double dist_edge_floor(double x);       /* the 1-2-5 edge at or below x */

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

/* The same over a fine log histogram: bin i holds cnt[i] values summing
 * to sum[i] (squares: sq[i]) in [cluster_bin_edge(i), cluster_bin_edge(i+1)).
 * Peaks are cleared from cnt (the caller passes a copy); first/last bins of
 * each peak are written when not NULL. */
size_t cluster_peaks_bins(uint32_t *cnt, const double *sum, const double *sq, size_t nbins,
                          size_t min_count, double min_share, double min_center,
                          struct peak *out, size_t *first, size_t *last, size_t max);
#define CLUSTER_BIN_BASE 1e-6           /* s: lower edge of bin 0 */
#define CLUSTER_BIN_RATIO 1.02
double cluster_bin_edge(size_t i);
size_t cluster_bin_of(double v);

/* For intervals [lo[i], hi[i]] (give-up bounds), each standing for w[i]
 * attempts (w NULL: one each): the value covered by the most, repeatedly,
 * as peaks (center = that value, lo/hi = the range all of them share). */
size_t cluster_stab(const double *lo, const double *hi, const uint32_t *w, size_t n,
                    size_t min_count, double min_share, struct peak *out, size_t max);

enum cluster_measure { M_IDLE_BEFORE_CLOSE = 0, M_SYN_TO_CLOSE, M_CONNECT_GIVE_UP, M_N };

/* In known_default.measures: the server reads and drops a request that
 * arrives after its idle-close FIN instead of resetting (Apache httpd's
 * lingering close; Tomcat, whose FIN is a shutdown before the close). */
#define KD_DRAINS 0x400

struct known_default {
        double seconds;
        const char *what;               /* "Node.js http.Server keepAliveTimeout ..." */
        const char *source;             /* where the default is documented */
        unsigned measures;              /* bit per enum cluster_measure, who closes, KD_DRAINS */
        const char *setting;            /* what to change: "Node.js server.keepAliveTimeout" */
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
