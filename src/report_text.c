/* report_text.c - the human-readable report: inputs, capture span, a
 * summary by Zeek conn_state and by who closed how, then an aligned table
 * of connections (more columns with -v).  Also the helpers both writers
 * share.  Reads records; computes nothing the state machine owns. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

static const char *const state_names[] = {
        "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH",
};
#define NSTATES (sizeof state_names / sizeof state_names[0])

static const char *const close_names[5] = {
        "client FIN", "client RST", "server FIN", "server RST", "none",
};

const char *report_ip(const struct conn *c, int side, char *buf, size_t len)
{
        const struct endpoint *e = side == CLIENT ? &c->cli : &c->srv;

        if (!inet_ntop(c->family == 6 ? AF_INET6 : AF_INET, e->addr, buf, (socklen_t)len))
                snprintf(buf, len, "?");
        return buf;
}

static size_t close_index(const struct conn *c)
{
        struct close_info ci;

        tcpsm_close_info(c, &ci);
        if (ci.by < 0)
                return 4;
        return (size_t)(ci.by * 2 + (ci.how == HOW_RST));
}

void report_close_counts(const struct report *r, size_t counts[5])
{
        memset(counts, 0, 5 * sizeof counts[0]);
        for (size_t i = 0; i < r->nconns; i++)
                counts[close_index(&r->conns[i])]++;
}

/* "2024-03-01 12:00:00.123456 UTC" (date_too) or "12:00:00.123456". */
static const char *fmt_time(int64_t ns, int date_too, char *buf, size_t len)
{
        time_t sec = (time_t)(ns / 1000000000);
        long usec = (long)((ns % 1000000000) / 1000);
        struct tm tm;
        char tz[16] = "";
        size_t n;

        if (ns < 0 && usec) {
                sec--;
                usec += 1000000;
        }
        if (!localtime_r(&sec, &tm)) {
                snprintf(buf, len, "%" PRId64, ns);
                return buf;
        }
        n = strftime(buf, len, date_too ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
        if (date_too)
                strftime(tz, sizeof tz, " %Z", &tm);
        snprintf(buf + n, len - n, ".%06ld%s", usec, tz);
        return buf;
}

static void text_inputs(FILE *out, const struct report *r)
{
        for (size_t i = 0; i < r->cap->nin; i++) {
                const struct input *in = &r->cap->in[i];
                int first = 1;

                fprintf(out, "input    %s (%s, %s): %" PRIu64 " packets, %" PRIu64 " TCP\n",
                        in->name, in->format, decode_link_name(in->linktype),
                        in->packets, in->tcp_packets);
                for (int k = DEC_FRAGMENT; k < DEC_NRESULTS; k++) {
                        if (!in->errors[k])
                                continue;
                        fprintf(out, "%s%s %" PRIu64, first ? "         skipped: " : ", ",
                                decode_result_name((enum dec_result)k), in->errors[k]);
                        first = 0;
                }
                if (!first)
                        fputc('\n', out);
                if (in->truncated)
                        fprintf(out, "         stopped early: %s\n", in->error);
        }
}

static void text_capture(FILE *out, const struct report *r)
{
        char a[64], b[64];

        if (r->first)
                fprintf(out, "capture  %s .. %s (%.3f s)\n", fmt_time(r->first, 1, a, sizeof a),
                        fmt_time(r->last, 1, b, sizeof b), (double)(r->last - r->first) / 1e9);
        else
                fprintf(out, "capture  no packets\n");
        if (r->flags_only)
                fprintf(out, "         SYN/FIN/RST-only capture: data packets were filtered out, "
                        "not lost;\n         byte counts come from sequence numbers\n");
        if (r->st->duplicates)
                fprintf(out, "         %" PRIu64 " duplicate packets (capture copies) ignored\n",
                        r->st->duplicates);
        if (r->evicted)
                fprintf(out, "         %" PRIu64 " connections expired early at the table cap\n",
                        r->evicted);
}

static void text_summary(FILE *out, const struct report *r)
{
        size_t st[NSTATES] = { 0 }, cl[5];
        int first = 1;

        for (size_t i = 0; i < r->nconns; i++) {
                const char *s = tcpsm_conn_state(&r->conns[i]);
                for (size_t k = 0; k < NSTATES; k++)
                        if (strcmp(s, state_names[k]) == 0)
                                st[k]++;
        }
        fprintf(out, "\n%zu connection%s\n", r->nconns, r->nconns == 1 ? "" : "s");
        if (!r->nconns)
                return;
        fprintf(out, "  by state:");
        for (size_t k = 0; k < NSTATES; k++)
                if (st[k]) {
                        fprintf(out, "%s %s %zu", first ? "" : ",", state_names[k], st[k]);
                        first = 0;
                }
        report_close_counts(r, cl);
        fprintf(out, "\n  by close:");
        for (int k = 0; k < 5; k++)
                fprintf(out, "%s %s %zu", k ? "," : "", close_names[k], cl[k]);
        fputc('\n', out);
}

/* The close column: who and how, or why the record ended open. */
static const char *close_label(const struct conn *c)
{
        size_t k = close_index(c);

        if (k < 4)
                return close_names[k];
        switch ((enum close_reason)c->reason) {
        case CLOSE_REASON_IDLE: return "idle";
        case CLOSE_REASON_EOF: return "open";
        case CLOSE_REASON_REUSE: return "reused";
        case CLOSE_REASON_EVICT: return "evicted";
        default: return "-";
        }
}

static void fmt_endpoint(const struct conn *c, int side, char *buf, size_t len)
{
        char ip[64];
        const struct endpoint *e = side == CLIENT ? &c->cli : &c->srv;

        report_ip(c, side, ip, sizeof ip);
        if (c->family == 6)
                snprintf(buf, len, "[%s]:%u", ip, e->port);
        else
                snprintf(buf, len, "%s:%u", ip, e->port);
}

static void text_table(FILE *out, const struct report *r)
{
        int wc = 6, ws = 6;
        char cb[80], sb[80], tb[64], hist[RS_HISTORY_MAX + 4];

        if (!r->nconns)
                return;
        for (size_t i = 0; i < r->nconns; i++) {
                fmt_endpoint(&r->conns[i], CLIENT, cb, sizeof cb);
                fmt_endpoint(&r->conns[i], SERVER, sb, sizeof sb);
                if ((int)strlen(cb) > wc)
                        wc = (int)strlen(cb);
                if ((int)strlen(sb) > ws)
                        ws = (int)strlen(sb);
        }
        fprintf(out, "\n%4s %-*s %-*s %9s %-6s %-10s", "ID", wc, "CLIENT", ws, "SERVER",
                "DUR(s)", "STATE", "CLOSE");
        if (r->verbose)
                fprintf(out, " %-15s %-10s %8s %11s %11s %s", "START", "HANDSHAKE", "RTT(ms)",
                        "PKTS c/s", "BYTES c", "BYTES s  HISTORY");
        fputc('\n', out);
        for (size_t i = 0; i < r->nconns; i++) {
                const struct conn *c = &r->conns[i];
                char pk[32];
                fmt_endpoint(c, CLIENT, cb, sizeof cb);
                fmt_endpoint(c, SERVER, sb, sizeof sb);
                fprintf(out, "%4" PRIu64 " %-*s %-*s %9.3f %-6s %-10s", c->id, wc, cb, ws, sb,
                        (double)(c->end - c->first) / 1e9, tcpsm_conn_state(c), close_label(c));
                if (r->verbose) {
                        snprintf(pk, sizeof pk, "%u/%u", c->s[CLIENT].pkts, c->s[SERVER].pkts);
                        tcpsm_history(c, r->flags_only, hist, sizeof hist);
                        fprintf(out, " %-15s %-10s ", fmt_time(c->first, 0, tb, sizeof tb),
                                tcpsm_handshake(c));
                        if (tcpsm_rtt_ns(c) >= 0)
                                fprintf(out, "%8.3f", (double)tcpsm_rtt_ns(c) / 1e6);
                        else
                                fprintf(out, "%8s", "-");
                        fprintf(out, " %11s %11" PRIu64 " %11" PRIu64 "  %s", pk,
                                tcpsm_bytes(c, CLIENT), tcpsm_bytes(c, SERVER),
                                hist);
                }
                fputc('\n', out);
        }
}

/* ---- findings ---- */

/* "750ms", "6s", "2min" for histogram edges. */
static const char *fmt_secs(double v, char *buf, size_t len)
{
        if (v < 1e-3)
                snprintf(buf, len, "%gus", v * 1e6);
        else if (v < 1)
                snprintf(buf, len, "%gms", v * 1e3);
        else if (v < 600)
                snprintf(buf, len, "%gs", v);
        else
                snprintf(buf, len, "%gmin", v / 60);
        return buf;
}

/* Seconds with enough digits for both 6.000 and 0.000305. */
static const char *fmt_val(double v, char *buf)
{
        snprintf(buf, 24, v >= 0.01 || v == 0 ? "%.3f" : "%.6f", v);
        return buf;
}

static void text_histogram(FILE *out, double *v, size_t n, const char *label)
{
        struct dist_summary s;
        size_t count[SUM_HIST_BINS], maxc = 0;
        double edge[SUM_HIST_BINS];
        size_t nb;
        char a[32], b[32], q[5][24];

        if (!n)
                return;
        dist_summarize(v, n, &s);
        fprintf(out, "    %s: n=%zu min %s p50 %s p90 %s p99 %s max %s\n", label, s.n,
                fmt_val(s.min, q[0]), fmt_val(s.p50, q[1]), fmt_val(s.p90, q[2]),
                fmt_val(s.p99, q[3]), fmt_val(s.max, q[4]));
        nb = dist_histogram(v, n, count, edge, SUM_HIST_BINS);
        for (size_t i = 0; i < nb; i++)
                if (count[i] > maxc)
                        maxc = count[i];
        for (size_t i = 0; i < nb; i++) {
                int w = (int)((count[i] * 40 + maxc - 1) / maxc);
                double hi = i + 1 < nb ? edge[i + 1] : dist_edge_next(edge[i]);
                fprintf(out, "      %6s .. %-6s |%-40.*s| %zu\n", fmt_secs(edge[i], a, sizeof a),
                        fmt_secs(hi, b, sizeof b), w,
                        "########################################", count[i]);
        }
}

struct kind_text {
        const char *what;               /* one line */
        const char *measure;            /* histogram label, NULL = none */
        const char *remedy;             /* when no cluster names one */
};

static const struct kind_text kind_texts[DET_NKINDS] = {
        [DET_REFUSED] = { "the SYN was answered by RST: nothing listened on the port", NULL,
                          "check that the server is up and listening on that port when clients "
                          "connect (rollouts, readiness)" },
        [DET_CONNECT_TIMEOUT] = { "the SYNs were never answered and the client gave up",
                                  "gave up by (s)",
                                  "SYNs go unanswered: look for a full accept queue or a firewall "
                                  "dropping SYNs" },
        [DET_DATA_AFTER_PEER_FIN] = { "a request was sent after the peer's FIN: the keep-alive reuse race",
                                      "idle before the peer's FIN (s)",
                                      "make the server's keep-alive idle timeout longer than the client "
                                      "pool's, or expire pooled connections sooner; retry on reset" },
        [DET_DATA_AFTER_PEER_RST] = { "data was sent after the peer's RST (at the resetting side; at the "
                                      "other side it left before the RST arrived)",
                                      "after the RST (s)",
                                      "the peer aborted a connection with data in flight" },
        [DET_REQUEST_RESET] = { "the server reset a request it never answered (a proxy logs 503 UC, "
                                "\"upstream reset before response started\")",
                                "request age at the reset (s)",
                                "retry idempotent requests on reset; see the idle-timeout remedy" },
        [DET_IDLE_CLOSE] = { "closed after being idle", "idle before the close (s)",
                             "idle closes are normal; they matter when the other side reuses the "
                             "connection at the same moment" },
};

/* The cluster that best explains a kind, or NULL. */
static const struct sum_cluster *kind_cluster(const struct summary *s, enum finding_kind k)
{
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < s->nclusters; i++) {
                        const struct sum_cluster *c = &s->clusters[i];
                        if (c->server >= 0)
                                continue;
                        switch (k) {
                        case DET_CONNECT_TIMEOUT:
                                if (c->measure == M_CONNECT_GIVE_UP)
                                        return c;
                                break;
                        case DET_DATA_AFTER_PEER_FIN:
                        case DET_REQUEST_RESET:
                                if (c->side == SERVER && c->measure ==
                                    (pass ? M_SYN_TO_CLOSE : M_IDLE_BEFORE_CLOSE))
                                        return c;
                                break;
                        case DET_IDLE_CLOSE:
                                if (c->measure == M_IDLE_BEFORE_CLOSE)
                                        return c;
                                break;
                        default:
                                return NULL;
                        }
                }
        return NULL;
}

