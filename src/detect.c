/* detect.c - per-connection detectors.  Each one reads the facts the state
 * machine recorded (first FIN/RST of each side with what each side had sent
 * by then, first payload after the peer's FIN or RST, SYN times) and emits
 * findings.  They run on finished records only, never print, and keep no
 * state between connections.  Requests are taken to flow client to server
 * (HTTP and every protocol a sidecar proxies): a server answering after the
 * client's FIN is a legal half-close (RFC 9293 3.6), a client sending after
 * the server's FIN is the keep-alive reuse race. */
#include <math.h>
#include <string.h>

#include "detect.h"

static const char *const kind_names[DET_NKINDS] = {
        [DET_REFUSED] = "refused",
        [DET_CONNECT_TIMEOUT] = "connect_timeout",
        [DET_DATA_AFTER_PEER_FIN] = "data_after_peer_fin",
        [DET_DATA_AFTER_PEER_RST] = "data_after_peer_rst",
        [DET_REQUEST_RESET] = "request_reset",
        [DET_IDLE_CLOSE] = "idle_close",
};
TABLE_COVERS(kind_names, DET_NKINDS);

const char *detect_kind_name(enum finding_kind k)
{
        return (unsigned)k < DET_NKINDS && kind_names[k] ? kind_names[k] : "unknown";
}

double detect_kind_value(const struct finding *f)
{
        switch ((enum finding_kind)f->kind) {
        case DET_CONNECT_TIMEOUT:
        case DET_DATA_AFTER_PEER_RST:
                return f->b;
        case DET_DATA_AFTER_PEER_FIN:
        case DET_REQUEST_RESET:
        case DET_IDLE_CLOSE:
                return f->a;
        case DET_REFUSED:
        case DET_NKINDS:
                break;
        }
        return NAN;
}

const char *detect_schedule_name(enum syn_schedule s)
{
        switch (s) {
        case SCHED_CLASSIC: return "classic";
        case SCHED_LINEAR: return "linear";
        case SCHED_UNKNOWN: break;
        }
        return "unknown";
}

static double secs(int64_t ns) { return (double)ns / 1e9; }

/* ---- connect timeouts ---- */

/* Offsets of SYN retransmissions after the first SYN, s: the classic
 * exponential schedule (initial RTO 1 s, RFC 6298) and the linear-first
 * one of newer kernels (net.ipv4.tcp_syn_linear_timeouts=4).  With
 * tcp_syn_retries=6 the kernel gives up at the 7th point. */
static const double sched_classic[] = { 1, 3, 7, 15, 31, 63, 127, 255, 511 };
static const double sched_linear[] = { 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 };
#define NCLASSIC (int)(sizeof sched_classic / sizeof sched_classic[0])
#define NLINEAR (int)(sizeof sched_linear / sizeof sched_linear[0])

/* Do retransmissions off[1..n-1] follow schedule p (timer slack allowed)? */
static int sched_match(const double *off, int n, const double *p, int np)
{
        if (n - 1 >= np)
                return 0;
        for (int i = 1; i < n; i++)
                if (fabs(off[i] - p[i - 1]) > RS_SYN_SLACK_S + RS_SYN_SLACK_SHARE * p[i - 1])
                        return 0;
        return 1;
}

enum syn_schedule detect_give_up(const double *off, int n, double *lo, double *hi)
{
        int c = sched_match(off, n, sched_classic, NCLASSIC);
        int l = sched_match(off, n, sched_linear, NLINEAR);
        double hc = c ? sched_classic[n - 1] : NAN, hl = l ? sched_linear[n - 1] : NAN;

        *lo = n ? off[n - 1] : 0;
        if (c && l) {                   /* too few SYNs to tell: the later bound */
                *hi = hc > hl ? hc : hl;
                return SCHED_UNKNOWN;
        }
        if (c || l) {
                *hi = c ? hc : hl;
                return c ? SCHED_CLASSIC : SCHED_LINEAR;
        }
        /* neither (another OS, a tuned RTO): assume the interval doubles */
        *hi = n >= 2 ? off[n - 1] + 2 * (off[n - 1] - off[n - 2]) : NAN;
        return SCHED_UNKNOWN;
}

