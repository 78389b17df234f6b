/*
 * pcapgen.c - deterministic test-capture generator for rstscope.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -O2 tests/pcapgen.c \
 *            $(pkg-config --cflags --libs libpcap) -o tests/pcapgen
 * Run:   tests/pcapgen OUTDIR        (rewrites every gen-*.pcap in OUTDIR)
 *        tests/pcapgen --synflood N FILE   (N SYNs to one port; FILE - = stdout)
 *
 * Every byte of every packet is written explicitly: link header, IPv4/IPv6
 * header (correct IPv4 header checksum), TCP header with options and a
 * correct TCP checksum over the pseudo-header.  Timestamps are relative to a
 * fixed base (2024-03-01 12:00:00 UTC), ISNs/IP IDs/TS values come from a
 * fixed-seed PRNG, so the output is byte-for-byte reproducible.
 *
 * Scenarios are written as scripts: conn_new*() creates a connection that
 * tracks, per direction, snd.nxt, rcv.nxt, TS.Recent and its own clock;
 * seg(conn, dir, flags, payload_len, dt) emits one segment dt after the
 * previous one of that connection (segx() overrides seq/ack).  Packets of
 * all connections are collected, stably sorted by time and written through
 * per-file options (link type, µs/ns, duplication, SYN/FIN/RST filter, time
 * window).  See tests/pcapgen.md for what each file contains.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ basics */

#define BASE_SEC 1709294400u /* 2024-03-01 12:00:00 UTC */
#define US(x) ((uint64_t)(x) * 1000ull)
#define MS(x) ((uint64_t)(x) * 1000000ull)
#define SEC(x) ((uint64_t)(x) * 1000000000ull)

#define C2S 0 /* client (originator) -> server */
#define S2C 1

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
/* pseudo flags (not on the wire) */
#define F_NOSOCK 0x100 /* RST made by the kernel without a socket: no options, win 0, IP id 0 */
#define F_ZERO 0x200   /* payload is zero bytes (keep-alive probe garbage byte) */
#define F_NOTS 0x400   /* no TCP options on this segment */

#define DEF (-1) /* segx(): use the tracked seq/ack */
#define MAXFRAME 70000 /* largest frame built: link header + a 65535-byte IP packet */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pcapgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p)
        die("out of memory");
    return p;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    size_t i;
    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* L4 checksum with pseudo header; v6 selects the IPv6 form */
static uint16_t l4_csum(int v6, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                        const uint8_t *l4, size_t len)
{
    uint32_t sum = 0;
    uint8_t ph[40];
    if (v6) {
        memcpy(ph, src, 16);
        memcpy(ph + 16, dst, 16);
        put32(ph + 32, (uint32_t)len);
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = proto;
        sum = csum_add(sum, ph, 40);
    } else {
        memcpy(ph, src, 4);
        memcpy(ph + 4, dst, 4);
        ph[8] = 0;
        ph[9] = proto;
        put16(ph + 10, (uint16_t)len);
        sum = csum_add(sum, ph, 12);
    }
    sum = csum_add(sum, l4, len);
    return csum_fold(sum);
}

/* IPv4 header (20 bytes, no options) with checksum. frag = flags|offset field. */
static void ip4_hdr(uint8_t *h, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                    uint16_t total_len, uint16_t id, uint16_t frag, uint8_t ttl)
{
    h[0] = 0x45;
    h[1] = 0;
    put16(h + 2, total_len);
    put16(h + 4, id);
    put16(h + 6, frag);
    h[8] = ttl;
    h[9] = proto;
    h[10] = h[11] = 0;
    memcpy(h + 12, src, 4);
    memcpy(h + 16, dst, 4);
    put16(h + 10, csum_fold(csum_add(0, h, 20)));
}

static void ip6_hdr(uint8_t *h, const uint8_t *src, const uint8_t *dst, uint8_t nh,
                    uint16_t payload_len, uint32_t flow, uint8_t hlim)
{
    put32(h, 0x60000000u | (flow & 0xfffff));
    put16(h + 4, payload_len);
    h[6] = nh;
    h[7] = hlim;
    memcpy(h + 8, src, 16);
    memcpy(h + 24, dst, 16);
}

static void parse_addr(int v6, const char *s, uint8_t *out)
{
    if (inet_pton(v6 ? AF_INET6 : AF_INET, s, out) != 1)
        die("bad address %s", s);
}

/* ---------------------------------------------------------- packet store */

struct pkt {
    uint64_t t; /* ns since BASE */
    size_t order;
    int dir;
    int raw;         /* data is a complete Ethernet frame (Ethernet files only) */
    uint32_t snap;   /* nonzero: captured length limit of the final frame */
    uint32_t pad_to; /* Ethernet: pad frame up to this length */
    uint8_t padbyte;
    int bad;         /* hand-made packet (malformed file): never padded */
    size_t len;
    uint8_t *data; /* L3 packet (or whole frame if raw) */
};

static struct pkt *P;
static size_t NP, CAPP;

static void store_reset(void)
{
    size_t i;
    for (i = 0; i < NP; i++)
        free(P[i].data);
    NP = 0;
}

static struct pkt *add_pkt(uint64_t t, int dir, const uint8_t *data, size_t len)
{
    struct pkt *p;
    if (NP == CAPP) {
        CAPP = CAPP ? CAPP * 2 : 256;
        P = realloc(P, CAPP * sizeof *P);
        if (!P)
            die("out of memory");
    }
    p = &P[NP];
    memset(p, 0, sizeof *p);
    p->t = t;
    p->order = NP++;
    p->dir = dir;
    p->len = len;
    p->data = xcalloc(1, len ? len : 1);
    memcpy(p->data, data, len);
    return p;
}

