/* diagnose.c - per-upstream diagnosis (diagnose.h).  The rule it checks
 * is the field's (envoyproxy/envoy#14981, nodejs/node#27363): a client
 * pool must close an idle connection before the server does; when it
 * reuses one the server is closing, the request dies with a reset (or is
 * drained and lost).  The numbers come from the capture. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose.h"

static const char *const verdict_names[] = {
        [V_IDLE_TIMEOUT_MISMATCH] = "idle_timeout_mismatch",
        [V_SERVER_RESETS_REQUESTS] = "server_resets_requests",
        [V_CONNECT_TIMEOUT] = "connect_timeout",
        [V_REFUSED] = "refused",
        [V_OK] = "ok",
};
TABLE_COVERS(verdict_names, V_N);

const char *verdict_name(enum verdict v)
{
        return (unsigned)v < V_N && verdict_names[v] ? verdict_names[v] : "?";
}

/* Settings of the pools in front of a server (the client side). */
#define POOL_SETTINGS "Envoy/Istio DestinationRule connectionPool.http.idleTimeout, nginx upstream " \
                      "keepalive_timeout, HAProxy timeout server or pool-purge-delay, Node.js " \
                      "http.Agent freeSocketTimeout, undici keepAliveTimeout"

struct wv {                     /* a value and how many times it occurs */
        double v;
        uint64_t w;
};

static int by_value(const void *x, const void *y)
{
        double a = ((const struct wv *)x)->v, b = ((const struct wv *)y)->v;
        return (a > b) - (a < b);
}

/* The values of a histogram, sorted: exact while it has them, else each
 * bin's mean weighted by its count (at most HIST_BINS).  *n set. */
static struct wv *values(const struct hist *h, size_t *n)
{
        struct wv *v;

        *n = 0;
        if (!h->n || !(v = malloc((h->n < HIST_BINS ? h->n : HIST_BINS) * sizeof *v)))
                return NULL;
        if (h->n <= HIST_EXACT) {
                for (size_t i = 0; i < h->n; i++)
                        v[(*n)++] = (struct wv){ h->exact[i], 1 };
        } else {
                for (size_t b = 0; b < HIST_BINS; b++)
                        if (h->cnt[b])
                                v[(*n)++] = (struct wv){ h->sum[b] / h->cnt[b], h->cnt[b] };
        }
        qsort(v, *n, sizeof *v, by_value);
        return v;
}

/* The value of rank r (0-based) of sorted weighted values. */
static double rank(const struct wv *v, size_t n, uint64_t r)
{
        uint64_t acc = 0;

        for (size_t i = 0; i < n; i++)
                if ((acc += v[i].w) > r)
                        return v[i].v;
        return n ? v[n - 1].v : NAN;
}

/* The defaults the timer's start matches; how the server answered late
 * requests tells some apart: draining them (no RST) or resetting them. */
static void likely_of(const struct sum_server *sv, struct server_diag *g)
{
        const struct known_default *all[16];
        size_t n = cluster_likely(M_IDLE_BEFORE_CLOSE, 1, g->lo, g->lo, all, 16), drains = 0;
        uint64_t resets = sv->kinds[DET_DATA_AFTER_PEER_FIN] - sv->drained + sv->resets_idle;
        int want = -1;                          /* -1 all, 1 those that drain, 0 the others */

        for (size_t i = 0; i < n; i++)
                drains += (all[i]->measures & KD_DRAINS) != 0;
        if (sv->drained && !resets && drains)
                want = 1;
        else if (resets && !sv->drained && drains < n)
                want = 0;
        g->nlikely = 0;
        for (size_t i = 0; i < n && g->nlikely < SUM_MAX_LIKELY; i++)
                if (want < 0 || ((all[i]->measures & KD_DRAINS) != 0) == want)
                        g->likely[g->nlikely++] = all[i];
}

/* The server's idle-close timer from its idle closes (how): the values
 * around their median, up to half again as long (a timer polled every so
 * often fires over a spread, never early), when they are most of them. */
static int timer_of(const struct summary *s, const struct sum_server *sv, int how,
                    struct server_diag *g)
{
        const struct hist *h = &sv->h[M_IDLE_BEFORE_CLOSE][SERVER][how == HOW_RST];
        size_t n, first = 0;
        uint64_t total = 0, k = 0;
        struct wv *v = values(h, &n);
        double m, sum = 0, sq = 0;