static void text_cluster_line(FILE *out, const struct report *r, const struct sum_cluster *c,
                              const char *indent)
{
        char ep[96] = "";
        const char *side = c->side == CLIENT ? "client" : "server";

        if (c->server >= 0)
                fmt_endpoint(r->sum->servers[c->server].rep, SERVER, ep, sizeof ep);
        if (c->measure == M_CONNECT_GIVE_UP) {
                fprintf(out, "%s%zu of %zu attempts%s%s gave up ", indent, c->pk.count, c->group_n,
                        ep[0] ? " to " : "", ep);
                if (c->pk.hi - c->pk.lo < 0.05)
                        fprintf(out, "after ~%.1f s\n", c->pk.hi);
                else if (c->pk.lo < 0.05)
                        fprintf(out, "within %.1f s of the first SYN (before its first retransmission)\n",
                                c->pk.hi);
                else
                        fprintf(out, "between %.1f and %.1f s after the first SYN\n", c->pk.lo, c->pk.hi);
        } else {
                fprintf(out, "%s%zu of %zu %s %s closes%s%s at %.2f +- %.2f s %s (%.0f%%)\n", indent,
                        c->pk.count, c->group_n, side, c->how == HOW_RST ? "RST" : "FIN",
                        ep[0] ? " of " : "", ep, c->pk.center, c->pk.spread,
                        c->measure == M_IDLE_BEFORE_CLOSE ? "idle" : "after the SYN",
                        100.0 * (double)c->pk.count / (double)c->group_n);
        }
        for (size_t i = 0; i < c->nlikely; i++)
                fprintf(out, "%s  likely: consistent with %s [%s]\n", indent, c->likely[i]->what,
                        c->likely[i]->source);
        if (!c->nlikely)
                fprintf(out, "%s  likely: no well-known default at %.1f s: a configured timeout\n",
                        indent, c->pk.center);
        fprintf(out, "%s  remedy: %s\n", indent, c->remedy);
}

