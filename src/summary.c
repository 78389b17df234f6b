/* summary.c - aggregates per-connection detection results: connections per
 * finding kind, distributions of syn_to_close and idle_before_close per
 * (closing side, FIN/RST), overall and per server endpoint, and clusters
 * found in them (connect give-up times are clustered as intervals).  It
 * decides nothing about single connections; detect.c does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"
#include "tcpsm.h"

struct item {                           /* one connection's intervals */
        size_t idx;                     /* record index */
        int server;                     /* server index */
        int side, how;                  /* first close */
        double v[M_N];                  /* per measure; give-up uses lo/hi below */
        double lo, hi;                  /* connect give-up bounds, NAN when none */
};

static const struct conn *sort_conns;

static int ep_order(const struct conn *a, const struct conn *b)
{
        int r = (int)a->family - (int)b->family;
        if (!r)
                r = memcmp(a->srv.addr, b->srv.addr, 16);
        if (!r)
                r = (int)a->srv.port - (int)b->srv.port;
        return r;
}

static int by_server(const void *x, const void *y)
{
        size_t a = *(const size_t *)x, b = *(const size_t *)y;
        int r = ep_order(&sort_conns[a], &sort_conns[b]);
        return r ? r : (a > b) - (a < b);
}

static int by_conns(const void *x, const void *y)
{
        const struct sum_server *a = x, *b = y;
        if (a->conns != b->conns)
                return a->conns > b->conns ? -1 : 1;
        return a->rep->id < b->rep->id ? -1 : a->rep->id > b->rep->id;
}

/* Servers by endpoint, most connections first; srv[i] = server of conn i. */
static int build_servers(struct summary *s, const struct conn *c, size_t n, int *srv)
{
        size_t *ord = malloc((n ? n : 1) * sizeof *ord);
        size_t *rank = malloc((n ? n : 1) * sizeof *rank);

        s->servers = calloc(n ? n : 1, sizeof *s->servers);
        if (!ord || !rank || !s->servers) {
                free(ord);
                free(rank);
                return -1;
        }
        for (size_t i = 0; i < n; i++)
                ord[i] = i;
        sort_conns = c;
        qsort(ord, n, sizeof *ord, by_server);
        for (size_t i = 0; i < n; i++) {        /* group equal endpoints */
                if (i == 0 || ep_order(&c[ord[i]], &c[ord[i - 1]]) != 0) {
                        s->servers[s->nservers].rep = &c[ord[i]];
                        s->servers[s->nservers].group = s->nservers;
                        s->nservers++;
                }
                s->servers[s->nservers - 1].conns++;
                srv[ord[i]] = (int)s->nservers - 1;
        }
        qsort(s->servers, s->nservers, sizeof *s->servers, by_conns);
        for (size_t k = 0; k < s->nservers; k++)
                rank[s->servers[k].group] = k;
        for (size_t i = 0; i < n; i++)
                srv[i] = (int)rank[srv[i]];
        free(ord);
        free(rank);
        return 0;
}

static const char *remedy(enum cluster_measure m, int side)
{
        if (m == M_CONNECT_GIVE_UP)
                return "SYNs go unanswered: look for a full accept queue or a firewall dropping SYNs "
                       "at the server; the client's connect timeout ends each attempt";
        if (side == SERVER)
                return "make the server's keep-alive idle timeout longer than the client pool's "
                       "(e.g. Envoy/Istio idleTimeout), or expire pooled connections sooner; retry "
                       "requests that fail with a reset";
        return "the client or proxy closes idle connections at this age: harmless by itself, "
               "keep it shorter than the server's idle timeout";
}

static int push_cluster(struct summary *s, size_t *cap, const struct sum_cluster *k)
{
        if (s->nclusters == *cap) {
                size_t nc = *cap ? *cap * 2 : 16;
                struct sum_cluster *p = realloc(s->clusters, nc * sizeof *p);
                if (!p)
                        return -1;
                s->clusters = p;
                *cap = nc;
        }
        s->clusters[s->nclusters++] = *k;
        return 0;
}

