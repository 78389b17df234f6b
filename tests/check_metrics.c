/* check_metrics.c - unit tests of the Prometheus endpoint (src/metrics.c):
 * fake finished records and detector results go through metrics_conn(),
 * and the exact exposition lines are checked (counters, cumulative
 * buckets, _sum/_count, the "other" port after METRICS_MAX_PORTS, order);
 * then the HTTP side: /metrics over a plain socket, 404, 405, bad
 * addresses, a port in use, and updates racing scrapes. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <check.h>

#include "record.h"
#include "detect.h"
#include "metrics.h"
#include "tcpsm.h"

#define SEC     1000000000LL
#define BASE    (1709294400LL * SEC)    /* 2024-03-01 12:00:00 UTC */

/* ---- helpers ---- */

/* A finished record: SYN at BASE, first FIN or RST by `by` (-1: none)
 * at BASE + 1 s, and, when peer_too, the other side's FIN at BASE + 2 s. */
static struct conn fake(uint16_t srv_port, int by, enum close_how how, int peer_too)
{
        struct conn c;

        memset(&c, 0, sizeof c);
        c.family = 4;
        c.cli.port = 40000;
        c.srv.port = srv_port;
        c.syn_ts = BASE;
        c.close = (uint8_t)(by < 0 ? CLOSE_NONE : 2 * by + (how == HOW_RST));
        c.close_at = by < 0 ? 0 : BASE + SEC;
        if (by >= 0) {
                struct pkt_mark *pm = how == HOW_RST ? &c.s[by].rst : &c.s[by].fin;
                pm->ts = BASE + SEC;
                pm->flags = how == HOW_RST ? TH_RST : TH_FIN | TH_ACK;
                if (peer_too) {
                        c.s[!by].fin.ts = BASE + 2 * SEC;
                        c.s[!by].fin.flags = TH_FIN | TH_ACK;
                }
        }
        return c;
}

static struct det_result det(double syn_to_close, double idle_before_close)
{
        struct det_result d;

        memset(&d, 0, sizeof d);
        d.syn_to_close = syn_to_close;
        d.idle_before_close = idle_before_close;
        return d;
}

static void add_finding(struct det_result *d, enum finding_kind k)
{
        ck_assert_int_lt(d->n, DET_MAX);
        d->f[d->n].kind = (uint8_t)k;
        d->f[d->n].a = d->f[d->n].b = NAN;
        d->n++;
}

static void conn_closed(struct metrics *m, uint16_t port, int by, enum close_how how,
                        double syn_to_close, double idle)
{
        struct conn c = fake(port, by, how, 0);
        struct det_result d = det(syn_to_close, idle);

        metrics_conn(m, &c, &d);
}

/* Offset of line (a whole line) in text, or -1. */
static long line_at(const char *text, const char *line)
{
        size_t n = strlen(line);

        for (const char *p = text; (p = strstr(p, line)); p++)
                if ((p == text || p[-1] == '\n') && p[n] == '\n')
                        return (long)(p - text);
        return -1;
}

#define ck_line(text, line) \
        ck_assert_msg(line_at(text, line) >= 0, "no line \"%s\" in:\n%s", line, text)
#define ck_no_line(text, line) \
        ck_assert_msg(line_at(text, line) < 0, "unexpected line \"%s\" in:\n%s", line, text)
#define ck_before(text, a, b) do { \
                ck_line(text, a); \
                ck_line(text, b); \
                ck_assert_msg(line_at(text, a) < line_at(text, b), "\"%s\" not before \"%s\"", a, b); \
        } while (0)

static size_t count_prefix(const char *text, const char *prefix)
{
        size_t n = 0, len = strlen(prefix);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                n += !strncmp(p, prefix, len);
        return n;
}

/* ---- rendering ---- */