static int pkt_cmp(const void *a, const void *b)
{
    const struct pkt *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* ------------------------------------------------------------ connections */

struct conn {
    int v6;
    int ext6; /* IPv6: hop-by-hop + destination options headers on every packet */
    uint8_t ip[2][16];
    uint16_t port[2];
    uint32_t nxt[2]; /* next seq this side sends */
    uint32_t rcv[2]; /* next seq this side expects from the peer */
    uint32_t tsbase[2], tsrecent[2];
    int ts;         /* timestamps option in use */
    uint16_t mss[2];
    uint8_t ws[2];
    uint16_t synwin[2], win[2];
    uint16_t ipid[2];
    uint32_t flow[2];
    uint64_t t;     /* this connection's clock, ns since BASE */
    uint64_t rtt;   /* used by the helpers */
    int hidden;     /* compute but do not record (capture started later) */
    int subus;      /* add sub-microsecond jitter to every dt */
    uint64_t rng;
};

static struct conn *conn_new(int v6, const char *cip, uint16_t cport, const char *sip,
                             uint16_t sport, uint64_t start, uint64_t seed)
{
    struct conn *c = xcalloc(1, sizeof *c);
    c->v6 = v6;
    parse_addr(v6, cip, c->ip[C2S]);
    parse_addr(v6, sip, c->ip[S2C]);
    c->port[C2S] = cport;
    c->port[S2C] = sport;
    c->rng = seed * 0x2545f4914f6cdd1dull + 12345;
    c->nxt[C2S] = (uint32_t)splitmix(&c->rng);
    c->nxt[S2C] = (uint32_t)splitmix(&c->rng);
    c->tsbase[C2S] = (uint32_t)splitmix(&c->rng);
    c->tsbase[S2C] = (uint32_t)splitmix(&c->rng);
    c->ipid[C2S] = (uint16_t)splitmix(&c->rng);
    c->ipid[S2C] = (uint16_t)splitmix(&c->rng);
    c->flow[C2S] = (uint32_t)splitmix(&c->rng) & 0xfffff;
    c->flow[S2C] = (uint32_t)splitmix(&c->rng) & 0xfffff;
    c->ts = 1;
    /* Linux on Ethernet */
    c->mss[C2S] = c->mss[S2C] = v6 ? 1440 : 1460;
    c->synwin[C2S] = v6 ? 64800 : 64240;
    c->synwin[S2C] = v6 ? 64800 : 65160;
    c->ws[C2S] = c->ws[S2C] = 7;
    c->win[C2S] = 502;
    c->win[S2C] = 509;
    c->t = start;
    c->rtt = US(420);
    return c;
}

static struct conn *conn_new4(const char *cip, uint16_t cport, const char *sip, uint16_t sport,
                              uint64_t start, uint64_t seed)
{
    return conn_new(0, cip, cport, sip, sport, start, seed);
}

static struct conn *conn_new6(const char *cip, uint16_t cport, const char *sip, uint16_t sport,
                              uint64_t start, uint64_t seed)
{
    return conn_new(1, cip, cport, sip, sport, start, seed);
}

/* Linux loopback parameters */
static void conn_loopback(struct conn *c)
{
    c->mss[C2S] = c->mss[S2C] = c->v6 ? 65476 : 65495;
    c->synwin[C2S] = c->v6 ? 65476 : 65495;
    c->synwin[S2C] = c->v6 ? 65464 : 65483;
    c->win[C2S] = c->win[S2C] = 512;
    c->rtt = US(40);
}

static void conn_isn(struct conn *c, uint32_t cisn, uint32_t sisn)
{
    c->nxt[C2S] = cisn;
    c->nxt[S2C] = sisn;
}

/* Deterministic HTTP-looking payload of exactly len bytes. */
static void fill_payload(uint8_t *buf, size_t len, int dir, uint32_t seq, int zero)
{
    char tmp[4096];
    size_t i;
    static const char lorem[] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ";
    if (zero) {
        memset(buf, 0, len);
        return;
    }
    if (dir == C2S) {
        int h = snprintf(tmp, sizeof tmp,
                         "GET /api/v1/items/%u HTTP/1.1\r\nHost: example.test\r\n"
                         "User-Agent: curl/8.5.0\r\nAccept: */*\r\nX-Pad: ",
                         seq % 1000);
        if (len >= (size_t)h + 5 && len < sizeof tmp) {
            for (i = (size_t)h; i < len - 4; i++)
                tmp[i] = (char)('a' + (i % 26));
            memcpy(tmp + len - 4, "\r\n\r\n", 4);
            memcpy(buf, tmp, len);
            return;
        }
    } else {
        size_t body = len, hl = 0;
        int k;
        for (k = 0; k < 4; k++) {
            int h = snprintf(tmp, sizeof tmp,
                             "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\n"
                             "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n",
                             body);
            hl = (size_t)h;
            if (hl > len)
                break;
            body = len - hl;
        }
        if (hl + body == len && len < sizeof tmp) {
            for (i = 0; i < body; i++)
                tmp[hl + i] = lorem[i % (sizeof lorem - 1)];
            memcpy(buf, tmp, len);
            return;
        }
    }
    for (i = 0; i < len; i++)
        buf[i] = (uint8_t)('A' + (seq + i) % 26);
}

static int seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

/* Build the TCP segment (header+options+payload) into out, return length. */
static size_t build_tcp(uint8_t *out, struct conn *c, int dir, int flags, uint32_t seq,
                        uint32_t ack, size_t plen)
{
    uint8_t *o = out + 20;
    size_t ol = 0;
    uint16_t win;
    uint32_t tsval = c->tsbase[dir] + (uint32_t)(c->t / MS(1));
    int opts = !(flags & (F_NOSOCK | F_NOTS));

    if ((flags & SYN) && opts) {
        o[ol++] = 2; /* MSS */
        o[ol++] = 4;
        put16(o + ol, c->mss[dir]);
        ol += 2;
        if (c->ts) {
            o[ol++] = 4; /* SACK permitted */
            o[ol++] = 2;
            o[ol++] = 8; /* timestamps */
            o[ol++] = 10;
            put32(o + ol, tsval);
            put32(o + ol + 4, (flags & ACK) ? c->tsrecent[dir] : 0);
            ol += 8;
            o[ol++] = 1;
        } else {
            o[ol++] = 1;
            o[ol++] = 1;
            o[ol++] = 4;
            o[ol++] = 2;
            o[ol++] = 1;
        }
        o[ol++] = 3; /* window scale */
        o[ol++] = 3;
        o[ol++] = c->ws[dir];
    } else if (c->ts && opts) {
        o[ol++] = 1;
        o[ol++] = 1;
        o[ol++] = 8;
        o[ol++] = 10;
        put32(o + ol, tsval);
        put32(o + ol + 4, c->tsrecent[dir]);
        ol += 8;
    }
    if (opts && c->ts)
        c->tsrecent[!dir] = tsval;

    if (flags & SYN)
        win = c->synwin[dir];
    else if (flags & F_NOSOCK)
        win = 0;
    else
        win = c->win[dir];

    put16(out, c->port[dir]);
    put16(out + 2, c->port[!dir]);
    put32(out + 4, seq);
    put32(out + 8, (flags & ACK) ? ack : 0);
    out[12] = (uint8_t)(((20 + ol) / 4) << 4);
    out[13] = (uint8_t)(flags & 0xff);
    put16(out + 14, win);
    out[16] = out[17] = 0;
    out[18] = out[19] = 0;
    fill_payload(out + 20 + ol, plen, dir, seq, flags & F_ZERO);
    return 20 + ol + plen;
}

/* Wrap a TCP segment into IPv4/IPv6 for connection c; returns L3 length. */
static size_t build_l3(uint8_t *out, struct conn *c, int dir, int flags, const uint8_t *tcp,
                       size_t tlen)
{
    uint16_t id;
    if (flags & F_NOSOCK)
        id = 0;
    else if ((flags & SYN) && (flags & ACK))
        id = 0; /* Linux sends SYN-ACKs with IP id 0 */
    else
        id = c->ipid[dir]++;
    if (!c->v6) {
        ip4_hdr(out, c->ip[dir], c->ip[!dir], 6, (uint16_t)(20 + tlen), id, 0x4000, 64);
        memcpy(out + 20, tcp, tlen);
        put16(out + 20 + 16, l4_csum(0, c->ip[dir], c->ip[!dir], 6, out + 20, tlen));
        return 20 + tlen;
    } else {
        size_t eh = 0;
        uint8_t *x = out + 40;
        if (c->ext6) {
            /* hop-by-hop: Router Alert (MLD value 0) + PadN(0) */
            static const uint8_t hbh[8] = {60, 0, 5, 2, 0, 0, 1, 0};
            /* destination options: Tunnel Encapsulation Limit 4 + PadN(1) */
            static const uint8_t dst[8] = {6, 0, 4, 1, 4, 1, 1, 0};
            memcpy(x, hbh, 8);
            memcpy(x + 8, dst, 8);
            eh = 16;
        }
        ip6_hdr(out, c->ip[dir], c->ip[!dir], c->ext6 ? 0 : 6, (uint16_t)(eh + tlen),
                c->flow[dir], 64);
        memcpy(out + 40 + eh, tcp, tlen);
        put16(out + 40 + eh + 16, l4_csum(1, c->ip[dir], c->ip[!dir], 6, out + 40 + eh, tlen));
        return 40 + eh + tlen;
    }
}

/*
 * Emit one segment dt after the connection's previous one.  seq/ack DEF:
 * tracked values.  State: snd.nxt and the peer's rcv.nxt advance to the end
 * of the segment (never backwards, so retransmissions/keep-alives are fine).
 */
static void segx(struct conn *c, int dir, int flags, size_t plen, uint64_t dt, int64_t seq,
                 int64_t ack)
{
    static uint8_t tcp[MAXFRAME], l3[MAXFRAME]; /* up to 64 KiB IP packets */
    uint32_t s = seq == DEF ? c->nxt[dir] : (uint32_t)seq;
    uint32_t a = ack == DEF ? c->rcv[dir] : (uint32_t)ack;
    uint32_t end = s + (uint32_t)plen + ((flags & SYN) ? 1 : 0) + ((flags & FIN) ? 1 : 0);
    size_t tl, ll;

    if (c->subus)
        dt += splitmix(&c->rng) % 1000;
    c->t += dt;
    tl = build_tcp(tcp, c, dir, flags, s, a, plen);
    ll = build_l3(l3, c, dir, flags, tcp, tl);
    if (!c->hidden)
        add_pkt(c->t, dir, l3, ll);
    if (!(flags & RST)) {
        if (seq_gt(end, c->nxt[dir]))
            c->nxt[dir] = end;
        if ((flags & SYN) || seq_gt(end, c->rcv[!dir]))
            c->rcv[!dir] = end;
    }
}

static void seg(struct conn *c, int dir, int flags, size_t plen, uint64_t dt)
{
    segx(c, dir, flags, plen, dt, DEF, DEF);
}

/* --- script helpers */

static void handshake(struct conn *c)
{
    seg(c, C2S, SYN, 0, 0);
    seg(c, S2C, SYN | ACK, 0, c->rtt / 2);
    seg(c, C2S, ACK, 0, c->rtt / 2);
}

/* request (+ optional immediate server ACK), response, client ACK */
static void exchange(struct conn *c, size_t req, size_t resp, uint64_t think, int srv_ack)
{
    seg(c, C2S, PSH | ACK, req, US(35));
    if (srv_ack)
        seg(c, S2C, ACK, 0, c->rtt / 2);
    seg(c, S2C, PSH | ACK, resp, srv_ack ? think : c->rtt / 2 + think);
    seg(c, C2S, ACK, 0, c->rtt / 2);
}

/* dir closes first: FIN, peer FIN+ACK, final ACK */
static void close_by(struct conn *c, int dir, uint64_t dt)
{
    seg(c, dir, FIN | ACK, 0, dt);
    seg(c, !dir, FIN | ACK, 0, c->rtt / 2 + US(60));
    seg(c, dir, ACK, 0, c->rtt / 2);
}

/* ----------------------------------------------------------------- output */

enum link { L_ETH, L_VLAN, L_QINQ, L_SLL, L_SLL2, L_NULL, L_LOOP, L_RAW, L_IPV4, L_IPV6 };

struct wopt {
    enum link link;
    int nano;
    int zero_mac;   /* Linux lo style: 00:00:00:00:00:00 both ways */
    int dup;        /* every packet twice */
    int flags_only; /* keep only TCP packets with SYN, FIN or RST */
    uint64_t t_from, t_to; /* keep t in [t_from, t_to); t_to 0 = no limit */
    int keep_order; /* write in the order the script made the packets, not by time */
};

static const uint8_t MAC[2][6] = {
    {0x52, 0x54, 0x00, 0x3a, 0x1c, 0x07}, /* client */
    {0x52, 0x54, 0x00, 0x9e, 0x44, 0xb1}, /* server */
};

static int linktype(enum link l)
{
    switch (l) {
    case L_ETH:
    case L_VLAN:
    case L_QINQ:
        return DLT_EN10MB;
    case L_SLL:
        return DLT_LINUX_SLL;
    case L_SLL2:
        return 276; /* DLT_LINUX_SLL2 */
    case L_NULL:
        return DLT_NULL;
    case L_LOOP:
        return 108; /* DLT_LOOP (not OpenBSD's 12) */
    case L_RAW:
        return DLT_RAW;
    case L_IPV4:
        return 228;
    case L_IPV6:
        return 229;
    }
    return DLT_EN10MB;
}

/* TCP flags of an L3 packet (IPv4 first fragment or IPv6 without ext hdrs), -1 if none */
static int tcp_flags_of(const uint8_t *d, size_t len)
{
    if (len >= 20 && (d[0] >> 4) == 4) {
        size_t ihl = (size_t)(d[0] & 15) * 4;
        if (d[9] != 6 || ihl < 20 || ((d[6] << 8 | d[7]) & 0x1fff) || len < ihl + 14)
            return -1;
        return d[ihl + 13];
    }
    if (len >= 54 && (d[0] >> 4) == 6 && d[6] == 6)
        return d[53];
    return -1;
}

/* The frame of p as written to a file with options o: into f (MAXFRAME
 * bytes), returns its length on the wire. */
static size_t build_frame(uint8_t *f, const struct wopt *o, const struct pkt *p)
{
    size_t h = 0, len;
    int v6 = p->len > 0 && (p->data[0] >> 4) == 6;
    uint16_t et = v6 ? 0x86dd : 0x0800;
    const uint8_t *src = o->zero_mac ? (const uint8_t *)"\0\0\0\0\0\0" : MAC[p->dir];
    const uint8_t *dst = o->zero_mac ? (const uint8_t *)"\0\0\0\0\0\0" : MAC[!p->dir];

    if (p->raw) {
        memcpy(f, p->data, p->len);
        len = p->len;
    } else {
        switch (o->link) {
        case L_ETH:
        case L_VLAN:
        case L_QINQ:
            memcpy(f, dst, 6);
            memcpy(f + 6, src, 6);
            h = 12;
            if (o->link == L_QINQ) {
                put16(f + h, 0x88a8);
                put16(f + h + 2, 200); /* S-VLAN 200 */
                h += 4;
            }
            if (o->link != L_ETH) {
                put16(f + h, 0x8100);
                put16(f + h + 2, 100); /* C-VLAN 100, PCP 0 */
                h += 4;
            }
            put16(f + h, et);
            h += 2;
            break;
        case L_SLL: /* as captured with -i any on the client host */
            put16(f, p->dir == C2S ? 4 : 0); /* PACKET_OUTGOING / PACKET_HOST */
            put16(f + 2, 1);                 /* ARPHRD_ETHER */
            put16(f + 4, 6);
            memcpy(f + 6, src, 6);
            f[12] = f[13] = 0;
            put16(f + 14, et);
            h = 16;
            break;
        case L_SLL2:
            put16(f, et);
            put16(f + 2, 0);
            put32(f + 4, 2); /* ifindex of eth0 */
            put16(f + 8, 1); /* ARPHRD_ETHER */
            f[10] = p->dir == C2S ? 4 : 0;
            f[11] = 6;
            memcpy(f + 12, src, 6);
            f[18] = f[19] = 0;
            h = 20;
            break;
        case L_NULL: { /* AF in the writer's (host) byte order, like the file header */
            uint32_t af = v6 ? 30 : 2;
            memcpy(f, &af, 4);
            h = 4;
            break;
        }
        case L_LOOP: /* AF in network byte order */
            put32(f, v6 ? 30 : 2);
            h = 4;
            break;
        case L_RAW:
        case L_IPV4:
        case L_IPV6:
            h = 0;
            break;
        }
        memcpy(f + h, p->data, p->len);
        len = h + p->len;
        if (p->pad_to && len < p->pad_to && o->link == L_ETH) {
            memset(f + len, p->padbyte, p->pad_to - len);
            len = p->pad_to;
        }
    }
    return len;
}

static void write_one(pcap_dumper_t *dp, const struct wopt *o, const struct pkt *p, uint64_t t)
{
    static uint8_t f[MAXFRAME];
    size_t len = build_frame(f, o, p);
    struct pcap_pkthdr ph;

    ph.ts.tv_sec = (time_t)(BASE_SEC + t / SEC(1));
    ph.ts.tv_usec = (suseconds_t)(o->nano ? t % SEC(1) : (t % SEC(1)) / 1000);
    ph.len = (bpf_u_int32)len;
    ph.caplen = (bpf_u_int32)((p->snap && p->snap < len) ? p->snap : len);
    pcap_dump((u_char *)dp, &ph, f);
}

static size_t write_file(const char *dir, const char *name, const struct wopt *o)
{
    char path[4096];
    pcap_t *pd;
    pcap_dumper_t *dp;
    size_t i, n = 0;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!o->keep_order)
        qsort(P, NP, sizeof *P, pkt_cmp);
    pd = pcap_open_dead_with_tstamp_precision(linktype(o->link), 262144,
                                              o->nano ? PCAP_TSTAMP_PRECISION_NANO
                                                      : PCAP_TSTAMP_PRECISION_MICRO);
    if (!pd)
        die("pcap_open_dead failed");
    dp = pcap_dump_open(pd, path);
    if (!dp)
        die("%s: %s", path, pcap_geterr(pd));
    for (i = 0; i < NP; i++) {
        const struct pkt *p = &P[i];
        if (p->t < o->t_from || (o->t_to && p->t >= o->t_to))
            continue;
        if (o->flags_only) {
            int fl = p->raw ? -1 : tcp_flags_of(p->data, p->len);
            if (fl < 0 || !(fl & (SYN | FIN | RST)))
                continue;
        }
        if (p->raw && o->link != L_ETH)
            continue;
        write_one(dp, o, p, p->t);
        n++;
        if (o->dup) {
            write_one(dp, o, p, p->t + US(1 + (i * 3) % 5));
            n++;
        }
    }
    if (pcap_dump_flush(dp) != 0)
        die("%s: write failed", path);
    pcap_dump_close(dp);
    pcap_close(pd);
    printf("pcapgen: wrote %s (%zu packets)\n", path, n);
    return n;
}

