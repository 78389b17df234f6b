/* metrics.c - Prometheus counters of finished connections and of the
 * capture, updated under one mutex by the capture thread and rendered from
 * a copy taken under it by libmicrohttpd's thread; it owns the counters and
 * the daemon, and neither reads packets nor judges connections. */
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "metrics.h"

#define NBOUNDS 23                      /* finite histogram buckets; +Inf is the count */
#define MAX_CLIENTS 16                  /* concurrent HTTP connections */
#define CLIENT_TIMEOUT_S 10             /* an idle HTTP connection is closed after this, s */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const double bounds[NBOUNDS] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 6, 10, 15, 20, 30,
        60, 75, 90, 120, 300, 600, 3600,
};

/* Label values, in the (alphabetical) order series are rendered in. */
static const char *const by_names[3] = { "client", "none", "server" };
static const char *const how3_names[3] = { "fin", "none", "rst" };
static const char *const side_names[2] = { "client", "server" };   /* CLIENT, SERVER */
static const char *const how2_names[2] = { "fin", "rst" };

enum { H_SYN_TO_CLOSE = 0, H_IDLE_BEFORE_CLOSE, NHISTS };

static const char *const hist_names[NHISTS] = {
        [H_SYN_TO_CLOSE] = "rstscope_syn_to_close_seconds",
        [H_IDLE_BEFORE_CLOSE] = "rstscope_idle_before_close_seconds",
};

static const char *const hist_help[NHISTS] = {
        [H_SYN_TO_CLOSE] = "Time from the client's first SYN to the first FIN or RST, "
                           "by server port and the side that sent it and which.",
        [H_IDLE_BEFORE_CLOSE] = "Time from the last payload to the first FIN or RST, "
                                "by server port and the side that sent it and which.",
};

struct hist {
        uint64_t in[NBOUNDS];           /* observations in (bounds[i-1], bounds[i]] */
        uint64_t count;
        double sum;
};

struct port_stats {
        int port;                       /* -1: "other" */
        uint64_t conns[3][3];           /* [by_names][how3_names] */
        uint64_t kinds[DET_NKINDS];     /* connections with a finding of each kind */
        struct hist h[NHISTS][2][2];    /* [histogram][side][how2_names] */
};

struct counts {                         /* everything rendered; copied whole to render */
        uint64_t packets, tcp_packets, dropped, if_dropped, open_conns;
        size_t nports;                  /* named ports in port[] */
        struct port_stats port[METRICS_MAX_PORTS + 1]; /* [METRICS_MAX_PORTS]: "other" */
};

struct metrics {
        pthread_mutex_t lock;           /* guards n, slot, log_on and log */
        struct counts n;
        uint8_t slot[65536];            /* server port -> index in n.port + 1; 0 unseen */
        int log_on;                     /* keep libmicrohttpd's messages (while starting) */
        char log[256];                  /* its last message then */
        locale_t c_locale;              /* numbers in the exposition are C-locale */
        struct MHD_Daemon *daemon;      /* NULL until metrics_serve */
};

struct metrics *metrics_create(void)
{
        struct metrics *m = calloc(1, sizeof *m);

        if (!m)
                return NULL;
        m->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (!m->c_locale || pthread_mutex_init(&m->lock, NULL)) {
                if (m->c_locale)
                        freelocale(m->c_locale);
                free(m);
                return NULL;
        }
        m->n.port[METRICS_MAX_PORTS].port = -1;
        return m;
}

void metrics_destroy(struct metrics *m)
{
        if (!m)
                return;
        if (m->daemon)
                MHD_stop_daemon(m->daemon);
        pthread_mutex_destroy(&m->lock);
        freelocale(m->c_locale);
        free(m);
}

/* ---- updates (capture thread) ---- */

/* The counters of a server port; the caller holds the lock. */
static struct port_stats *port_stats_of(struct metrics *m, uint16_t port)
{
        struct port_stats *p;

        if (m->slot[port])
                return &m->n.port[m->slot[port] - 1];
        if (m->n.nports == METRICS_MAX_PORTS)
                return &m->n.port[METRICS_MAX_PORTS];
        p = &m->n.port[m->n.nports++];
        p->port = port;
        m->slot[port] = (uint8_t)m->n.nports;
        return p;
}

static void hist_add(struct hist *h, double v)
{
        size_t i = 0;

        if (!isfinite(v))
                return;
        while (i < NBOUNDS && v > bounds[i])
                i++;
        if (i < NBOUNDS)
                h->in[i]++;
        h->count++;
        h->sum += v;
}