static int push_dist(struct summary *s, size_t *cap, const struct sum_dist *d)
{
        if (s->ndists == *cap) {
                size_t nc = *cap ? *cap * 2 : 16;
                struct sum_dist *p = realloc(s->dists, nc * sizeof *p);
                if (!p)
                        return -1;
                s->dists = p;
                *cap = nc;
        }
        s->dists[s->ndists++] = *d;
        return 0;
}

/* One group: values of measure m for closes by (side, how) at server
 * (-1 = all): its distribution and its clusters. */
static int group(struct summary *s, size_t *dcap, size_t *ccap, const struct item *it,
                 size_t n, enum cluster_measure m, int side, int how, int server,
                 const struct summary_opts *o, double *buf, size_t *ibuf)
{
        struct sum_dist d = { .measure = m, .side = side, .how = how, .server = server };
        struct peak pk[3];
        size_t k = 0, np;

        for (size_t i = 0; i < n; i++)
                if (it[i].side == side && it[i].how == how && !isnan(it[i].v[m]) &&
                    (server < 0 || it[i].server == server)) {
                        ibuf[k] = i;
                        buf[k++] = it[i].v[m];
                }
        if (!k)
                return 0;
        dist_summarize(buf, k, &d.s);
        d.nbins = dist_histogram(buf, k, d.bin_count, d.bin_edge, SUM_HIST_BINS);
        if (push_dist(s, dcap, &d) < 0)
                return -1;
        np = cluster_peaks(buf, k, o->min_count, o->min_share, o->min_center, pk, 3);
        for (size_t p = 0; p < np; p++) {
                struct sum_cluster c = { .measure = m, .side = side, .how = how,
                                         .server = server, .group_n = k, .pk = pk[p] };
                c.nlikely = cluster_likely(m, side == SERVER, pk[p].center, pk[p].center, c.likely,
                                           SUM_MAX_LIKELY);
                c.remedy = remedy(m, side);
                for (size_t j = 0; j < k && c.nexamples < SUM_EXAMPLES; j++) {
                        double v = it[ibuf[j]].v[m];
                        if (v >= pk[p].lo && v <= pk[p].hi)
                                c.examples[c.nexamples++] = it[ibuf[j]].idx;
                }
                if (push_cluster(s, ccap, &c) < 0)
                        return -1;
        }
        return 0;
}

/* Connect give-up intervals at server (-1 = all). */
static int give_up_group(struct summary *s, size_t *ccap, const struct item *it, size_t n,
                         int server, const struct summary_opts *o, double *lo, double *hi)
{
        struct peak pk[3];
        size_t k = 0, np;

        for (size_t i = 0; i < n; i++)
                if (!isnan(it[i].lo) && !isnan(it[i].hi) && (server < 0 || it[i].server == server)) {
                        lo[k] = it[i].lo;
                        hi[k++] = it[i].hi;
                }
        np = cluster_stab(lo, hi, k, o->min_count, o->min_share, pk, 3);
        for (size_t p = 0; p < np; p++) {
                struct sum_cluster c = { .measure = M_CONNECT_GIVE_UP, .side = CLIENT,
                                         .server = server, .group_n = k, .pk = pk[p] };
                /* known values inside the interval the attempts agree on */
                c.nlikely = cluster_likely(M_CONNECT_GIVE_UP, 0, pk[p].lo, pk[p].hi, c.likely,
                                           SUM_MAX_LIKELY);
                c.remedy = remedy(M_CONNECT_GIVE_UP, CLIENT);
                for (size_t j = 0; j < n && c.nexamples < SUM_EXAMPLES; j++)
                        if (!isnan(it[j].lo) && (server < 0 || it[j].server == server) &&
                            it[j].lo <= pk[p].hi && it[j].hi >= pk[p].lo)
                                c.examples[c.nexamples++] = it[j].idx;
                if (push_cluster(s, ccap, &c) < 0)
                        return -1;
        }
        return 0;
}

static int by_count(const void *x, const void *y)
{
        const struct sum_cluster *a = x, *b = y;
        if (a->pk.count != b->pk.count)
                return a->pk.count > b->pk.count ? -1 : 1;
        return (a->server > b->server) - (a->server < b->server);
}

