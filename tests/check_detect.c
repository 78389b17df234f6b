/* check_detect.c - unit tests of the cluster finder, the SYN schedule
 * matcher and the known-defaults table (src/cluster.c, src/detect.c), and
 * what the summary makes of findings (src/summary.c): each connection
 * ranked under its problem, clusters and causes attributed to their
 * server. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "detect.h"
#include "diagnose.h"
#include "summary.h"

#define HB 1400

static int cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* deterministic pseudo-random numbers in [0,1) */
static double rnd(unsigned *s)
{
        *s = *s * 1103515245u + 12345u;
        return (double)((*s >> 8) & 0xffffff) / 16777216.0;
}

START_TEST(one_peak_at_six_seconds)
{
        double v[47];
        struct peak p[3];
        unsigned s = 7;
        size_t n;

        for (int i = 0; i < 41; i++)            /* 41 closes at 6.00 +- 0.02 */
                v[i] = 6.0 + (rnd(&s) - 0.5) * 0.04;
        for (int i = 41; i < 47; i++)           /* 6 others spread 0.1 .. 50 s */
                v[i] = 0.1 * pow(500, rnd(&s));
        qsort(v, 47, sizeof v[0], cmp);
        n = cluster_peaks(v, 47, 3, 0.2, 0.5, p, 3);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_ge(p[0].count, 41);
        ck_assert_uint_le(p[0].count, 43);
        ck_assert_double_eq_tol(p[0].center, 6.0, 0.02);
        ck_assert(p[0].spread < 0.03);
}
END_TEST

START_TEST(two_peaks_found_largest_first)
{
        double v[60];
        struct peak p[3];
        unsigned s = 11;

        for (int i = 0; i < 35; i++)
                v[i] = 6.0 + (rnd(&s) - 0.5) * 0.02;
        for (int i = 35; i < 60; i++)
                v[i] = 20.0 + (rnd(&s) - 0.5) * 0.1;
        qsort(v, 60, sizeof v[0], cmp);
        ck_assert_uint_eq(cluster_peaks(v, 60, 3, 0.2, 0.5, p, 3), 2);
        ck_assert_double_eq_tol(p[0].center, 6.0, 0.02);
        ck_assert_uint_eq(p[0].count, 35);
        ck_assert_double_eq_tol(p[1].center, 20.0, 0.06);
        ck_assert_uint_eq(p[1].count, 25);
}
END_TEST

START_TEST(noise_only_gives_no_cluster)
{
        double v[200];
        struct peak p[3];
        unsigned s = 3;

        for (int i = 0; i < 200; i++)           /* log-uniform 10 ms .. 1000 s */
                v[i] = 0.01 * pow(1e5, rnd(&s));
        qsort(v, 200, sizeof v[0], cmp);
        ck_assert_uint_eq(cluster_peaks(v, 200, 3, 0.2, 0.5, p, 3), 0);
        for (int i = 0; i < 200; i++)           /* uniform 1 .. 100 s */
                v[i] = 1 + 99 * rnd(&s);
        qsort(v, 200, sizeof v[0], cmp);
        ck_assert_uint_eq(cluster_peaks(v, 200, 3, 0.2, 0.5, p, 3), 0);
}
END_TEST

START_TEST(peaks_below_min_center_are_not_news)
{
        double v[20];
        struct peak p[3];

        for (int i = 0; i < 20; i++)
                v[i] = 0.001 + i * 1e-5;        /* immediate closes */
        ck_assert_uint_eq(cluster_peaks(v, 20, 3, 0.2, 0.5, p, 3), 0);
}
END_TEST

START_TEST(too_few_values_no_cluster)
{
        double v[2] = { 6.0, 6.0 };
        struct peak p[3];

        ck_assert_uint_eq(cluster_peaks(v, 2, 3, 0.2, 0.5, p, 3), 0);
}
END_TEST