/* ---------------------------------------------------------------- scenarios */

#define CLI4 "192.168.10.23"
#define WEB4 "192.168.10.80"
#define APP4 "192.168.10.81"

static void scen_lifecycle(void)
{
    struct conn *c;

    /* (a) keep-alive HTTP, 2 exchanges, client closes */
    c = conn_new4(CLI4, 41234, WEB4, 80, MS(0), 1);
    handshake(c);
    exchange(c, 118, 402, US(850), 1);
    exchange(c, 118, 515, US(640), 0);
    close_by(c, C2S, MS(48));
    free(c);

    /* (b) server closes the idle connection after 5 s, client ACK+FIN */
    c = conn_new4(CLI4, 41502, WEB4, 8080, MS(210), 2);
    handshake(c);
    exchange(c, 125, 377, US(910), 1);
    close_by(c, S2C, SEC(5));
    free(c);

    /* (c) keep-alive race: server FIN after 6 s idle, client request already
     * on its way (ACKs the FIN), server answers with a bare RST (no ACK),
     * seq = server FIN seq + 1 (what Linux sends for data on a closed socket) */
    c = conn_new4(CLI4, 43870, WEB4, 80, MS(470), 3);
    handshake(c);
    exchange(c, 120, 388, US(720), 1);
    seg(c, S2C, FIN | ACK, 0, SEC(6));
    seg(c, C2S, PSH | ACK, 120, US(180));
    segx(c, S2C, RST | F_NOSOCK, 0, c->rtt / 2, DEF, DEF);
    free(c);

    /* (d) refused: SYN answered by RST+ACK (seq 0, ack ISN+1, win 0) */
    c = conn_new4(CLI4, 44120, APP4, 3000, MS(650), 4);
    seg(c, C2S, SYN, 0, 0);
    segx(c, S2C, RST | ACK | F_NOSOCK, 0, US(230), 0, DEF);
    free(c);

    /* (e) unanswered SYN, retransmitted at +1 s and +3 s (same ISN) */
    c = conn_new4(CLI4, 45001, APP4, 443, MS(800), 5);
    seg(c, C2S, SYN, 0, 0);
    segx(c, C2S, SYN, 0, SEC(1), (int64_t)(c->nxt[C2S] - 1), DEF);
    segx(c, C2S, SYN, 0, SEC(2), (int64_t)(c->nxt[C2S] - 1), DEF);
    free(c);

    /* (f) SYN, SYN-ACK, then nothing */
    c = conn_new4(CLI4, 45377, APP4, 8080, MS(1100), 6);
    seg(c, C2S, SYN, 0, 0);
    seg(c, S2C, SYN | ACK, 0, c->rtt / 2);
    free(c);

    /* (g) server aborts (SO_LINGER 0): request, server ACK, RST+ACK, no response */
    c = conn_new4(CLI4, 46210, WEB4, 80, MS(1300), 7);
    handshake(c);
    seg(c, C2S, PSH | ACK, 131, US(40));
    seg(c, S2C, ACK, 0, c->rtt / 2);
    seg(c, S2C, RST | ACK, 0, US(95));
    free(c);

    /* (h) client RST+ACK after a response */
    c = conn_new4(CLI4, 47788, WEB4, 8080, MS(1520), 8);
    handshake(c);
    exchange(c, 119, 433, US(780), 1);
    seg(c, C2S, RST | ACK, 0, MS(12));
    free(c);

    /* (i) simultaneous close: the FINs cross, each ACKs the other afterwards */
    c = conn_new4(CLI4, 48803, WEB4, 80, MS(1750), 9);
    handshake(c);
    exchange(c, 122, 366, US(700), 1);
    {
        uint32_t cfin = c->nxt[C2S], sfin = c->nxt[S2C];
        seg(c, C2S, FIN | ACK, 0, MS(30));
        segx(c, S2C, FIN | ACK, 0, US(20), DEF, cfin); /* sent before the client FIN arrived */
        segx(c, C2S, ACK, 0, c->rtt / 2, DEF, sfin + 1);
        segx(c, S2C, ACK, 0, US(15), DEF, cfin + 1);
    }
    free(c);

    /* (j) retransmitted request, two keep-alive probes (0 and 1 byte at
     * snd.nxt-1) with their ACKs, normal close */
    c = conn_new4(CLI4, 50417, APP4, 3000, MS(2000), 10);
    handshake(c);
    {
        uint32_t rs = c->nxt[C2S];
        seg(c, C2S, PSH | ACK, 140, US(50));
        segx(c, C2S, PSH | ACK, 140, MS(204), rs, DEF); /* RTO retransmission */
    }
    seg(c, S2C, ACK, 0, c->rtt / 2);
    seg(c, S2C, PSH | ACK, 296, US(610));
    seg(c, C2S, ACK, 0, c->rtt / 2);
    segx(c, C2S, ACK, 0, MS(1500), (int64_t)(c->nxt[C2S] - 1), DEF);            /* probe, 0 bytes */
    seg(c, S2C, ACK, 0, c->rtt / 2);
    segx(c, C2S, ACK | F_ZERO, 1, MS(1000), (int64_t)(c->nxt[C2S] - 1), DEF); /* probe, 1 byte */
    seg(c, S2C, ACK, 0, c->rtt / 2);
    close_by(c, C2S, MS(300));
    free(c);

    /* (k) mid-stream: capture starts after the handshake */
    c = conn_new4(CLI4, 51999, WEB4, 80, MS(2600), 11);
    c->hidden = 1;
    handshake(c);
    c->hidden = 0;
    exchange(c, 117, 421, US(690), 0);
    exchange(c, 117, 388, US(540), 0);
    close_by(c, C2S, MS(25));
    free(c);

    /* (l) ISNs near 2^32: both directions wrap during the data transfer */
    c = conn_new4(CLI4, 53535, APP4, 8080, MS(2900), 12);
    conn_isn(c, 0xffffff38u, 0xfffffe00u);
    handshake(c);
    exchange(c, 180, 600, US(500), 1);
    exchange(c, 180, 700, US(500), 0);
    close_by(c, C2S, MS(40));
    free(c);
}

