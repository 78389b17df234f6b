/* cluster.c - distributions and clusters of intervals, and the table of
 * well-known timeouts a cluster is compared with.  Everything here works
 * on arrays the caller owns; the peak finder is O(n) per peak after one
 * sort, the interval stabbing O(n log n). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define LOG_FLOOR 1e-6          /* values below 1 µs are binned as 1 µs */

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted values */
static double pct(const double *v, size_t n, double q)
{
        size_t k = (size_t)ceil(q * (double)n);
        return v[k ? k - 1 : 0];
}

void dist_summarize(double *v, size_t n, struct dist_summary *s)
{
        memset(s, 0, sizeof *s);
        s->n = n;
        if (!n)
                return;
        qsort(v, n, sizeof *v, cmp_double);
        s->min = v[0];
        s->max = v[n - 1];
        s->p50 = pct(v, n, 0.50);
        s->p90 = pct(v, n, 0.90);
        s->p99 = pct(v, n, 0.99);
}

/* The 1-2-5 edge at or below x. */
double dist_edge_floor(double x)
{
        double d = pow(10, floor(log10(x)));
        return x >= 5 * d ? 5 * d : x >= 2 * d ? 2 * d : d;
}

double dist_edge_next(double e)
{
        double d = pow(10, floor(log10(e) + 1e-9));
        double m = e / d;
        return m < 1.5 ? 2 * d : m < 3.5 ? 5 * d : 10 * d;
}

size_t dist_histogram(const double *sorted, size_t n, size_t *count, double *edge, size_t max)
{
        size_t nb = 0, i = 0;
        double e;

        if (!n || !max)
                return 0;
        e = dist_edge_floor(sorted[0] > LOG_FLOOR ? sorted[0] : LOG_FLOOR);
        while (nb < max) {
                double next = dist_edge_next(e);
                edge[nb] = e;
                count[nb] = 0;
                while (i < n && (sorted[i] < next || nb + 1 == max))
                        count[nb]++, i++;
                nb++;
                if (i >= n)
                        break;
                e = next;
        }
        return nb;
}

/* ---- peaks ---- */

static double window(double v) { return v * 0.05 > 0.05 ? v * 0.05 : 0.05; }
static double lg(double v) { return log(v > LOG_FLOOR ? v : LOG_FLOOR); }

static void peak_stats(const double *w, size_t k, struct peak *p)
{
        double mean = 0, var = 0;

        for (size_t i = 0; i < k; i++)
                mean += w[i];
        mean /= (double)k;
        for (size_t i = 0; i < k; i++)
                var += (w[i] - mean) * (w[i] - mean);
        p->count = k;
        p->center = k % 2 ? w[k / 2] : (w[k / 2 - 1] + w[k / 2]) / 2;
        p->spread = sqrt(var / (double)k);
        p->lo = w[0];
        p->hi = w[k - 1];
}

size_t cluster_peaks(const double *sorted, size_t n, size_t min_count, double min_share,
                     double min_center, struct peak *out, size_t max)
{
        double *rem = malloc((n ? n : 1) * sizeof *rem);
        size_t nrem = n, found = 0;

        if (!rem)
                return 0;
        memcpy(rem, sorted, n * sizeof *rem);
        while (found < max && nrem >= min_count) {
                size_t bi = 0, bk = 0, j = 0;
                double range = lg(rem[nrem - 1]) - lg(rem[0]);
                for (size_t i = 0; i < nrem; i++) {     /* widest-count window */
                        if (j < i)
                                j = i;
                        while (j < nrem && rem[j] <= rem[i] + window(rem[i]))
                                j++;
                        if (j - i > bk)
                                bk = j - i, bi = i;
                }
                if (bk < min_count || (double)bk < min_share * (double)n)
                        break;
                /* noise is spread evenly on a log scale: a peak is several
                 * times denser than the values around it */
                double w = lg(rem[bi] + window(rem[bi])) - lg(rem[bi]);
                double rest = range - w;
                if (rest > w && (double)bk / w < 3.0 * (double)(nrem - bk) / rest)
                        break;
                peak_stats(rem + bi, bk, &out[found]);
                if (out[found].center >= min_center)
                        found++;
                memmove(rem + bi, rem + bi + bk, (nrem - bi - bk) * sizeof *rem);
                nrem -= bk;
        }
        free(rem);
        return found;
}

size_t cluster_peaks_bins(uint32_t *cnt, const double *sum, const double *sq, size_t nbins,
                          size_t min_count, double min_share, double min_center,
                          struct peak *out, size_t *first, size_t *last, size_t max)
{
        uint64_t total = 0;
        size_t found = 0;