START_TEST(give_up_one_second_both_races)
{
        /* a 1 s connect timeout: the SYN retransmission at +1 s sometimes
         * leaves before the socket is closed, sometimes not */
        double lo[12], hi[12];
        struct peak p[3];

        for (int i = 0; i < 12; i++) {
                lo[i] = i % 3 ? 0.0 : 1.0;
                hi[i] = i % 3 ? 1.0 : 3.0;
        }
        ck_assert_uint_eq(cluster_stab(lo, hi, NULL, 12, 3, 0.2, p, 3), 1);
        ck_assert_uint_eq(p[0].count, 12);
        ck_assert_double_eq_tol(p[0].center, 1.0, 1e-9);
}
END_TEST

START_TEST(give_up_weighted_cells)
{
        double lo[3] = { 0.0, 1.0, 4.0 }, hi[3] = { 1.0, 3.0, 5.0 };
        uint32_t w[3] = { 40, 8, 2 };
        struct peak p[3];

        ck_assert_uint_eq(cluster_stab(lo, hi, w, 3, 3, 0.2, p, 3), 1);
        ck_assert_uint_eq(p[0].count, 48);
        ck_assert_double_eq_tol(p[0].center, 1.0, 1e-9);
}
END_TEST

START_TEST(bins_find_the_peak_like_values)
{
        uint32_t cnt[HB];
        double sum[HB], sq[HB];
        struct peak p[3];
        size_t first[3], last[3];
        unsigned s = 5;

        memset(cnt, 0, sizeof cnt);
        memset(sum, 0, sizeof sum);
        memset(sq, 0, sizeof sq);
        for (int i = 0; i < 300; i++) {
                double v = i < 250 ? 6.0 + (rnd(&s) - 0.5) * 0.01 : 0.01 * pow(1e4, rnd(&s));
                size_t b = cluster_bin_of(v);
                cnt[b]++;
                sum[b] += v;
                sq[b] += v * v;
        }
        ck_assert_uint_eq(cluster_peaks_bins(cnt, sum, sq, HB, 3, 0.2, 0.5, p, first, last, 3), 1);
        ck_assert_uint_ge(p[0].count, 250);
        ck_assert_uint_le(p[0].count, 253);
        ck_assert_double_eq_tol(p[0].center, 6.0, 0.01);
        ck_assert(cluster_bin_edge(first[0]) <= 5.995 && cluster_bin_edge(last[0] + 1) > 6.005);
}
END_TEST

START_TEST(schedule_classic_and_linear)
{
        double classic[] = { 0, 1.0, 3.01, 7.02 }, linear[] = { 0, 1.0, 2.0, 3.0 };
        double one[] = { 0 }, odd[] = { 0, 0.2, 0.6 }, lo, hi;

        ck_assert_int_eq(detect_give_up(classic, 4, &lo, &hi), SCHED_CLASSIC);
        ck_assert_double_eq_tol(lo, 7.02, 1e-9);
        ck_assert_double_eq_tol(hi, 15, 1e-9);
        ck_assert_int_eq(detect_give_up(linear, 4, &lo, &hi), SCHED_LINEAR);
        ck_assert_double_eq_tol(hi, 4, 1e-9);
        ck_assert_int_eq(detect_give_up(one, 1, &lo, &hi), SCHED_UNKNOWN);
        ck_assert_double_eq_tol(lo, 0, 1e-9);
        ck_assert_double_eq_tol(hi, 1, 1e-9);
        ck_assert_int_eq(detect_give_up(odd, 3, &lo, &hi), SCHED_UNKNOWN);
        ck_assert_double_eq_tol(hi, 1.4, 1e-9); /* interval doubles */
}
END_TEST