static void scen_portreuse(void)
{
    struct conn *c;
    uint64_t t = 0;
    static const uint32_t isn[5][2] = {
        {0x1a2b3c4du, 0x7e3f0a11u},
        {0x3c9d2e10u, 0x0b72c4e5u},
        {0x5f01aa37u, 0x9a3e5d02u},
        {0x81e6d0c4u, 0x44d1f9a8u},
        {0xa4c3b2e1u, 0xd0e9873cu},
    };
    int i;
    for (i = 0; i < 5; i++) {
        c = conn_new4("10.0.5.2", 52714, "10.0.5.1", 8080, t, (uint64_t)(100 + i));
        conn_isn(c, isn[i][0], isn[i][1]);
        handshake(c);
        exchange(c, 121, 256 + 10 * (size_t)i, US(500), 1);
        if (i == 0)
            close_by(c, S2C, MS(80)); /* server closes: server holds TIME_WAIT */
        else if (i == 3)
            seg(c, C2S, RST | ACK, 0, MS(60)); /* client aborts */
        else
            close_by(c, C2S, MS(80));
        t = c->t + SEC(1);
        free(c);
    }
}

static void scen_ipv6(void)
{
    struct conn *c;
    c = conn_new6("fe80::1", 40512, "fe80::2", 80, MS(0), 21);
    handshake(c);
    exchange(c, 118, 333, US(600), 1);
    close_by(c, C2S, MS(30));
    free(c);

    c = conn_new6("2001:db8::1", 40777, "2001:db8::2", 8080, MS(150), 22);
    c->ext6 = 1;
    handshake(c);
    exchange(c, 124, 345, US(650), 1);
    close_by(c, C2S, MS(30));
    free(c);
}