        for (size_t i = 0; i < nbins; i++)
                total += cnt[i];
        while (found < max) {
                size_t lo = nbins, hi = 0, bi = 0, bj = 0, j = 0;
                uint64_t rem = 0, run = 0, best = 0;
                for (size_t i = 0; i < nbins; i++)
                        if (cnt[i]) {
                                rem += cnt[i];
                                if (lo == nbins)
                                        lo = i;
                                hi = i;
                        }
                if (rem < min_count)
                        break;
                for (size_t i = lo; i <= hi; i++) {     /* fullest window */
                        double e = cluster_bin_edge(i);
                        if (j < i)
                                j = i, run = 0;
                        while (j <= hi && cluster_bin_edge(j) <= e + window(e))
                                run += cnt[j++];
                        if (run > best)
                                best = run, bi = i, bj = j;
                        run -= cnt[i];
                }
                if (best < min_count || (double)best < min_share * (double)total)
                        break;
                double range = lg(cluster_bin_edge(hi + 1)) - lg(cluster_bin_edge(lo));
                double w = lg(cluster_bin_edge(bj)) - lg(cluster_bin_edge(bi));
                double rest = range - w;
                if (rest > w && (double)best / w < 3.0 * (double)(rem - best) / rest)
                        break;
                double s1 = 0, s2 = 0;
                size_t fb = bj, lb = bi;
                for (size_t k = bi; k < bj; k++) {
                        if (!cnt[k])
                                continue;
                        s1 += sum[k];
                        s2 += sq[k];
                        if (fb == bj)
                                fb = k;
                        lb = k;
                }
                struct peak *p = &out[found];
                p->count = best;
                p->center = s1 / (double)best;
                p->spread = sqrt(fmax(0, s2 / (double)best - p->center * p->center));
                p->lo = sum[fb] / cnt[fb];
                p->hi = sum[lb] / cnt[lb];
                if (p->center >= min_center) {
                        if (first)
                                first[found] = fb;
                        if (last)
                                last[found] = lb;
                        found++;
                }
                for (size_t k = bi; k < bj; k++)
                        cnt[k] = 0;
        }
        return found;
}

double cluster_bin_edge(size_t i)
{
        return CLUSTER_BIN_BASE * pow(CLUSTER_BIN_RATIO, (double)i);
}

size_t cluster_bin_of(double v)
{
        if (!(v > CLUSTER_BIN_BASE))
                return 0;
        return (size_t)(log(v / CLUSTER_BIN_BASE) / log(CLUSTER_BIN_RATIO));
}

/* Weight of the intervals covering t (with slack). */
static double covering(const double *lo, const double *hi, const uint32_t *w, const char *gone,
                       size_t n, double t)
{
        double eps = 0.05 + 0.02 * t, c = 0;

        for (size_t i = 0; i < n; i++)
                if (!gone[i] && lo[i] <= t + eps && hi[i] >= t - eps)
                        c += w ? w[i] : 1;
        return c;
}

size_t cluster_stab(const double *lo, const double *hi, const uint32_t *w, size_t n,
                    size_t min_count, double min_share, struct peak *out, size_t max)
{
        char *gone = calloc(n ? n : 1, 1);
        double total = 0;
        size_t found = 0;

        if (!gone)
                return 0;
        for (size_t i = 0; i < n; i++)
                total += w ? w[i] : 1;
        while (found < max) {
                double best = 0, bt = 0, cmin = INFINITY, cmax = -INFINITY, k = 0;
                /* candidates: every bound; ties go to the later one ("gave up by") */
                for (size_t i = 0; i < 2 * n; i++) {
                        double t = i < n ? lo[i] : hi[i - n];
                        double c;
                        if (gone[i % n])
                                continue;
                        c = covering(lo, hi, w, gone, n, t);
                        if (c > best || (c == best && t > bt))
                                best = c, bt = t;
                }
                if (best < (double)min_count || best < min_share * total)
                        break;
                double eps = 0.05 + 0.02 * bt;
                for (size_t i = 0; i < n; i++)
                        if (!gone[i] && lo[i] <= bt + eps && hi[i] >= bt - eps) {
                                cmax = fmax(cmax, lo[i]);
                                cmin = fmin(cmin, hi[i]);
                                k += w ? w[i] : 1;
                                gone[i] = 1;
                        }
                out[found].count = (size_t)k;
                out[found].lo = cmax < cmin ? cmax : cmin;
                out[found].hi = cmin;
                out[found].center = cmin;
                out[found].spread = cmin > cmax ? (cmin - cmax) / 2 : 0;
                found++;
        }
        free(gone);
        return found;
}