START_TEST(likely_allows_late_timers_not_early_ones)
{
        const struct known_default *k[4];
        size_t n = cluster_likely(M_IDLE_BEFORE_CLOSE, 1, 6.003, 6.003, k, 4);

        ck_assert_uint_eq(n, 1);
        ck_assert_ptr_nonnull(strstr(k[0]->what, "Node.js"));
        ck_assert_uint_eq(cluster_likely(M_IDLE_BEFORE_CLOSE, 1, 4.82, 4.82, k, 4), 0);
        /* a server default is not the explanation of client closes */
        ck_assert_uint_eq(cluster_likely(M_IDLE_BEFORE_CLOSE, 0, 10.0, 10.0, k, 4), 0);
        ck_assert_uint_eq(cluster_likely(M_CONNECT_GIVE_UP, 0, 0.0, 1.0, k, 4), 1);
        ck_assert_uint_eq(cluster_likely(M_IDLE_BEFORE_CLOSE, 1, 1.0, 1.0, k, 4), 0);
        /* the kernel's linear-first give-up (11 s) up to 1/8 late, not more */
        ck_assert_uint_eq(cluster_likely(M_CONNECT_GIVE_UP, 0, 12.3, 12.3, k, 4), 1);
        ck_assert_ptr_nonnull(strstr(k[0]->what, "linear-first"));
        ck_assert_uint_eq(cluster_likely(M_CONNECT_GIVE_UP, 0, 12.5, 12.5, k, 4), 0);
}
END_TEST

START_TEST(histogram_edges_one_two_five)
{
        double v[] = { 0.003, 0.004, 0.3, 6.0, 6.1 };
        size_t count[16];
        double edge[16];
        size_t nb = dist_histogram(v, 5, count, edge, 16);
        size_t total = 0;

        ck_assert_double_eq_tol(edge[0], 0.002, 1e-12);
        ck_assert_double_eq_tol(edge[nb - 1], 5.0, 1e-9);
        for (size_t i = 0; i < nb; i++)
                total += count[i];
        ck_assert_uint_eq(total, 5);
        ck_assert_uint_eq(count[nb - 1], 2);
}
END_TEST

START_TEST(summary_percentiles_nearest_rank)
{
        double v[100];
        struct dist_summary s;

        for (int i = 0; i < 100; i++)
                v[i] = 100 - i;
        dist_summarize(v, 100, &s);
        ck_assert_double_eq(s.min, 1);
        ck_assert_double_eq(s.p50, 50);
        ck_assert_double_eq(s.p90, 90);
        ck_assert_double_eq(s.p99, 99);
        ck_assert_double_eq(s.max, 100);
}
END_TEST

/* ---- the summary ---- */

#define SEC 1000000000LL

/* A finished connection to 10.0.0.2:port, closed by the server with FIN
 * at t s after the SYN, idle idle s before it. */
static struct conn sconn(uint64_t id, uint16_t port, double t)
{
        struct conn c;

        memset(&c, 0, sizeof c);
        c.id = id;
        c.family = 4;
        c.cli.addr[0] = 10, c.cli.addr[3] = 1;
        c.srv.addr[0] = 10, c.srv.addr[3] = 2;
        c.cli.port = (uint16_t)(40000 + id);
        c.srv.port = port;
        c.first = c.syn_ts = 1000 * SEC + (int64_t)id * SEC;
        c.close = CLOSE_SERVER_FIN;
        c.close_at = c.syn_ts + (int64_t)(t * 1e9);
        return c;
}

static void with(struct det_result *d, enum finding_kind k, int64_t at)
{
        d->f[d->n].kind = (uint8_t)k;
        d->f[d->n].at = at;
        d->f[d->n].a = d->f[d->n].b = NAN;
        d->n++;
}

static void sum_init(struct summary *s)
{
        struct summary_opts o = { .min_count = 3, .min_share = 0.2, .min_center = 0.5, .max_servers = 32 };

        summary_init(s, &o);
}

/* A race is one problem: counted under the race, not again as the reset
 * that answered the late request or the idle close before it. */