static void scen_link(int v6, int subus)
{
    struct conn *c = v6 ? conn_new6("2001:db8:1::5", 45680, "2001:db8:1::1", 80, MS(100), 31)
                        : conn_new4("172.16.0.5", 45678, "172.16.0.1", 80, MS(0), 30);
    c->subus = subus;
    handshake(c);
    exchange(c, 116, 320, US(700), 1);
    close_by(c, C2S, MS(20));
    free(c);
}

/* --- malformed */

static struct pkt *raw_l3(uint64_t t, int dir, const uint8_t *d, size_t len)
{
    struct pkt *p = add_pkt(t, dir, d, len);
    p->bad = 1;
    return p;
}

/* a TCP header for conn c direction dir with given flags/doff, no options */
static void tcp_hdr_bytes(uint8_t *h, struct conn *c, int dir, int flags, int doff)
{
    put16(h, c->port[dir]);
    put16(h + 2, c->port[!dir]);
    put32(h + 4, c->nxt[dir]);
    put32(h + 8, c->rcv[dir]);
    h[12] = (uint8_t)(doff << 4);
    h[13] = (uint8_t)flags;
    put16(h + 14, c->win[dir]);
    h[16] = h[17] = h[18] = h[19] = 0;
}

static void scen_malformed(void)
{
    struct conn *c = conn_new4("10.9.0.2", 52344, "10.9.0.1", 80, MS(0), 40);
    uint8_t b[2048], t[512];
    const uint8_t *S, *D;
    size_t i, n0;
    uint64_t tt;
    struct pkt *p;

    c->ts = 0; /* no timestamps: pure ACKs are 54-byte frames and get padded */
    n0 = NP;
    handshake(c);
    exchange(c, 110, 300, US(500), 1);
    S = c->ip[C2S];
    D = c->ip[S2C];

    /* 1: IPv4 IHL 4 (< 5) */
    tt = c->t + US(100);
    tcp_hdr_bytes(t, c, C2S, RST | ACK, 5);
    ip4_hdr(b, S, D, 6, 40, 0x1001, 0x4000, 64);
    b[0] = 0x44;
    b[10] = b[11] = 0;
    put16(b + 10, csum_fold(csum_add(0, b, 16)));
    memcpy(b + 20, t, 20);
    raw_l3(tt, C2S, b, 40);
    /* 2: IPv4 total length 16 < header length 20 */
    ip4_hdr(b, S, D, 6, 16, 0x1002, 0x4000, 64);
    memcpy(b + 20, t, 20);
    raw_l3(tt + US(100), C2S, b, 40);
    /* 3: TCP data offset 3 (< 5) */
    tcp_hdr_bytes(t, c, C2S, RST | ACK, 3);
    ip4_hdr(b, S, D, 6, 40, 0x1003, 0x4000, 64);
    memcpy(b + 20, t, 20);
    put16(b + 36, l4_csum(0, S, D, 6, b + 20, 20));
    raw_l3(tt + US(200), C2S, b, 40);
    /* 4: TCP data offset 15 (60 bytes) but only 24 bytes of TCP in the packet */
    tcp_hdr_bytes(t, c, C2S, RST | ACK, 15);
    memset(t + 20, 1, 4);
    ip4_hdr(b, S, D, 6, 44, 0x1004, 0x4000, 64);
    memcpy(b + 20, t, 24);
    put16(b + 36, l4_csum(0, S, D, 6, b + 20, 24));
    raw_l3(tt + US(300), C2S, b, 44);
    /* 5: IPv4 total length 1500 > frame (IP packet truncated, caplen == len) */
    tcp_hdr_bytes(t, c, C2S, RST | ACK, 5);
    ip4_hdr(b, S, D, 6, 1500, 0x1005, 0x4000, 64);
    memcpy(b + 20, t, 20);
    put16(b + 36, l4_csum(0, S, D, 6, b + 20, 20));
    raw_l3(tt + US(400), C2S, b, 40);
    /* 6: non-first fragment (offset 1480) whose payload looks like a TCP RST */
    tcp_hdr_bytes(t, c, S2C, RST | ACK, 5);
    ip4_hdr(b, D, S, 6, 40, 0x2bad, 185, 64);
    memcpy(b + 20, t, 20);
    put16(b + 36, l4_csum(0, D, S, 6, b + 20, 20));
    raw_l3(tt + US(500), S2C, b, 40);
    c->t = tt + US(600);

    /* 7: client request sent as two IPv4 fragments: first (MF, offset 0)
     * carries the full TCP header + 52 payload bytes, second the other 88 */
    {
        uint8_t seg4[512];
        size_t tl;
        uint16_t id = c->ipid[C2S]++;
        c->t += US(200);
        tl = build_tcp(seg4, c, C2S, PSH | ACK, c->nxt[C2S], c->rcv[C2S], 140);
        put16(seg4 + 16, l4_csum(0, S, D, 6, seg4, tl));
        ip4_hdr(b, S, D, 6, 20 + 72, id, 0x2000, 64); /* MF */
        memcpy(b + 20, seg4, 72);
        raw_l3(c->t, C2S, b, 92);
        ip4_hdr(b, S, D, 6, (uint16_t)(20 + tl - 72), id, 72 / 8, 64);
        memcpy(b + 20, seg4 + 72, tl - 72);
        raw_l3(c->t + US(3), C2S, b, 20 + tl - 72);
        c->nxt[C2S] += 140;
        c->rcv[S2C] = c->nxt[C2S];
    }
    seg(c, S2C, ACK, 0, c->rtt / 2);
    /* response; captured with a small snaplen (headers + 10 payload bytes):
     * the payload length must come from the IP header, not the caplen */
    seg(c, S2C, PSH | ACK, 280, US(500));
    P[NP - 1].snap = 14 + 20 + 20 + 10;
    seg(c, C2S, ACK, 0, c->rtt / 2);

    /* 8: packet cut by snaplen inside the TCP header (caplen 14+20+10) */
    tt = c->t + US(100);
    tcp_hdr_bytes(t, c, C2S, RST | ACK, 5);
    ip4_hdr(b, S, D, 6, 40, 0x1008, 0x4000, 64);
    memcpy(b + 20, t, 20);
    put16(b + 36, l4_csum(0, S, D, 6, b + 20, 20));
    p = raw_l3(tt, C2S, b, 40);
    p->snap = 14 + 20 + 10;
    /* 9: duplicate ACK with a TCP option of length 0 (kind 8) */
    tcp_hdr_bytes(t, c, C2S, ACK, 6);
    t[20] = 1;
    t[21] = 1;
    t[22] = 8;
    t[23] = 0;
    ip4_hdr(b, S, D, 6, 44, c->ipid[C2S]++, 0x4000, 64);
    memcpy(b + 20, t, 24);
    put16(b + 36, l4_csum(0, S, D, 6, b + 20, 24));
    raw_l3(tt + US(100), C2S, b, 44);
    /* 10: duplicate ACK with an option whose length runs past the header
     * (MSS kind 2, length 40, in a 28-byte TCP header) */
    tcp_hdr_bytes(t, c, C2S, ACK, 7);
    memcpy(t + 20, "\x01\x01\x02\x28\x05\xb4\x01\x01", 8);
    ip4_hdr(b, S, D, 6, 48, c->ipid[C2S]++, 0x4000, 64);
    memcpy(b + 20, t, 28);
    put16(b + 36, l4_csum(0, S, D, 6, b + 20, 28));
    raw_l3(tt + US(200), C2S, b, 48);
    /* 11: unknown EtherType 0x88b5 (IEEE local experimental) */
    memcpy(b, "\xff\xff\xff\xff\xff\xff", 6);
    memcpy(b + 6, MAC[0], 6);
    put16(b + 12, 0x88b5);
    for (i = 0; i < 46; i++)
        b[14 + i] = (uint8_t)(i * 7);
    p = raw_l3(tt + US(300), C2S, b, 60);
    p->raw = 1;
    /* 12: UDP DNS query 10.9.0.2:53124 -> 10.9.0.53:53 */
    {
        static const uint8_t q[] = "\x5c\x1e\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                                   "\x07" "example" "\x04" "test" "\x00\x00\x01\x00\x01";
        uint8_t dns[4];
        size_t ql = sizeof q - 1, ul = 8 + ql;
        parse_addr(0, "10.9.0.53", dns);
        ip4_hdr(b, S, dns, 17, (uint16_t)(20 + ul), 0x3001, 0, 64);
        put16(b + 20, 53124);
        put16(b + 22, 53);
        put16(b + 24, (uint16_t)ul);
        put16(b + 26, 0);
        memcpy(b + 28, q, ql);
        put16(b + 26, l4_csum(0, S, dns, 17, b + 20, ul));
        raw_l3(tt + US(400), C2S, b, 20 + ul);
    }
    /* 13: ICMP echo request / reply */
    for (i = 0; i < 2; i++) {
        uint8_t *m = b + 20;
        size_t k;
        ip4_hdr(b, i ? D : S, i ? S : D, 1, 20 + 64, (uint16_t)(0x4001 + i), 0x4000, 64);
        m[0] = i ? 0 : 8;
        m[1] = 0;
        m[2] = m[3] = 0;
        put16(m + 4, 0x1d2c);
        put16(m + 6, 1);
        for (k = 8; k < 64; k++)
            m[k] = (uint8_t)k;
        put16(m + 2, csum_fold(csum_add(0, m, 64)));
        raw_l3(tt + US(500) + US(300) * i, i ? S2C : C2S, b, 84);
    }
    /* 14: IPv6: hop-by-hop -> dest opts -> routing header whose length
     * (255 -> 2048 bytes) runs past the end of the packet */
    {
        uint8_t a6[16], z6[16];
        size_t k;
        parse_addr(1, "2001:db8:9::2", a6);
        parse_addr(1, "2001:db8:9::1", z6);
        memset(b + 40, 0, 40);
        memcpy(b + 40, "\x3c\x00\x01\x04\x00\x00\x00\x00", 8); /* HBH -> 60 */
        memcpy(b + 48, "\x2b\x00\x01\x04\x00\x00\x00\x00", 8); /* DST -> 43 */
        memcpy(b + 56, "\x06\xff\x00\x00\x00\x00\x00\x00", 8); /* RH len 255 */
        ip6_hdr(b, a6, z6, 0, 40, 0x12345, 64);
        raw_l3(tt + US(1200), C2S, b, 80);
        /* 15: a chain of 64 destination-options headers (8 bytes each),
         * the last one says "no next header" (59) */
        for (k = 0; k < 64; k++)
            memcpy(b + 40 + 8 * k, k == 63 ? "\x3b\x00\x01\x04\x00\x00\x00\x00"
                                           : "\x3c\x00\x01\x04\x00\x00\x00\x00", 8);
        ip6_hdr(b, a6, z6, 60, 64 * 8, 0x12345, 64);
        raw_l3(tt + US(1300), C2S, b, 40 + 64 * 8);
    }
    c->t = tt + US(1500);

    exchange(c, 110, 260, US(500), 0);
    close_by(c, C2S, MS(20));

    /* Ethernet padding: every frame of the connection shorter than 60 bytes
     * is padded to 60 (zeros; the client's FIN with nonzero garbage); the
     * hand-made packets above stay unpadded */
    for (i = n0; i < NP; i++) {
        if (P[i].bad)
            continue;
        P[i].pad_to = 60;
        if (P[i].len == 40 && P[i].data[9] == 6 && P[i].data[33] == (FIN | ACK) &&
            P[i].dir == C2S)
            P[i].padbyte = 0xa5;
    }
    free(c);
}