/* ---- what a cluster is consistent with ---- */

#define MI (1u << M_IDLE_BEFORE_CLOSE)
#define MS (1u << M_SYN_TO_CLOSE)
#define MG (1u << M_CONNECT_GIVE_UP)
#define BY_SERVER 0x100                 /* the server (or a middlebox) closes */
#define BY_CLIENT 0x200                 /* the client, pool or proxy closes */

static const struct known_default defaults[] = {
        { 2, "gunicorn keepalive 2 s", "docs.gunicorn.org: settings, keepalive", MI | MS | BY_SERVER,
          "gunicorn --keep-alive" },
        { 5, "Node.js http.Server keepAliveTimeout 5 s (without the 1 s buffer of newer Node)",
          "nodejs.org/api/http.html: server.keepAliveTimeout", MI | MS | BY_SERVER,
          "Node.js server.keepAliveTimeout" },
        { 5, "uvicorn timeout_keep_alive 5 s", "uvicorn.org/settings: --timeout-keep-alive", MI | MS | BY_SERVER,
          "uvicorn --timeout-keep-alive" },
        { 5, "Apache httpd KeepAliveTimeout 5 s", "httpd.apache.org/docs/2.4/mod/core.html#keepalivetimeout",
          MI | MS | BY_SERVER | KD_DRAINS,
          "Apache KeepAliveTimeout" },
        { 6, "Node.js keepAliveTimeout 5 s + 1 s buffer (Node >= 20: FIN at ~6 s, header still says timeout=5)",
          "nodejs.org/api/http.html: server.keepAliveTimeoutBuffer (>= 22.19, 24.6); nodejs/node#54863", MI | MS | BY_SERVER,
          "Node.js server.keepAliveTimeout" },
        { 10, "CherryPy/cheroot timeout 10 s", "docs.cherrypy.dev: server.socket_timeout", MI | MS | BY_SERVER,
          "CherryPy server.socket_timeout" },
        { 20, "Tomcat connectionTimeout 20 s (stock server.xml)", "tomcat.apache.org/tomcat-10.1-doc/config/http.html",
          MI | MS | BY_SERVER | KD_DRAINS,
          "Tomcat keepAliveTimeout (= connectionTimeout)" },
        { 30, "Jetty idleTimeout 30 s", "eclipse.dev/jetty: ServerConnector idleTimeout", MI | MS | BY_SERVER,
          "Jetty ServerConnector idleTimeout" },
        { 60, "nginx upstream keepalive_timeout 60 s", "nginx.org: ngx_http_upstream_module keepalive_timeout",
          MI | MS | BY_CLIENT,
          "nginx upstream keepalive_timeout" },
        { 60, "AWS ALB/ELB idle timeout 60 s", "docs.aws.amazon.com: Application Load Balancer idle timeout",
          MI | MS | BY_SERVER | BY_CLIENT,
          "ALB idle_timeout.timeout_seconds" },
        { 60, "Tomcat connector default timeout 60 s", "tomcat.apache.org/tomcat-10.1-doc/config/http.html",
          MI | MS | BY_SERVER | KD_DRAINS,
          "Tomcat keepAliveTimeout (= connectionTimeout)" },
        { 75, "nginx keepalive_timeout 75 s", "nginx.org: ngx_http_core_module keepalive_timeout", MI | MS | BY_SERVER,
          "nginx keepalive_timeout" },
        { 90, "Go net/http Transport IdleConnTimeout 90 s (client pool)", "pkg.go.dev/net/http: DefaultTransport",
          MI | MS | BY_CLIENT,
          "Go Transport.IdleConnTimeout" },
        { 240, "Azure Load Balancer idle timeout 4 min", "learn.microsoft.com: load-balancer-tcp-idle-timeout",
          MI | MS | BY_SERVER | BY_CLIENT,
          "Azure Load Balancer idle timeout" },
        { 350, "AWS NLB idle timeout 350 s", "docs.aws.amazon.com: Network Load Balancer connection idle timeout",
          MI | MS | BY_SERVER | BY_CLIENT,
          "NLB tcp.idle_timeout.seconds" },
        { 600, "GCP load balancer timeout 600 s", "cloud.google.com: load-balancing backend service timeouts",
          MI | MS | BY_SERVER | BY_CLIENT,
          "backend service timeoutSec" },
        { 610, "GCP HTTP(S) load balancer keepalive 610 s", "cloud.google.com: https load balancing timeouts",
          MI | MS | BY_SERVER | BY_CLIENT,
          "load balancer HTTP keepalive timeout" },
        { 3600, "Envoy/Istio idle_timeout 1 h", "envoyproxy.io: HttpProtocolOptions idle_timeout", MI | MS | BY_SERVER | BY_CLIENT,
          "Envoy idle_timeout / Istio idleTimeout" },
        { 5, "hypercorn keep_alive_timeout 5 s", "hypercorn config.py: keep_alive_timeout", MI | MS | BY_SERVER,
          "hypercorn --keep-alive" },
        { 65, "Node.js server.keepAliveTimeout 65 s (default from the v26 line)",
          "nodejs/node#62782; nodejs.org/api/http.html", MI | MS | BY_SERVER, "Node.js server.keepAliveTimeout" },
        { 130, "Kestrel KeepAliveTimeout 130 s", "learn.microsoft.com: KestrelServerLimits.KeepAliveTimeout",
          MI | MS | BY_SERVER, "Kestrel Limits.KeepAliveTimeout" },
        { 4, "undici keepAliveTimeout 4 s (Node fetch client pool)", "nodejs/undici lib/dispatcher/client.js",
          MI | MS | BY_CLIENT, "undici keepAliveTimeout" },
        { 30, "Java HttpClient idle pool timeout 30 s (JDK 20+)", "JDK-8297030", MI | MS | BY_CLIENT,
          "jdk.httpclient.keepalive.timeout" },
        { 60, ".NET SocketsHttpHandler PooledConnectionIdleTimeout 60 s", "learn.microsoft.com: SocketsHttpHandler",
          MI | MS | BY_CLIENT, "SocketsHttpHandler.PooledConnectionIdleTimeout" },
        { 300, "OkHttp connection pool keep-alive 5 min", "square.github.io/okhttp: ConnectionPool",
          MI | MS | BY_CLIENT, "OkHttp ConnectionPool keepAliveDuration" },
        { 1, "a 1 s connect timeout (e.g. Envoy/Istio connectTimeout set to 1s)",
          "envoyproxy.io: Cluster connect_timeout", MG | BY_CLIENT,
          "Envoy connect_timeout / Istio connectTimeout" },
        { 5, "Envoy connect_timeout default 5 s", "envoyproxy.io: Cluster connect_timeout", MG | BY_CLIENT,
          "Envoy connect_timeout" },
        { 10, "Istio connectTimeout default 10 s", "istio.io: DestinationRule ConnectionPoolSettings", MG | BY_CLIENT,
          "Istio connectTimeout" },
        { 11, "the Linux kernel giving up (linear-first SYN schedule, tcp_syn_retries 6)",
          "kernel ip-sysctl: tcp_syn_linear_timeouts", MG | BY_CLIENT,
          "net.ipv4.tcp_syn_retries" },
        { 127, "the Linux kernel giving up (classic SYN schedule, tcp_syn_retries 6)",
          "kernel ip-sysctl: tcp_syn_retries", MG | BY_CLIENT,
          "net.ipv4.tcp_syn_retries" },
};

