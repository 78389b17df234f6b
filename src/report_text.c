/* report_text.c - the human-readable report: inputs, capture span, a
 * summary by Zeek conn_state and by who closed how, then an aligned table
 * of connections (more columns with -v).  Also the helpers both writers
 * share.  Reads records; computes nothing the state machine owns. */
#include <arpa/inet.h>
#include <inttypes.h>
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

void report_text(FILE *out, const struct report *r)
{
        fprintf(out, "rstscope %s\n", RS_VERSION);
        text_inputs(out, r);
        text_capture(out, r);
        text_summary(out, r);
        text_table(out, r);
}