START_TEST(summary_ranks_each_connection_once)
{
        struct summary s;
        struct det_result d;
        struct conn c;

        sum_init(&s);
        c = sconn(1, 80, 6);                    /* reuse race: all three */
        memset(&d, 0, sizeof d);
        with(&d, DET_DATA_AFTER_PEER_FIN, c.close_at + 1000);
        with(&d, DET_REQUEST_RESET, c.close_at + 2000);
        with(&d, DET_IDLE_CLOSE, c.close_at);
        summary_add(&s, &c, &d);
        c = sconn(2, 80, 6);                    /* request unread at the idle close */
        memset(&d, 0, sizeof d);
        with(&d, DET_REQUEST_RESET, c.close_at);
        with(&d, DET_IDLE_CLOSE, c.close_at);
        summary_add(&s, &c, &d);
        c = sconn(3, 80, 6);                    /* a clean idle close */
        memset(&d, 0, sizeof d);
        with(&d, DET_IDLE_CLOSE, c.close_at);
        summary_add(&s, &c, &d);
        ck_assert_int_eq(summary_finish(&s), 0);
        ck_assert_uint_eq(s.kind_conns[DET_DATA_AFTER_PEER_FIN], 1);
        ck_assert_uint_eq(s.kind_conns[DET_REQUEST_RESET], 2);
        ck_assert_uint_eq(s.kind_conns[DET_IDLE_CLOSE], 3);
        ck_assert_uint_eq(s.kind_ranked[DET_DATA_AFTER_PEER_FIN], 1);
        ck_assert_uint_eq(s.kind_ranked[DET_REQUEST_RESET], 1);
        ck_assert_uint_eq(s.kind_ranked[DET_IDLE_CLOSE], 1);
        ck_assert_uint_eq(s.kind_ex[DET_REQUEST_RESET][0].id, 2);
        ck_assert_uint_eq(s.kind_ex[DET_IDLE_CLOSE][0].id, 3);
        /* examples are at the event, not the SYN */
        ck_assert_int_eq(s.kind_ex[DET_DATA_AFTER_PEER_FIN][0].at, sconn(1, 80, 6).close_at + 1000);
        summary_free(&s);
}
END_TEST

/* A kind's server: the one its ranked connections are on, none when on
 * several; a cluster of a capture with one server is that server's. */
START_TEST(summary_attributes_kinds_and_clusters_to_servers)
{
        struct summary s;
        struct det_result d;

        sum_init(&s);
        for (uint64_t id = 1; id <= 5; id++) {  /* one server, idle closes at 6 s */
                struct conn c = sconn(id, 80, 6.0 + 0.001 * (double)id);
                memset(&d, 0, sizeof d);
                d.idle_before_close = 6.0 + 0.001 * (double)id;
                d.syn_to_close = NAN;
                with(&d, DET_DATA_AFTER_PEER_FIN, c.close_at);
                summary_add(&s, &c, &d);
        }
        ck_assert_int_eq(summary_finish(&s), 0);
        ck_assert_uint_eq(s.nservers, 1);
        ck_assert_int_eq(s.kind_server[DET_DATA_AFTER_PEER_FIN], 0);
        ck_assert_uint_ge(s.nclusters, 1);
        for (size_t i = 0; i < s.nclusters; i++)
                ck_assert_int_eq(s.clusters[i].server, 0);
        summary_free(&s);

        sum_init(&s);                           /* two servers: each its own cluster */
        for (uint64_t id = 1; id <= 10; id++) {
                int second = id > 5;
                struct conn c = sconn(id, second ? 81 : 80, second ? 2.0 : 6.0);
                memset(&d, 0, sizeof d);
                d.idle_before_close = (second ? 2.0 : 6.0) + 0.001 * (double)id;
                d.syn_to_close = NAN;
                with(&d, DET_REFUSED, c.close_at);
                summary_add(&s, &c, &d);
        }
        ck_assert_int_eq(summary_finish(&s), 0);
        ck_assert_uint_eq(s.nservers, 2);
        ck_assert_int_eq(s.kind_server[DET_REFUSED], -1);       /* on both */
        ck_assert_uint_ge(s.nclusters, 2);
        for (size_t i = 0; i < s.nclusters; i++) {
                const struct sum_cluster *k = &s.clusters[i];
                ck_assert_int_ge(k->server, 0);                 /* none left to "all servers" */
                ck_assert_uint_eq(s.servers[k->server].ep.port,
                                  k->pk.center > 4 ? 80 : 81);
        }
        summary_free(&s);
}
END_TEST