void metrics_conn(struct metrics *m, const struct conn *c, const struct det_result *d)
{
        int cby = close_by((enum close_kind)c->close);
        enum close_how chow = close_how_of((enum close_kind)c->close);
        struct port_stats *p;
        size_t by, how;
        unsigned seen = 0;

        by = cby == CLIENT ? 0 : cby == SERVER ? 2 : 1;
        how = chow == HOW_FIN ? 0 : chow == HOW_RST ? 2 : 1;
        pthread_mutex_lock(&m->lock);
        p = port_stats_of(m, c->srv.port);
        p->conns[by][how]++;
        for (int i = 0; d && i < d->n && i < DET_MAX; i++) {
                unsigned k = d->f[i].kind;
                if (k < DET_NKINDS && !(seen & 1u << k)) {
                        seen |= 1u << k;
                        p->kinds[k]++;
                }
        }
        if (d && cby >= 0) {
                int rst = chow == HOW_RST;
                hist_add(&p->h[H_SYN_TO_CLOSE][cby][rst], d->syn_to_close);
                hist_add(&p->h[H_IDLE_BEFORE_CLOSE][cby][rst], d->idle_before_close);
        }
        pthread_mutex_unlock(&m->lock);
}

void metrics_capture(struct metrics *m, uint64_t packets, uint64_t tcp_packets,
                     uint64_t dropped, uint64_t if_dropped, uint64_t open_conns)
{
        pthread_mutex_lock(&m->lock);
        m->n.packets = packets;
        m->n.tcp_packets = tcp_packets;
        m->n.dropped = dropped;
        m->n.if_dropped = if_dropped;
        m->n.open_conns = open_conns;
        pthread_mutex_unlock(&m->lock);
}

/* ---- rendering ---- */