static void text_example(FILE *out, const struct report *r, const struct conn *c, int filter)
{
        char cb[96], sb[96], tb[64], a[64], b[64];

        fmt_endpoint(c, CLIENT, cb, sizeof cb);
        fmt_endpoint(c, SERVER, sb, sizeof sb);
        fprintf(out, "    e.g. #%" PRIu64 " %s > %s at %s\n", c->id, cb, sb, fmt_time(c->first, 0, tb, sizeof tb));
        if (!filter)
                return;
        report_ip(c, CLIENT, a, sizeof a);
        report_ip(c, SERVER, b, sizeof b);
        fprintf(out, "    look: tcpdump -nn -r %s 'host %s%s%s and tcp port %u and tcp port %u'\n",
                strcmp(r->cap->in[0].name, "-") ? r->cap->in[0].name : "FILE", a,
                strcmp(a, b) ? " and host " : "", strcmp(a, b) ? b : "", c->cli.port, c->srv.port);
}

static int by_kind_count(const void *x, const void *y, const struct summary *s)
{
        int a = *(const int *)x, b = *(const int *)y;
        if (s->kind_conns[a] != s->kind_conns[b])
                return s->kind_conns[a] > s->kind_conns[b] ? -1 : 1;
        return a - b;
}

static void text_findings(FILE *out, const struct report *r)
{
        int order[DET_NKINDS], nk = 0;
        double *v = malloc((r->nconns ? r->nconns : 1) * sizeof *v);

        if (!v)
                return;
        for (int k = 0; k < DET_NKINDS; k++)
                if (r->sum->kind_conns[k])
                        order[nk++] = k;
        for (int i = 1; i < nk; i++)            /* insertion sort: six kinds */
                for (int j = i; j > 0 && by_kind_count(&order[j], &order[j - 1], r->sum) < 0; j--) {
                        int t = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = t;
                }
        fprintf(out, "\nfindings%s\n", nk ? ", by connections affected:" : ": none");
        for (int i = 0; i < nk; i++) {
                enum finding_kind k = (enum finding_kind)order[i];
                const struct kind_text *kt = &kind_texts[k];
                const struct sum_cluster *cl = kind_cluster(r->sum, k);
                size_t n = 0, ex = 0;

                fprintf(out, "\n  %s: %zu of %zu connections (%.1f%%)", detect_kind_name(k),
                        r->sum->kind_conns[k], r->nconns,
                        100.0 * (double)r->sum->kind_conns[k] / (double)r->nconns);
                if (r->sum->kind_inferred[k])
                        fprintf(out, ", %zu inferred from sequence numbers", r->sum->kind_inferred[k]);
                fprintf(out, "\n    %s\n", kt->what);
                for (size_t c = 0; c < r->nconns; c++)
                        for (int j = 0; j < r->det[c].n; j++) {
                                const struct finding *f = &r->det[c].f[j];
                                double x = k == DET_CONNECT_TIMEOUT ? f->b :
                                           k == DET_DATA_AFTER_PEER_RST ? f->b : f->a;
                                if (f->kind == k && !isnan(x)) {
                                        v[n++] = x;
                                        break;
                                }
                        }
                if (kt->measure)
                        text_histogram(out, v, n, kt->measure);
                if (cl)
                        text_cluster_line(out, r, cl, "    ");
                else
                        fprintf(out, "    remedy: %s\n", kt->remedy);
                for (size_t c = 0; c < r->nconns && ex < SUM_EXAMPLES; c++)
                        for (int j = 0; j < r->det[c].n; j++)
                                if (r->det[c].f[j].kind == k) {
                                        text_example(out, r, &r->conns[c], ex == 0);
                                        ex++;
                                        break;
                                }
        }
        free(v);
}