static const char empty_text[] =
        "# HELP rstscope_packets_total Packets captured.\n"
        "# TYPE rstscope_packets_total counter\n"
        "rstscope_packets_total 0\n"
        "# HELP rstscope_tcp_packets_total Captured packets that decoded to a TCP segment.\n"
        "# TYPE rstscope_tcp_packets_total counter\n"
        "rstscope_tcp_packets_total 0\n"
        "# HELP rstscope_packets_dropped_total Packets the kernel dropped for lack of buffer space.\n"
        "# TYPE rstscope_packets_dropped_total counter\n"
        "rstscope_packets_dropped_total 0\n"
        "# HELP rstscope_packets_if_dropped_total Packets the network interface or its driver dropped.\n"
        "# TYPE rstscope_packets_if_dropped_total counter\n"
        "rstscope_packets_if_dropped_total 0\n"
        "# HELP rstscope_open_connections TCP connections being tracked.\n"
        "# TYPE rstscope_open_connections gauge\n"
        "rstscope_open_connections 0\n"
        "# HELP rstscope_connections_total Finished TCP connections by server port and who "
        "closed them first and how.\n"
        "# TYPE rstscope_connections_total counter\n"
        "# HELP rstscope_findings_total Finished TCP connections with a finding, by server port "
        "and kind (a connection counts once per kind).\n"
        "# TYPE rstscope_findings_total counter\n"
        "# HELP rstscope_syn_to_close_seconds Time from the client's first SYN to the first FIN "
        "or RST, by server port and the side that sent it and which.\n"
        "# TYPE rstscope_syn_to_close_seconds histogram\n"
        "# HELP rstscope_idle_before_close_seconds Time from the last payload to the first FIN "
        "or RST, by server port and the side that sent it and which.\n"
        "# TYPE rstscope_idle_before_close_seconds histogram\n";

START_TEST(empty_has_every_family)
{
        struct metrics *m = metrics_create();
        char *t;

        ck_assert_ptr_nonnull(m);
        t = metrics_render(m);
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t, empty_text);
        free(t);
        metrics_destroy(m);
}
END_TEST

START_TEST(capture_counters)
{
        struct metrics *m = metrics_create();
        char *t;

        metrics_capture(m, 1000, 900, 7, 3, 42);
        metrics_capture(m, 123456789012ULL, 123456789000ULL, 8, 4, 41);  /* latest wins */
        t = metrics_render(m);
        ck_line(t, "rstscope_packets_total 123456789012");
        ck_line(t, "rstscope_tcp_packets_total 123456789000");
        ck_line(t, "rstscope_packets_dropped_total 8");
        ck_line(t, "rstscope_packets_if_dropped_total 4");
        ck_line(t, "rstscope_open_connections 41");
        free(t);
        metrics_destroy(m);
}
END_TEST

START_TEST(connections_by_close)
{
        struct metrics *m = metrics_create();
        struct conn c;
        char *t;

        conn_closed(m, 8080, CLIENT, HOW_FIN, 1, 1);
        conn_closed(m, 8080, CLIENT, HOW_FIN, 1, 1);
        conn_closed(m, 8080, SERVER, HOW_RST, 1, 1);
        conn_closed(m, 8080, -1, HOW_NONE, NAN, NAN);
        conn_closed(m, 80, CLIENT, HOW_RST, 1, 1);
        c = fake(80, SERVER, HOW_FIN, 1);       /* server FIN first, client FIN later */
        metrics_conn(m, &c, NULL);              /* no detector result: counted all the same */
        t = metrics_render(m);
        ck_line(t, "rstscope_connections_total{server_port=\"8080\",close_by=\"client\",close_how=\"fin\"} 2");
        ck_line(t, "rstscope_connections_total{server_port=\"8080\",close_by=\"server\",close_how=\"rst\"} 1");
        ck_line(t, "rstscope_connections_total{server_port=\"8080\",close_by=\"none\",close_how=\"none\"} 1");
        ck_line(t, "rstscope_connections_total{server_port=\"80\",close_by=\"client\",close_how=\"rst\"} 1");
        ck_line(t, "rstscope_connections_total{server_port=\"80\",close_by=\"server\",close_how=\"fin\"} 1");
        ck_assert_uint_eq(count_prefix(t, "rstscope_connections_total{"), 5);
        /* ports numerically, then close_by, close_how alphabetically */
        ck_before(t, "rstscope_connections_total{server_port=\"80\",close_by=\"server\",close_how=\"fin\"} 1",
                  "rstscope_connections_total{server_port=\"8080\",close_by=\"client\",close_how=\"fin\"} 2");
        ck_before(t, "rstscope_connections_total{server_port=\"8080\",close_by=\"none\",close_how=\"none\"} 1",
                  "rstscope_connections_total{server_port=\"8080\",close_by=\"server\",close_how=\"rst\"} 1");
        /* no close, no histogram; the one without a detector result neither */
        ck_assert_uint_eq(count_prefix(t, "rstscope_syn_to_close_seconds_count{"), 3);
        ck_line(t, "rstscope_syn_to_close_seconds_count{server_port=\"8080\",side=\"client\",how=\"fin\"} 2");
        ck_line(t, "rstscope_syn_to_close_seconds_count{server_port=\"8080\",side=\"server\",how=\"rst\"} 1");
        ck_line(t, "rstscope_syn_to_close_seconds_count{server_port=\"80\",side=\"client\",how=\"rst\"} 1");
        free(t);
        metrics_destroy(m);
}
END_TEST

