/* tcpsm.c - the TCP state machine.  For each segment it finds or creates
 * the connection (RFC 9293 reuse of a 5-tuple: a new ISN, a SYN after a
 * close, or a packet after the close linger), drops capture duplicates,
 * then updates the sending side: sequence space (wrap-safe), state,
 * history letters, counters and the first FIN/RST.  Endpoint states and
 * history follow Zeek's TCP analyzer (TCPSessionAdapter.cc) so conn_state
 * and history mean what Zeek users expect; sequence comparisons follow
 * RFC 9293 3.4 modulo 2^32.  It does not reassemble payload, validate
 * checksums, or judge RST acceptability (RFC 5961): a passive observer
 * records what was sent. */
#include <string.h>

#include "conn_table.h"
#include "tcpsm.h"

/* history letters recorded once per direction */
#define HIST_ACK   0x01
#define HIST_DATA  0x02
#define HIST_FINRST 0x04
#define HIST_MULTI 0x08
#define HIST_SYN   0x10
#define HIST_FIN   0x20
#define HIST_RST   0x40

static int32_t seq_delta(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static int seq_gt(uint32_t a, uint32_t b) { return seq_delta(a, b) > 0; }

/* ---- ports that are probably the server's (Zeek's likely_server_ports) ---- */

static const uint16_t server_ports[] = {        /* sorted */
        21, 22, 23, 25, 53, 79, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445, 465,
        502, 514, 563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1433,
        1434, 1883, 2181, 2379, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269,
        5432, 5672, 6379, 6443, 6666, 6667, 6668, 6669, 8000, 8080, 8443, 8888,
        9092, 9200, 11211, 15006, 20000, 27017,
};

static int likely_server_port(uint16_t p)     /* binary search: the list is sorted */
{
        size_t lo = 0, hi = sizeof server_ports / sizeof server_ports[0];

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (server_ports[mid] == p)
                        return 1;
                if (server_ports[mid] < p)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return 0;
}

/* Is the receiver of this first packet the client?  A pure SYN names its
 * sender; a SYN-ACK its receiver; otherwise a well-known server port, then
 * the higher (ephemeral) port decides. */
static int first_packet_flips(const struct segment *seg)
{
        int ls, ld;

        if ((seg->flags & (TH_SYN | TH_ACK)) == TH_SYN)
                return 0;
        if ((seg->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
                return 1;
        ls = likely_server_port(seg->src.port);
        ld = likely_server_port(seg->dst.port);
        if (ls != ld)
                return ls;
        return seg->src.port < seg->dst.port;
}

/* ---- times and extensions ---- */

#define NS(r, off) crec_ns((r), (off))

/* r's extension; NULL (counted) when out of memory, so callers skip what
 * needs it. */
static struct cext *ext(struct tcpsm *sm, struct crec *r)
{
        struct cext *x = conn_ext(sm->table, r);

        if (!x)
                sm->st.nomem++;
        return x;
}

/* r's close details, the same way. */
static struct cclose *closing(struct tcpsm *sm, struct crec *r)
{
        struct cclose *x = conn_close(sm->table, r);

        if (!x)
                sm->st.nomem++;
        return x;
}

/* ---- history: letters packed 5 bits each ---- */

static const char hist_alpha[32] = "?^SHADFRTWGIQCshadfrtwgiqc";

static uint8_t hist_code(char ch)
{
        static uint8_t code[256];

        if (!code[(unsigned char)'^'])          /* built on first use */
                for (uint8_t i = 1; i < sizeof hist_alpha && hist_alpha[i]; i++)
                        code[(unsigned char)hist_alpha[i]] = i;
        return code[(unsigned char)ch];
}

static char hist_get(const struct crec *r, size_t i)
{
        size_t bit = i * 5;
        unsigned v = r->hist[bit / 8] | (bit / 8 + 1 < sizeof r->hist ? r->hist[bit / 8 + 1] << 8 : 0);

        return hist_alpha[(v >> (bit % 8)) & 31];
}

static void hist_add(struct crec *r, int dir, char letter)
{
        char ch = dir == CLIENT ? letter : (char)(letter | 0x20);
        size_t bit = (size_t)r->hist_len * 5;
        unsigned v;

        if (letter == '^')
                ch = '^';
        if (r->hist_len >= RS_HISTORY_MAX) {
                r->flags |= CR_HIST_CUT;
                return;
        }
        v = (unsigned)hist_code(ch) << (bit % 8);
        r->hist[bit / 8] |= (uint8_t)v;
        if (v >> 8)
                r->hist[bit / 8 + 1] |= (uint8_t)(v >> 8);
        r->hist_len++;
}

/* Record letter once per direction; returns 1 when seen before. */
static int hist_once(struct crec *r, int dir, uint8_t bit, char letter)
{
        struct cside *s = &r->s[dir];

        if (s->once & bit)
                return 1;
        s->once |= bit;
        hist_add(r, dir, letter);
        return 0;
}

/* Letters logged at the 1st, 10th, 100th ... occurrence. */
static void hist_scaled(struct crec *r, int dir, uint32_t count, char letter)
{
        uint32_t p = 1;

        while (p < count && p <= UINT32_MAX / 10)
                p *= 10;
        if (count == p)
                hist_add(r, dir, letter);
}

/* Zeek's update_history(): S/H/F/R again only on a new sequence number.
 * syn_seq is the seq of the side's previous SYN. */
static void hist_flags(struct tcpsm *sm, struct crec *r, int dir, const struct segment *seg,
                       uint32_t syn_seq)
{
        uint8_t f = seg->flags;
        uint32_t seq = seg->seq;
        int n = !!(f & TH_SYN) + !!(f & TH_FIN) + !!(f & TH_RST);
        struct cclose *x;

        if (n > 1) {
                if ((f & TH_FIN) && (f & TH_RST))
                        hist_once(r, dir, HIST_FINRST, 'I');
                else
                        hist_once(r, dir, HIST_MULTI, 'Q');
        } else if (f & TH_SYN) {
                char l = f & TH_ACK ? 'H' : 'S';
                if (hist_once(r, dir, HIST_SYN, l) && seq != syn_seq)
                        hist_add(r, dir, l);
        } else if (f & TH_FIN) {
                x = closing(sm, r);
                if (hist_once(r, dir, HIST_FIN, 'F') && x && seq + seg->payload != x->last_fin_seq[dir])
                        hist_add(r, dir, 'F');
                if (x)
                        x->last_fin_seq[dir] = seq + seg->payload;
        } else if (f & TH_RST) {
                x = closing(sm, r);
                if (hist_once(r, dir, HIST_RST, 'R') && x && seq != x->last_rst_seq[dir])
                        hist_add(r, dir, 'R');
                if (x)
                        x->last_rst_seq[dir] = seq;
        } else if (seg->payload) {
                hist_once(r, dir, HIST_DATA, 'D');
        } else if (f & TH_ACK) {
                hist_once(r, dir, HIST_ACK, 'A');
        }
}

/* ---- sequence space ---- */

static void side_set_state(struct cside *s, enum tcp_state st)
{
        if (s->state != st) {
                s->prev_state = s->state;
                s->state = (uint8_t)st;
        }
}

static void sat_inc(uint16_t *v)
{
        if (*v < UINT16_MAX)
                (*v)++;
}

/* Side dir's sequence space starts again: its wrap counters (kept in the
 * extension, which only a wrap needs) become 0, or 1 for seq when the ISN
 * is just below 2^32. */
static void wraps_restart(struct tcpsm *sm, struct crec *c, int dir, int seq_wrapped)
{
        struct cext *x = seq_wrapped ? ext(sm, c) : conn_ext_get(sm->table, c);

        if (x) {
                x->seq_wraps[dir] = (uint16_t)seq_wrapped;
                x->ack_wraps[dir] = 0;
        }
}

/* The first packet of a side (or a SYN that restarts it) sets its ISN. */
static void side_init_seq(struct tcpsm *sm, struct crec *c, int dir, const struct segment *seg,
                          uint32_t one_past)
{
        struct cside *s = &c->s[dir];
        int syn = (seg->flags & TH_SYN) != 0;

        switch (s->state) {
        case ST_CLOSED:
                s->start_seq = s->ack_seq = syn ? seg->seq : seg->seq - 1;
                s->last_seq = syn ? one_past : seg->seq;
                wraps_restart(sm, c, dir, s->last_seq < s->start_seq);  /* ISN just below 2^32 */
                return;
        case ST_SYN_SENT:
        case ST_SYN_RECEIVED:
        case ST_ESTABLISHED:
        case ST_PARTIAL:
                if (!syn || (seg->seq == s->start_seq && s->state != ST_ESTABLISHED &&
                             s->state != ST_PARTIAL))
                        return;
                break;
        case ST_RESET:
                if (!syn || s->prev_state != ST_CLOSED)
                        return;
                break;
        case ST_FIN_WAIT:
        case ST_N:
                return;
        }
        s->start_seq = s->ack_seq = seg->seq;   /* a new ISN */
        s->last_seq = one_past;
        wraps_restart(sm, c, dir, one_past < seg->seq);
}

/* Advance the highest sequence sent; returns the delta (<= 0: nothing new)
 * and sets *rexmit when the payload was sent before. */
static int32_t side_update_last(struct tcpsm *sm, struct crec *c, int dir,
                                const struct segment *seg, uint32_t one_past, int *rexmit)
{
        struct cside *s = &c->s[dir];
        struct cext *x;
        int32_t d = seq_delta(one_past, s->last_seq);

        if ((seg->flags & (TH_SYN | TH_RST)) && (d > RS_SEQ_TOO_FAR || d < -RS_SEQ_TOO_FAR))
                return d;
        if (((seg->flags & TH_FIN) && s->last_seq == s->start_seq + 1) ||
            (s->state != ST_RESET && d > 0)) {
                if (one_past < s->last_seq && (x = ext(sm, c)) != NULL)
                        sat_inc(&x->seq_wraps[dir]);
                s->last_seq = one_past;
        } else if (s->state != ST_RESET && seg->payload > 0) {
                *rexmit = 1;            /* nothing new: retransmission or probe */
        }
        return d;
}

/* The peer acknowledged up to ack the data of side dir. */
static void side_update_ack(struct tcpsm *sm, struct crec *c, int dir, uint32_t ack)
{
        struct cside *s = &c->s[dir];
        struct cext *x;
        int32_t d = seq_delta(ack, s->ack_seq);

        if (ack == 0 && d > RS_SEQ_TOO_FAR)
                return;
        if (d > 0) {
                if (ack < s->ack_seq && (x = ext(sm, c)) != NULL)
                        sat_inc(&x->ack_wraps[dir]);
                s->ack_seq = ack;
        }
}

static int side_clean(const struct cside *s)
{
        return s->state == ST_ESTABLISHED ||
               (s->state == ST_FIN_WAIT && s->prev_state == ST_ESTABLISHED);
}

/* ---- state transitions (Zeek's Update*State) ---- */

static void sm_inactive(struct crec *c, int dir, const struct segment *seg)
{
        struct cside *me = &c->s[dir], *peer = &c->s[!dir];
        uint8_t f = seg->flags;

        if (f & TH_SYN) {
                if (dir == CLIENT) {
                        side_set_state(me, f & TH_ACK ? ST_SYN_RECEIVED : ST_SYN_SENT);
                } else {
                        if (peer->state == ST_SYN_SENT)
                                side_set_state(peer, ST_ESTABLISHED);
                        side_set_state(me, ST_ESTABLISHED);
                }
        }
        if (f & TH_FIN)
                side_set_state(me, ST_FIN_WAIT);
        if (f & TH_RST)
                side_set_state(me, ST_RESET);
        if (me->state == ST_CLOSED) {
                if (dir == SERVER && seg->payload == 0 && peer->state == ST_SYN_SENT)
                        ;               /* an ACK to a SYN: still nothing from the server */
                else if ((f & TH_ACK) && peer->state == ST_ESTABLISHED)
                        side_set_state(me, ST_ESTABLISHED);
                else
                        side_set_state(me, ST_PARTIAL);
        }
}

static void sm_syn_sent(struct cside *me, const struct segment *seg)
{
        /* ACKs and data never complete the handshake from here: the
         * peer's SYN-ACK does (sm_inactive) */
        if (seg->flags & TH_FIN)
                side_set_state(me, ST_FIN_WAIT);
        if (seg->flags & TH_RST)
                side_set_state(me, ST_RESET);
}

static void sm_established(struct cside *me, struct cside *peer, const struct segment *seg)
{
        uint8_t f = seg->flags;

        if ((f & TH_SYN) && me->state == ST_PARTIAL && peer->state == ST_CLOSED && !(f & TH_ACK))
                side_set_state(me, ST_SYN_SENT);
        if ((f & TH_FIN) && !(f & TH_RST)) {
                side_set_state(me, ST_FIN_WAIT);
                /* the peer sent FIN then RST: that was a normal close */
                if (peer->state == ST_RESET && peer->prev_state == ST_FIN_WAIT)
                        side_set_state(peer, ST_FIN_WAIT);
        }
        if (f & TH_RST)
                side_set_state(me, ST_RESET);
}

static void sm_fin_wait(struct cside *me, const struct cside *peer, const struct segment *seg)
{
        /* after FINs from both sides a RST changes nothing (RFC 9293 3.6) */
        if ((seg->flags & TH_RST) && peer->state != ST_FIN_WAIT)
                side_set_state(me, ST_RESET);
}

static void sm_dispatch(struct crec *c, int dir, const struct segment *seg)
{
        struct cside *me = &c->s[dir], *peer = &c->s[!dir];

        switch ((enum tcp_state)me->state) {
        case ST_CLOSED:
                sm_inactive(c, dir, seg);
                break;
        case ST_SYN_SENT:
        case ST_SYN_RECEIVED:
                sm_syn_sent(me, seg);
                break;
        case ST_PARTIAL:
        case ST_ESTABLISHED:
                sm_established(me, peer, seg);
                break;
        case ST_FIN_WAIT:
                sm_fin_wait(me, peer, seg);
                break;
        case ST_RESET:
        case ST_N:
                break;          /* terminal */
        }
}

/* ---- per-connection facts beyond the state ---- */

static void note_handshake(struct tcpsm *sm, struct crec *c, int dir, const struct segment *seg,
                           uint32_t now)
{
        uint8_t f = seg->flags;

        if (dir == CLIENT && (f & (TH_SYN | TH_ACK)) == TH_SYN) {
                if (!c->t[T_SYN]) {
                        c->t[T_SYN] = now;
                } else if (c->syn_count < RS_MAX_SYN_TIMES + 1) {
                        struct cext *x = ext(sm, c);
                        int64_t dt = (seg->ts - NS(c, c->t[T_SYN])) / 1000;
                        if (x)
                                x->syn_dt[c->syn_count - 1] = dt < 0 ? 0 : dt > UINT32_MAX ?
                                                              UINT32_MAX : (uint32_t)dt;
                }
                if (c->syn_count < UINT8_MAX)
                        c->syn_count++;
                c->s[CLIENT].mss = seg->mss;
                c->s[CLIENT].wscale = seg->wscale;
        } else if (dir == SERVER && (f & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
                if (!c->t[T_SYNACK])
                        c->t[T_SYNACK] = now;
                c->s[SERVER].mss = seg->mss;
                c->s[SERVER].wscale = seg->wscale;
        } else if (c->t[T_SYNACK] && !c->t[T_EST] && !(c->s[CLIENT].bits & CS_EST_INFERRED) &&
                   !(f & TH_SYN)) {
                const struct cside *cl = &c->s[CLIENT], *sv = &c->s[SERVER];
                if (dir == CLIENT && (f & TH_ACK) && !seq_gt(sv->start_seq + 1, seg->ack)) {
                        if (f & (TH_FIN | TH_RST))      /* SYN/FIN/RST-only: time unknown */
                                c->s[CLIENT].bits |= CS_EST_INFERRED;
                        else
                                c->t[T_EST] = now;
                } else if (dir == SERVER && ((f & TH_FIN) ||
                           ((f & TH_ACK) && seq_gt(seg->ack, cl->start_seq + 1)))) {
                        /* only an accepted socket closes with FIN, and the
                         * client sent data: the ACK was missed (filtered) */
                        c->s[CLIENT].bits |= CS_EST_INFERRED;
                }
        }
}

/* Track how far a side's payload was seen without holes (one block
 * beyond a hole is remembered, in the extension). */
static void note_data(struct tcpsm *sm, struct crec *c, int dir, const struct segment *seg)
{
        struct cside *me = &c->s[dir];
        struct cext *x = conn_ext_get(sm->table, c);
        uint8_t f = seg->flags;
        uint32_t dstart = seg->seq + !!(f & TH_SYN);

        if (!(me->bits & CS_DATA_INIT) || (f & TH_SYN)) {
                if (!(me->bits & CS_DATA_INIT) || me->state == ST_CLOSED || seg->seq == me->start_seq)
                        me->data_seq = dstart;
                me->bits |= CS_DATA_INIT;
        }
        if (f & TH_RST)
                return;
        if (seg->payload) {
                uint32_t dend = dstart + seg->payload;
                int hole = x && x->ooo_start[dir] != x->ooo_end[dir];
                if (!seq_gt(dstart, me->data_seq)) {
                        if (seq_gt(dend, me->data_seq))
                                me->data_seq = dend;
                } else if (!hole) {                     /* a hole: remember */
                        if ((x = ext(sm, c)) != NULL) {
                                x->ooo_start[dir] = dstart;
                                x->ooo_end[dir] = dend;
                                hole = dstart != dend;
                        }
                } else if (!seq_gt(dstart, x->ooo_end[dir]) && !seq_gt(x->ooo_start[dir], dend)) {
                        if (seq_gt(x->ooo_start[dir], dstart))
                                x->ooo_start[dir] = dstart;
                        if (seq_gt(dend, x->ooo_end[dir]))
                                x->ooo_end[dir] = dend;
                }
                /* the hole filled: the block seen earlier is contiguous now */
                if (hole && !seq_gt(x->ooo_start[dir], me->data_seq)) {
                        if (seq_gt(x->ooo_end[dir], me->data_seq))
                                me->data_seq = x->ooo_end[dir];
                        x->ooo_start[dir] = x->ooo_end[dir] = 0;
                }
        }
        if ((f & TH_FIN) && dstart + seg->payload == me->data_seq)
                me->data_seq++;         /* the FIN follows the data we saw */
}

/* The peer acknowledged bytes we never saw: Zeek's content gap, counted
 * only while both sides are cleanly established or closing. */
static void note_gap(struct tcpsm *sm, struct crec *c, int dir, const struct segment *seg)
{
        struct cside *me = &c->s[dir], *peer = &c->s[!dir];
        struct cext *x;

        if (!(seg->flags & TH_ACK) || (seg->flags & TH_RST) || !(peer->bits & CS_DATA_INIT))
                return;
        if (!side_clean(me) || !side_clean(peer) || !seq_gt(seg->ack, peer->data_seq))
                return;
        peer->data_seq = seg->ack;
        if (!(x = ext(sm, c)))
                return;
        sat_inc(&x->gaps[!dir]);
        hist_scaled(c, !dir, x->gaps[!dir], 'G');
        if (x->ooo_start[!dir] != x->ooo_end[!dir] && !seq_gt(x->ooo_end[!dir], seg->ack))
                x->ooo_start[!dir] = x->ooo_end[!dir] = 0;
}

/* The first FIN / first RST of a side: when, and its seq and ack.  The
 * peer's last payload then is the peer's last payload until it sends new
 * data (note_after_close). */
static void note_close(struct tcpsm *sm, struct crec *c, int dir, const struct segment *seg,
                       uint32_t now)
{
        uint32_t mylast = c->t[T_DATA + dir], peerlast = c->t[T_DATA + !dir];
        int first = !(c->s[CLIENT].bits & CS_DID_CLOSE) && !(c->s[SERVER].bits & CS_DID_CLOSE);
        struct cclose *x;

        c->s[dir].bits |= CS_DID_CLOSE;
        if (!(x = closing(sm, c)))
                return;
        /* a FIN that does not ack the peer's last payload crossed it: the
         * closing side had not seen it, so it is not what the side was
         * idle since (the request of a race that crossed the server's
         * idle-close FIN) */
        if ((seg->flags & (TH_FIN | TH_ACK)) == (TH_FIN | TH_ACK) && !x->t[C_FIN + dir] && peerlast &&
            seq_gt(c->s[!dir].data_seq, seg->ack)) {
                c->mark_ack |= (uint8_t)(1u << (4 + dir));
                peerlast = 0;
        }
        if (first) {
                uint32_t t = mylast > peerlast ? mylast : peerlast;
                x->t[C_IDLE_REF] = t ? t : c->t[T_EST] ? c->t[T_EST] : c->t[T_SYNACK];
        }
        for (int k = 0; k < 2; k++) {           /* 0: FIN, 1: RST */
                int slot = k ? C_RST : C_FIN;
                if (!(seg->flags & (k ? TH_RST : TH_FIN)) || x->t[slot + dir])
                        continue;
                x->t[slot + dir] = now;
                x->mark_seq[k][dir] = seg->seq;
                x->mark_ack[k][dir] = seg->ack;
                if (seg->flags & TH_ACK)
                        c->mark_ack |= (uint8_t)(1u << (2 * k + dir));
        }
}

/* Side dir sends new payload at now: the first after the peer's FIN (RST)
 * is a race the detectors look at, and the peer's close keeps dir's last
 * payload from before it. */
static void note_after_close(struct tcpsm *sm, struct crec *c, int dir, uint32_t now)
{
        const struct cclose *cl = conn_close_get(sm->table, c);
        struct cext *x;

        if (!cl || !(cl->t[C_FIN + !dir] || cl->t[C_RST + !dir]))
                return;
        x = conn_ext_get(sm->table, c);
        for (int k = 0; k < 2; k++) {           /* 0: FIN, 1: RST */
                if (!cl->t[(k ? C_RST : C_FIN) + !dir] ||
                    (x && x->t[(k ? X_AFTER_RST : X_AFTER_FIN) + dir]))
                        continue;
                if (!x && !(x = ext(sm, c)))
                        return;
                x->t[(k ? X_AFTER_RST : X_AFTER_FIN) + dir] = now;
                x->t[(k ? X_RST_PEERLAST : X_FIN_PEERLAST) + !dir] = c->t[T_DATA + dir];
        }
}

/* New payload of side dir at now: a client's first after the server's
 * payload (a response) is a new request on a reused connection; the
 * callback gets the idle time before it (since that payload). */
static void note_reuse(struct tcpsm *sm, const struct crec *c, int dir, const struct segment *seg,
                       uint32_t now)
{
        uint32_t resp = c->t[T_DATA + SERVER];

        if (dir != CLIENT || !sm->on_reuse || !c->t[T_DATA + CLIENT] || resp <= c->t[T_DATA + CLIENT])
                return;
        sm->on_reuse(sm->ctx, seg, ((int64_t)(now - resp) << c->tshift) * 1000);
}

#ifndef RS_NO_SHORTCUTS
/* The one-step path: the usual segment of an established connection (an
 * ACK, with or without payload, in order and contiguous) applied in one
 * step.  It does what conn_apply does with such a segment and nothing
 * else: the sender's pkts + 1; T_END = now; the peer's ack_seq moved
 * forward as side_update_ack moves it; with payload, the sender's data_seq
 * = last_seq = seq + payload and T_DATA = now, and a client's first
 * payload after the server's is a new request on a reused connection
 * (note_reuse, as conn_apply does).  Returns 1 when applied; 0,
 * with nothing changed, for any other segment (conn_apply then takes it).
 *
 * The contract.  The guard's clauses, in the order written:
 *   g1  flags: ACK, and no SYN, FIN or RST    g9   window not 0
 *   g2  sender ESTABLISHED                    g10  seq == sender's last_seq
 *   g3  peer ESTABLISHED                      g11  seq == sender's data_seq
 *   g4  neither side sent a FIN or RST        g12  seq + payload does not wrap
 *   g5  sender's data_seq initialized         g13  sender's 'D' (payload) or
 *   g6  peer's data_seq initialized                'A' (none) already recorded
 *   g7  no extension (struct cext)            g14  ack not beyond the peer's
 *   g8  no close details (struct cclose)           data_seq (content gap)
 *                                             g15  ack does not wrap
 *                                             g16  handshake not awaiting its ACK
 * Every other effect conn_apply can have, and the clause that keeps it
 * off this path.  Clauses in parentheses exclude it too wherever it can
 * occur (the guard overlaps on purpose: dropping one of them alone changes
 * nothing, and the tests catch only the loss of all).  Whoever gives
 * conn_apply or its helpers a new effect adds it here with its clause,
 * and a test to tests/check_tcpsm.c (test case "one_step"):
 *   1. a side's sequence space (start/ack/last_seq, wrap counters) set on
 *      its first packet or restarted by a SYN (side_init_seq): g1, g2
 *   2. the peer's sequence space taken from the ack while the peer has
 *      sent nothing (peer CLOSED): g3 (g2)
 *   3. letters S H F R I Q, again on a new seq; the FIN/RST seq kept in
 *      the close details, allocated (hist_flags): g1
 *   4. a direction's first 'D' or 'A' (hist_flags): g13
 *   5. zero window: zwins + 1 and 'W' at 1, 10, 100 ... (extension): g9
 *   6. T_END kept once both sides sent a FIN or RST: g4 (g2, g3, g8)
 *   7. fin_cnt + 1: g1
 *   8. ack_seq not moved by the ack field without TH_ACK, moved by a RST's
 *      ack only within RS_RST_ACK_TRUST: g1
 *   9. ack wrap: ack_wraps + 1 (extension): g15 (g7: the peer's seq wrap
 *      made the extension)
 *  10. data_seq set on a side's first packet or a SYN (note_data): g5, g1;
 *      a side is ESTABLISHED only after sending, so g2 implies g5, and g3
 *      g6 (no test can reach them; they guard the fields g11, g14 read)
 *  11. out-of-order payload (seq beyond data_seq): data_seq not moved,
 *      the block remembered (extension): g11 (g10)
 *  12. payload reaching a remembered block: data_seq moves past it and the
 *      block is dropped: g7 (the block lives in the extension; in practice
 *      g10 too, last_seq being at or past the block)
 *  13. a FIN right after the data seen: data_seq + 1: g1
 *  14. last_seq wraps: seq_wraps + 1 (extension): g12
 *  15. a RESET side's last_seq does not move: g2 (g4, g8)
 *  16. retransmission (payload not beyond last_seq): rexmits + 1, 'T' at
 *      1, 10, 100 ... (extension); last_seq, data_seq, T_DATA kept: g10
 *      (g11)
 *  17. keep-alive (seq = last_seq - 1, 0 or 1 octet): keepalives + 1, and
 *      probe_rexmits + 1 with an octet (extension): g10 (g11)
 *  18. first new payload after the peer's FIN or RST: its time and the
 *      peer's last payload then, in the extension (note_after_close): g8
 *      (g3, g4)
 *  19. SYN count and times (extension), MSS, window scale, T_SYN, T_SYNACK
 *      (note_handshake): g1
 *  20. handshake completion: T_EST, or CS_EST_INFERRED (note_handshake): g16
 *  21. state changes (sm_dispatch): g1 for an ESTABLISHED side, which
 *      changes only on SYN, FIN or RST; g2, g3 for the others
 *  22. content gap: the peer's data_seq = ack, gaps + 1, 'G' at 1, 10 ...,
 *      a remembered block dropped (extension) (note_gap): g14
 *  23. the first FIN/RST of a side: CS_DID_CLOSE, times, seq/ack marks,
 *      idle reference (close details) (note_close): g1
 *  24. a RST's payload is not data (no last_seq, data_seq, T_DATA; it
 *      counts as a retransmission, effect 16): g1
 * (A new request on a reused connection, note_reuse, is done here too.)
 * Extensions and close details are allocated only for excluded effects:
 * this path allocates nothing. */
static int conn_apply_plain(struct tcpsm *sm, struct crec *c, int dir, const struct segment *seg,
                            uint32_t now)
{
        struct cside *me = &c->s[dir], *peer = &c->s[!dir];
        uint32_t end = seg->seq + seg->payload;
        int32_t dack = seq_delta(seg->ack, peer->ack_seq);

        if ((seg->flags & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) != TH_ACK ||
            me->state != ST_ESTABLISHED || peer->state != ST_ESTABLISHED ||
            ((me->bits | peer->bits) & CS_DID_CLOSE) || !(me->bits & CS_DATA_INIT) ||
            !(peer->bits & CS_DATA_INIT) || c->ext || c->close || seg->win == 0 ||
            seg->seq != me->last_seq || seg->seq != me->data_seq || end < seg->seq ||
            !(me->once & (seg->payload ? HIST_DATA : HIST_ACK)) ||
            seq_gt(seg->ack, peer->data_seq) ||                 /* a content gap */
            (dack > 0 && seg->ack < peer->ack_seq) ||           /* an ack wrap */
            (c->t[T_SYNACK] && !c->t[T_EST] && !(c->s[CLIENT].bits & CS_EST_INFERRED)))
                return 0;
        me->pkts++;
        c->t[T_END] = now;
        if (dack > 0 && !(seg->ack == 0 && dack > RS_SEQ_TOO_FAR))
                peer->ack_seq = seg->ack;
        if (seg->payload) {
                note_reuse(sm, c, dir, seg, now);
                me->data_seq = me->last_seq = end;
                c->t[T_DATA + dir] = now;
        }
        return 1;
}
#endif

/* Apply seg, sent by side dir, to c (Zeek's TCPSessionAdapter::Process);
 * now is seg's time as an offset of c. */
static void conn_apply(struct tcpsm *sm, struct crec *c, int dir, const struct segment *seg,
                       uint32_t now)
{
        struct cside *me = &c->s[dir], *peer = &c->s[!dir];
        struct cext *x;
        uint8_t f = seg->flags;
        uint32_t seglen = seg->payload + !!(f & TH_SYN) + !!(f & TH_FIN);
        uint32_t one_past, syn_seq = me->start_seq;
        int32_t d;
        int keepalive, rexmit = 0;

#ifndef RS_NO_SHORTCUTS
        if (conn_apply_plain(sm, c, dir, seg, now))
                return;
#endif
        if (f & TH_RST)
                seglen -= seg->payload; /* RST payload is diagnostic text, not data */
        one_past = seg->seq + seglen;
        keepalive = !(f & (TH_SYN | TH_FIN | TH_RST)) && seg->payload <= 1 &&
                    me->state != ST_CLOSED && seg->seq == me->last_seq - 1;
        me->pkts++;
        /* the previous SYN's seq is the ISN (a SYN that cannot move it, in
         * a closing or reset side, starts a new connection instead) */
        side_init_seq(sm, c, dir, seg, one_past);
        hist_flags(sm, c, dir, seg, syn_seq);
        if (seg->win == 0 && !(f & TH_RST) && peer->state != ST_FIN_WAIT && me->state != ST_RESET &&
            (x = ext(sm, c)) != NULL) {
                sat_inc(&x->zwins[dir]);
                hist_scaled(c, dir, x->zwins[dir], 'W');
        }
        if (!((c->s[CLIENT].bits & CS_DID_CLOSE) && (c->s[SERVER].bits & CS_DID_CLOSE)))
                c->t[T_END] = now;
        if ((f & TH_FIN) && me->fin_cnt < UINT8_MAX)
                me->fin_cnt++;
        if (f & TH_ACK) {
                if (peer->state == ST_CLOSED) {
                        peer->start_seq = peer->ack_seq = peer->last_seq = seg->ack - 1;
                } else if (!(f & TH_RST)) {
                        side_update_ack(sm, c, !dir, seg->ack);
                } else if (seq_gt(seg->ack, peer->ack_seq) &&
                           seq_delta(seg->ack, peer->ack_seq) < RS_RST_ACK_TRUST) {
                        /* an abortive close acks what it received: in a
                         * SYN/FIN/RST-only capture the only word on the
                         * peer's bytes (Zeek ignores RST acks) */
                        side_update_ack(sm, c, !dir, seg->ack);
                }
        }
        note_data(sm, c, dir, seg);
        d = side_update_last(sm, c, dir, seg, one_past, &rexmit);
        x = keepalive || rexmit ? ext(sm, c) : NULL;
        if (keepalive && x) {   /* RFC 9293 3.8.4: SND.NXT-1, 0 or 1 octet */
                sat_inc(&x->keepalives[dir]);
                if (rexmit)
                        sat_inc(&x->probe_rexmits[dir]);
        }
        if (rexmit) {
                if (x && x->rexmits[dir] < UINT32_MAX)
                        hist_scaled(c, dir, ++x->rexmits[dir], 'T');
        } else if (d > 0 && seg->payload && !(f & TH_RST)) {
                note_after_close(sm, c, dir, now);
                note_reuse(sm, c, dir, seg, now);
                c->t[T_DATA + dir] = now;
        }
        note_handshake(sm, c, dir, seg, now);
        sm_dispatch(c, dir, seg);
        note_gap(sm, c, dir, seg);
        if (f & (TH_FIN | TH_RST))
                note_close(sm, c, dir, seg, now);
}

/* ---- connection boundaries ---- */

/* The connection is over: a side reset it, or both sent FIN.  It stays in
 * the table for the close linger (CC_CLOSED), to see the last ACKs and
 * what the peers send after the close. */
static int conn_over(const struct crec *c)
{
        uint8_t a = c->s[CLIENT].state, b = c->s[SERVER].state;

        return a == ST_RESET || b == ST_RESET || (a == ST_FIN_WAIT && b == ST_FIN_WAIT);
}

static enum conn_class timeout_class(const struct crec *c)
{
        uint8_t a = c->s[CLIENT].state, b = c->s[SERVER].state;

        if (conn_over(c))
                return CC_CLOSED;
        if ((a == ST_CLOSED || a == ST_SYN_SENT) && (b == ST_CLOSED || b == ST_SYN_RECEIVED))
                return CC_HALFOPEN;
        return CC_ESTABLISHED;
}

/* One side closed a connection whose other side never sent anything: a
 * packet after the linger starts a new connection, as after one that is
 * over, though the table keeps it as established until then. */
static int closed_alone(const struct crec *c)
{
        const struct cside *a = &c->s[CLIENT], *b = &c->s[SERVER];

        return ((a->bits & CS_DID_CLOSE) && b->state == ST_CLOSED) ||
               ((b->bits & CS_DID_CLOSE) && a->state == ST_CLOSED);
}

/* Does seg start a new connection on c's 5-tuple (RFC 9293 3.10.7.4: a
 * new SYN after TIME-WAIT; Zeek's IsReuse)? */
static int is_reuse(const struct tcpsm *sm, const struct crec *c, const struct segment *seg)
{
        const struct cside *orig;

        if ((conn_over(c) || closed_alone(c)) && seg->ts - crec_ns(c, c->t[T_LAST]) > sm->linger_ns)
                return 1;
        if (!(seg->flags & TH_SYN))
                return 0;
        orig = &c->s[CLIENT];
        if (seg->flags & TH_ACK) {
                if (orig->state != ST_CLOSED)
                        return 0;
                orig = &c->s[SERVER];   /* a half connection: compare SYN-ACKs */
        }
        if ((c->s[CLIENT].bits | c->s[SERVER].bits) & CS_DID_CLOSE)
                return 1;               /* any SYN after a FIN or RST */
        return seg->seq != orig->start_seq;
}

static struct crec *conn_start(struct tcpsm *sm, const struct segment *seg, int *dir)
{
        struct crec *c = conn_table_insert(sm->table, seg);

        if (!c)
                return NULL;
        *dir = CLIENT;
        if ((seg->flags & (TH_SYN | TH_ACK)) != TH_SYN)
                c->flags |= CR_MIDSTREAM;
        if (first_packet_flips(seg)) {
                conn_swap_sides(sm->table, c);
                c->flags |= CR_FLIPPED;
                *dir = SERVER;
                hist_add(c, CLIENT, '^');
        }
        return c;
}

void tcpsm_on_segment(struct tcpsm *sm, const struct segment *seg)
{
        struct crec *c;
        uint32_t now;
        int dir = CLIENT;

        sm->st.segments++;
        if (!(seg->flags & (TH_SYN | TH_FIN | TH_RST)))
                sm->st.flagless++;
        c = conn_table_find(sm->table, seg, &dir);
        if (c && is_reuse(sm, c, seg)) {
                conn_table_remove(sm->table, c, CLOSE_REASON_REUSE);
                sm->st.reused++;
                c = NULL;
        }
        if (!c && !(c = conn_start(sm, seg, &dir))) {
                sm->st.nomem++;
                return;
        }
        /* seg's time in c, once: any rescale of c's times happens here */
        now = crec_off(sm->table, c, seg->ts);
        /* the same IP packet twice within a moment: a capture copy (Linux
         * loopback, -i any), not a retransmission */
        if (c->s[dir].pkts && seg->hash == c->dup_hash) {
                int64_t dt = seg->ts - NS(c, c->t[T_LAST]);
                if (dt >= -1000 && dt <= RS_DUP_WINDOW_NS + 1000) {
                        struct cext *x = ext(sm, c);
                        if (x)
                                x->dups++;
                        sm->st.duplicates++;
                        return;
                }
        }
        c->dup_hash = seg->hash;
        conn_apply(sm, c, dir, seg, now);
        conn_touch_off(sm->table, c, now, timeout_class(c));
}

/* ---- the finished record and its verdicts ---- */

static void expand_mark(const struct crec *r, const struct cclose *x, int k, int dir,
                        struct pkt_mark *m)
{
        uint32_t off = x ? x->t[(k ? C_RST : C_FIN) + dir] : 0;

        memset(m, 0, sizeof *m);
        if (!off)
                return;
        m->ts = crec_ns(r, off);
        m->seq = x->mark_seq[k][dir];
        m->ack = x->mark_ack[k][dir];
        m->flags = r->mark_ack & (1u << (2 * k + dir)) ? TH_ACK : 0;
}

/* A side's peer's last payload at the side's first FIN (k 0) or RST (k 1). */
static int64_t peerlast(const struct crec *r, const struct cext *x, int k, int dir)
{
        if (x && x->t[(k ? X_AFTER_RST : X_AFTER_FIN) + !dir])  /* the peer sent more */
                return crec_ns(r, x->t[(k ? X_RST_PEERLAST : X_FIN_PEERLAST) + dir]);
        return crec_ns(r, r->t[T_DATA + !dir]);
}

/* Payload bytes from sequence space (Zeek's TCP_Endpoint::Size): the
 * highest of sent and acknowledged, minus ISN, SYN and FIN. */
static uint64_t side_bytes(const struct side *s, const struct side *peer)
{
        uint64_t last, ack, size;

        if (s->pkts == 0 && peer->pkts == 0)
                return 0;
        if (s->prev_state == ST_SYN_SENT && s->state == ST_RESET && peer->state == ST_CLOSED)
                return 0;
        last = s->last_seq + ((uint64_t)s->seq_wraps << 32);
        ack = s->ack_seq + ((uint64_t)s->ack_wraps << 32);
        if (ack > last)
                last = ack;
        if (last < s->start_seq)        /* went backwards: nothing we can trust */
                return 0;
        size = last - s->start_seq;
        if (size)
                size--;
        if (s->fin_cnt && size)
                size--;
        return size;
}

/* Full match of Zeek's pattern ^?S[^HAFGIQ]*R.* against r's history. */
static int history_rstos0(const struct crec *r)
{
        size_t i = 0;

        if (i < r->hist_len && hist_get(r, i) == '^')
                i++;
        if (i >= r->hist_len || hist_get(r, i) != 'S')
                return 0;
        for (i++; i < r->hist_len; i++) {
                char h = hist_get(r, i);
                if (h == 'R')
                        return 1;
                if (strchr("HAFGIQ", h))
                        return 0;
        }
        return 0;
}

static int inactive(uint8_t st) { return st == ST_CLOSED || st == ST_PARTIAL; }

/* Zeek's conn_state (after the sides' bytes are known). */
static enum zeek_state zeek_state(const struct crec *r, const struct conn *c)
{
        uint8_t os = c->s[CLIENT].state, rs = c->s[SERVER].state;

        if (rs == ST_RESET) {
                if (os == ST_SYN_SENT || os == ST_SYN_RECEIVED ||
                    (os == ST_RESET && c->s[CLIENT].bytes == 0 && c->s[SERVER].bytes == 0))
                        return ZS_REJ;
                return inactive(os) ? ZS_RSTRH : ZS_RSTR;
        }
        if (os == ST_RESET) {
                if (inactive(rs))
                        return history_rstos0(r) ? ZS_RSTOS0 : ZS_OTH;
                return ZS_RSTO;
        }
        if (rs == ST_FIN_WAIT && os == ST_FIN_WAIT)
                return ZS_SF;
        if (os == ST_FIN_WAIT)
                return inactive(rs) ? ZS_SH : ZS_S2;
        if (rs == ST_FIN_WAIT)
                return inactive(os) ? ZS_SHR : ZS_S3;
        if (os == ST_SYN_SENT && rs == ST_CLOSED)
                return ZS_S0;
        if (os == ST_ESTABLISHED && rs == ST_ESTABLISHED)
                return ZS_S1;
        return ZS_OTH;
}

static enum handshake handshake_of(const struct conn *c)
{
        if (c->midstream)
                return HS_MIDSTREAM;
        if (c->est_ts || c->s[CLIENT].est_inferred)
                return HS_COMPLETE;
        if (c->synack_ts)
                return HS_NO_ACK;
        if (c->s[SERVER].rst.ts)
                return HS_REFUSED;
        return HS_UNANSWERED;
}

/* The first FIN or RST of either side: which, and when. */
static void close_of(struct conn *c)
{
        const struct pkt_mark *m[4] = { &c->s[CLIENT].fin, &c->s[CLIENT].rst,
                                        &c->s[SERVER].fin, &c->s[SERVER].rst };
        int best = -1;

        for (int i = 0; i < 4; i++)     /* (in enum close_kind order) */
                if (m[i]->ts && (best < 0 || m[i]->ts < m[best]->ts))
                        best = i;
        c->close = (uint8_t)(best < 0 ? CLOSE_NONE : best);
        c->close_at = best < 0 ? 0 : m[best]->ts;
}

/* SYN to handshake ACK, from the last SYN sent before the SYN-ACK; -1
 * unknown. */
static int64_t rtt_of(const struct conn *c)
{
        int64_t syn = c->syn_ts;

        if (!c->est_ts || !syn)
                return -1;
        for (int i = 0; i + 1 < c->syn_count && i < RS_MAX_SYN_TIMES; i++) {
                int64_t t = c->syn_ts + (int64_t)c->syn_dt[i] * 1000;
                if (t <= c->synack_ts)
                        syn = t;
        }
        return c->est_ts - syn;
}

/* History letters; flags_only drops the gap letters, which a
 * SYN/FIN/RST-only capture produces on every FIN. */
static void history_of(const struct crec *r, int flags_only, struct conn *c)
{
        size_t n = 0;

        for (size_t i = 0; i < r->hist_len; i++) {
                char h = hist_get(r, i);
                if (flags_only && (h == 'G' || h == 'g'))
                        continue;
                c->history[n++] = h;
        }
        if (r->flags & CR_HIST_CUT)
                c->history[n++] = '+';
        if (n == 0)
                c->history[n++] = '-';
        c->history[n] = '\0';
}

_Static_assert(RS_HISTORY_MAX <= sizeof ((struct conn *)0)->history - 2,
               "the history text holds every letter, a '+' and the NUL");

/* The finished record of table record r, verdicts included. */
static void expand(const struct conn_table *t, const struct crec *r, int flags_only,
                   struct conn *c)
{
        const struct cext *x = conn_ext_get(t, r);
        const struct cclose *cl = conn_close_get(t, r);

        memset(c, 0, sizeof *c);
        c->id = r->id;
        c->family = r->family;
        c->midstream = (r->flags & CR_MIDSTREAM) != 0;
        c->flipped = (r->flags & CR_FLIPPED) != 0;
        c->reason = r->reason;
        c->syn_count = r->syn_count;
        c->flags_only = (uint8_t)flags_only;
        crec_endpoint(t, r, CLIENT, &c->cli);
        crec_endpoint(t, r, SERVER, &c->srv);
        c->first = r->first;
        c->last = crec_ns(r, r->t[T_LAST]);
        c->end = crec_ns(r, r->t[T_END]);
        if (c->last < c->first)
                c->last = c->first;
        if (c->end < c->first)
                c->end = c->first;
        c->syn_ts = crec_ns(r, r->t[T_SYN]);
        c->synack_ts = crec_ns(r, r->t[T_SYNACK]);
        c->est_ts = crec_ns(r, r->t[T_EST]);
        c->idle_ref = cl ? crec_ns(r, cl->t[C_IDLE_REF]) : 0;
        if (x) {
                memcpy(c->syn_dt, x->syn_dt, sizeof c->syn_dt);
                c->dups = x->dups;
        }
        for (int d = 0; d < 2; d++) {
                const struct cside *s = &r->s[d];
                struct side *o = &c->s[d];
                o->state = s->state;
                o->prev_state = s->prev_state;
                o->did_close = (s->bits & CS_DID_CLOSE) != 0;
                o->est_inferred = (s->bits & CS_EST_INFERRED) != 0;
                o->fin_cnt = s->fin_cnt;
                o->wscale = s->wscale;
                o->mss = s->mss;
                o->start_seq = s->start_seq;
                o->last_seq = s->last_seq;
                o->ack_seq = s->ack_seq;
                o->pkts = s->pkts;
                o->last_data_ts = crec_ns(r, r->t[T_DATA + d]);
                expand_mark(r, cl, 0, d, &o->fin);
                expand_mark(r, cl, 1, d, &o->rst);
                if (cl)
                        o->last_fin_seq = cl->last_fin_seq[d];
                if (o->fin.ts) {        /* no new payload follows a side's own FIN or RST */
                        o->fin_mylast = o->last_data_ts;
                        /* (0 when the FIN crossed the peer's last payload) */
                        o->fin_peerlast = r->mark_ack & (1u << (4 + d)) ? 0 : peerlast(r, x, 0, d);
                }
                if (o->rst.ts) {
                        o->rst_mylast = o->last_data_ts;
                        o->rst_peerlast = peerlast(r, x, 1, d);
                }
                if (!x)
                        continue;
                o->rexmits = x->rexmits[d];
                o->seq_wraps = x->seq_wraps[d];
                o->ack_wraps = x->ack_wraps[d];
                o->keepalives = x->keepalives[d];
                o->probe_rexmits = x->probe_rexmits[d];
                o->zwins = x->zwins[d];
                o->gaps = x->gaps[d];
                o->after_peer_fin = crec_ns(r, x->t[X_AFTER_FIN + d]);
                o->after_peer_rst = crec_ns(r, x->t[X_AFTER_RST + d]);
        }
        /* the verdicts, once */
        c->s[CLIENT].bytes = side_bytes(&c->s[CLIENT], &c->s[SERVER]);
        c->s[SERVER].bytes = side_bytes(&c->s[SERVER], &c->s[CLIENT]);
        c->zstate = (uint8_t)zeek_state(r, c);
        c->handshake = (uint8_t)handshake_of(c);
        close_of(c);
        c->rtt_ns = rtt_of(c);
        history_of(r, flags_only, c);
}

int tcpsm_flags_only(const struct tcpsm *sm)
{
        if (sm->flags_only_hint >= 0)
                return sm->flags_only_hint;
        return sm->st.segments > 0 && sm->st.flagless == 0;
}

static void on_leave(struct crec *r, void *ctx)
{
        struct tcpsm *sm = ctx;
        struct conn c;

        /* the table lets an over connection go after the linger as
         * CLOSE_REASON_FIN: a RST from either side makes it a reset */
        if (r->reason == CLOSE_REASON_FIN &&
            (r->s[CLIENT].state == ST_RESET || r->s[SERVER].state == ST_RESET))
                r->reason = CLOSE_REASON_RST;
        if (!sm->finish)
                return;
        expand(sm->table, r, tcpsm_flags_only(sm), &c);
        sm->finish(&c, sm->ctx);
}

int tcpsm_init(struct tcpsm *sm, const struct conn_limits *lim, int flags_only_hint,
               void (*finish)(struct conn *c, void *ctx), void *ctx)
{
        memset(sm, 0, sizeof *sm);
        sm->linger_ns = lim->linger_ns;
        sm->flags_only_hint = flags_only_hint;
        sm->finish = finish;
        sm->ctx = ctx;
        sm->table = conn_table_create(lim, on_leave, sm);
        return sm->table ? 0 : -1;
}

void tcpsm_free(struct tcpsm *sm)
{
        conn_table_destroy(sm->table);
        sm->table = NULL;
}

void tcpsm_prefetch(const struct tcpsm *sm, const struct segment *seg, int stage)
{
        conn_table_prefetch(sm->table, seg, stage);
}

void tcpsm_expire(struct tcpsm *sm, int64_t now)
{
        conn_table_expire(sm->table, now);
}

void tcpsm_flush(struct tcpsm *sm)
{
        conn_table_flush(sm->table);
}

size_t tcpsm_open_count(const struct tcpsm *sm)
{
        return conn_table_count(sm->table);
}

uint64_t tcpsm_evicted(const struct tcpsm *sm)
{
        return conn_table_evicted(sm->table);
}
