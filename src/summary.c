/* summary.c - findings across connections, accumulated one finished
 * connection at a time into counters and fine log histograms (so memory
 * does not grow with the capture), then turned into distributions and
 * clusters.  It judges nothing about single connections; detect.c does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

void summary_init(struct summary *s, const struct summary_opts *o)
{
        memset(s, 0, sizeof *s);
        s->o = *o;
}

static void example_set(struct example *e, const struct conn *c, int64_t at)
{
        e->id = c->id;
        e->first = c->first;
        e->at = at;
        e->cli = c->cli;
        e->srv = c->srv;
        e->family = c->family;
        e->used = 1;
}

/* ---- histograms ---- */

static int hist_add(struct hist *h, double v, const struct conn *c, int with_examples)
{
        size_t b = cluster_bin_of(v);

        if (b >= HIST_BINS)
                b = HIST_BINS - 1;
        if (!h->cnt) {
                h->cnt = calloc(HIST_BINS, sizeof *h->cnt);
                h->sum = calloc(HIST_BINS, sizeof *h->sum);
                h->sq = calloc(HIST_BINS, sizeof *h->sq);
                h->exact = malloc(HIST_EXACT * sizeof *h->exact);
                if (with_examples)
                        h->ex = calloc(HIST_BINS * SUM_EXAMPLES, sizeof *h->ex);
                if (!h->cnt || !h->sum || !h->sq || !h->exact || (with_examples && !h->ex))
                        return -1;
        }
        if (!h->n || v < h->min)
                h->min = v;
        if (!h->n || v > h->max)
                h->max = v;
        if (h->n < HIST_EXACT)
                h->exact[h->n] = v;
        if (h->ex && h->cnt[b] < SUM_EXAMPLES)  /* the first few of each bin */
                example_set(&h->ex[b * SUM_EXAMPLES + h->cnt[b]], c, c->close_at);
        h->n++;
        h->cnt[b]++;
        h->sum[b] += v;
        h->sq[b] += v * v;
        return 0;
}

static void hist_free(struct hist *h)
{
        free(h->cnt);
        free(h->sum);
        free(h->sq);
        free(h->ex);
        free(h->exact);
        memset(h, 0, sizeof *h);
}

/* nearest-rank percentile: the mean of the bin holding that rank */
static double hist_pct(const struct hist *h, double q)
{
        uint64_t rank = (uint64_t)ceil(q * (double)h->n), acc = 0;

        if (!rank)
                rank = 1;
        for (size_t b = 0; b < HIST_BINS; b++) {
                acc += h->cnt[b];
                if (acc >= rank)
                        return fmin(h->max, fmax(h->min, h->sum[b] / h->cnt[b]));
        }
        return h->max;
}

void summary_hist_dist(const struct hist *h, struct sum_dist *d)
{
        double e;
        size_t b = 0;

        memset(&d->s, 0, sizeof d->s);
        d->nbins = 0;
        if (!h->n)
                return;
        if (h->n <= HIST_EXACT) {       /* few values: exact */
                double *v = malloc(h->n * sizeof *v);
                if (v) {
                        memcpy(v, h->exact, h->n * sizeof *v);
                        dist_summarize(v, h->n, &d->s);
                        free(v);
                }
        }
        if (d->s.n != h->n) {
                d->s.n = h->n;
                d->s.min = h->min;
                d->s.max = h->max;
                d->s.p50 = hist_pct(h, 0.50);
                d->s.p90 = hist_pct(h, 0.90);
                d->s.p99 = hist_pct(h, 0.99);
        }
        /* regroup the fine bins into 1-2-5 bins from min to max */
        e = dist_edge_floor(h->min > CLUSTER_BIN_BASE ? h->min : CLUSTER_BIN_BASE);
        while (d->nbins < SUM_SHOW_BINS) {
                double next = dist_edge_next(e);
                size_t k = d->nbins++;
                d->bin_edge[k] = e;
                d->bin_count[k] = 0;
                for (; b < HIST_BINS && (h->cnt[b] == 0 ||
                                         h->sum[b] / h->cnt[b] < next || d->nbins == SUM_SHOW_BINS); b++)
                        d->bin_count[k] += h->cnt[b];
                if (b >= HIST_BINS)
                        break;
                e = next;
        }
}