START_TEST(findings_once_per_kind)
{
        struct metrics *m = metrics_create();
        struct conn c = fake(3000, SERVER, HOW_FIN, 0);
        struct det_result d = det(6, 5.5);
        char *t;

        add_finding(&d, DET_IDLE_CLOSE);
        add_finding(&d, DET_DATA_AFTER_PEER_FIN);
        add_finding(&d, DET_IDLE_CLOSE);        /* both sides idle-closed: still one */
        metrics_conn(m, &c, &d);
        d = det(0.001, NAN);
        add_finding(&d, DET_REFUSED);
        c = fake(3000, SERVER, HOW_RST, 0);
        metrics_conn(m, &c, &d);
        d = det(2, 2);
        add_finding(&d, DET_IDLE_CLOSE);
        c = fake(3000, CLIENT, HOW_FIN, 0);
        metrics_conn(m, &c, &d);
        t = metrics_render(m);
        ck_line(t, "rstscope_findings_total{server_port=\"3000\",kind=\"idle_close\"} 2");
        ck_line(t, "rstscope_findings_total{server_port=\"3000\",kind=\"data_after_peer_fin\"} 1");
        ck_line(t, "rstscope_findings_total{server_port=\"3000\",kind=\"refused\"} 1");
        ck_assert_uint_eq(count_prefix(t, "rstscope_findings_total{"), 3);
        ck_before(t, "rstscope_findings_total{server_port=\"3000\",kind=\"data_after_peer_fin\"} 1",
                  "rstscope_findings_total{server_port=\"3000\",kind=\"idle_close\"} 2");
        ck_before(t, "rstscope_findings_total{server_port=\"3000\",kind=\"idle_close\"} 2",
                  "rstscope_findings_total{server_port=\"3000\",kind=\"refused\"} 1");
        free(t);
        metrics_destroy(m);
}
END_TEST

START_TEST(histogram_cumulative)
{
        struct metrics *m = metrics_create();
        char *t;

        /* syn_to_close 0.005 (on a bound: le is inclusive), 5.5, 10, 4000 (past
         * the last bound: +Inf only); idle 0.2, 5.5, NaN (skipped), 4000 */
        conn_closed(m, 8080, SERVER, HOW_FIN, 0.005, 0.2);
        conn_closed(m, 8080, SERVER, HOW_FIN, 5.5, 5.5);
        conn_closed(m, 8080, SERVER, HOW_FIN, 10, NAN);
        conn_closed(m, 8080, SERVER, HOW_FIN, 4000, 4000);
        t = metrics_render(m);
#define S2C "rstscope_syn_to_close_seconds"
#define SRVFIN "server_port=\"8080\",side=\"server\",how=\"fin\""
        ck_line(t, S2C "_bucket{" SRVFIN ",le=\"0.005\"} 1");
        ck_line(t, S2C "_bucket{" SRVFIN ",le=\"0.01\"} 1");
        ck_line(t, S2C "_bucket{" SRVFIN ",le=\"5\"} 1");
        ck_line(t, S2C "_bucket{" SRVFIN ",le=\"6\"} 2");
        ck_line(t, S2C "_bucket{" SRVFIN ",le=\"10\"} 3");
        ck_line(t, S2C "_bucket{" SRVFIN ",le=\"15\"} 3");
        ck_line(t, S2C "_bucket{" SRVFIN ",le=\"3600\"} 3");
        ck_line(t, S2C "_bucket{" SRVFIN ",le=\"+Inf\"} 4");
        ck_line(t, S2C "_sum{" SRVFIN "} 4015.505");
        ck_line(t, S2C "_count{" SRVFIN "} 4");
        ck_before(t, S2C "_bucket{" SRVFIN ",le=\"3600\"} 3", S2C "_bucket{" SRVFIN ",le=\"+Inf\"} 4");
        ck_before(t, S2C "_bucket{" SRVFIN ",le=\"+Inf\"} 4", S2C "_sum{" SRVFIN "} 4015.505");
        ck_before(t, S2C "_sum{" SRVFIN "} 4015.505", S2C "_count{" SRVFIN "} 4");
        ck_assert_uint_eq(count_prefix(t, S2C "_bucket{"), 24);
#define IDLE "rstscope_idle_before_close_seconds"
        ck_line(t, IDLE "_bucket{" SRVFIN ",le=\"0.1\"} 0");
        ck_line(t, IDLE "_bucket{" SRVFIN ",le=\"0.25\"} 1");
        ck_line(t, IDLE "_bucket{" SRVFIN ",le=\"5\"} 1");
        ck_line(t, IDLE "_bucket{" SRVFIN ",le=\"6\"} 2");
        ck_line(t, IDLE "_bucket{" SRVFIN ",le=\"3600\"} 2");
        ck_line(t, IDLE "_bucket{" SRVFIN ",le=\"+Inf\"} 3");
        ck_line(t, IDLE "_sum{" SRVFIN "} 4005.7");
        ck_line(t, IDLE "_count{" SRVFIN "} 3");
        free(t);
        metrics_destroy(m);
}
END_TEST