/* Shortest %g form that reads back as v ("0.005", "1.5", "3600"). */
static const char *fmt_num(double v, char *buf, size_t len)
{
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(buf, len, "%.*g", prec, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        return buf;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
        family(f, name, type, help);
        fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static int by_port(const void *a, const void *b)
{
        const struct port_stats *x = *(const struct port_stats *const *)a;
        const struct port_stats *y = *(const struct port_stats *const *)b;

        return (x->port > y->port) - (x->port < y->port);
}

static const char *port_label(const struct port_stats *p, char *buf, size_t len)
{
        if (p->port < 0)
                return "other";
        snprintf(buf, len, "%d", p->port);
        return buf;
}

/* Finding kinds in name order. */
static void kinds_sorted(size_t order[DET_NKINDS])
{
        for (size_t i = 0; i < DET_NKINDS; i++) {
                size_t j = i;
                for (; j > 0 && strcmp(detect_kind_name((enum finding_kind)order[j - 1]),
                                       detect_kind_name((enum finding_kind)i)) > 0; j--)
                        order[j] = order[j - 1];
                order[j] = i;
        }
}

static void render_hist(FILE *f, const char *name, const char *labels, const struct hist *h)
{
        char num[32];
        uint64_t cum = 0;

        for (size_t i = 0; i < NBOUNDS; i++) {
                cum += h->in[i];
                fprintf(f, "%s_bucket{%s,le=\"%s\"} %" PRIu64 "\n", name, labels,
                        fmt_num(bounds[i], num, sizeof num), cum);
        }
        fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", name, labels, h->count);
        fprintf(f, "%s_sum{%s} %s\n", name, labels, fmt_num(h->sum, num, sizeof num));
        fprintf(f, "%s_count{%s} %" PRIu64 "\n", name, labels, h->count);
}

static void render(FILE *f, const struct counts *n, const struct port_stats *const *ports,
                   size_t np)
{
        char pl[16], labels[96];
        size_t kind[DET_NKINDS];

        scalar(f, "rstscope_packets_total", "counter", "Packets captured.", n->packets);
        scalar(f, "rstscope_tcp_packets_total", "counter",
               "Captured packets that decoded to a TCP segment.", n->tcp_packets);
        scalar(f, "rstscope_packets_dropped_total", "counter",
               "Packets the kernel dropped for lack of buffer space.", n->dropped);
        scalar(f, "rstscope_packets_if_dropped_total", "counter",
               "Packets the network interface or its driver dropped.", n->if_dropped);
        scalar(f, "rstscope_open_connections", "gauge",
               "TCP connections being tracked.", n->open_conns);

        family(f, "rstscope_connections_total", "counter",
               "Finished TCP connections by server port and who closed them first and how.");
        for (size_t i = 0; i < np; i++)
                for (size_t b = 0; b < 3; b++)
                        for (size_t h = 0; h < 3; h++)
                                if (ports[i]->conns[b][h])
                                        fprintf(f, "rstscope_connections_total{server_port=\"%s\","
                                                "close_by=\"%s\",close_how=\"%s\"} %" PRIu64 "\n",
                                                port_label(ports[i], pl, sizeof pl), by_names[b],
                                                how3_names[h], ports[i]->conns[b][h]);

        family(f, "rstscope_findings_total", "counter",
               "Finished TCP connections with a finding, by server port and kind "
               "(a connection counts once per kind).");
        kinds_sorted(kind);
        for (size_t i = 0; i < np; i++)
                for (size_t k = 0; k < DET_NKINDS; k++)
                        if (ports[i]->kinds[kind[k]])
                                fprintf(f, "rstscope_findings_total{server_port=\"%s\",kind=\"%s\"} %"
                                        PRIu64 "\n", port_label(ports[i], pl, sizeof pl),
                                        detect_kind_name((enum finding_kind)kind[k]),
                                        ports[i]->kinds[kind[k]]);

        for (size_t t = 0; t < NHISTS; t++) {
                family(f, hist_names[t], "histogram", hist_help[t]);
                for (size_t i = 0; i < np; i++)
                        for (size_t s = 0; s < 2; s++)
                                for (size_t h = 0; h < 2; h++) {
                                        if (!ports[i]->h[t][s][h].count)
                                                continue;
                                        snprintf(labels, sizeof labels,
                                                 "server_port=\"%s\",side=\"%s\",how=\"%s\"",
                                                 port_label(ports[i], pl, sizeof pl),
                                                 side_names[s], how2_names[h]);
                                        render_hist(f, hist_names[t], labels, &ports[i]->h[t][s][h]);
                                }
        }
}

char *metrics_render(struct metrics *m)
{
        struct counts *n = malloc(sizeof *n);
        const struct port_stats *ports[METRICS_MAX_PORTS + 1];
        char *buf = NULL;
        size_t len = 0, np;
        locale_t old;
        int bad;
        FILE *f;

        if (!n)
                return NULL;
        pthread_mutex_lock(&m->lock);
        *n = m->n;
        pthread_mutex_unlock(&m->lock);
        for (np = 0; np < n->nports; np++)
                ports[np] = &n->port[np];
        qsort(ports, np, sizeof *ports, by_port);
        ports[np++] = &n->port[METRICS_MAX_PORTS];
        f = open_memstream(&buf, &len);
        if (f) {
                old = uselocale(m->c_locale);
                render(f, n, ports, np);
                uselocale(old);
                bad = ferror(f);
                if (fclose(f) || bad) {
                        free(buf);
                        buf = NULL;
                }
        }
        free(n);
        return buf;
}

/* ---- HTTP (libmicrohttpd's thread) ---- */

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status,
                                  const char *text, const char *allow)
{
        char body[64];
        struct MHD_Response *r;
        enum MHD_Result ret;

        snprintf(body, sizeof body, "%s\n", text);
        r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        if (allow)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        ret = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return ret;
}

/* Errors are answered on the first call, before any request body is read
 * (libmicrohttpd then discards it and closes the connection); /metrics
 * once the request is complete, so the connection can be kept alive. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
        struct metrics *m = cls;
        struct MHD_Response *r;
        enum MHD_Result ret;
        char *text;

        (void)version;
        (void)upload_data;
        if (strcmp(url, "/metrics"))
                return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found; try /metrics", NULL);
        if (strcmp(method, MHD_HTTP_METHOD_GET))
                return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                                  MHD_HTTP_METHOD_GET);
        if (!*req_cls) {                        /* headers only so far */
                *req_cls = m;
                return MHD_YES;
        }
        if (*upload_data_size) {                /* a body on a GET: ignored */
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (!(text = metrics_render(m)))
                return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(text);
                return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
        ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
}

/* libmicrohttpd's messages: the last one is kept while the daemon starts
 * (it says why a start failed), the rest are dropped. */
__attribute__((format(printf, 2, 0)))
static void on_log(void *cls, const char *fmt, va_list ap)
{
        struct metrics *m = cls;
        size_t n;

        pthread_mutex_lock(&m->lock);
        if (m->log_on) {
                vsnprintf(m->log, sizeof m->log, fmt, ap);
                n = strlen(m->log);
                while (n && (m->log[n - 1] == '\n' || m->log[n - 1] == '.'))
                        m->log[--n] = '\0';
        }
        pthread_mutex_unlock(&m->lock);
}