/* ---- give-up intervals ---- */

static int giveup_add(struct giveup *g, double lo, double hi, const struct conn *c, int64_t at)
{
        uint16_t bl = (uint16_t)cluster_bin_of(lo), bh = (uint16_t)cluster_bin_of(hi);

        g->total++;
        for (size_t i = 0; i < g->n; i++)
                if (g->cell[i].lo == bl && g->cell[i].hi == bh) {
                        g->cell[i].count++;
                        return 0;
                }
        if (g->n == g->cap) {
                size_t nc = g->cap ? g->cap * 2 : 16;
                struct gu_cell *p;
                if (nc > 4096)
                        return 0;       /* enough variety seen: count it in total only */
                if (!(p = realloc(g->cell, nc * sizeof *p)))
                        return -1;
                g->cell = p;
                g->cap = nc;
        }
        g->cell[g->n].lo = bl;
        g->cell[g->n].hi = bh;
        g->cell[g->n].count = 1;
        example_set(&g->cell[g->n].ex, c, at);
        g->n++;
        return 0;
}

/* ---- adding a connection ---- */

static struct sum_server *server_of(struct summary *s, int family, const struct endpoint *srv)
{
        for (size_t i = 0; i < s->nservers; i++)
                if (s->servers[i].family == family && endpoint_eq(&s->servers[i].ep, srv))
                        return &s->servers[i];
        if (s->nservers >= s->o.max_servers)
                return NULL;
        if (!s->servers && !(s->servers = calloc(s->o.max_servers, sizeof *s->servers)))
                return NULL;
        s->servers[s->nservers].ep = *srv;
        s->servers[s->nservers].family = (uint8_t)family;
        return &s->servers[s->nservers++];
}

/* Is kind k this connection's problem, given the kinds it has (seen)?  A
 * race is one problem, counted as the race. */
static int ranked(const int *seen, int k)
{
        int race = seen[DET_DATA_AFTER_PEER_FIN] || seen[DET_REQUEST_RESET] ||
                   seen[DET_DATA_AFTER_PEER_RST];

        if (!seen[k])
                return 0;
        if (k == DET_IDLE_CLOSE)
                return !race;
        if (k == DET_REQUEST_RESET)
                return !seen[DET_DATA_AFTER_PEER_FIN];
        return 1;
}

static void count_kinds(struct summary *s, struct sum_server *sv, const struct conn *c,
                        const struct det_result *d)
{
        int seen[DET_NKINDS] = { 0 }, direct[DET_NKINDS] = { 0 };
        const struct finding *first[DET_NKINDS] = { 0 };

        for (int j = 0; j < d->n; j++) {
                const struct finding *f = &d->f[j];
                if (!first[f->kind])
                        first[f->kind] = f;
                seen[f->kind] = 1;
                direct[f->kind] |= !f->inferred;
        }
        for (int k = 0; k < DET_NKINDS; k++) {
                double v;
                if (!seen[k])
                        continue;
                s->kind_conns[k]++;
                if (!ranked(seen, k))
                        continue;
                v = detect_kind_value(first[k]);
                if (!isnan(v) && hist_add(&s->kind_h[k], v, c, 0) < 0)
                        s->oom = 1;
                if (s->kind_ranked[k] < SUM_EXAMPLES)
                        example_set(&s->kind_ex[k][s->kind_ranked[k]], c, first[k]->at);
                s->kind_ranked[k]++;
                s->kind_inferred[k] += !direct[k];
                if (!sv)
                        continue;
                sv->kinds[k]++;
                if (k == DET_DATA_AFTER_PEER_FIN && !first[k]->answered)
                        sv->drained++;
                /* the request was unread at the idle close: the RST came after
                 * idle, or the request came after the server's last answer
                 * had been idle that long (it arrived as the timer fired) */
                if (k == DET_REQUEST_RESET &&
                    (seen[DET_IDLE_CLOSE] ||
                     (c->s[SERVER].last_data_ts && c->s[SERVER].rst_peerlast &&
                      (double)(c->s[SERVER].rst_peerlast - c->s[SERVER].last_data_ts) / 1e9 >=
                      s->o.min_center)))
                        sv->resets_idle++;
        }
}

