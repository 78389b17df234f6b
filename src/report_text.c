/* report_text.c - the human-readable report: inputs, capture span, the
 * findings ranked by connections affected (histogram, likely cause,
 * remedy, examples, a tcpdump filter), clusters, distributions, a summary
 * by Zeek conn_state and by who closed how, then one table row per
 * connection (more columns with -v).  Reads records and the summary;
 * computes nothing the state machine or the detectors own. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

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
                if (in->live)
                        fprintf(out, "         dropped: %" PRIu64 " by the kernel, %" PRIu64
                                " by the interface\n", in->dropped, in->if_dropped);
                if (in->ts_backwards)
                        fprintf(out, "         %" PRIu64 " packet%s stamped earlier than a packet before "
                                "them: analysed at the latest time seen\n", in->ts_backwards,
                                in->ts_backwards == 1 ? "" : "s");
                if (in->caplen_over_len)
                        fprintf(out, "         %" PRIu64 " record%s captured longer than on the wire "
                                "(caplen > len): decoded from the captured bytes\n",
                                in->caplen_over_len, in->caplen_over_len == 1 ? "" : "s");
                if (in->truncated)
                        fprintf(out, "         stopped early: %s\n", in->error);
        }
}

static void text_capture(FILE *out, const struct report *r)
{
        char a[64], b[64];

        if (r->first)
                fprintf(out, "capture  %s .. %s (%.3f s)\n", report_time(r->first, 1, a, sizeof a),
                        report_time(r->last, 1, b, sizeof b), (double)(r->last - r->first) / 1e9);
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
        if (r->shard_n)
                fprintf(out, "         shard %u/%u: %" PRIu64 " TCP packets of other shards skipped\n",
                        r->shard_i, r->shard_n, r->skipped_shard);
}

static void text_summary(FILE *out, const struct report *r)
{
        const struct summary *sum = r->sum;
        int first = 1;

        fprintf(out, "\n%" PRIu64 " connection%s", sum->nconns, sum->nconns == 1 ? "" : "s");
        if (r->shard_n)
                fprintf(out, " in shard %u/%u", r->shard_i, r->shard_n);
        fputc('\n', out);
        if (!sum->nconns)
                return;
        fprintf(out, "  by state:");
        for (int k = 0; k < ZS_N; k++)
                if (sum->states[k]) {
                        fprintf(out, "%s %s %" PRIu64, first ? "" : ",", zeek_state_name((enum zeek_state)k),
                                sum->states[k]);
                        first = 0;
                }
        fprintf(out, "\n  by close:");
        for (int k = 0; k < CLOSE_N; k++)
                fprintf(out, "%s %s %" PRIu64, k ? "," : "", report_close_text((enum close_kind)k), sum->closes[k]);
        fputc('\n', out);
}

/* The close column: who and how, or why the record ended open. */
static const char *close_label(const struct conn *c)
{
        size_t k = c->close;

        if (k < CLOSE_NONE)
                return report_close_text((enum close_kind)k);
        switch ((enum close_reason)c->reason) {
        case CLOSE_REASON_IDLE: return "idle";
        case CLOSE_REASON_EOF: return "open";
        case CLOSE_REASON_REUSE: return "reused";
        case CLOSE_REASON_EVICT: return "evicted";
        default: return "-";
        }
}

#define W_EP 21                 /* endpoint columns: an IPv4 address and port */