        if (!v)
                return 0;
        while (first < n && v[first].v < s->o.min_center)      /* aborts are not idle closes */
                first++;
        for (size_t i = first; i < n; i++)
                total += v[i].w;
        if (total < s->o.min_count) {
                free(v);
                return 0;
        }
        m = rank(v + first, n - first, total / 2);
        for (size_t i = first; i < n; i++)
                if (v[i].v >= m * 0.8 - 0.05 && v[i].v <= m * 1.5 + 0.25) {
                        if (!k)
                                g->lo = v[i].v;
                        g->hi = v[i].v;
                        sum += v[i].v * (double)v[i].w;
                        sq += v[i].v * v[i].v * (double)v[i].w;
                        k += v[i].w;
                }
        if (k < s->o.min_count || 2 * k < total) {
                free(v);
                return 0;
        }
        if (h->n > HIST_EXACT) {                /* the exact ends, not bin means */
                g->lo = fmax(g->lo * 0.99, h->min);
                g->hi = fmin(g->hi * 1.01, h->max);
        }
        g->timer = 1;
        g->how = how;
        g->count = k;
        g->of = h->n;
        g->center = m;
        g->spread = sqrt(fmax(0, sq / (double)k - (sum / (double)k) * (sum / (double)k)));
        /* the timer's nominal value is where it starts firing */
        likely_of(sv, g);
        free(v);
        return 1;
}

static void reuse_of(const struct sum_server *sv, struct server_diag *g)
{
        struct sum_dist d;

        if (!sv->reuse.n)
                return;
        summary_hist_dist(&sv->reuse, &d);
        g->reuse_n = sv->reuse.n;
        g->reuse_p50 = d.s.p50;
        g->reuse_p99 = d.s.p99;
        g->reuse_max = sv->reuse.max;
}

/* The server's own settings of its likely causes, " or " between them. */
static void server_settings(const struct server_diag *g, char *buf, size_t len)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < g->nlikely; i++) {
                int dup = 0;
                for (size_t j = 0; j < i; j++)
                        dup |= strcmp(g->likely[i]->setting, g->likely[j]->setting) == 0;
                if (!dup && n < len)
                        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? " or " : "",
                                              g->likely[i]->setting);
        }
        if (!buf[0])
                snprintf(buf, len, "the server's keep-alive idle timeout");
}

static void mismatch(const struct sum_server *sv, struct server_diag *g, int flags_only)
{
        char set[256], above[32], below[64];
        size_t n = 0;

        if (g->reuse_n)
                n += (size_t)snprintf(g->text + n, sizeof g->text - n,
                                      "clients reuse connections after up to %.2f s idle", g->reuse_max);
        else
                n += (size_t)snprintf(g->text + n, sizeof g->text - n, "clients reused connections %s",
                                      flags_only ? "the server closed (idle times need a full capture)" :
                                      "the server closed");
        if (g->timer)
                n += (size_t)snprintf(g->text + n, sizeof g->text - n,
                                      "; the server closes idle connections at %.2f s (%s, %llu of %llu)",
                                      g->lo, g->how == HOW_RST ? "RST" : "FIN",
                                      (unsigned long long)g->count, (unsigned long long)g->of);
        else
                n += (size_t)snprintf(g->text + n, sizeof g->text - n,
                                      "; the server's idle close is not measured");
        if (g->raced)
                snprintf(g->text + n, sizeof g->text - n, ": %llu request%s raced the close",
                         (unsigned long long)g->raced, g->raced == 1 ? "" : "s");
        else
                snprintf(g->text + n, sizeof g->text - n, ": a request at that idle age races the close");
        server_settings(g, set, sizeof set);
        if (g->reuse_n)
                snprintf(above, sizeof above, "%.0f s", ceil(g->reuse_max) + 1);
        else
                snprintf(above, sizeof above, "the clients' longest reuse");
        if (g->timer && g->lo >= 2)
                snprintf(below, sizeof below, "%.0f s", floor(g->lo) - 1);
        else if (g->timer)
                snprintf(below, sizeof below, "%.1f s", g->lo / 2);
        else if (g->syn_hint)
                snprintf(below, sizeof below, "%.0f s (from the closes after the SYN)",
                         fmax(1, floor(g->syn_hint->pk.lo) - 1));
        else
                snprintf(below, sizeof below, "the server's");
        snprintf(g->remedy, sizeof g->remedy,
                 "set the server's idle timeout above %s (%s), or the client pool's idle timeout below "
                 "%s (" POOL_SETTINGS "); %s", above, set, below, sv->drained ?
                 "retry requests that get no response (the server drained them: the client sees the "
                 "connection close, not a reset)" : "retry requests that fail with a reset");
}