static void scen_dups(void)
{
    struct conn *c = conn_new4("127.0.0.1", 39418, "127.0.0.1", 8080, MS(0), 50);
    conn_loopback(c);
    handshake(c);
    exchange(c, 120, 360, US(200), 1);
    exchange(c, 120, 410, US(180), 0);
    close_by(c, C2S, MS(15));
    free(c);
}

/* --- odd inputs (issue 6): jumbo frames, clocks that step back, IP
 * datagrams with no room for TCP */

/* MTU 9000 Ethernet (MSS 8960): 9014-byte frames; then loopback with
 * GRO/TSO, where one IPv4 packet is 65535 bytes long (65483 payload bytes
 * behind 20 bytes of IP and 32 of TCP).  Needs a snap length of 262144. */
static void scen_jumbo(void)
{
    struct conn *c = conn_new4("10.30.0.2", 47000, "10.30.0.1", 5201, MS(0), 60);

    c->mss[C2S] = c->mss[S2C] = 8960;
    handshake(c);
    seg(c, C2S, PSH | ACK, 8948, US(35)); /* 20 + 32 + 8948 = 9000 */
    seg(c, S2C, ACK, 0, c->rtt / 2);
    seg(c, S2C, PSH | ACK, 8948, US(200));
    seg(c, S2C, PSH | ACK, 1000, US(10));
    seg(c, C2S, ACK, 0, c->rtt / 2);
    close_by(c, C2S, MS(5));
    free(c);

    c = conn_new4("127.0.0.1", 47010, "127.0.0.1", 8080, MS(100), 61);
    conn_loopback(c);
    handshake(c);
    seg(c, C2S, PSH | ACK, 100, US(35));
    seg(c, S2C, PSH | ACK, 65483, US(100)); /* 20 + 32 + 65483 = 65535 */
    seg(c, C2S, ACK, 0, c->rtt / 2);
    close_by(c, C2S, MS(5));
    free(c);
}

/* Written in script order (wopt.keep_order): (a) normal at 1 s; (b) starts
 * at 2 s, then the clock steps back 2 s before its close, so its FIN, the
 * peer's FIN and the last ACK are stamped before its own SYN (and before
 * all of (a)); (c) normal at 3 s. */
static void scen_backwards(void)
{
    static const int64_t back[3] = {0, (int64_t)SEC(2), 0};
    struct conn *c;
    int i;

    for (i = 0; i < 3; i++) {
        c = conn_new4("10.40.0.2", (uint16_t)(41000 + i), "10.40.0.1", 80, SEC(1 + i),
                      (uint64_t)(70 + i));
        handshake(c);
        exchange(c, 110, 300, US(500), 1);
        c->t -= (uint64_t)back[i];
        close_by(c, C2S, MS(20));
        free(c);
    }
}

/* IP datagrams whose length leaves no room for a TCP header, between the
 * packets of a normal connection: IPv4 total length 20 with protocol 6,
 * and IPv6 payload length 0 with next header 6; each once padded to the
 * 60-byte Ethernet minimum (as received) and once not (as captured on
 * the sender). */
static void scen_ip_empty(void)
{
    struct conn *c = conn_new4("10.50.0.2", 42000, "10.50.0.1", 80, MS(0), 80);
    uint8_t b[64], a6[16], z6[16];
    uint64_t tt;
    struct pkt *p;

    handshake(c);
    exchange(c, 110, 300, US(500), 1);
    tt = c->t + US(100);
    ip4_hdr(b, c->ip[C2S], c->ip[S2C], 6, 20, 0x5001, 0x4000, 64);
    p = raw_l3(tt, C2S, b, 20);
    p->pad_to = 60;
    ip4_hdr(b, c->ip[C2S], c->ip[S2C], 6, 20, 0x5002, 0x4000, 64);
    raw_l3(tt + US(100), C2S, b, 20);
    parse_addr(1, "2001:db8:50::2", a6);
    parse_addr(1, "2001:db8:50::1", z6);
    ip6_hdr(b, a6, z6, 6, 0, 0x5003, 64);
    raw_l3(tt + US(200), C2S, b, 40);
    p = raw_l3(tt + US(300), C2S, b, 40);
    p->pad_to = 60;
    c->t = tt + US(400);
    close_by(c, C2S, MS(10));
    free(c);
}

/* ------------------------------------------- hand-made file bytes */