static void text_clusters(FILE *out, const struct report *r)
{
        if (!r->sum->nclusters)
                return;
        fprintf(out, "\nclusters:\n");
        for (size_t i = 0; i < r->sum->nclusters; i++) {
                const struct sum_cluster *c = &r->sum->clusters[i];
                fprintf(out, "  %s: ", cluster_measure_name(c->measure));
                text_cluster_line(out, r, c, "");
                for (size_t e = 0; e < c->nexamples; e++)
                        text_example(out, r, &r->conns[c->examples[e]], 0);
        }
}

static void text_dists(FILE *out, const struct report *r)
{
        int first = 1, w = 11;

        for (size_t i = 0; r->verbose && i < r->sum->ndists; i++) {
                char ep[96];
                if (r->sum->dists[i].server < 0)
                        continue;
                fmt_endpoint(r->sum->servers[r->sum->dists[i].server].rep, SERVER, ep, sizeof ep);
                if ((int)strlen(ep) > w)
                        w = (int)strlen(ep);
        }
        for (size_t i = 0; i < r->sum->ndists; i++) {
                const struct sum_dist *d = &r->sum->dists[i];
                char ep[96] = "all servers";
                if (d->server >= 0 && !r->verbose)
                        continue;
                if (first)
                        fprintf(out, "\ndistributions (s):\n");
                first = 0;
                if (d->server >= 0)
                        fmt_endpoint(r->sum->servers[d->server].rep, SERVER, ep, sizeof ep);
                char q[5][24];
                fprintf(out, "  %-17s %s %s %-*s n=%-5zu min %s p50 %s p90 %s p99 %s max %s\n",
                        cluster_measure_name(d->measure), d->side == CLIENT ? "client" : "server",
                        d->how == HOW_RST ? "RST" : "FIN", w, ep, d->s.n, fmt_val(d->s.min, q[0]),
                        fmt_val(d->s.p50, q[1]), fmt_val(d->s.p90, q[2]), fmt_val(d->s.p99, q[3]),
                        fmt_val(d->s.max, q[4]));
        }
}

void report_text(FILE *out, const struct report *r)
{
        fprintf(out, "rstscope %s\n", RS_VERSION);
        text_inputs(out, r);
        text_capture(out, r);
        if (r->sum && r->nconns) {
                text_findings(out, r);
                text_clusters(out, r);
                text_dists(out, r);
        }
        text_summary(out, r);
        text_table(out, r);
}