START_TEST(every_bucket_bound)
{
        static const char *const le[] = {
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2", "3", "5", "6",
                "10", "15", "20", "30", "60", "75", "90", "120", "300", "600", "3600", "+Inf",
        };
        struct metrics *m = metrics_create();
        char line[160], *t;

        for (size_t i = 0; i < 23; i++)         /* one observation on each finite bound */
                conn_closed(m, 9000, CLIENT, HOW_RST, strtod(le[i], NULL), NAN);
        t = metrics_render(m);
        for (size_t i = 0; i < 24; i++) {
                snprintf(line, sizeof line, "rstscope_syn_to_close_seconds_bucket{server_port=\"9000\","
                         "side=\"client\",how=\"rst\",le=\"%s\"} %zu", le[i], i < 23 ? i + 1 : 23);
                ck_line(t, line);
        }
        ck_assert_uint_eq(count_prefix(t, "rstscope_idle_before_close_seconds_bucket{"), 0);
        free(t);
        metrics_destroy(m);
}
END_TEST

START_TEST(other_port_after_64)
{
        struct metrics *m = metrics_create();
        char line[160], *t;

        /* ports 10000, 10001, ... in descending order of arrival, twice each */
        for (int round = 0; round < 2; round++)
                for (int i = METRICS_MAX_PORTS + 5; i >= 0; i--)
                        conn_closed(m, (uint16_t)(10000 + i), CLIENT, HOW_FIN, 1, 1);
        t = metrics_render(m);
        /* the first 64 seen (10069 down to 10006) are named, 10005..10000 are "other" */
        ck_assert_uint_eq(count_prefix(t, "rstscope_connections_total{"), METRICS_MAX_PORTS + 1);
        ck_line(t, "rstscope_connections_total{server_port=\"10006\",close_by=\"client\",close_how=\"fin\"} 2");
        ck_line(t, "rstscope_connections_total{server_port=\"10069\",close_by=\"client\",close_how=\"fin\"} 2");
        ck_no_line(t, "rstscope_connections_total{server_port=\"10005\",close_by=\"client\",close_how=\"fin\"} 2");
        ck_line(t, "rstscope_connections_total{server_port=\"other\",close_by=\"client\",close_how=\"fin\"} 12");
        ck_before(t, "rstscope_connections_total{server_port=\"10006\",close_by=\"client\",close_how=\"fin\"} 2",
                  "rstscope_connections_total{server_port=\"10069\",close_by=\"client\",close_how=\"fin\"} 2");
        ck_before(t, "rstscope_connections_total{server_port=\"10069\",close_by=\"client\",close_how=\"fin\"} 2",
                  "rstscope_connections_total{server_port=\"other\",close_by=\"client\",close_how=\"fin\"} 12");
        ck_line(t, "rstscope_syn_to_close_seconds_count{server_port=\"other\",side=\"client\",how=\"fin\"} 12");
        /* a named port stays named; a new one after that is other */
        conn_closed(m, 10006, SERVER, HOW_RST, 1, 1);
        conn_closed(m, 443, SERVER, HOW_RST, 1, 1);
        free(t);
        t = metrics_render(m);
        ck_line(t, "rstscope_connections_total{server_port=\"10006\",close_by=\"server\",close_how=\"rst\"} 1");
        ck_line(t, "rstscope_connections_total{server_port=\"other\",close_by=\"server\",close_how=\"rst\"} 1");
        ck_no_line(t, "rstscope_connections_total{server_port=\"443\",close_by=\"server\",close_how=\"rst\"} 1");
        snprintf(line, sizeof line, "rstscope_connections_total{server_port=\"%d\",close_by=\"client\","
                 "close_how=\"fin\"} 2", 10000 + METRICS_MAX_PORTS + 5);
        ck_line(t, line);
        free(t);
        metrics_destroy(m);
}
END_TEST