/* ---- races inferred from sequence numbers ---- */

/* A SYN/FIN/RST-only view of a connection closed by the server's FIN (seq
 * 5000, acking the client up to 1000) and then the client's FIN at seq
 * cfin_seq: the server's lingering close (Apache) drained what the client
 * sent after the FIN, and sent no RST. */
static struct conn drained(uint32_t cfin_seq)
{
        struct conn c = sconn(1, 80, 5.0);

        c.flags_only = 1;
        c.handshake = HS_COMPLETE;
        c.s[SERVER].fin = (struct pkt_mark){ c.close_at, 5000, 1000, TH_ACK };
        c.s[CLIENT].fin = (struct pkt_mark){ c.close_at + 300000, cfin_seq, 5001, TH_ACK };
        c.s[SERVER].did_close = c.s[CLIENT].did_close = 1;
        return c;
}

START_TEST(drained_race_inferred_from_client_fin_seq)
{
        struct det_opts o = { .min_idle_s = 0.5 };
        struct det_result r;
        struct conn c = drained(1000 + 120);    /* 120 bytes sent after the server's FIN */
        int found = 0;

        detect_conn(&c, &o, &r);
        for (int i = 0; i < r.n; i++)
                if (r.f[i].kind == DET_DATA_AFTER_PEER_FIN) {
                        found = 1;
                        ck_assert_int_eq(r.f[i].by, CLIENT);
                        ck_assert_uint_eq(r.f[i].inferred, 1);
                        ck_assert_uint_eq(r.f[i].answered, 0);
                        ck_assert_int_eq(r.f[i].at, c.s[CLIENT].fin.ts);
                }
        ck_assert(found);

        c = drained(1000);                      /* a plain close: nothing after the FIN */
        detect_conn(&c, &o, &r);
        for (int i = 0; i < r.n; i++)
                ck_assert_int_ne(r.f[i].kind, DET_DATA_AFTER_PEER_FIN);

        c = drained(1000 + 120);                /* the client closed first: no race */
        c.s[CLIENT].fin.ts = c.s[SERVER].fin.ts - 1000;
        detect_conn(&c, &o, &r);
        for (int i = 0; i < r.n; i++)
                ck_assert_int_ne(r.f[i].kind, DET_DATA_AFTER_PEER_FIN);
}
END_TEST

/* SYN-to-close at twice a server's idle close is two requests' worth of
 * its timer, not a 10 s default of some other server. */
START_TEST(summary_syn_to_close_at_a_multiple_of_the_idle_close)
{
        struct summary s;
        int found = 0;

        sum_init(&s);
        for (uint64_t id = 1; id <= 12; id++) {
                int two = id > 6;
                struct conn c = sconn(id, 18103, two ? 10.0 : 5.0);
                struct det_result d;
                memset(&d, 0, sizeof d);
                d.idle_before_close = 5.0 + 0.001 * (double)id;
                d.syn_to_close = (two ? 10.0 : 5.0) + 0.001 * (double)id;
                summary_add(&s, &c, &d);
        }
        ck_assert_int_eq(summary_finish(&s), 0);
        for (size_t i = 0; i < s.nclusters; i++) {
                const struct sum_cluster *c = &s.clusters[i];
                if (c->measure != M_SYN_TO_CLOSE)
                        continue;
                if (c->pk.center > 8) {
                        found = 1;
                        ck_assert_int_eq(c->idle_multiple, 2);
                        ck_assert_double_eq_tol(c->idle_s, 5.0, 0.02);
                        ck_assert_uint_eq(c->nlikely, 0);       /* not CherryPy's 10 s */
                } else {
                        ck_assert_int_eq(c->idle_multiple, 0);
                }
        }
        ck_assert(found);
        summary_free(&s);
}
END_TEST