void summary_add(struct summary *s, const struct conn *c, const struct det_result *d)
{
        struct sum_server *sv = server_of(s, c->family, &c->srv);
        int by = close_by((enum close_kind)c->close);
        int how = close_how_of((enum close_kind)c->close) == HOW_RST;
        double v[2] = { d->idle_before_close, d->syn_to_close };

        s->nconns++;
        s->states[c->zstate]++;
        s->closes[c->close]++;
        count_kinds(s, sv, c, d);
        if (sv) {
                sv->conns++;
                sv->closes[c->close]++;
        } else
                s->other_server_conns++;
        for (int m = 0; m < 2 && by >= 0; m++) {
                if (isnan(v[m]))
                        continue;
                if (hist_add(&s->h[m][by][how], v[m], c, 1) < 0 ||
                    (sv && hist_add(&sv->h[m][by][how], v[m], c, 0) < 0))
                        s->oom = 1;
        }
        for (int j = 0; j < d->n; j++)
                if (d->f[j].kind == DET_CONNECT_TIMEOUT && !isnan(d->f[j].b))
                        if (giveup_add(&s->gu, d->f[j].a, d->f[j].b, c, d->f[j].at) < 0 ||
                            (sv && giveup_add(&sv->gu, d->f[j].a, d->f[j].b, c, d->f[j].at) < 0))
                                s->oom = 1;
}

void summary_reuse(struct summary *s, int family, const struct endpoint *srv, double idle_s)
{
        struct sum_server *sv = server_of(s, family, srv);

        if (sv && hist_add(&sv->reuse, idle_s, NULL, 0) < 0)
                s->oom = 1;
}

/* ---- turning it into distributions and clusters ---- */

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

static int push(void **arr, size_t *n, size_t *cap, size_t size, const void *item)
{
        if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 16;
                void *p = realloc(*arr, nc * size);
                if (!p)
                        return -1;
                *arr = p;
                *cap = nc;
        }
        memcpy((char *)*arr + *n * size, item, size);
        (*n)++;
        return 0;
}

static void exact_ends(const struct hist *h, size_t fb, size_t lb, struct peak *p)
{
        double lo = INFINITY, hi = -INFINITY;

        for (uint64_t i = 0; i < h->n; i++) {
                size_t b = cluster_bin_of(h->exact[i]);
                if (b >= fb && b <= lb) {
                        lo = fmin(lo, h->exact[i]);
                        hi = fmax(hi, h->exact[i]);
                }
        }
        if (lo <= hi)
                p->lo = lo, p->hi = hi;
}

static int group(struct summary *s, size_t *dcap, size_t *ccap, const struct hist *h,
                 const struct hist *exh, int m, int side, int how, int server)
{
        struct sum_dist d = { .measure = (enum cluster_measure)m, .side = side, .how = how,
                              .server = server };
        struct peak pk[3];
        size_t first[3], last[3], np;
        uint32_t *cnt;

        if (!h->n)
                return 0;
        summary_hist_dist(h, &d);
        if (push((void **)&s->dists, &s->ndists, dcap, sizeof d, &d) < 0)
                return -1;
        if (!(cnt = malloc(HIST_BINS * sizeof *cnt)))
                return -1;
        memcpy(cnt, h->cnt, HIST_BINS * sizeof *cnt);
        np = cluster_peaks_bins(cnt, h->sum, h->sq, HIST_BINS, s->o.min_count, s->o.min_share,
                                s->o.min_center, pk, first, last, 3);
        free(cnt);
        for (size_t p = 0; p < np; p++) {
                struct sum_cluster c = { .measure = (enum cluster_measure)m, .side = side,
                                         .how = how, .server = server, .group_n = h->n, .pk = pk[p] };
                if (h->n <= HIST_EXACT)         /* exact ends of the peak */
                        exact_ends(h, first[p], last[p], &c.pk);
                c.nlikely = cluster_likely(c.measure, side == SERVER, pk[p].center, pk[p].center,
                                           c.likely, SUM_MAX_LIKELY);
                c.remedy = remedy(c.measure, side);
                for (size_t b = first[p] * SUM_EXAMPLES; exh && exh->ex &&
                     b < (last[p] + 1) * SUM_EXAMPLES && c.nexamples < SUM_EXAMPLES; b++)
                        if (exh->ex[b].used && (server < 0 ||
                            endpoint_eq(&exh->ex[b].srv, &s->servers[server].ep)))
                                c.ex[c.nexamples++] = exh->ex[b];
                if (push((void **)&s->clusters, &s->nclusters, ccap, sizeof c, &c) < 0)
                        return -1;
        }
        return 0;
}