/* pcap and pcapng files that libpcap's writer will not produce (snap
 * length 0, caplen > snaplen or > len, several interfaces): written byte
 * by byte, little-endian, microsecond timestamps. */

/* Open dir/name (name alone when dir is NULL; "-" is standard output). */
static FILE *raw_create(const char *dir, const char *name, char *path, size_t plen)
{
    FILE *f;

    if (dir)
        snprintf(path, plen, "%s/%s", dir, name);
    else
        snprintf(path, plen, "%s", name);
    if (strcmp(name, "-") == 0)
        return stdout;
    if (!(f = fopen(path, "wb")))
        die("%s: %s", path, strerror(errno));
    return f;
}

static void raw_close(FILE *f, const char *path, size_t n)
{
    if (fflush(f) != 0 || ferror(f) || (f != stdout && fclose(f) != 0))
        die("%s: write failed", path);
    if (f != stdout)
        printf("pcapgen: wrote %s (%zu records)\n", path, n);
}

static void raw_put(FILE *f, const void *d, size_t n)
{
    if (n && fwrite(d, 1, n, f) != n)
        die("write failed: %s", strerror(errno));
}

static void le16w(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32w(uint8_t *p, uint32_t v)
{
    le16w(p, (uint16_t)v);
    le16w(p + 2, (uint16_t)(v >> 16));
}

/* pcap file header: magic a1b2c3d4 (µs), version 2.4 */
static void raw_pcap_header(FILE *f, uint32_t snaplen, uint32_t linktype)
{
    uint8_t h[24];

    le32w(h, 0xa1b2c3d4u);
    le16w(h + 4, 2);
    le16w(h + 6, 4);
    le32w(h + 8, 0);
    le32w(h + 12, 0);
    le32w(h + 16, snaplen);
    le32w(h + 20, linktype);
    raw_put(f, h, sizeof h);
}

/* A record header, then ndata bytes of d (normally ndata == caplen). */
static void raw_pcap_record(FILE *f, uint64_t t, uint32_t caplen, uint32_t len,
                            const uint8_t *d, size_t ndata)
{
    uint8_t h[16];

    le32w(h, (uint32_t)(BASE_SEC + t / SEC(1)));
    le32w(h + 4, (uint32_t)((t % SEC(1)) / 1000));
    le32w(h + 8, caplen);
    le32w(h + 12, len);
    raw_put(f, h, sizeof h);
    raw_put(f, d, ndata);
}

/* One pcapng block: type, total length, body padded to 4 bytes, length. */
static void ng_block(FILE *f, uint32_t type, const uint8_t *body, size_t n)
{
    static const uint8_t zero[4];
    uint8_t h[8];
    uint32_t total = (uint32_t)(12 + ((n + 3) & ~(size_t)3));

    le32w(h, type);
    le32w(h + 4, total);
    raw_put(f, h, 8);
    raw_put(f, body, n);
    raw_put(f, zero, (4 - n % 4) % 4);
    raw_put(f, h + 4, 4);
}

static void ng_shb(FILE *f)
{
    uint8_t b[16];

    le32w(b, 0x1a2b3c4du); /* byte-order magic */
    le16w(b + 4, 1);
    le16w(b + 6, 0);
    le32w(b + 8, 0xffffffffu); /* section length: not given */
    le32w(b + 12, 0xffffffffu);
    ng_block(f, 0x0a0d0d0au, b, sizeof b);
}

static void ng_idb(FILE *f, uint16_t linktype, uint32_t snaplen)
{
    uint8_t b[8];

    le16w(b, linktype);
    le16w(b + 2, 0);
    le32w(b + 4, snaplen); /* no options: if_tsresol 6 (µs) */
    ng_block(f, 1, b, sizeof b);
}

static void ng_epb(FILE *f, uint32_t ifid, uint64_t t, const uint8_t *d, uint32_t len)
{
    static uint8_t b[20 + MAXFRAME];
    uint64_t us = (uint64_t)BASE_SEC * 1000000u + t / 1000;

    le32w(b, ifid);
    le32w(b + 4, (uint32_t)(us >> 32));
    le32w(b + 8, (uint32_t)us);
    le32w(b + 12, len);
    le32w(b + 16, len);
    memcpy(b + 20, d, len);
    ng_block(f, 6, b, 20 + len);
}

/* The connection of scen_link() (IPv4, Ethernet) with broken record
 * headers, and pcapng files with two interfaces. */
static void write_raw_files(const char *dir)
{
    static uint8_t f[MAXFRAME];
    struct wopt eth, raw;
    char path[4096];
    FILE *fp;
    size_t i, len, n;
    int k;

    memset(&eth, 0, sizeof eth);
    memset(&raw, 0, sizeof raw);
    raw.link = L_RAW;
    scen_link(0, 0);
    qsort(P, NP, sizeof *P, pkt_cmp);

    /* snap length 0 in the file header (libpcap: the link type's maximum) */
    fp = raw_create(dir, "gen-snaplen0.pcap", path, sizeof path);
    raw_pcap_header(fp, 0, DLT_EN10MB);
    for (i = 0; i < NP; i++) {
        len = build_frame(f, &eth, &P[i]);
        raw_pcap_record(fp, P[i].t, (uint32_t)len, (uint32_t)len, f, len);
    }
    raw_close(fp, path, NP);

    /* header snap length 96, every record stored whole (caplen up to 182) */
    fp = raw_create(dir, "gen-caplen-over-snaplen.pcap", path, sizeof path);
    raw_pcap_header(fp, 96, DLT_EN10MB);
    for (i = 0; i < NP; i++) {
        len = build_frame(f, &eth, &P[i]);
        raw_pcap_record(fp, P[i].t, (uint32_t)len, (uint32_t)len, f, len);
    }
    raw_close(fp, path, NP);

    /* after the 5th record, one whose caplen (2^30) exceeds both the snap
     * length and libpcap's maximum (262144); its data is not there */
    fp = raw_create(dir, "gen-caplen-huge.pcap", path, sizeof path);
    raw_pcap_header(fp, 262144, DLT_EN10MB);
    for (i = 0; i < NP; i++) {
        len = build_frame(f, &eth, &P[i]);
        if (i == 5)
            raw_pcap_record(fp, P[i].t, 1u << 30, 1u << 30, f, 0);
        raw_pcap_record(fp, P[i].t, (uint32_t)len, (uint32_t)len, f, len);
    }
    raw_close(fp, path, NP + 1);

    /* caplen > len: every record whole, its wire length 0 (odd records)
     * or 10 bytes short (even records) */
    fp = raw_create(dir, "gen-caplen-over-len.pcap", path, sizeof path);
    raw_pcap_header(fp, 262144, DLT_EN10MB);
    for (i = 0; i < NP; i++) {
        len = build_frame(f, &eth, &P[i]);
        raw_pcap_record(fp, P[i].t, (uint32_t)len, i % 2 ? 0 : (uint32_t)len - 10, f, len);
    }
    raw_close(fp, path, NP);
    store_reset();

    /* pcapng, two interfaces; the IPv4 connection (0.000 s) on interface 0,
     * Ethernet, the IPv6 one (0.100 s) on interface 1:
     *   gen-pcapng-2if: interface 1 Ethernet too, same snap length (valid);
     *   gen-pcapng-linktypes: interface 1 is LINKTYPE_RAW and its IDB comes
     *     after the IPv4 connection's packets;
     *   gen-pcapng-snaplens: interface 1 Ethernet with snap length 65535
     *     (interface 0: 262144), both IDBs before any packet. */
    scen_link(0, 0);
    scen_link(1, 0);
    qsort(P, NP, sizeof *P, pkt_cmp);
    for (k = 0; k < 3; k++) {
        static const char *const names[3] = {"gen-pcapng-2if.pcapng",
                                              "gen-pcapng-linktypes.pcapng",
                                              "gen-pcapng-snaplens.pcapng"};
        int late = k == 1, idb1 = !late;

        fp = raw_create(dir, names[k], path, sizeof path);
        ng_shb(fp);
        ng_idb(fp, DLT_EN10MB, 262144);
        if (!late)
            ng_idb(fp, DLT_EN10MB, k == 2 ? 65535 : 262144);
        n = 0;
        for (i = 0; i < NP; i++) {
            int v6 = (P[i].data[0] >> 4) == 6;
            if (v6 && !idb1) {                  /* before the first IPv6 packet */
                ng_idb(fp, 101, 262144);        /* LINKTYPE_RAW */
                idb1 = 1;
            }
            len = build_frame(f, late && v6 ? &raw : &eth, &P[i]);
            ng_epb(fp, v6, P[i].t, f, (uint32_t)len);
            n++;
        }
        raw_close(fp, path, n);
    }
    store_reset();
}

/* --synflood N FILE: N SYNs to 192.0.2.10:80 from N different source
 * address/port pairs (10.0.0.0/8, ports 1024..65029, scattered by a
 * bijection of the index), one every 10 µs, 54-byte frames.  Written
 * straight to FILE ("-": standard output) for tests/synflood.sh. */
static void write_synflood(const char *file, unsigned long n)
{
    static char obuf[1 << 20];
    uint8_t fr[54], dst[4] = {192, 0, 2, 10};
    char path[4096];
    FILE *fp = raw_create(NULL, file, path, sizeof path);
    uint64_t rng = 90;
    unsigned long i;

    setvbuf(fp, obuf, _IOFBF, sizeof obuf);
    raw_pcap_header(fp, 262144, DLT_EN10MB);
    memcpy(fr, MAC[1], 6);
    memcpy(fr + 6, MAC[0], 6);
    put16(fr + 12, 0x0800);
    for (i = 0; i < n; i++) {
        uint32_t x = (uint32_t)i * 0x9e3779b1u; /* odd multiplier: a bijection */
        uint8_t src[4] = {10, (uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8)};
        uint8_t *t = fr + 34;

        ip4_hdr(fr + 14, src, dst, 6, 40, (uint16_t)splitmix(&rng), 0x4000, 64);
        put16(t, (uint16_t)(1024 + (x & 0xff) * 251));
        put16(t + 2, 80);
        put32(t + 4, (uint32_t)splitmix(&rng));
        put32(t + 8, 0);
        t[12] = 5 << 4;
        t[13] = SYN;
        put16(t + 14, 64240);
        t[16] = t[17] = t[18] = t[19] = 0;
        put16(t + 16, l4_csum(0, src, dst, 6, t, 20));
        raw_pcap_record(fp, US(10) * i, 54, 54, fr, 54);
    }
    raw_close(fp, path, n);
}

/* ------------------------------------------------------------------- main */

static void truncate_copy(const char *dir, const char *from, const char *to, long cut)
{
    char a[4096], b[4096];
    FILE *in, *out;
    long sz;
    char *buf;
    snprintf(a, sizeof a, "%s/%s", dir, from);
    snprintf(b, sizeof b, "%s/%s", dir, to);
    in = fopen(a, "rb");
    if (!in)
        die("%s: %s", a, strerror(errno));
    fseek(in, 0, SEEK_END);
    sz = ftell(in);
    rewind(in);
    buf = xcalloc(1, (size_t)sz);
    if (fread(buf, 1, (size_t)sz, in) != (size_t)sz)
        die("%s: short read", a);
    fclose(in);
    out = fopen(b, "wb");
    if (!out)
        die("%s: %s", b, strerror(errno));
    if (fwrite(buf, 1, (size_t)(sz - cut), out) != (size_t)(sz - cut) || fclose(out) != 0)
        die("%s: write failed", b);
    free(buf);
    printf("pcapgen: wrote %s (%s minus its last %ld bytes)\n", b, a, cut);
}

/* Inputs that are not usable captures, for the error-path tests: a
 * zero-byte file, a valid header with no records, and a link type the
 * analyzer does not decode (DLT_USER0 with one record). */
static void write_edge_files(const char *dir)
{
    char path[4096];
    static const u_char junk[20] = { 0x45 };
    struct pcap_pkthdr ph;
    pcap_t *pd;
    pcap_dumper_t *dp;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, "gen-empty.pcap");
    if (!(f = fopen(path, "wb")) || fclose(f) != 0)
        die("%s: %s", path, strerror(errno));
    for (int user0 = 0; user0 < 2; user0++) {
        snprintf(path, sizeof path, "%s/%s", dir,
                 user0 ? "gen-linktype-user0.pcap" : "gen-header-only.pcap");
        pd = pcap_open_dead(user0 ? DLT_USER0 : DLT_EN10MB, 262144);
        if (!pd || !(dp = pcap_dump_open(pd, path)))
            die("%s: cannot write", path);
        if (user0) {
            memset(&ph, 0, sizeof ph);
            ph.ts.tv_sec = BASE_SEC;
            ph.caplen = ph.len = sizeof junk;
            pcap_dump((u_char *)dp, &ph, junk);
        }
        pcap_dump_close(dp);
        pcap_close(pd);
    }
}

