/*
 * gen.c - deterministic generator of large benchmark captures for rstscope.
 *
 *   gen [-n PACKETS] [-c CONCURRENT] [--flags-only] [--burst] [-s SEED]
 *       [-S SNAPLEN] -o FILE
 *
 * Writes a classic pcap file (microsecond timestamps, LINKTYPE_ETHERNET)
 * directly, record by record, through a large output buffer: no libpcap,
 * no per-packet allocation, ~10 M packets in a few seconds.  The same
 * arguments give the same file, byte for byte.
 *
 * Traffic model: a discrete-event simulation of CONCURRENT "slots".  Each
 * slot runs one TCP connection at a time from a script (below); when the
 * connection ends the slot starts the next one a few ms later.  So the
 * number of connections open at once stays at ~CONCURRENT for the whole
 * capture, whatever its length: a 10x longer capture has 10x the
 * connections but the same concurrency.  Every slot's next packet sits in a
 * binary heap keyed on (time, slot), which also gives a deterministic order
 * for packets at the same microsecond.  Slots start within the first second.
 *
 * Connection scripts (shares of new connections; servers in srv[] below):
 *   ka_client_fin  48%  keep-alive to web:80 or api:8080, 1..12 request/
 *                       response exchanges with 1 ms..4.5 s between them,
 *                       closed by the client (FIN) right away or after
 *                       0.5..4 s idle (uniform, so no cluster)
 *   node_idle      25%  keep-alive to node:3000, 1..5 exchanges; the server
 *                       closes with FIN 6.000..6.003 s after its last response
 *                       (Node.js >= 20: keepAliveTimeout 5 s + 1 s)
 *   node_race       5%  as node_idle, but the client sends a new request
 *                       after the server's FIN (the keep-alive reuse race);
 *                       the server's kernel answers with a bare RST (no ACK,
 *                       no options, window 0) whose seq is the request's
 *                       ack: 80% the client acked the FIN first (RST seq =
 *                       FIN seq + 1), 20% request and FIN crossed (= FIN seq)
 *   server_close    8%  web:80 answers "Connection: close": FIN right after
 *                       the last response
 *   client_rst      6%  api:8080, the client aborts (RST+ACK, SO_LINGER 0)
 *                       1..50 ms after the last response
 *   server_rst      3%  api:8080 acks the last request and aborts it
 *                       (RST+ACK) without answering (request_reset)
 *   refused         3%  SYN to api host port 9090, answered by RST+ACK
 *   unanswered      2%  SYN to blackhole:443 at 0, 1 and 3 s (classic RTO,
 *                       tcp_syn_retries=2), the client gives up at 7 s
 * On every exchange: 15% of responses take 40..300 ms (the server sends a
 * delayed pure ACK at 40 ms first); 2% of responses lose the client's ACK
 * and the last response segment is retransmitted after ~200 ms (same seq).
 * 4% of new connections reuse the slot's previous 4-tuple with a new ISN
 * (port reuse), running the same script again; the rest take a fresh
 * tuple.  ~10% of connections are IPv6.
 *
 * --burst ("1 M connections open at once", with -c 1000000): every slot
 * runs exactly one connection on phases of T = max(1 s, CONCURRENT/50000 s)
 * each: [0,T) all handshakes, [T,2T) one exchange each, [2T,3T) all
 * closes (70% client FIN, 20% server FIN, 10% client RST); every connection
 * is open during [T,2T).  -n is unlimited by default in this mode
 * (9 packets per connection).
 *
 * Frames: Ethernet II / IPv4 (DF, TTL 64) or IPv6 (hop limit 64) / TCP,
 * with correct IP total/payload lengths and TCP data offsets; the wire
 * length counts the full payload.  IP and TCP CHECKSUMS ARE ZERO: rstscope
 * does not check them (nor do tshark or tcptrace by default).  Options as
 * Linux sends them: SYN and SYN-ACK carry MSS, SACK_PERM, TS, NOP, WS 7
 * (40-byte TCP header); every later segment carries NOP NOP TS (32-byte
 * header, so a pure IPv4 ACK is a 66-byte frame, IPv6 86); RSTs sent by
 * the kernel without a socket (refused, race) have no options and window 0
 * (as Linux does); a socket's abortive RST+ACK carries TS.  Payload: 200..900
 * bytes per request, 200..12000 per response, cut into <= MSS segments.
 * CAPTURED LENGTH: each record is cut at SNAPLEN (default 128, like
 * tcpdump -s 128): every header is complete, payload is kept only up to
 * the snap length (the start of an HTTP request or response); the record's
 * wire length is the real one.
 *
 * --flags-only writes only the packets with SYN, FIN or RST set (what
 * tcpdump 'tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0' keeps, for
 * IPv6 too); -n then counts the packets written, so the capture covers a
 * longer time.  A ground-truth summary (connections per script, races,
 * retransmissions, concurrency over the capture) goes to standard error.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASE_SEC 1709294400u            /* 2024-03-01 12:00:00 UTC */