static int giveup_group(struct summary *s, size_t *ccap, const struct giveup *g, int server)
{
        double *lo = malloc((g->n ? g->n : 1) * sizeof *lo), *hi = malloc((g->n ? g->n : 1) * sizeof *hi);
        uint32_t *w = malloc((g->n ? g->n : 1) * sizeof *w);
        struct peak pk[3];
        size_t np = 0;
        int rc = -1;

        if (!lo || !hi || !w)
                goto out;
        for (size_t i = 0; i < g->n; i++) {     /* bin means stand for the bounds */
                lo[i] = cluster_bin_edge(g->cell[i].lo) * (1 + CLUSTER_BIN_RATIO) / 2;
                hi[i] = cluster_bin_edge(g->cell[i].hi) * (1 + CLUSTER_BIN_RATIO) / 2;
                if (g->cell[i].lo == 0)
                        lo[i] = 0;
                w[i] = g->cell[i].count;
        }
        np = cluster_stab(lo, hi, w, g->n, s->o.min_count, s->o.min_share, pk, 3);
        for (size_t p = 0; p < np; p++) {
                struct sum_cluster c = { .measure = M_CONNECT_GIVE_UP, .side = CLIENT,
                                         .server = server, .group_n = g->total, .pk = pk[p] };
                c.nlikely = cluster_likely(M_CONNECT_GIVE_UP, 0, pk[p].lo, pk[p].hi, c.likely,
                                           SUM_MAX_LIKELY);
                c.remedy = remedy(M_CONNECT_GIVE_UP, CLIENT);
                for (size_t i = 0; i < g->n && c.nexamples < SUM_EXAMPLES; i++)
                        if (lo[i] <= pk[p].hi + 0.1 && hi[i] >= pk[p].lo - 0.1)
                                c.ex[c.nexamples++] = g->cell[i].ex;
                if (push((void **)&s->clusters, &s->nclusters, ccap, sizeof c, &c) < 0)
                        goto out;
        }
        rc = 0;
out:
        free(lo);
        free(hi);
        free(w);
        return rc;
}

/* An all-servers cluster that is a server's cluster again (the same
 * values: every one came from that server) is that server's: the server's
 * copy is kept, so the cluster names its server. */
static void drop_repeats(struct summary *s)
{
        size_t k = 0;

        for (size_t i = 0; i < s->nclusters; i++) {
                const struct sum_cluster *c = &s->clusters[i];
                int dup = 0;
                for (size_t j = 0; c->server < 0 && j < s->nclusters && !dup; j++) {
                        const struct sum_cluster *g = &s->clusters[j];
                        dup = g->server >= 0 && g->measure == c->measure && g->side == c->side &&
                              g->how == c->how && g->pk.count == c->pk.count &&
                              fabs(g->pk.center - c->pk.center) < 1e-9;
                }
                if (!dup)
                        s->clusters[k++] = *c;
        }
        s->nclusters = k;
}

/* A server's syn_to_close cluster at 2, 3 ... times its idle-close
 * cluster is connections that carried that many requests, not a timer of
 * its own (Apache's 9.96 s with its 5 s timer is not CherryPy's 10 s). */