const struct known_default *cluster_defaults(size_t *n)
{
        *n = sizeof defaults / sizeof defaults[0];
        return defaults;
}

size_t cluster_likely(enum cluster_measure m, int server_closes, double lo, double hi,
                      const struct known_default **out, size_t max)
{
        size_t k = 0;
        unsigned want = (1u << m) | (server_closes ? BY_SERVER : BY_CLIENT);

        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0] && k < max; i++) {
                double v = defaults[i].seconds;
                /* timers fire late, never early: a little slack below, more above */
                double below = v * 0.01 > 0.02 ? v * 0.01 : 0.02;
                double above = v * 0.05 > 0.25 ? v * 0.05 : 0.25;
                if (m == M_CONNECT_GIVE_UP && v / 8 > above)
                        above = v / 8;  /* a kernel's SYN give-up can come 1/8 late */
                if ((defaults[i].measures & want) == want && hi >= v - below && lo <= v + above)
                        out[k++] = &defaults[i];
        }
        return k;
}

const char *cluster_measure_name(enum cluster_measure m)
{
        switch (m) {
        case M_IDLE_BEFORE_CLOSE: return "idle_before_close";
        case M_SYN_TO_CLOSE: return "syn_to_close";
        case M_CONNECT_GIVE_UP: return "connect_give_up";
        case M_N: break;
        }
        return "?";
}