/* The same connections in a different order render the same text. */
START_TEST(order_independent)
{
        struct metrics *a = metrics_create(), *b = metrics_create();
        static const uint16_t ports[] = { 8080, 80, 443, 9090, 22 };
        char *ta, *tb;

        for (size_t i = 0; i < 5; i++)
                for (int k = 0; k < 4; k++) {
                        conn_closed(a, ports[i], k % 2, k < 2 ? HOW_FIN : HOW_RST, 0.5 * k, 0.25 * k);
                        conn_closed(b, ports[4 - i], (3 - k) % 2, 3 - k < 2 ? HOW_FIN : HOW_RST,
                                    0.5 * (3 - k), 0.25 * (3 - k));
                }
        ta = metrics_render(a);
        tb = metrics_render(b);
        ck_assert_str_eq(ta, tb);
        ck_before(ta, "rstscope_connections_total{server_port=\"22\",close_by=\"client\",close_how=\"fin\"} 1",
                  "rstscope_connections_total{server_port=\"80\",close_by=\"client\",close_how=\"fin\"} 1");
        ck_before(ta, "rstscope_connections_total{server_port=\"443\",close_by=\"server\",close_how=\"rst\"} 1",
                  "rstscope_connections_total{server_port=\"8080\",close_by=\"client\",close_how=\"fin\"} 1");
        free(ta);
        free(tb);
        metrics_destroy(a);
        metrics_destroy(b);
}
END_TEST

/* ---- HTTP ---- */

static const int try_ports[] = { 39101, 41737, 44171, 46853, 49331, 51287 };

/* Serve on 127.0.0.1 at the first free port of try_ports; returns it. */
static int serve_somewhere(struct metrics *m)
{
        char addr[32], err[256] = "";

        for (size_t i = 0; i < sizeof try_ports / sizeof *try_ports; i++) {
                snprintf(addr, sizeof addr, "127.0.0.1:%d", try_ports[i]);
                if (metrics_serve(m, addr, err, sizeof err) == 0)
                        return try_ports[i];
        }
        ck_abort_msg("no port to serve on: %s", err);
        return -1;
}

/* Send request to 127.0.0.1:port and read the whole answer (the server
 * closes after an HTTP/1.0 exchange); malloc'd. */
static char *http(int port, const char *request)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        struct timeval tv = { .tv_sec = 3 };
        size_t len = 0, cap = 65536;
        char *buf = malloc(cap);
        ssize_t r;
        int fd;

        ck_assert_ptr_nonnull(buf);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(fd, 0);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s",
                      strerror(errno));
        ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
        while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
                len += (size_t)r;
                if (len + 1 == cap) {
                        char *p = realloc(buf, cap *= 2);
                        ck_assert_ptr_nonnull(p);
                        buf = p;
                }
        }
        ck_assert_msg(r == 0, "read: %s", strerror(errno));
        close(fd);
        buf[len] = '\0';
        return buf;
}

static int status_of(const char *resp)
{
        int status = 0;

        ck_assert_msg(sscanf(resp, "HTTP/1.%*d %d", &status) == 1, "no status line: %s", resp);
        return status;
}