static void add(struct det_result *r, enum finding_kind k, int by, int64_t at)
{
        struct finding *f;

        if (r->n >= DET_MAX)
                return;
        f = &r->f[r->n++];
        memset(f, 0, sizeof *f);
        f->kind = (uint8_t)k;
        f->by = (int8_t)by;
        f->at = at;
        f->a = f->b = NAN;
}

static void det_connect_timeout(const struct conn *c, const struct det_opts *o,
                                struct det_result *r)
{
        double off[RS_MAX_SYN_TIMES + 1], lo, hi;
        int n = 0;
        enum syn_schedule s;

        if (!c->syn_ts || c->handshake != HS_UNANSWERED)
                return;
        off[n++] = 0;
        for (int i = 0; i + 1 < c->syn_count && i < RS_MAX_SYN_TIMES; i++)
                off[n++] = (double)c->syn_dt[i] / 1e6;
        s = detect_give_up(off, n, &lo, &hi);
        /* still trying when the capture ended, or when the table cap made
         * us stop watching (capture_end is then the eviction time): not
         * (yet) a timeout */
        if ((c->reason == CLOSE_REASON_EOF || c->reason == CLOSE_REASON_EVICT) &&
            (isnan(hi) || secs(o->capture_end - c->syn_ts) < hi + 0.5))
                return;
        add(r, DET_CONNECT_TIMEOUT, CLIENT, c->syn_ts + (int64_t)(lo * 1e9));
        r->f[r->n - 1].a = lo;
        r->f[r->n - 1].b = hi;
        r->f[r->n - 1].sched = (uint8_t)s;
}

/* ---- races ---- */

/* The last payload of either side, given a side's two snapshots. */
static int64_t latest(int64_t a, int64_t b) { return a > b ? a : b; }

static void det_after_fin(const struct conn *c, int x, struct det_result *r)
{
        const struct side *me = &c->s[x], *peer = &c->s[!x];
        int64_t idle_from;
        struct finding *f;

        if (!me->after_peer_fin)
                return;
        /* a server answering after the client's FIN, when the client spoke
         * last, is a legal half-close */
        if (x == SERVER && peer->fin_mylast > peer->fin_peerlast)
                return;
        add(r, DET_DATA_AFTER_PEER_FIN, x, me->after_peer_fin);
        f = &r->f[r->n - 1];
        idle_from = latest(peer->fin_mylast, peer->fin_peerlast);
        if (!idle_from)
                idle_from = c->est_ts ? c->est_ts : c->synack_ts;
        if (idle_from)
                f->a = secs(peer->fin.ts - idle_from);
        f->b = secs(me->after_peer_fin - peer->fin.ts);
        f->answered = peer->rst.ts >= me->after_peer_fin;
}

/* SYN/FIN/RST-only evidence of the race (Linux): the peer sent FIN, then a
 * bare RST (no ACK), and this side sent no FIN in between: the peer's
 * kernel aborted a closed socket that received data.  Such a RST takes its
 * seq from the data's ACK: FIN seq + 1 when the data acked the FIN, FIN seq
 * when data and FIN crossed. */
static int inferred_after_fin(const struct conn *c, int x)
{
        const struct side *me = &c->s[x], *peer = &c->s[!x];
        uint32_t fin_end = peer->last_fin_seq;  /* FIN seq + its payload */

        return !me->after_peer_fin && peer->fin.ts && peer->rst.ts > peer->fin.ts &&
               !(peer->rst.flags & TH_ACK) &&
               (peer->rst.seq == fin_end + 1 || peer->rst.seq == fin_end) &&
               (!me->fin.ts || me->fin.ts > peer->rst.ts);
}

/* SYN/FIN/RST-only evidence of a request the server drained after its FIN
 * (Apache httpd's lingering close: no RST): the client's own FIN or RST,
 * sent after the server's FIN, has a seq beyond what that FIN acked, so
 * the client sent bytes after (or across) the server's FIN.  Returns the
 * time of that FIN or RST, or 0. */