/* ---- the per-server diagnosis ---- */

/* n connections to :port closed by the server's FIN after idle[i] s; the
 * first raced of them with a request after that FIN; reuse[] the idle
 * times before new requests. */
static void server_traffic(struct summary *s, uint16_t port, const double *idle, int n, int raced,
                           const double *reuse, int nreuse)
{
        static uint64_t id;

        for (int i = 0; i < n; i++) {
                struct conn c = sconn(++id, port, idle[i] + 0.1);
                struct det_result d;
                memset(&d, 0, sizeof d);
                d.idle_before_close = idle[i];
                d.syn_to_close = idle[i] + 0.1;
                if (i < raced)
                        with(&d, DET_DATA_AFTER_PEER_FIN, c.close_at + 1000000);
                with(&d, DET_IDLE_CLOSE, c.close_at);
                summary_add(s, &c, &d);
        }
        for (int i = 0; i < nreuse; i++) {
                struct conn c = sconn(1, port, 0);
                summary_reuse(s, 4, &c.srv, reuse[i]);
        }
}

static const struct server_diag *diag_of(struct summary *s, struct diagnosis *d, int flags_only)
{
        ck_assert_int_eq(summary_finish(s), 0);
        ck_assert_int_eq(diagnose(s, flags_only, d), 0);
        ck_assert_uint_eq(d->n, 1);
        return &d->srv[0];
}

START_TEST(diagnosis_mismatch_with_races)
{
        const double idle[] = { 6.001, 6.002, 6.003, 6.004, 6.010 }, reuse[] = { 0.8, 0.8, 6.2 };
        struct summary s;
        struct diagnosis d;
        const struct server_diag *g;

        sum_init(&s);
        server_traffic(&s, 18090, idle, 5, 2, reuse, 3);
        g = diag_of(&s, &d, 0);
        ck_assert_int_eq(g->verdict, V_IDLE_TIMEOUT_MISMATCH);
        ck_assert_str_eq(verdict_name(g->verdict), "idle_timeout_mismatch");
        ck_assert(g->timer);
        ck_assert_uint_eq(g->count, 5);
        ck_assert_double_eq_tol(g->lo, 6.001, 1e-9);
        ck_assert_uint_eq(g->raced, 2);
        ck_assert_uint_eq(g->reuse_n, 3);
        ck_assert_double_eq_tol(g->reuse_max, 6.2, 1e-9);
        ck_assert_ptr_nonnull(strstr(g->text, "after up to 6.20 s idle"));
        ck_assert_ptr_nonnull(strstr(g->text, "closes idle connections at 6.00 s (FIN, 5 of 5)"));
        ck_assert_ptr_nonnull(strstr(g->text, "2 requests raced the close"));
        ck_assert_ptr_nonnull(strstr(g->remedy, "above 8 s (Node.js server.keepAliveTimeout)"));
        ck_assert_ptr_nonnull(strstr(g->remedy, "below 5 s"));
        diagnosis_free(&d);
        summary_free(&s);
}
END_TEST

/* No race yet, but clients reuse connections longer than the server
 * keeps them: the mismatch is there; reuse shorter than it is ok. */
START_TEST(diagnosis_latent_mismatch_and_ok)
{
        const double idle[] = { 5.0, 5.001, 5.002 }, longer[] = { 1, 5.5 }, shorter[] = { 1, 3 };
        struct summary s;
        struct diagnosis d;
        const struct server_diag *g;

        sum_init(&s);
        server_traffic(&s, 8000, idle, 3, 0, longer, 2);
        g = diag_of(&s, &d, 0);
        ck_assert_int_eq(g->verdict, V_IDLE_TIMEOUT_MISMATCH);
        ck_assert_uint_eq(g->raced, 0);
        ck_assert_ptr_nonnull(strstr(g->text, "a request at that idle age races the close"));
        ck_assert_uint_ge(g->nlikely, 2);       /* 5 s: several servers' default */
        diagnosis_free(&d);
        summary_free(&s);

        sum_init(&s);
        server_traffic(&s, 8000, idle, 3, 0, shorter, 2);
        g = diag_of(&s, &d, 0);
        ck_assert_int_eq(g->verdict, V_OK);
        diagnosis_free(&d);
        summary_free(&s);
}
END_TEST