static void diagnose_one(const struct summary *s, int flags_only, int i, struct server_diag *g)
{
        const struct sum_server *sv = &s->servers[i];
        uint64_t ct = sv->kinds[DET_CONNECT_TIMEOUT], refused = sv->kinds[DET_REFUSED];

        memset(g, 0, sizeof *g);
        g->server = i;
        if (!timer_of(s, sv, HOW_FIN, g) && !timer_of(s, sv, HOW_RST, g))
                g->unknown = flags_only ?
                        "SYN/FIN/RST-only capture: idle times need the data packets; capture every TCP "
                        "header instead (tcpdump -s 96 'tcp', or rstscope -i IFACE --full --snaplen 96: "
                        "96 bytes of every packet)" :
                        sv->closes[CLOSE_SERVER_FIN] + sv->closes[CLOSE_SERVER_RST] ?
                        "the server's closes after idle do not form one timer (or are too few)" :
                        "the server closed no connection";
        for (size_t c = 0; !g->timer && flags_only && c < s->nclusters && !g->syn_hint; c++)
                if (s->clusters[c].server == i && s->clusters[c].measure == M_SYN_TO_CLOSE &&
                    s->clusters[c].side == SERVER && s->clusters[c].how == HOW_FIN)
                        g->syn_hint = &s->clusters[c];
        if (g->syn_hint) {              /* its defaults, told apart as the timer's are */
                g->lo = g->syn_hint->pk.lo;
                likely_of(sv, g);
        }
        reuse_of(sv, g);
        g->raced = sv->kinds[DET_DATA_AFTER_PEER_FIN] + sv->resets_idle;
        g->resets = sv->kinds[DET_REQUEST_RESET] - sv->resets_idle;
        g->affected = g->raced + g->resets + ct + refused;
        if (g->raced || (g->timer && g->reuse_n && g->reuse_max >= g->lo)) {
                g->verdict = V_IDLE_TIMEOUT_MISMATCH;
                mismatch(sv, g, flags_only);
        } else if (g->resets) {
                g->verdict = V_SERVER_RESETS_REQUESTS;
                snprintf(g->text, sizeof g->text, "the server reset %llu request%s it had not answered, "
                         "while busy (not at an idle close)", (unsigned long long)g->resets,
                         g->resets == 1 ? "" : "s");
                snprintf(g->remedy, sizeof g->remedy, "find why the server aborts requests (a crash, a "
                         "handler that destroys the socket, SO_LINGER 0, a request limit); retry "
                         "idempotent requests on reset");
        } else if (ct) {
                g->verdict = V_CONNECT_TIMEOUT;
                snprintf(g->text, sizeof g->text, "%llu connection attempt%s got no answer to the SYN",
                         (unsigned long long)ct, ct == 1 ? "" : "s");
                snprintf(g->remedy, sizeof g->remedy, "look for a full accept queue (listen backlog) or "
                         "a firewall dropping SYNs at the server; the clients' connect timeout ended "
                         "each attempt");
        } else if (refused) {
                g->verdict = V_REFUSED;
                snprintf(g->text, sizeof g->text, "%llu connection%s refused: nothing listened",
                         (unsigned long long)refused, refused == 1 ? " was" : "s were");
                snprintf(g->remedy, sizeof g->remedy, "check that the server is up and listening when "
                         "clients connect (rollouts, readiness probes)");
        } else {
                g->verdict = V_OK;
                snprintf(g->text, sizeof g->text, "no race, reset or failed connection");
                snprintf(g->remedy, sizeof g->remedy, "nothing to change");
        }
}

static int by_affected(const void *x, const void *y)
{
        const struct server_diag *a = x, *b = y;

        if (a->affected != b->affected)
                return a->affected > b->affected ? -1 : 1;
        return a->server - b->server;
}

int diagnose(const struct summary *s, int flags_only, struct diagnosis *d)
{
        d->n = 0;
        d->srv = NULL;
        if (!s->nservers)
                return 0;
        if (!(d->srv = calloc(s->nservers, sizeof *d->srv)))
                return -1;
        for (size_t i = 0; i < s->nservers; i++)
                diagnose_one(s, flags_only, (int)i, &d->srv[i]);
        d->n = s->nservers;
        qsort(d->srv, d->n, sizeof *d->srv, by_affected);
        return 0;
}

void diagnosis_free(struct diagnosis *d)
{
        free(d->srv);
        d->srv = NULL;
        d->n = 0;
}