#define MSEC(x) ((uint64_t)(x) * 1000u)  /* times are µs */
#define SEC(x) ((uint64_t)(x) * 1000000u)
#define NEVER UINT64_MAX

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

#define CLI 0
#define SRV 1

#define NCLI4 8000u                     /* client hosts 10.1.0.1 .. 10.1.31.250 */
#define PORT_LO 32768u                  /* Linux ephemeral range 32768..60999 */
#define NPORT 28232u

enum opt_kind { OPT_NONE, OPT_SYN, OPT_TS };

enum server { SV_NODE, SV_WEB, SV_API, SV_REFUSED, SV_BLACKHOLE, SV_N };
static const struct { uint8_t octet; uint16_t port; } srv[SV_N] = {
        [SV_NODE] = { 10, 3000 },       /* 10.96.0.10 / fd00:96::a */
        [SV_WEB] = { 11, 80 },          /* 10.96.0.11 / fd00:96::b */
        [SV_API] = { 12, 8080 },        /* 10.96.0.12 / fd00:96::c */
        [SV_REFUSED] = { 12, 9090 },    /* nothing listens there */
        [SV_BLACKHOLE] = { 99, 443 },   /* 10.96.0.99: drops SYNs */
};

enum scen { SC_KA_CFIN, SC_NODE_IDLE, SC_NODE_RACE, SC_SRV_CLOSE, SC_CLI_RST, SC_SRV_RST,
            SC_REFUSED, SC_UNANSWERED, SC_N };
static const char *const scen_name[SC_N] = {
        "ka_client_fin", "node_idle", "node_race", "server_close", "client_rst",
        "server_rst", "refused", "unanswered",
};
/* per mille of new connections (steady mode) */
static const unsigned scen_weight[SC_N] = { 480, 250, 50, 80, 60, 30, 30, 20 };

enum phase {
        PH_SYN, PH_REFUSE, PH_GIVEUP, PH_SYNACK, PH_HSACK, PH_REQ, PH_SDACK, PH_RESP,
        PH_RESP_RTX, PH_CACK, PH_CFIN, PH_SFIN_REPLY, PH_LAST_CACK, PH_SFIN, PH_CFIN_REPLY,
        PH_LAST_SACK, PH_RACE_ACK, PH_RACE_REQ, PH_RACE_RST, PH_CRST, PH_SACK_REQ, PH_SRST,
        PH_START,
};

struct gc {                             /* one slot / its current connection, 56 bytes */
        uint64_t last_pl;               /* last payload of either side, µs */
        uint64_t start;                 /* first SYN, µs */
        uint32_t tk;                    /* tuple index: client host and port */
        uint32_t cseq, sseq;            /* snd.nxt of client and server */
        uint32_t ctsb, stsb;            /* TSval offsets */
        uint32_t aux;                   /* think time left / rtx length / RST seq */
        uint32_t resp_left;             /* response bytes still to send */
        uint16_t rtt;                   /* µs */
        uint8_t scen, ph, v6, sv, nex, tries;
        uint8_t rtx;                    /* retransmit this response */
        uint8_t crossed;                /* race: request crossed the FIN */
        uint8_t reuse;                  /* this connection reuses the previous tuple */
        uint8_t started;                /* first SYN written */
};

struct hent { uint64_t t; uint32_t id; };

struct gen {
        /* options */
        uint64_t limit;                 /* packets to write */
        uint32_t nslots;
        int flags_only, burst;
        uint32_t snap;
        uint64_t rng;
        /* state */
        struct gc *c;
        struct hent *heap;
        uint32_t nheap;
        uint32_t next_tk;
        uint64_t burst_T;               /* µs per burst phase */
        uint16_t ipid;
        FILE *out;
        uint8_t *buf;
        size_t bufpos, bufsz;
        /* statistics */
        uint64_t written, bytes, events, wire_bytes;
        uint64_t first_t, last_t;
        uint64_t started[SC_N], done[SC_N];
        uint64_t open, max_open, open_sum;
        uint64_t reused, v6conns, rtx, crossed, races_acked;
        uint64_t idle_closes;           /* completed closes >= 0.5 s after the last payload */
        uint64_t syns, synacks, fins, rsts, data, acks;
        uint64_t decile_open[10];
        int decile;
};