static void idle_multiples(struct summary *s)
{
        for (size_t i = 0; i < s->nclusters; i++) {
                struct sum_cluster *c = &s->clusters[i];
                for (size_t j = 0; c->measure == M_SYN_TO_CLOSE && c->server >= 0 && j < s->nclusters; j++) {
                        const struct sum_cluster *g = &s->clusters[j];
                        double k = g->pk.center > 0 ? c->pk.center / g->pk.center : 0;
                        if (g->measure != M_IDLE_BEFORE_CLOSE || g->server != c->server ||
                            g->side != c->side || round(k) < 2 || fabs(k - round(k)) > 0.05 * round(k))
                                continue;
                        c->idle_multiple = (int)round(k);
                        c->idle_s = g->pk.center;
                        c->nlikely = 0;
                        break;
                }
        }
}

/* Each kind's server, as an index into the (sorted) servers: the one
 * that has all of the kind's ranked connections. */
static void kind_servers(struct summary *s)
{
        for (int k = 0; k < DET_NKINDS; k++) {
                s->kind_server[k] = -1;
                for (size_t i = 0; s->kind_ranked[k] && i < s->nservers; i++)
                        if (s->servers[i].kinds[k] == s->kind_ranked[k])
                                s->kind_server[k] = (int)i;
        }
}

static int by_count(const void *x, const void *y)
{
        const struct sum_cluster *a = x, *b = y;
        if (a->pk.count != b->pk.count)
                return a->pk.count > b->pk.count ? -1 : 1;
        return (a->server > b->server) - (a->server < b->server);
}

static int by_conns(const void *x, const void *y)
{
        const struct sum_server *a = x, *b = y;
        return (a->conns < b->conns) - (a->conns > b->conns);
}

int summary_finish(struct summary *s)
{
        size_t dcap = 0, ccap = 0;
        int multi = s->nservers + (s->other_server_conns > 0) > 1;

        if (s->nservers)        /* most connections first (stable for ties) */
                qsort(s->servers, s->nservers, sizeof *s->servers, by_conns);
        for (int server = -1; server < (int)s->nservers; server++) {
                if (server >= 0 && !multi)
                        break;          /* one server: its groups are the totals */
                for (int m = 0; m < 2; m++)
                        for (int side = CLIENT; side <= SERVER; side++)
                                for (int how = 0; how < 2; how++) {
                                        const struct hist *h = server < 0 ? &s->h[m][side][how] :
                                                               &s->servers[server].h[m][side][how];
                                        if (group(s, &dcap, &ccap, h, &s->h[m][side][how], m, side,
                                                  how ? HOW_RST : HOW_FIN, server) < 0)
                                                return -1;
                                }
                if (giveup_group(s, &ccap, server < 0 ? &s->gu : &s->servers[server].gu, server) < 0)
                        return -1;
        }
        if (!multi && s->nservers == 1)        /* every cluster is the one server's */
                for (size_t i = 0; i < s->nclusters; i++)
                        s->clusters[i].server = 0;
        drop_repeats(s);
        idle_multiples(s);
        kind_servers(s);
        if (s->nclusters)
                qsort(s->clusters, s->nclusters, sizeof *s->clusters, by_count);
        return 0;
}

void summary_free(struct summary *s)
{
        for (int k = 0; k < DET_NKINDS; k++)
                hist_free(&s->kind_h[k]);
        for (int m = 0; m < 2; m++)
                for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) {
                                hist_free(&s->h[m][a][b]);
                                for (size_t i = 0; i < s->nservers; i++)
                                        hist_free(&s->servers[i].h[m][a][b]);
                        }
        for (size_t i = 0; i < s->nservers; i++)
                hist_free(&s->servers[i].reuse);
        for (size_t i = 0; i < s->nservers; i++)
                free(s->servers[i].gu.cell);
        free(s->gu.cell);
        free(s->servers);
        free(s->dists);
        free(s->clusters);
        memset(s, 0, sizeof *s);
}