struct listen_addr {
        struct sockaddr_storage sa;
        unsigned flags;                 /* MHD_USE_IPv6, MHD_USE_DUAL_STACK or 0 */
        uint16_t port;
};

static int have_ipv6(void)
{
        int fd = socket(AF_INET6, SOCK_STREAM, 0);

        if (fd < 0)
                return 0;
        close(fd);
        return 1;
}

/* "127.0.0.1:9101", "[::1]:9101", ":9101" (every address: IPv6 and IPv4
 * where the host has IPv6, else IPv4).  Returns 0, or -1 with err set. */
static int parse_addr(const char *s, struct listen_addr *a, char *err, size_t errlen)
{
        struct sockaddr_in *v4 = (struct sockaddr_in *)&a->sa;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->sa;
        const char *colon, *host = s, *p;
        char buf[INET6_ADDRSTRLEN];
        size_t hostlen;
        unsigned long port = 0;

        memset(a, 0, sizeof *a);
        if (*s == '[') {
                host = s + 1;
                colon = strchr(host, ']');
                if (!colon || colon[1] != ':') {
                        snprintf(err, errlen, "%s: expected [IPv6-address]:port", s);
                        return -1;
                }
                hostlen = (size_t)(colon - host);
                colon++;
                if (!hostlen) {
                        snprintf(err, errlen, "%s: empty IPv6 address (all addresses: :port)", s);
                        return -1;
                }
        } else {
                colon = strrchr(s, ':');
                if (!colon) {
                        snprintf(err, errlen, "%s: expected address:port or :port", s);
                        return -1;
                }
                hostlen = (size_t)(colon - s);
                if (memchr(s, ':', hostlen)) {
                        snprintf(err, errlen, "%s: IPv6 addresses go in brackets: [::1]:9101", s);
                        return -1;
                }
        }
        for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++)
                port = port * 10 + (unsigned long)(*p - '0');
        if (p == colon + 1 || *p || port < 1 || port > 65535) {
                snprintf(err, errlen, "%s: the port must be a number from 1 to 65535", s);
                return -1;
        }
        a->port = (uint16_t)port;
        if (hostlen >= sizeof buf) {
                snprintf(err, errlen, "%s: not a numeric IP address", s);
                return -1;
        }
        memcpy(buf, host, hostlen);
        buf[hostlen] = '\0';
        if (!hostlen && have_ipv6()) {
                v6->sin6_family = AF_INET6;
                v6->sin6_addr = in6addr_any;
                v6->sin6_port = htons(a->port);
                a->flags = MHD_USE_DUAL_STACK;
        } else if (!hostlen) {
                v4->sin_family = AF_INET;
                v4->sin_addr.s_addr = htonl(INADDR_ANY);
                v4->sin_port = htons(a->port);
        } else if (*s == '[' && inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons(a->port);
                a->flags = MHD_USE_IPv6;
        } else if (*s != '[' && inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons(a->port);
        } else {
                snprintf(err, errlen, "%s: \"%s\" is not a numeric IP%s address", s, buf,
                         *s == '[' ? "v6" : "v4");
                return -1;
        }
        return 0;
}

int metrics_serve(struct metrics *m, const char *addr_port, char *err, size_t errlen)
{
        struct listen_addr a;

        if (m->daemon) {
                snprintf(err, errlen, "%s: metrics are already being served", addr_port);
                return -1;
        }
        if (parse_addr(addr_port, &a, err, errlen) < 0)
                return -1;
        pthread_mutex_lock(&m->lock);
        m->log_on = 1;
        m->log[0] = '\0';
        pthread_mutex_unlock(&m->lock);
        m->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | a.flags,
                                     a.port, NULL, NULL, on_request, m,
                                     MHD_OPTION_EXTERNAL_LOGGER, on_log, m,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a.sa,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CLIENTS,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CLIENT_TIMEOUT_S,
                                     MHD_OPTION_END);
        pthread_mutex_lock(&m->lock);
        m->log_on = 0;
        if (!m->daemon)
                snprintf(err, errlen, "%s: cannot serve metrics: %s", addr_port,
                         m->log[0] ? m->log : "libmicrohttpd failed to start");
        pthread_mutex_unlock(&m->lock);
        return m->daemon ? 0 : -1;
}