static int64_t inferred_drained(const struct conn *c)
{
        const struct side *cl = &c->s[CLIENT], *sv = &c->s[SERVER];
        const struct pkt_mark *m = cl->fin.ts && (!cl->rst.ts || cl->fin.ts < cl->rst.ts) ?
                                   &cl->fin : &cl->rst;     /* the client's first close */

        if (cl->after_peer_fin || !sv->fin.ts || !(sv->fin.flags & TH_ACK) || !m->ts ||
            m->ts <= sv->fin.ts)
                return 0;
        return (int32_t)(m->seq - sv->fin.ack) > 0 ? m->ts : 0;
}

static void det_races(const struct conn *c, struct det_result *r)
{
        int64_t drained = inferred_after_fin(c, CLIENT) ? 0 : inferred_drained(c);

        for (int x = CLIENT; x <= SERVER; x++) {
                const struct side *me = &c->s[x], *peer = &c->s[!x];
                det_after_fin(c, x, r);
                if (x == CLIENT && drained) {
                        int64_t idle_from = latest(peer->fin_mylast, peer->fin_peerlast);
                        add(r, DET_DATA_AFTER_PEER_FIN, x, drained);
                        r->f[r->n - 1].inferred = 1;
                        if (idle_from)
                                r->f[r->n - 1].a = secs(peer->fin.ts - idle_from);
                }
                if (inferred_after_fin(c, x)) {
                        int64_t idle_from = latest(peer->fin_mylast, peer->fin_peerlast);
                        add(r, DET_DATA_AFTER_PEER_FIN, x, peer->rst.ts);
                        r->f[r->n - 1].inferred = 1;
                        r->f[r->n - 1].answered = 1;
                        if (idle_from)
                                r->f[r->n - 1].a = secs(peer->fin.ts - idle_from);
                }
                if (me->after_peer_rst) {
                        add(r, DET_DATA_AFTER_PEER_RST, x, me->after_peer_rst);
                        r->f[r->n - 1].b = secs(me->after_peer_rst - peer->rst.ts);
                }
        }
}

/* The server reset the connection after a request it never answered:
 * what a proxy logs as 503 UC / "upstream reset before response started". */
static void det_request_reset(const struct conn *c, struct det_result *r)
{
        const struct side *sv = &c->s[SERVER];
        int inferred = inferred_after_fin(c, CLIENT);

        if (!sv->rst.ts)
                return;
        if (!inferred && !(sv->rst_peerlast && sv->rst_peerlast > sv->rst_mylast))
                return;
        add(r, DET_REQUEST_RESET, SERVER, sv->rst.ts);
        r->f[r->n - 1].inferred = (uint8_t)(inferred && !sv->rst_peerlast);
        if (sv->rst_peerlast)
                r->f[r->n - 1].a = secs(sv->rst.ts - sv->rst_peerlast);
}

/* ---- idle closes and intervals ---- */

static void det_intervals(const struct conn *c, const struct det_opts *o,
                          struct det_result *r)
{
        enum close_kind ck = (enum close_kind)c->close;

        r->syn_to_close = r->idle_before_close = NAN;
        if (ck == CLOSE_NONE)
                return;
        if (c->syn_ts)
                r->syn_to_close = secs(c->close_at - c->syn_ts);
        if (c->handshake != HS_COMPLETE && c->handshake != HS_MIDSTREAM)
                return;                 /* never established: nothing to idle */
        if (!c->flags_only && c->idle_ref)
                r->idle_before_close = secs(c->close_at - c->idle_ref);
        if (!isnan(r->idle_before_close) && r->idle_before_close >= o->min_idle_s) {
                add(r, DET_IDLE_CLOSE, close_by(ck), c->close_at);
                r->f[r->n - 1].a = r->idle_before_close;
                r->f[r->n - 1].how = (uint8_t)close_how_of(ck);
        }
}

void detect_conn(const struct conn *c, const struct det_opts *o, struct det_result *r)
{
        memset(r, 0, sizeof *r);
        if (c->handshake == HS_REFUSED)
                add(r, DET_REFUSED, SERVER, c->s[SERVER].rst.ts);
        det_connect_timeout(c, o, r);
        det_races(c, r);
        det_request_reset(c, r);
        det_intervals(c, o, r);
}