int main(int argc, char **argv)
{
    const char *out;
    struct wopt o;
    static const struct {
        const char *name;
        enum link link;
        int v6;
    } links[] = {
        {"gen-link-vlan.pcap", L_VLAN, 0}, {"gen-link-qinq.pcap", L_QINQ, 0},
        {"gen-link-sll.pcap", L_SLL, 0},   {"gen-link-sll2.pcap", L_SLL2, 0},
        {"gen-link-null.pcap", L_NULL, 0}, {"gen-link-loop.pcap", L_LOOP, 0},
        {"gen-link-raw.pcap", L_RAW, 0},   {"gen-link-ipv4.pcap", L_IPV4, 0},
        {"gen-link-ipv6.pcap", L_IPV6, 1},
    };
    size_t i;

    if (argc == 4 && strcmp(argv[1], "--synflood") == 0) {
        char *end;
        unsigned long n = strtoul(argv[2], &end, 10);
        if (*end || end == argv[2])
            die("bad count '%s'", argv[2]);
        write_synflood(argv[3], n);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n       %s --synflood N FILE|-\n", argv[0], argv[0]);
        return 2;
    }
    out = argv[1];
    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        die("%s: %s", out, strerror(errno));

    memset(&o, 0, sizeof o);
    scen_lifecycle();
    write_file(out, "gen-lifecycle.pcap", &o);
    o.flags_only = 1;
    write_file(out, "gen-flagsonly.pcap", &o);
    o.flags_only = 0;
    o.t_to = MS(2500);
    write_file(out, "gen-rotated-1.pcap", &o);
    o.t_from = MS(2500);
    o.t_to = 0;
    write_file(out, "gen-rotated-2.pcap", &o);
    o.t_from = 0;
    truncate_copy(out, "gen-lifecycle.pcap", "gen-truncated.pcap", 30);
    store_reset();

    scen_portreuse();
    write_file(out, "gen-portreuse.pcap", &o);
    store_reset();

    scen_ipv6();
    write_file(out, "gen-ipv6.pcap", &o);
    store_reset();

    for (i = 0; i < sizeof links / sizeof links[0]; i++) {
        memset(&o, 0, sizeof o);
        o.link = links[i].link;
        scen_link(links[i].v6, 0);
        if (links[i].link == L_RAW) /* DLT_RAW carries both versions */
            scen_link(1, 0);
        write_file(out, links[i].name, &o);
        store_reset();
    }
    memset(&o, 0, sizeof o);
    o.nano = 1;
    scen_link(0, 1);
    write_file(out, "gen-link-nano.pcap", &o);
    store_reset();

    memset(&o, 0, sizeof o);
    scen_malformed();
    write_file(out, "gen-malformed.pcap", &o);
    store_reset();

    o.zero_mac = 1;
    o.dup = 1;
    scen_dups();
    write_file(out, "gen-dups.pcap", &o);
    store_reset();

    write_edge_files(out);
    write_raw_files(out);

    memset(&o, 0, sizeof o);
    scen_jumbo();
    write_file(out, "gen-jumbo.pcap", &o);
    store_reset();

    o.keep_order = 1;
    scen_backwards();
    write_file(out, "gen-time-backwards.pcap", &o);
    store_reset();

    memset(&o, 0, sizeof o);
    scen_ip_empty();
    write_file(out, "gen-ip-empty.pcap", &o);
    store_reset();
    free(P);
    return 0;
}