size_t report_text_row(const struct conn *c, int verbose, char *buf, size_t len)
{
        char cb[80], sb[80], tb[64], pk[32], rtt[16];
        int64_t r = c->rtt_ns;
        int n;

        report_endpoint(c->family, &c->cli, cb, sizeof cb);
        report_endpoint(c->family, &c->srv, sb, sizeof sb);
        n = snprintf(buf, len, "%4" PRIu64 " %-*s %-*s %9.3f %-6s %-10s", c->id, W_EP, cb, W_EP, sb,
                     (double)(c->end - c->first) / 1e9, zeek_state_name((enum zeek_state)c->zstate), close_label(c));
        if (verbose && n >= 0 && (size_t)n < len) {
                snprintf(pk, sizeof pk, "%u/%u", c->s[CLIENT].pkts, c->s[SERVER].pkts);
                if (r >= 0)
                        snprintf(rtt, sizeof rtt, "%.3f", (double)r / 1e6);
                else
                        snprintf(rtt, sizeof rtt, "-");
                n += snprintf(buf + n, len - (size_t)n, " %-15s %-10s %8s %11s %11" PRIu64 " %11" PRIu64 "  %s",
                              report_time(c->first, 0, tb, sizeof tb),
                              handshake_name((enum handshake)c->handshake), rtt, pk,
                              c->s[CLIENT].bytes, c->s[SERVER].bytes, c->history);
        }
        return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

static void text_table_head(FILE *out, const struct report *r)
{
        if (!r->sum->nconns)
                return;
        fprintf(out, "\n%4s %-*s %-*s %9s %-6s %-10s", "ID", W_EP, "CLIENT", W_EP, "SERVER",
                "DUR(s)", "STATE", "CLOSE");
        if (r->verbose)
                fprintf(out, " %-15s %-10s %8s %11s %11s %s", "START", "HANDSHAKE", "RTT(ms)",
                        "PKTS c/s", "BYTES c", "BYTES s  HISTORY");
        fputc('\n', out);
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

static void text_histogram(FILE *out, const struct hist *h, const char *label)
{
        struct sum_dist d;
        size_t maxc = 0;
        char a[32], b[32], q[5][24];

        if (!h->n)
                return;
        summary_hist_dist(h, &d);
        fprintf(out, "    %s: n=%zu min %s p50 %s p90 %s p99 %s max %s\n", label, d.s.n,
                fmt_val(d.s.min, q[0]), fmt_val(d.s.p50, q[1]), fmt_val(d.s.p90, q[2]),
                fmt_val(d.s.p99, q[3]), fmt_val(d.s.max, q[4]));
        for (size_t i = 0; i < d.nbins; i++)
                if (d.bin_count[i] > maxc)
                        maxc = d.bin_count[i];
        for (size_t i = 0; i < d.nbins; i++) {
                int w = (int)((d.bin_count[i] * 40 + maxc - 1) / maxc);
                double hi = i + 1 < d.nbins ? d.bin_edge[i + 1] : dist_edge_next(d.bin_edge[i]);
                fprintf(out, "      %6s .. %-6s |%-40.*s| %zu\n", fmt_secs(d.bin_edge[i], a, sizeof a),
                        fmt_secs(hi, b, sizeof b), w,
                        "########################################", d.bin_count[i]);
        }
}

/* The cluster that best explains a kind: one of the server its ranked
 * connections are on (none when they are on several), of the closes the
 * kind comes from; NULL when there is none. */
static const struct sum_cluster *kind_cluster(const struct summary *s, enum finding_kind k)
{
        int server = s->kind_server[k];

        for (int pass = 0; server >= 0 && pass < 2; pass++)
                for (size_t i = 0; i < s->nclusters; i++) {
                        const struct sum_cluster *c = &s->clusters[i];
                        if (c->server != server)
                                continue;
                        switch (k) {
                        case DET_CONNECT_TIMEOUT:
                                if (c->measure == M_CONNECT_GIVE_UP)
                                        return c;
                                break;
                        case DET_DATA_AFTER_PEER_FIN:
                                if (c->side == SERVER && c->measure ==
                                    (pass ? M_SYN_TO_CLOSE : M_IDLE_BEFORE_CLOSE))
                                        return c;
                                break;
                        case DET_REQUEST_RESET:         /* requests unread at a RST timer */
                                if (c->side == SERVER && c->how == HOW_RST && c->measure ==
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
                report_endpoint(r->sum->servers[c->server].family, &r->sum->servers[c->server].ep, ep, sizeof ep);
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
        if (c->idle_multiple)
                fprintf(out, "%s  likely: %d times this server's %.2f s idle close: connections that "
                        "carried %d requests\n", indent, c->idle_multiple, c->idle_s, c->idle_multiple);
        else if (!c->nlikely)
                fprintf(out, "%s  likely: no well-known default at %.1f s: a configured timeout\n",
                        indent, c->pk.center);
        fprintf(out, "%s  remedy: %s\n", indent, c->remedy);
}

static void text_example(FILE *out, const struct report *r, const struct example *e, int filter)
{
        char cb[96], sb[96], tb[64], a[64], b[64];

        report_endpoint(e->family, &e->cli, cb, sizeof cb);
        report_endpoint(e->family, &e->srv, sb, sizeof sb);
        fprintf(out, "    e.g. #%" PRIu64 " %s > %s at %s\n", e->id, cb, sb,
                report_time(e->at ? e->at : e->first, 0, tb, sizeof tb));
        if (!filter)
                return;
        report_ip(e->family, &e->cli, a, sizeof a);
        report_ip(e->family, &e->srv, b, sizeof b);
        /* where the packets are: the file read, the -w file of a live
         * capture, or (without one) the interface, for the next time */
        if (r->cap->in[0].live && !r->saved_to)
                fprintf(out, "    look: tcpdump -nn -i %s", r->cap->in[0].name);
        else
                fprintf(out, "    look: tcpdump -nn -r %s", r->saved_to ? r->saved_to :
                        strcmp(r->cap->in[0].name, "-") ? r->cap->in[0].name : "FILE");
        fprintf(out, " 'host %s%s%s and tcp port %u and tcp port %u'\n", a,
                strcmp(a, b) ? " and host " : "", strcmp(a, b) ? b : "", e->cli.port, e->srv.port);
}

static int by_id(const void *x, const void *y)
{
        const struct example *a = x, *b = y;
        return (a->id > b->id) - (a->id < b->id);
}

/* Examples in first-packet order; the first with a tcpdump filter. */
static void text_examples(FILE *out, const struct report *r, const struct example *ex, size_t n,
                          int filter)
{
        struct example e[SUM_EXAMPLES];

        if (n > SUM_EXAMPLES)
                n = SUM_EXAMPLES;
        memcpy(e, ex, n * sizeof *e);
        qsort(e, n, sizeof *e, by_id);
        for (size_t i = 0; i < n; i++)
                text_example(out, r, &e[i], filter && i == 0);
}

static int by_kind_count(const void *x, const void *y, const struct summary *s)
{
        int a = *(const int *)x, b = *(const int *)y;
        if (s->kind_ranked[a] != s->kind_ranked[b])
                return s->kind_ranked[a] > s->kind_ranked[b] ? -1 : 1;
        return a - b;
}

/* The findings, each connection under its problem (summary.h: ranked);
 * idle closes, the normal end of pooled connections, only with -v. */
static void text_findings(FILE *out, const struct report *r)
{
        const struct summary *sum = r->sum;
        int order[DET_NKINDS], nk = 0;
        uint64_t idle = sum->kind_ranked[DET_IDLE_CLOSE];

        for (int k = 0; k < DET_NKINDS; k++)
                if (sum->kind_ranked[k] && (k != DET_IDLE_CLOSE || r->verbose))
                        order[nk++] = k;
        for (int i = 1; i < nk; i++)            /* insertion sort: six kinds */
                for (int j = i; j > 0 && by_kind_count(&order[j], &order[j - 1], sum) < 0; j--) {
                        int t = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = t;
                }
        fprintf(out, "\nfindings%s\n", nk ? ", by connections affected:" : ": none");
        for (int i = 0; i < nk; i++) {
                enum finding_kind k = (enum finding_kind)order[i];
                const struct kind_text *kt = report_kind_text(k);
                const struct sum_cluster *cl = kind_cluster(sum, k);

                fprintf(out, "\n  %s: %" PRIu64 " of %" PRIu64 " connections (%.1f%%)", detect_kind_name(k),
                        sum->kind_ranked[k], sum->nconns,
                        100.0 * (double)sum->kind_ranked[k] / (double)sum->nconns);
                if (sum->kind_inferred[k])
                        fprintf(out, ", %" PRIu64 " inferred from sequence numbers", sum->kind_inferred[k]);
                fprintf(out, "\n    %s\n", kt->what);
                if (kt->measure)
                        text_histogram(out, &sum->kind_h[k], kt->measure);
                if (cl)
                        text_cluster_line(out, r, cl, "    ");
                else
                        fprintf(out, "    remedy: %s\n", kt->remedy);
                text_examples(out, r, sum->kind_ex[k],
                              sum->kind_ranked[k] < SUM_EXAMPLES ? sum->kind_ranked[k] : SUM_EXAMPLES, 1);
        }
        if (idle && !r->verbose)
                fprintf(out, "\n  (and %" PRIu64 " idle close%s without a race: -v shows them)\n", idle,
                        idle == 1 ? "" : "s");
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
                text_examples(out, r, c->ex, c->nexamples, 0);
        }
}

static void text_dists(FILE *out, const struct report *r)
{
        int first = 1, w = 11;

        for (size_t i = 0; r->verbose && i < r->sum->ndists; i++) {
                char ep[96];
                const struct sum_server *sv;
                if (r->sum->dists[i].server < 0)
                        continue;
                sv = &r->sum->servers[r->sum->dists[i].server];
                report_endpoint(sv->family, &sv->ep, ep, sizeof ep);
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
                        report_endpoint(r->sum->servers[d->server].family, &r->sum->servers[d->server].ep, ep,
                               sizeof ep);
                char q[5][24];
                fprintf(out, "  %-17s %s %s %-*s n=%-5zu min %s p50 %s p90 %s p99 %s max %s\n",
                        cluster_measure_name(d->measure), d->side == CLIENT ? "client" : "server",
                        d->how == HOW_RST ? "RST" : "FIN", w, ep, d->s.n, fmt_val(d->s.min, q[0]),
                        fmt_val(d->s.p50, q[1]), fmt_val(d->s.p90, q[2]), fmt_val(d->s.p99, q[3]),
                        fmt_val(d->s.max, q[4]));
        }
}

/* ---- per server ---- */

static void text_likely(FILE *out, const struct server_diag *g)
{
        if (g->nlikely > 1)
                fprintf(out, "      likely one of (the Server: or Keep-Alive: timeout= header of a captured "
                        "response tells them apart):\n");
        for (size_t i = 0; i < g->nlikely; i++)
                fprintf(out, "      %s%s [%s]\n", g->nlikely > 1 ? "  " : "likely: ", g->likely[i]->what,
                        g->likely[i]->source);
        if (!g->nlikely)
                fprintf(out, "      likely: no well-known default at %.1f s: a configured timeout\n", g->lo);
}

/* The servers with something to act on, most connections affected first:
 * the verdict, the idle-close timer, the clients' reuse, what to change. */
static void text_servers(FILE *out, const struct report *r)
{
        const struct diagnosis *d = r->diag;
        int any = 0;

        for (size_t i = 0; d && i < d->n; i++) {
                const struct server_diag *g = &d->srv[i];
                const struct sum_server *sv = &r->sum->servers[g->server];
                int mismatch = g->verdict == V_IDLE_TIMEOUT_MISMATCH;
                char ep[96];

                if (g->verdict == V_OK)
                        continue;
                if (!any++)
                        fprintf(out, "\nservers, by connections affected:\n");
                report_endpoint(sv->family, &sv->ep, ep, sizeof ep);
                fprintf(out, "\n  %s: %s (%" PRIu64 " of %" PRIu64 " connection%s)\n    %s\n", ep,
                        verdict_name(g->verdict), g->affected, sv->conns, sv->conns == 1 ? "" : "s",
                        g->text);
                if (!mismatch && g->verdict != V_SERVER_RESETS_REQUESTS) {
                        fprintf(out, "    remedy: %s\n", g->remedy);
                        continue;
                }
                if (mismatch && g->timer) {
                        fprintf(out, "    idle close: %" PRIu64 " of %" PRIu64 " server %s closes at %.2f .. %.2f s "
                                "idle (median %.2f)\n", g->count, g->of, g->how == HOW_RST ? "RST" : "FIN",
                                g->lo, g->hi, g->center);
                        text_likely(out, g);
                } else if (mismatch) {
                        fprintf(out, "    idle close: not measured: %s\n", g->unknown);
                }
                if (g->syn_hint) {
                        const struct sum_cluster *c = g->syn_hint;
                        fprintf(out, "    SYN to close: %zu of %" PRIu64 " server FIN closes at %.2f +- %.2f s "
                                "after the SYN (the idle timer, if those connections carried one "
                                "request)\n", c->pk.count, c->group_n, c->pk.center, c->pk.spread);
                        for (size_t k = 0; k < g->nlikely; k++)
                                fprintf(out, "      consistent with %s [%s]\n", g->likely[k]->what,
                                        g->likely[k]->source);
                }
                if (mismatch && g->reuse_n)
                        fprintf(out, "    reuse: %" PRIu64 " request%s on reused connections, idle before them "
                                "p50 %.3f p99 %.3f max %.3f s\n", g->reuse_n, g->reuse_n == 1 ? "" : "s",
                                g->reuse_p50, g->reuse_p99, g->reuse_max);
                fprintf(out, "    races: data_after_peer_fin %" PRIu64 ", request_reset %" PRIu64
                        " (%" PRIu64 " unread at the idle close), data_after_peer_rst %" PRIu64 "\n",
                        sv->kinds[DET_DATA_AFTER_PEER_FIN], sv->kinds[DET_REQUEST_RESET], sv->resets_idle,
                        sv->kinds[DET_DATA_AFTER_PEER_RST]);
                fprintf(out, "    remedy: %s\n", g->remedy);
        }
}

void report_text_head(FILE *out, const struct report *r)
{
        fprintf(out, "rstscope %s\n", RS_VERSION);
        text_inputs(out, r);
        text_capture(out, r);
        if (r->sum->nconns) {
                text_servers(out, r);
                text_findings(out, r);
                text_clusters(out, r);
                text_dists(out, r);
        }
        text_summary(out, r);
        text_table_head(out, r);
}