/* A server's cluster that is the all-servers cluster again (the same
 * values: every one came from that server) says nothing new. */
static void drop_repeats(struct summary *s)
{
        size_t k = 0;

        for (size_t i = 0; i < s->nclusters; i++) {
                const struct sum_cluster *c = &s->clusters[i];
                int dup = 0;
                for (size_t j = 0; c->server >= 0 && j < s->nclusters && !dup; j++) {
                        const struct sum_cluster *g = &s->clusters[j];
                        dup = g->server < 0 && g->measure == c->measure && g->side == c->side &&
                              g->how == c->how && g->pk.count == c->pk.count &&
                              g->pk.center == c->pk.center && g->pk.spread == c->pk.spread;
                }
                if (!dup)
                        s->clusters[k++] = *c;
        }
        s->nclusters = k;
}

static void count_kinds(struct summary *s, const struct det_result *det, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                int seen[DET_NKINDS] = { 0 }, direct[DET_NKINDS] = { 0 };
                for (int j = 0; j < det[i].n; j++) {
                        seen[det[i].f[j].kind] = 1;
                        direct[det[i].f[j].kind] |= !det[i].f[j].inferred;
                }
                for (int k = 0; k < DET_NKINDS; k++) {
                        s->kind_conns[k] += (size_t)seen[k];
                        s->kind_inferred[k] += (size_t)(seen[k] && !direct[k]);
                }
        }
}

int summary_build(struct summary *s, const struct conn *conns, const struct det_result *det,
                  size_t n, const struct summary_opts *o)
{
        struct item *it = calloc(n ? n : 1, sizeof *it);
        int *srv = calloc(n ? n : 1, sizeof *srv);
        double *buf = malloc((n ? n : 1) * sizeof *buf), *buf2 = malloc((n ? n : 1) * sizeof *buf2);
        size_t *ibuf = malloc((n ? n : 1) * sizeof *ibuf), dcap = 0, ccap = 0;
        int rc = -1;

        memset(s, 0, sizeof *s);
        if (!it || !srv || !buf || !buf2 || !ibuf || build_servers(s, conns, n, srv) < 0)
                goto out;
        count_kinds(s, det, n);
        for (size_t i = 0; i < n; i++) {
                struct close_info ci;
                tcpsm_close_info(&conns[i], &ci);
                it[i].idx = i;
                it[i].server = srv[i];
                it[i].side = ci.by;
                it[i].how = (int)ci.how;
                it[i].v[M_IDLE_BEFORE_CLOSE] = det[i].idle_before_close;
                it[i].v[M_SYN_TO_CLOSE] = det[i].syn_to_close;
                it[i].v[M_CONNECT_GIVE_UP] = NAN;
                it[i].lo = it[i].hi = NAN;
                for (int j = 0; j < det[i].n; j++)
                        if (det[i].f[j].kind == DET_CONNECT_TIMEOUT)
                                it[i].lo = det[i].f[j].a, it[i].hi = det[i].f[j].b;
        }
        for (int server = -1; server < (int)s->nservers && server < (int)o->max_servers; server++) {
                if (server >= 0 && s->nservers < 2)
                        break;          /* one server: its groups are the totals */
                for (int m = M_IDLE_BEFORE_CLOSE; m <= M_SYN_TO_CLOSE; m++)
                        for (int side = CLIENT; side <= SERVER; side++)
                                for (int how = HOW_FIN; how <= HOW_RST; how++)
                                        if (group(s, &dcap, &ccap, it, n, (enum cluster_measure)m,
                                                  side, how, server, o, buf, ibuf) < 0)
                                                goto out;
                if (give_up_group(s, &ccap, it, n, server, o, buf, buf2) < 0)
                        goto out;
        }
        drop_repeats(s);
        if (s->nclusters)
                qsort(s->clusters, s->nclusters, sizeof *s->clusters, by_count);
        rc = 0;
out:
        free(it);
        free(srv);
        free(buf);
        free(buf2);
        free(ibuf);
        return rc;
}

void summary_free(struct summary *s)
{
        free(s->servers);
        free(s->dists);
        free(s->clusters);
        memset(s, 0, sizeof *s);
}