/* A timer polled now and then (gunicorn's gthread worker: 2.0-2.9 s) is
 * one timer, named by where it starts. */
START_TEST(diagnosis_polling_timer_is_one_timer)
{
        const double idle[] = { 2.02, 2.9, 2.31, 2.55, 2.11, 2.77, 2.4 }, reuse[] = { 2.5 };
        struct summary s;
        struct diagnosis d;
        const struct server_diag *g;
        int gunicorn = 0;

        sum_init(&s);
        server_traffic(&s, 8001, idle, 7, 1, reuse, 1);
        g = diag_of(&s, &d, 0);
        ck_assert(g->timer);
        ck_assert_uint_eq(g->count, 7);
        ck_assert_double_eq_tol(g->lo, 2.02, 1e-9);
        ck_assert_double_eq_tol(g->hi, 2.9, 1e-9);
        for (size_t i = 0; i < g->nlikely; i++)
                gunicorn |= strstr(g->likely[i]->what, "gunicorn") != NULL;
        ck_assert(gunicorn);
        diagnosis_free(&d);
        summary_free(&s);
}
END_TEST

/* Among the 5 s defaults, a server that drained the late requests (no
 * RST) is one that drains (Apache httpd), one that reset them is not. */
START_TEST(diagnosis_drained_races_tell_defaults_apart)
{
        for (int answered = 0; answered <= 1; answered++) {
                const double reuse[] = { 5.1 };
                struct summary s;
                struct diagnosis d;
                const struct server_diag *g;
                int apache = 0;

                sum_init(&s);
                for (uint64_t id = 1; id <= 4; id++) {
                        struct conn c = sconn(100 + id, 8080, 5.0);
                        struct det_result r;
                        memset(&r, 0, sizeof r);
                        r.idle_before_close = 5.0 + 0.001 * (double)id;
                        r.syn_to_close = NAN;
                        with(&r, DET_DATA_AFTER_PEER_FIN, c.close_at + 1000);
                        r.f[0].answered = (uint8_t)answered;
                        summary_add(&s, &c, &r);
                }
                server_traffic(&s, 8080, NULL, 0, 0, reuse, 1);
                g = diag_of(&s, &d, 0);
                ck_assert_int_eq(g->verdict, V_IDLE_TIMEOUT_MISMATCH);
                ck_assert_uint_ge(g->nlikely, 1);
                for (size_t i = 0; i < g->nlikely; i++)
                        apache += strstr(g->likely[i]->what, "Apache") != NULL;
                ck_assert_int_eq(apache, answered ? 0 : (int)g->nlikely);
                ck_assert_ptr_nonnull(strstr(g->remedy, answered ? "fail with a reset" : "drained them"));
                diagnosis_free(&d);
                summary_free(&s);
        }
}
END_TEST

/* SYN/FIN/RST-only: no idle times, but the server's FINs after the SYN
 * cluster at its timer when connections carry one request: a hint. */
START_TEST(diagnosis_flags_only_hint_from_syn_to_close)
{
        struct summary s;
        struct diagnosis d;
        const struct server_diag *g;

        sum_init(&s);
        for (uint64_t id = 1; id <= 5; id++) {
                struct conn c = sconn(200 + id, 3000, 6.0 + 0.001 * (double)id);
                struct det_result r;
                memset(&r, 0, sizeof r);
                r.idle_before_close = NAN;
                r.syn_to_close = 6.0 + 0.001 * (double)id;
                with(&r, DET_DATA_AFTER_PEER_FIN, c.close_at + 1000);
                r.f[0].answered = 1;
                r.f[0].inferred = 1;
                summary_add(&s, &c, &r);
        }
        g = diag_of(&s, &d, 1);
        ck_assert(!g->timer);
        ck_assert_ptr_nonnull(g->unknown);
        ck_assert_ptr_nonnull(g->syn_hint);
        ck_assert_double_eq_tol(g->syn_hint->pk.center, 6.003, 0.01);
        ck_assert_uint_ge(g->nlikely, 1);
        ck_assert_ptr_nonnull(strstr(g->likely[0]->what, "Node.js"));
        ck_assert_ptr_nonnull(strstr(g->remedy, "below 5 s (from the closes after the SYN)"));
        diagnosis_free(&d);
        summary_free(&s);
}
END_TEST