static uint64_t splitmix(uint64_t *s)
{
        uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

/* uniform in [0, n) */
static uint32_t rnd(struct gen *g, uint32_t n)
{
        return (uint32_t)(((splitmix(&g->rng) >> 32) * (uint64_t)n) >> 32);
}

static uint32_t rnd_range(struct gen *g, uint32_t lo, uint32_t hi)   /* [lo, hi] */
{
        return lo + rnd(g, hi - lo + 1);
}

static void die(const char *msg)
{
        fprintf(stderr, "gen: %s\n", msg);
        exit(1);
}

/* ---- output ---- */

static void flush_out(struct gen *g)
{
        if (g->bufpos && fwrite(g->buf, 1, g->bufpos, g->out) != g->bufpos) {
                fprintf(stderr, "gen: write: %s\n", strerror(errno));
                exit(1);
        }
        g->bytes += g->bufpos;
        g->bufpos = 0;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static const char req_tmpl[] =
        "GET /api/v1/items/4711?fields=id,name,price HTTP/1.1\r\nHost: backend.svc.cluster.local\r\n"
        "User-Agent: envoy\r\nAccept: application/json\r\nConnection: keep-alive\r\n"
        "X-Request-Id: 6f1c2a4e-8d3b-4f0a-9c7e-2b5d1e0f3a94\r\n\r\n";
static const char resp_tmpl[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n"
        "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nDate: Fri, 01 Mar 2024 12:00:00 GMT\r\n"
        "\r\n{\"id\":4711,\"name\":\"item\",\"price\":12.5}";

/* One segment of connection c at time t, sent by side `from`.  In
 * --flags-only mode segments without SYN/FIN/RST are simulated but not
 * written. */
static void emit(struct gen *g, struct gc *c, uint64_t t, int from, uint8_t fl, uint32_t seq,
                 uint32_t ack, uint32_t plen, enum opt_kind opt)
{
        uint8_t fr[1600], *p = fr;
        uint32_t optlen = opt == OPT_SYN ? 20 : opt == OPT_TS ? 12 : 0;
        uint32_t thl = 20 + optlen, iphl = c->v6 ? 40 : 20;
        uint32_t wire = 14 + iphl + thl + plen, hdr = 14 + iphl + thl, cap, i;
        uint32_t tk_host = c->tk % NCLI4;
        /* per host, successive tuples take successive ports from a per-host start */
        uint32_t cport = PORT_LO + (c->tk / NCLI4 + tk_host * 4099u) % NPORT;
        uint8_t cip[16], sip[16];
        uint32_t tsval = (from == CLI ? c->ctsb : c->stsb) + (uint32_t)(t / 1000);
        uint32_t tsecr = (from == CLI ? c->stsb : c->ctsb) + (uint32_t)(t / 1000);
        uint16_t win;
        const char *tmpl;
        size_t tlen;

        g->events++;
        if (fl & F_SYN) { if (fl & F_ACK) g->synacks++; else g->syns++; }
        if (fl & F_FIN) g->fins++;
        if (fl & F_RST) g->rsts++;
        if (plen && !(fl & (F_SYN | F_FIN | F_RST))) g->data++;
        if (!plen && fl == F_ACK) g->acks++;
        if (c->ph == PH_SYN && !c->started) {
                c->started = 1;
                g->started[c->scen]++;
                g->open++;
                if (g->open > g->max_open)
                        g->max_open = g->open;
                if (c->v6)
                        g->v6conns++;
                if (c->reuse)
                        g->reused++;
        }
        if (g->flags_only && !(fl & (F_SYN | F_FIN | F_RST)))
                return;
        if (g->written >= g->limit)
                return;

        /* Ethernet: client 02:00:00:00:00:01, gateway/server 02:00:00:00:00:02 */
        memcpy(p, from == CLI ? "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
                              : "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
        put16(p + 12, c->v6 ? 0x86dd : 0x0800);
        p += 14;
        if (c->v6) {
                memcpy(cip, "\xfd\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16);
                put16(cip + 12, tk_host / 250);
                put16(cip + 14, 1 + tk_host % 250);
                memcpy(sip, "\xfd\x00\x00\x96\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16);
                sip[15] = srv[c->sv].octet;
                put32(p, 0x60000000u);
                put16(p + 4, thl + plen);
                p[6] = 6;
                p[7] = 64;
                memcpy(p + 8, from == CLI ? cip : sip, 16);
                memcpy(p + 24, from == CLI ? sip : cip, 16);
        } else {
                cip[0] = 10; cip[1] = 1; cip[2] = (uint8_t)(tk_host / 250);
                cip[3] = (uint8_t)(1 + tk_host % 250);
                sip[0] = 10; sip[1] = 96; sip[2] = 0; sip[3] = srv[c->sv].octet;
                p[0] = 0x45;
                p[1] = 0;
                put16(p + 2, 20 + thl + plen);
                /* a socket-less RST has IP id 0, like Linux */
                put16(p + 4, opt == OPT_NONE ? 0 : g->ipid++);
                put16(p + 6, 0x4000);                   /* DF */
                p[8] = 64;
                p[9] = 6;
                p[10] = p[11] = 0;                      /* checksum: not computed */
                memcpy(p + 12, from == CLI ? cip : sip, 4);
                memcpy(p + 16, from == CLI ? sip : cip, 4);
        }
        p += iphl;
        put16(p, from == CLI ? cport : srv[c->sv].port);
        put16(p + 2, from == CLI ? srv[c->sv].port : cport);
        put32(p + 4, seq);
        put32(p + 8, ack);
        p[12] = (uint8_t)((thl / 4) << 4);
        p[13] = fl;
        if (opt == OPT_NONE)
                win = 0;
        else if (fl & F_SYN)
                win = from == CLI ? 64240 : (c->v6 ? 64800 : 65160);
        else
                win = from == CLI ? 502 : 509;
        put16(p + 14, win);
        p[16] = p[17] = 0;                              /* checksum: not computed */
        p[18] = p[19] = 0;
        p += 20;
        if (opt == OPT_SYN) {
                p[0] = 2; p[1] = 4; put16(p + 2, c->v6 ? 1440 : 1460);
                p[4] = 4; p[5] = 2;
                p[6] = 8; p[7] = 10; put32(p + 8, tsval); put32(p + 12, (fl & F_ACK) ? tsecr : 0);
                p[16] = 1;
                p[17] = 3; p[18] = 3; p[19] = 7;
        } else if (opt == OPT_TS) {
                p[0] = 1; p[1] = 1; p[2] = 8; p[3] = 10;
                put32(p + 4, tsval);
                put32(p + 8, tsecr);
        }
        p += optlen;
        cap = wire < g->snap ? wire : g->snap;
        if (cap > sizeof fr)
                cap = sizeof fr;
        tmpl = from == CLI ? req_tmpl : resp_tmpl;
        tlen = from == CLI ? sizeof req_tmpl - 1 : sizeof resp_tmpl - 1;
        for (i = 0; hdr + i < cap && i < plen; i++)
                p[i] = (uint8_t)tmpl[i % tlen];

        if (g->bufpos + 16 + cap > g->bufsz)
                flush_out(g);
        {
                uint8_t *r = g->buf + g->bufpos;
                uint32_t sec = BASE_SEC + (uint32_t)(t / 1000000), usec = (uint32_t)(t % 1000000);
                memcpy(r, &sec, 4);             /* host byte order, like the file header */
                memcpy(r + 4, &usec, 4);
                memcpy(r + 8, &cap, 4);
                memcpy(r + 12, &wire, 4);
                memcpy(r + 16, fr, cap);
                g->bufpos += 16 + cap;
        }
        if (!g->written)
                g->first_t = t;
        g->last_t = t;
        g->written++;
        g->wire_bytes += wire;
        g->open_sum += g->open;
        if (g->written * 10 >= (uint64_t)(g->decile + 1) * g->limit && g->decile < 10 &&
            g->limit != NEVER)
                g->decile_open[g->decile++] = g->open;
}

/* ---- connection scripts ---- */

static void conn_init(struct gen *g, struct gc *c, int reuse)
{
        uint32_t tk = c->tk;
        uint8_t scen = c->scen, sv = c->sv, v6 = c->v6;

        memset(c, 0, sizeof *c);
        c->ph = PH_SYN;
        if (reuse) {                    /* same 4-tuple, same script, new ISN */
                c->tk = tk;
                c->scen = scen;
                c->sv = sv;
                c->v6 = v6;
                c->reuse = 1;
        } else {
                uint32_t w = rnd(g, 1000), s = 0;
                c->tk = g->next_tk++;
                if (g->burst) {
                        s = w < 700 ? SC_KA_CFIN : w < 900 ? SC_NODE_IDLE : SC_CLI_RST;
                } else {
                        while (w >= scen_weight[s]) {
                                w -= scen_weight[s];
                                s++;
                        }
                }
                c->scen = (uint8_t)s;
                switch (s) {
                case SC_KA_CFIN: c->sv = rnd(g, 2) ? SV_WEB : SV_API; break;
                case SC_NODE_IDLE: case SC_NODE_RACE: c->sv = SV_NODE; break;
                case SC_SRV_CLOSE: c->sv = SV_WEB; break;
                case SC_REFUSED: c->sv = SV_REFUSED; break;
                case SC_UNANSWERED: c->sv = SV_BLACKHOLE; break;
                default: c->sv = SV_API; break;
                }
                c->v6 = rnd(g, 10) == 0;
        }
        c->cseq = (uint32_t)splitmix(&g->rng) + 1;      /* snd.nxt after the SYN */
        c->sseq = (uint32_t)splitmix(&g->rng) + 1;
        c->ctsb = (uint32_t)splitmix(&g->rng);
        c->stsb = (uint32_t)splitmix(&g->rng);
        c->rtt = (uint16_t)(rnd(g, 2) ? rnd_range(g, 100, 500) : rnd_range(g, 500, 3000));
        if (g->burst)
                c->nex = 1;
        else if (c->scen == SC_NODE_IDLE || c->scen == SC_NODE_RACE)
                c->nex = (uint8_t)(rnd(g, 2) ? 1 : rnd_range(g, 2, 5));
        else {
                c->nex = 1;
                while (c->nex < 12 && rnd(g, 100) < 65)
                        c->nex++;
        }
        c->crossed = c->scen == SC_NODE_RACE && rnd(g, 5) == 0;
}

static void conn_done(struct gen *g, struct gc *c, uint64_t t, int idle_close)
{
        g->done[c->scen]++;
        g->open--;
        if (idle_close)
                g->idle_closes++;
        (void)t;
}

/* burst mode: slot id's exchange and close times */
static uint64_t burst_at(struct gen *g, uint32_t id, int phase)
{
        return (uint64_t)phase * g->burst_T + (uint64_t)id * g->burst_T / g->nslots;
}

static uint64_t later(uint64_t want, uint64_t t) { return want > t ? want : t + 1; }

/* After the client's ACK of the last response: how the connection ends. */
static uint64_t close_begin(struct gen *g, struct gc *c, uint32_t id, uint64_t t)
{
        uint64_t when;

        switch (c->scen) {
        case SC_NODE_IDLE:
        case SC_NODE_RACE:
                c->ph = PH_SFIN;
                when = g->burst ? burst_at(g, id, 2) : c->last_pl + SEC(6) + rnd(g, 3000);
                return later(when, t);
        case SC_CLI_RST:
                c->ph = PH_CRST;
                return g->burst ? later(burst_at(g, id, 2), t) : t + rnd_range(g, 1000, 50000);
        default:
                c->ph = PH_CFIN;
                if (g->burst)
                        return later(burst_at(g, id, 2), t);
                if (rnd(g, 2))
                        return t + rnd_range(g, 100, 20000);
                return later(c->last_pl + rnd_range(g, 500000, 4000000), t);
        }
}

/* Run the next step of slot id at time t: write at most one packet and
 * return when the slot's next step is due (NEVER: the slot is finished). */
static uint64_t step(struct gen *g, uint32_t id, uint64_t t)
{
        struct gc *c = &g->c[id];
        uint32_t len;

        switch ((enum phase)c->ph) {
        case PH_START:
                conn_init(g, c, 0);
                return t;
        case PH_SYN:
                c->start = c->start ? c->start : t;
                emit(g, c, t, CLI, F_SYN, c->cseq - 1, 0, 0, OPT_SYN);
                if (c->scen == SC_UNANSWERED) {
                        c->tries++;
                        if (c->tries < 3)
                                return t + SEC(c->tries);       /* +1 s, +2 s: at 1 and 3 s */
                        c->ph = PH_GIVEUP;
                        return t + SEC(4);                      /* gives up at 7 s */
                }
                c->ph = c->scen == SC_REFUSED ? PH_REFUSE : PH_SYNACK;
                return t + rnd_range(g, 15, 60);
        case PH_REFUSE:
                emit(g, c, t, SRV, F_RST | F_ACK, 0, c->cseq, 0, OPT_NONE);
                conn_done(g, c, t, 0);
                break;
        case PH_GIVEUP:
                conn_done(g, c, t, 0);
                break;
        case PH_SYNACK:
                emit(g, c, t, SRV, F_SYN | F_ACK, c->sseq - 1, c->cseq, 0, OPT_SYN);
                c->ph = PH_HSACK;
                return t + c->rtt;
        case PH_HSACK:
                emit(g, c, t, CLI, F_ACK, c->cseq, c->sseq, 0, OPT_TS);
                c->ph = PH_REQ;
                return g->burst ? later(burst_at(g, id, 1), t) : t + rnd_range(g, 5, 500);
        case PH_REQ: {
                uint32_t think, r = rnd(g, 100);
                len = rnd_range(g, 200, 900);
                emit(g, c, t, CLI, F_PSH | F_ACK, c->cseq, c->sseq, len, OPT_TS);
                c->cseq += len;
                c->last_pl = t;
                if (c->scen == SC_SRV_RST && c->nex == 1) {
                        c->ph = PH_SACK_REQ;
                        return t + rnd_range(g, 20, 100);
                }
                c->resp_left = r < 70 || g->burst ? rnd_range(g, 200, 1400) :
                               r < 95 ? rnd_range(g, 1449, 4000) : rnd_range(g, 4000, 12000);
                c->rtx = !g->burst && rnd(g, 100) < 2;
                think = g->burst || rnd(g, 100) < 85 ? rnd_range(g, 200, 20000)
                                                     : rnd_range(g, 40001, 300000);
                if (think > 40000) {
                        c->aux = think - 40000;
                        c->ph = PH_SDACK;
                        return t + 40000;
                }
                c->ph = PH_RESP;
                return t + think;
        }
        case PH_SDACK:
                emit(g, c, t, SRV, F_ACK, c->sseq, c->cseq, 0, OPT_TS);
                c->ph = PH_RESP;
                return t + c->aux;
        case PH_RESP: {
                uint32_t mss = c->v6 ? 1428 : 1448;
                len = c->resp_left < mss ? c->resp_left : mss;
                emit(g, c, t, SRV, F_PSH | F_ACK, c->sseq, c->cseq, len, OPT_TS);
                c->sseq += len;
                c->resp_left -= len;
                c->last_pl = t;
                if (c->resp_left)
                        return t + rnd_range(g, 10, 25);
                if (c->scen == SC_SRV_CLOSE && c->nex == 1) {
                        c->ph = PH_SFIN;
                        return t + rnd_range(g, 20, 60);
                }
                if (c->rtx) {
                        c->aux = len;
                        c->ph = PH_RESP_RTX;
                        return t + 200000 + c->rtt + rnd(g, 10000);
                }
                c->ph = PH_CACK;
                return t + c->rtt + rnd(g, 200);
        }
        case PH_RESP_RTX:
                emit(g, c, t, SRV, F_PSH | F_ACK, c->sseq - c->aux, c->cseq, c->aux, OPT_TS);
                g->rtx++;
                c->ph = PH_CACK;
                return t + c->rtt + rnd(g, 200);
        case PH_CACK:
                emit(g, c, t, CLI, F_ACK, c->cseq, c->sseq, 0, OPT_TS);
                if (--c->nex > 0) {
                        c->ph = PH_REQ;
                        return t + (rnd(g, 100) < 60 ? rnd_range(g, 1000, 200000)
                                                     : rnd_range(g, 200000, 4500000));
                }
                return close_begin(g, c, id, t);
        case PH_CFIN:
                emit(g, c, t, CLI, F_FIN | F_ACK, c->cseq, c->sseq, 0, OPT_TS);
                c->cseq++;
                if (t - c->last_pl >= 500000)
                        c->aux = 1;     /* an idle close, counted when complete */
                else
                        c->aux = 0;
                c->ph = PH_SFIN_REPLY;
                return t + rnd_range(g, 30, 200);
        case PH_SFIN_REPLY:
                emit(g, c, t, SRV, F_FIN | F_ACK, c->sseq, c->cseq, 0, OPT_TS);
                c->sseq++;
                c->ph = PH_LAST_CACK;
                return t + c->rtt;
        case PH_LAST_CACK:
                emit(g, c, t, CLI, F_ACK, c->cseq, c->sseq, 0, OPT_TS);
                conn_done(g, c, t, (int)c->aux);
                break;
        case PH_SFIN:
                emit(g, c, t, SRV, F_FIN | F_ACK, c->sseq, c->cseq, 0, OPT_TS);
                c->sseq++;
                c->aux = t - c->last_pl >= 500000;
                if (c->scen == SC_NODE_RACE) {
                        if (c->crossed) {
                                c->ph = PH_RACE_REQ;
                                return t + rnd_range(g, 5, 60);
                        }
                        c->ph = PH_RACE_ACK;
                        return t + c->rtt;
                }
                c->ph = PH_CFIN_REPLY;
                return t + c->rtt + rnd_range(g, 20, 500);
        case PH_CFIN_REPLY:
                emit(g, c, t, CLI, F_FIN | F_ACK, c->cseq, c->sseq, 0, OPT_TS);
                c->cseq++;
                c->ph = PH_LAST_SACK;
                return t + rnd_range(g, 20, 60);
        case PH_LAST_SACK:
                emit(g, c, t, SRV, F_ACK, c->sseq, c->cseq, 0, OPT_TS);
                conn_done(g, c, t, (int)c->aux);
                break;
        case PH_RACE_ACK:               /* the client's kernel acks the FIN ... */
                emit(g, c, t, CLI, F_ACK, c->cseq, c->sseq, 0, OPT_TS);
                c->ph = PH_RACE_REQ;
                return t + rnd_range(g, 10, 500);
        case PH_RACE_REQ: {             /* ... and the pool reuses the connection anyway */
                uint32_t ack = c->crossed ? c->sseq - 1 : c->sseq;
                len = rnd_range(g, 200, 900);
                emit(g, c, t, CLI, F_PSH | F_ACK, c->cseq, ack, len, OPT_TS);
                c->cseq += len;
                c->aux = ack;           /* Linux: RST seq = the offending segment's ack */
                c->ph = PH_RACE_RST;
                return t + rnd_range(g, 15, 45);
        }
        case PH_RACE_RST:
                emit(g, c, t, SRV, F_RST, c->aux, 0, 0, OPT_NONE);
                if (c->crossed)
                        g->crossed++;
                else
                        g->races_acked++;
                conn_done(g, c, t, 1);
                break;
        case PH_CRST:
                emit(g, c, t, CLI, F_RST | F_ACK, c->cseq, c->sseq, 0, OPT_TS);
                conn_done(g, c, t, t - c->last_pl >= 500000);
                break;
        case PH_SACK_REQ:
                emit(g, c, t, SRV, F_ACK, c->sseq, c->cseq, 0, OPT_TS);
                c->ph = PH_SRST;
                return t + rnd_range(g, 50, 500);
        case PH_SRST:
                emit(g, c, t, SRV, F_RST | F_ACK, c->sseq, c->cseq, 0, OPT_TS);
                conn_done(g, c, t, 0);
                break;
        }
        /* finished: the slot's next connection */
        if (g->burst)
                return NEVER;
        if (rnd(g, 100) < 4) {
                conn_init(g, c, 1);
                return t + rnd_range(g, 10000, 2000000);
        }
        conn_init(g, c, 0);
        return t + rnd_range(g, 1000, 20000);
}

/* ---- heap of (time, slot) ---- */

static int hless(const struct hent *a, const struct hent *b)
{
        return a->t != b->t ? a->t < b->t : a->id < b->id;
}

static void heap_down(struct gen *g, uint32_t i)
{
        struct hent *h = g->heap, x = h[i];
        uint32_t n = g->nheap;

        for (;;) {
                uint32_t l = 2 * i + 1, m;
                if (l >= n)
                        break;
                m = l + 1 < n && hless(&h[l + 1], &h[l]) ? l + 1 : l;
                if (!hless(&h[m], &x))
                        break;
                h[i] = h[m];
                i = m;
        }
        h[i] = x;
}

static uint64_t parse_count(const char *s, const char *what)
{
        char *end;
        double v = strtod(s, &end);

        if (end == s || v < 0)
                goto bad;
        if (*end == 'k' || *end == 'K')
                v *= 1e3, end++;
        else if (*end == 'M' || *end == 'm')
                v *= 1e6, end++;
        if (*end)
                goto bad;
        return (uint64_t)(v + 0.5);
bad:
        fprintf(stderr, "gen: bad %s '%s'\n", what, s);
        exit(2);
}

static void usage(void)
{
        fprintf(stderr,
"Usage: gen [-n PACKETS] [-c CONCURRENT] [--flags-only] [--burst] [-s SEED]\n"
"           [-S SNAPLEN] -o FILE\n"
"  -n PACKETS     packets to write (default 1M; --burst: all); k/M suffixes\n"
"  -c CONCURRENT  connections open at once (default 2000)\n"
"  -f, --flags-only  write only SYN/FIN/RST packets (-n counts those)\n"
"  -b, --burst    open all CONCURRENT connections, one exchange each, close all\n"
"  -s SEED        PRNG seed (default 1)\n"
"  -S SNAPLEN     captured bytes per packet (default 128)\n"
"  -o FILE        output pcap ('-' = stdout)\n");
        exit(2);
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                { "flags-only", no_argument, NULL, 'f' },
                { "burst", no_argument, NULL, 'b' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct gen g;
        const char *outname = NULL;
        uint64_t seed = 1, limit = 0;
        int ch, have_n = 0;
        struct timespec t0, t1;
        double el, span;
        uint64_t conns = 0, done = 0;

        memset(&g, 0, sizeof g);
        g.nslots = 2000;
        g.snap = 128;
        while ((ch = getopt_long(argc, argv, "n:c:fbs:S:o:h", lo, NULL)) != -1) {
                switch (ch) {
                case 'n': limit = parse_count(optarg, "packet count"); have_n = 1; break;
                case 'c': {
                        uint64_t v = parse_count(optarg, "concurrency");
                        if (v < 1 || v > 50000000)
                                die("-c must be 1..50M");
                        g.nslots = (uint32_t)v;
                        break;
                }
                case 'f': g.flags_only = 1; break;
                case 'b': g.burst = 1; break;
                case 's': seed = parse_count(optarg, "seed"); break;
                case 'S': {
                        uint64_t v = parse_count(optarg, "snap length");
                        if (v < 54 || v > 65535)
                                die("-S must be 54..65535");
                        g.snap = (uint32_t)v;
                        break;
                }
                case 'o': outname = optarg; break;
                default: usage();
                }
        }
        if (!outname || optind != argc)
                usage();
        g.limit = have_n ? limit : g.burst ? NEVER : 1000000;
        g.rng = seed * 0x2545f4914f6cdd1dull + 12345;
        g.bufsz = 8u << 20;
        g.buf = malloc(g.bufsz);
        g.c = calloc(g.nslots, sizeof *g.c);
        g.heap = calloc(g.nslots, sizeof *g.heap);
        if (!g.buf || !g.c || !g.heap)
                die("out of memory");
        g.out = strcmp(outname, "-") == 0 ? stdout : fopen(outname, "wb");
        if (!g.out) {
                fprintf(stderr, "gen: %s: %s\n", outname, strerror(errno));
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        {       /* pcap file header: µs timestamps, host byte order */
                uint32_t h[6] = { 0xa1b2c3d4u, 2 | (4u << 16), 0, 0, g.snap, 1 };
                memcpy(g.buf, h, 24);
                g.bufpos = 24;
        }
        g.burst_T = SEC(1);
        if (g.burst && (uint64_t)g.nslots * 20 > g.burst_T)     /* 50000 connections/s */
                g.burst_T = (uint64_t)g.nslots * 20;
        for (uint32_t i = 0; i < g.nslots; i++) {
                g.c[i].ph = PH_START;
                g.heap[i].id = i;
                /* steady: slots start within the first second; burst: in order */
                g.heap[i].t = g.burst ? burst_at(&g, i, 0) : rnd(&g, 1000000);
        }
        g.nheap = g.nslots;
        for (uint32_t i = g.nheap / 2; i-- > 0;)
                heap_down(&g, i);
        while (g.nheap && g.written < g.limit) {
                uint64_t next = step(&g, g.heap[0].id, g.heap[0].t);
                if (next == NEVER) {
                        g.heap[0] = g.heap[--g.nheap];
                } else {
                        g.heap[0].t = next;
                }
                if (g.nheap)
                        heap_down(&g, 0);
        }
        flush_out(&g);
        if (g.out != stdout ? fclose(g.out) != 0 : fflush(g.out) != 0) {
                fprintf(stderr, "gen: %s: %s\n", outname, strerror(errno));
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        for (int s = 0; s < SC_N; s++) {
                conns += g.started[s];
                done += g.done[s];
        }
        span = (double)(g.last_t - g.first_t) / 1e6;

        /* Ground truth: "key value" lines (bench/run.sh reads some), then notes. */
        fprintf(stderr, "file %s\n", outname);
        fprintf(stderr, "mode %s%s\n", g.burst ? "burst" : "steady", g.flags_only ? " flags-only" : "");
        fprintf(stderr, "packets %llu\n", (unsigned long long)g.written);
        fprintf(stderr, "bytes %llu\n", (unsigned long long)g.bytes);
        fprintf(stderr, "wire_bytes %llu\n", (unsigned long long)g.wire_bytes);
        fprintf(stderr, "simulated_segments %llu\n", (unsigned long long)g.events);
        fprintf(stderr, "gen_seconds %.2f\n", el);
        fprintf(stderr, "span_seconds %.3f\n", span);
        fprintf(stderr, "slots %u\n", g.nslots);
        fprintf(stderr, "connections %llu\n", (unsigned long long)conns);
        fprintf(stderr, "completed %llu\n", (unsigned long long)done);
        fprintf(stderr, "open_at_end %llu\n", (unsigned long long)g.open);
        fprintf(stderr, "open_max %llu\n", (unsigned long long)g.max_open);
        fprintf(stderr, "open_mean %.0f\n", g.written ? (double)g.open_sum / (double)g.written : 0);
        fprintf(stderr, "conn_per_s %.0f\n", span > 0 ? (double)conns / span : 0);
        for (int s = 0; s < SC_N; s++)
                fprintf(stderr, "started.%s %llu\ncompleted.%s %llu\n", scen_name[s],
                        (unsigned long long)g.started[s], scen_name[s],
                        (unsigned long long)g.done[s]);
        fprintf(stderr, "ipv6_connections %llu\n", (unsigned long long)g.v6conns);
        fprintf(stderr, "reused_tuples %llu\n", (unsigned long long)g.reused);
        fprintf(stderr, "retransmitted_segments %llu\n", (unsigned long long)g.rtx);
        fprintf(stderr, "races_fin_acked %llu\n", (unsigned long long)g.races_acked);
        fprintf(stderr, "races_crossed %llu\n", (unsigned long long)g.crossed);
        fprintf(stderr, "idle_closes_ge_0.5s %llu\n", (unsigned long long)g.idle_closes);
        fprintf(stderr, "segments syn %llu synack %llu fin %llu rst %llu data %llu pure_ack %llu\n",
                (unsigned long long)g.syns, (unsigned long long)g.synacks,
                (unsigned long long)g.fins, (unsigned long long)g.rsts,
                (unsigned long long)g.data, (unsigned long long)g.acks);
        if (g.decile) {
                fprintf(stderr, "open_by_decile");
                for (int i = 0; i < g.decile; i++)
                        fprintf(stderr, " %llu", (unsigned long long)g.decile_open[i]);
                fprintf(stderr, "\n");
        }
        if (!g.burst && g.max_open < (uint64_t)g.nslots * 9 / 10)
                fprintf(stderr, "# note: only %llu of %u connections were open at once: the packet\n"
                        "# budget ended during the first second's ramp-up; use more -n, or --burst\n",
                        (unsigned long long)g.max_open, g.nslots);
        fprintf(stderr,
                "# expected from rstscope (completed connections; the ones cut by the end\n"
                "# of the capture add a few): refused = completed.refused; connect_timeout =\n"
                "# completed.unanswered (SYNs at 0, 1, 3 s, give-up bounds 3..7 s classic);\n"
                "# data_after_peer_fin = completed.node_race (inferred in --flags-only);\n"
                "# request_reset = completed.node_race + completed.server_rst; idle_close =\n"
                "# idle_closes_ge_0.5s (full captures only); a 6.00 s server-FIN\n"
                "# idle_before_close cluster on node:3000 (node_idle + node_race)\n");
        free(g.buf);
        free(g.c);
        free(g.heap);
        return 0;
}