START_TEST(serves_metrics)
{
        struct metrics *m = metrics_create();
        int port = serve_somewhere(m);
        char *resp, *body, *t;

        conn_closed(m, 8080, SERVER, HOW_RST, 5.2, 5.1);
        metrics_capture(m, 10, 9, 0, 0, 1);
        resp = http(port, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
        ck_assert_int_eq(status_of(resp), 200);
        ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        body = strstr(resp, "\r\n\r\n");
        ck_assert_ptr_nonnull(body);
        body += 4;
        ck_line(body, "rstscope_connections_total{server_port=\"8080\",close_by=\"server\",close_how=\"rst\"} 1");
        ck_line(body, "rstscope_packets_total 10");
        t = metrics_render(m);
        ck_assert_str_eq(body, t);              /* /metrics serves exactly metrics_render() */
        free(t);
        free(resp);

        resp = http(port, "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        ck_assert_int_eq(status_of(resp), 200);
        free(resp);

        resp = http(port, "GET /other HTTP/1.0\r\n\r\n");
        ck_assert_int_eq(status_of(resp), 404);
        free(resp);
        resp = http(port, "GET / HTTP/1.0\r\n\r\n");
        ck_assert_int_eq(status_of(resp), 404);
        free(resp);
        resp = http(port, "GET /metrics/ HTTP/1.0\r\n\r\n");
        ck_assert_int_eq(status_of(resp), 404);
        free(resp);

        resp = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
        ck_assert_int_eq(status_of(resp), 405);
        ck_assert_ptr_nonnull(strstr(resp, "\r\nAllow: GET\r\n"));
        free(resp);
        resp = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
        ck_assert_int_eq(status_of(resp), 405);
        free(resp);
        metrics_destroy(m);
}
END_TEST

/* Read one response with a Content-Length from fd; its status. */
static int read_one(int fd)
{
        char buf[131072];
        size_t len = 0, want = 0;
        const char *cl, *end = NULL;
        ssize_t r;

        while (!end || len < want) {
                r = read(fd, buf + len, sizeof buf - 1 - len);
                ck_assert_msg(r > 0, "read: %s", r ? strerror(errno) : "closed early");
                len += (size_t)r;
                buf[len] = '\0';
                if (!end && (end = strstr(buf, "\r\n\r\n"))) {
                        cl = strstr(buf, "Content-Length: ");
                        ck_assert_ptr_nonnull(cl);
                        want = (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10);
                }
        }
        ck_assert_uint_eq(len, want);
        return status_of(buf);
}

/* Two scrapes on one HTTP/1.1 connection, and a GET with a body. */
START_TEST(keeps_alive)
{
        static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
        struct metrics *m = metrics_create();
        int port = serve_somewhere(m);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        struct timeval tv = { .tv_sec = 3 };
        char *resp;
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
                ck_assert_int_eq(read_one(fd), 200);
        }
        close(fd);
        resp = http(port, "GET /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
        ck_assert_int_eq(status_of(resp), 200);
        ck_assert_ptr_nonnull(strstr(resp, "\nrstscope_packets_total 0\n"));
        free(resp);
        metrics_destroy(m);
}
END_TEST

START_TEST(bad_addresses)
{
        static const char *const bad[] = {
                "9101", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                "127.0.0.1:99999999999999999999", "127.0.0.1:91x", "127.0.0.1:-1",
                "::1:9101", "[::1]9101", "[::1:9101", "[127.0.0.1]:9101", "localhost:9101",
                "1.2.3:9101", "[]:9101", "",
        };
        struct metrics *m = metrics_create();
        char err[256];

        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                err[0] = '\0';
                ck_assert_msg(metrics_serve(m, bad[i], err, sizeof err) == -1, "accepted \"%s\"", bad[i]);
                ck_assert_msg(err[0] && !strchr(err, '\n'), "\"%s\": reason \"%s\"", bad[i], err);
        }
        metrics_serve(m, "127.0.0.1:0", err, sizeof err);
        ck_assert_str_eq(err, "127.0.0.1:0: the port must be a number from 1 to 65535");
        metrics_serve(m, "::1:9101", err, sizeof err);
        ck_assert_str_eq(err, "::1:9101: IPv6 addresses go in brackets: [::1]:9101");
        metrics_serve(m, "localhost:9101", err, sizeof err);
        ck_assert_str_eq(err, "localhost:9101: \"localhost\" is not a numeric IPv4 address");
        metrics_destroy(m);
}
END_TEST

START_TEST(port_in_use)
{
        struct metrics *a = metrics_create(), *b = metrics_create();
        int port = serve_somewhere(a);
        char addr[32], err[256] = "";

        snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
        ck_assert_int_eq(metrics_serve(b, addr, err, sizeof err), -1);
        ck_assert_msg(strstr(err, addr) && strstr(err, "in use") && !strchr(err, '\n'),
                      "reason: \"%s\"", err);
        ck_assert_int_eq(metrics_serve(a, addr, err, sizeof err), -1);    /* serving already */
        metrics_destroy(b);                     /* never served: nothing to stop */
        metrics_destroy(a);
        metrics_destroy(NULL);
}
END_TEST

START_TEST(serves_ipv6_and_all)
{
        struct metrics *m = metrics_create();
        char err[256] = "", addr[32];
        int ok = 0;

        /* loopback IPv6 may be missing in a container: then only check the
         * error is one line */
        for (size_t i = 0; i < sizeof try_ports / sizeof *try_ports && !ok; i++) {
                snprintf(addr, sizeof addr, "[::1]:%d", try_ports[i]);
                ok = metrics_serve(m, addr, err, sizeof err) == 0;
        }
        ck_assert_msg(ok || (err[0] && !strchr(err, '\n')), "%s", err);
        metrics_destroy(m);

        m = metrics_create();
        ok = 0;
        for (size_t i = 0; i < sizeof try_ports / sizeof *try_ports && !ok; i++) {
                snprintf(addr, sizeof addr, ":%d", try_ports[i]);
                ok = metrics_serve(m, addr, err, sizeof err) == 0;
                if (ok) {                       /* all addresses include IPv4 loopback */
                        char *resp = http(try_ports[i], "GET /metrics HTTP/1.0\r\n\r\n");
                        ck_assert_int_eq(status_of(resp), 200);
                        free(resp);
                }
        }
        ck_assert_msg(ok, "%s", err);
        metrics_destroy(m);
}
END_TEST

/* ---- threads ---- */

#define RACE_CONNS 20000

static void *closer(void *arg)
{
        struct metrics *m = arg;

        for (int i = 0; i < RACE_CONNS; i++) {
                conn_closed(m, (uint16_t)(1000 + i % 100), i % 2, i % 3 ? HOW_FIN : HOW_RST,
                            (i % 50) * 0.1, (i % 7) * 0.5);
                if (i % 1000 == 0)
                        metrics_capture(m, (uint64_t)i * 10, (uint64_t)i * 9, 0, 0, (uint64_t)i % 17);
        }
        return NULL;
}

/* The capture thread updates while scrapes render; the end state is exact. */
START_TEST(updates_race_scrapes)
{
        struct metrics *m = metrics_create();
        int port = serve_somewhere(m);
        pthread_t th;
        unsigned long long total = 0, n;
        char *t, *p;

        ck_assert_int_eq(pthread_create(&th, NULL, closer, m), 0);
        for (int i = 0; i < 20; i++) {
                char *resp = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
                ck_assert_int_eq(status_of(resp), 200);
                free(resp);
        }
        ck_assert_int_eq(pthread_join(th, NULL), 0);
        t = metrics_render(m);
        for (p = t; (p = strstr(p, "\nrstscope_connections_total{")); p++) {
                const char *v = strchr(p, '}');
                ck_assert_int_eq(sscanf(v, "} %llu", &n), 1);
                total += n;
        }
        ck_assert_uint_eq(total, RACE_CONNS);
        ck_line(t, "rstscope_connections_total{server_port=\"other\",close_by=\"client\",close_how=\"fin\"} 2400");
        free(t);
        metrics_destroy(m);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("metrics");
        TCase *tr = tcase_create("render");
        TCase *th = tcase_create("http");
        SRunner *sr;
        int failed;

        tcase_add_test(tr, empty_has_every_family);
        tcase_add_test(tr, capture_counters);
        tcase_add_test(tr, connections_by_close);
        tcase_add_test(tr, findings_once_per_kind);
        tcase_add_test(tr, histogram_cumulative);
        tcase_add_test(tr, every_bucket_bound);
        tcase_add_test(tr, other_port_after_64);
        tcase_add_test(tr, order_independent);
        suite_add_tcase(s, tr);
        tcase_set_timeout(th, 30);
        tcase_add_test(th, serves_metrics);
        tcase_add_test(th, keeps_alive);
        tcase_add_test(th, bad_addresses);
        tcase_add_test(th, port_in_use);
        tcase_add_test(th, serves_ipv6_and_all);
        tcase_add_test(th, updates_race_scrapes);
        suite_add_tcase(s, th);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