/* Without data packets the timer cannot be measured: say so, and what to
 * capture; resets while busy are the server's own. */
START_TEST(diagnosis_unknown_timer_and_busy_resets)
{
        struct summary s;
        struct diagnosis d;
        const struct server_diag *g;
        struct conn c;
        struct det_result r;

        sum_init(&s);
        for (uint64_t id = 1; id <= 3; id++) {
                c = sconn(id, 9000, 0.001);
                c.close = CLOSE_SERVER_RST;
                memset(&r, 0, sizeof r);
                r.idle_before_close = r.syn_to_close = NAN;
                with(&r, DET_REQUEST_RESET, c.close_at);
                summary_add(&s, &c, &r);
        }
        g = diag_of(&s, &d, 1);
        ck_assert_int_eq(g->verdict, V_SERVER_RESETS_REQUESTS);
        ck_assert_uint_eq(g->resets, 3);
        ck_assert(!g->timer);
        ck_assert_ptr_nonnull(strstr(g->unknown, "--full --snaplen 96"));
        diagnosis_free(&d);
        summary_free(&s);
}
END_TEST

static Suite *detect_suite(void)
{
        Suite *s = suite_create("detect");
        TCase *peaks = tcase_create("peaks"), *giveup = tcase_create("give_up"),
              *table = tcase_create("known_defaults"), *dist = tcase_create("distributions"),
              *sum = tcase_create("summary"), *races = tcase_create("races");

        tcase_add_test(peaks, one_peak_at_six_seconds);
        tcase_add_test(peaks, two_peaks_found_largest_first);
        tcase_add_test(peaks, noise_only_gives_no_cluster);
        tcase_add_test(peaks, peaks_below_min_center_are_not_news);
        tcase_add_test(peaks, too_few_values_no_cluster);
        tcase_add_test(giveup, give_up_one_second_both_races);
        tcase_add_test(giveup, schedule_classic_and_linear);
        tcase_add_test(giveup, give_up_weighted_cells);
        tcase_add_test(peaks, bins_find_the_peak_like_values);
        tcase_add_test(table, likely_allows_late_timers_not_early_ones);
        tcase_add_test(dist, histogram_edges_one_two_five);
        tcase_add_test(dist, summary_percentiles_nearest_rank);
        tcase_add_test(sum, summary_ranks_each_connection_once);
        tcase_add_test(sum, summary_attributes_kinds_and_clusters_to_servers);
        tcase_add_test(sum, summary_syn_to_close_at_a_multiple_of_the_idle_close);
        tcase_add_test(races, drained_race_inferred_from_client_fin_seq);
        tcase_add_test(sum, diagnosis_mismatch_with_races);
        tcase_add_test(sum, diagnosis_latent_mismatch_and_ok);
        tcase_add_test(sum, diagnosis_polling_timer_is_one_timer);
        tcase_add_test(sum, diagnosis_drained_races_tell_defaults_apart);
        tcase_add_test(sum, diagnosis_flags_only_hint_from_syn_to_close);
        tcase_add_test(sum, diagnosis_unknown_timer_and_busy_resets);
        suite_add_tcase(s, peaks);
        suite_add_tcase(s, giveup);
        suite_add_tcase(s, table);
        suite_add_tcase(s, dist);
        suite_add_tcase(s, sum);
        suite_add_tcase(s, races);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(detect_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
