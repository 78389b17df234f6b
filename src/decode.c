/* decode.c - link, IP and TCP decoding of one untrusted frame into a
 * struct segment.  It never reads past the captured length: every layer is
 * given (p, cap, wire) = (start, readable bytes, bytes on the wire), checks
 * the length of what it reads, and reads each byte through the readers
 * below, which check it against cap in the same call.  It does not
 * reassemble IP fragments or TCP streams and does not validate checksums
 * (loopback captures carry partial checksums with checksum offload, so
 * validating them would drop real packets). */
#include <string.h>

#include <pcap/dlt.h>

#include "config.h"
#include "decode.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

struct frame {                  /* one layer's view of the frame */
        const uint8_t *p;       /* first byte of this layer */
        uint32_t cap;           /* bytes readable from p */
        uint32_t wire;          /* bytes on the wire from p */
        int depth;              /* encapsulations followed so far */
        const uint8_t *ip;      /* the innermost IP header so far (hashed with TCP's) */
};

/* Readers of the field at off in f: one byte (rd8), big-endian (rd16,
 * rd32), little-endian (rd16le, rd32le), in host order for the hash (ld32,
 * ld64) or n bytes copied (rdbytes).  Each checks the field against f->cap
 * in the same call and reads what was not captured as 0 (the copy as
 * zeros), so no byte past the captured length can be read.  The layers
 * below check a header's length once, with the error they give, before
 * they read its fields; the readers are always inlined, so at constant
 * offsets the compiler knows that their checks hold and drops them. */
static inline __attribute__((always_inline)) int
have(const struct frame *f, uint32_t off, uint32_t n)
{
        return off <= f->cap && f->cap - off >= n;
}

static inline __attribute__((always_inline)) uint8_t
rd8(const struct frame *f, uint32_t off)
{
        return off < f->cap ? f->p[off] : 0;
}

static inline __attribute__((always_inline)) uint16_t
rd16(const struct frame *f, uint32_t off)
{
        if (!have(f, off, 2))
                return 0;
        return (uint16_t)(f->p[off] << 8 | f->p[off + 1]);
}

static inline __attribute__((always_inline)) uint16_t
rd16le(const struct frame *f, uint32_t off)
{
        if (!have(f, off, 2))
                return 0;
        return (uint16_t)(f->p[off + 1] << 8 | f->p[off]);
}

static inline __attribute__((always_inline)) uint32_t
rd32(const struct frame *f, uint32_t off)
{
        const uint8_t *p;

        if (!have(f, off, 4))
                return 0;
        p = f->p + off;
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline __attribute__((always_inline)) uint32_t
rd32le(const struct frame *f, uint32_t off)
{
        const uint8_t *p;

        if (!have(f, off, 4))
                return 0;
        p = f->p + off;
        return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline __attribute__((always_inline)) uint64_t
ld32(const struct frame *f, uint32_t off)
{
        uint32_t w = 0;

        if (have(f, off, 4))
                memcpy(&w, f->p + off, 4);
        return w;
}

static inline __attribute__((always_inline)) uint64_t
ld64(const struct frame *f, uint32_t off)
{
        uint64_t w = 0;

        if (have(f, off, 8))
                memcpy(&w, f->p + off, 8);
        return w;
}

static inline __attribute__((always_inline)) void
rdbytes(const struct frame *f, uint32_t off, void *dst, uint32_t n)
{
        if (have(f, off, n))
                memcpy(dst, f->p + off, n);
        else
                memset(dst, 0, n);
}

/* Advance f by n bytes; the caller has checked n <= f->cap. */
static void skip(struct frame *f, uint32_t n)
{
        f->p += n;
        f->cap -= n;
        f->wire = f->wire > n ? f->wire - n : 0;
}

static enum dec_result dec_ip(struct frame f, struct segment *seg);
static enum dec_result dec_ether(struct frame f, struct segment *seg);

static const char *const result_names[DEC_NRESULTS] = {
        [DEC_TCP] = "tcp",
        [DEC_NOT_TCP] = "not_tcp",
        [DEC_FRAGMENT] = "ip_fragment",
        [DEC_ERR_LINK_TRUNC] = "link_truncated",
        [DEC_ERR_LINK_BAD] = "link_invalid",
        [DEC_ERR_IP_TRUNC] = "ip_truncated",
        [DEC_ERR_IP_BAD] = "ip_invalid",
        [DEC_ERR_TCP_TRUNC] = "tcp_truncated",
        [DEC_ERR_TCP_BAD] = "tcp_invalid",
        [DEC_ERR_ENCAP_DEPTH] = "encap_too_deep",
};

const char *decode_result_name(enum dec_result r)
{
        return (unsigned)r < DEC_NRESULTS ? result_names[r] : "unknown";
}

/* ---- TCP ---- */

/* Walk TCP options (RFC 9293 3.1), the cap bytes of o: every byte checked
 * before it is read. */
static void dec_tcp_options(const struct frame *o, struct segment *seg)
{
        uint32_t i = 0, n = o->cap;

        /* what every segment of a connection with timestamps carries */
        if (n == 12 && rd8(o, 0) == 1 && rd8(o, 1) == 1 && rd8(o, 2) == 8 && rd8(o, 3) == 10) {
                seg->has_ts = 1;
                seg->tsval = rd32(o, 4);
                seg->tsecr = rd32(o, 8);
                return;
        }
        while (i < n) {
                uint8_t kind = rd8(o, i), len;

                if (kind == 0)                  /* end of option list */
                        break;
                if (kind == 1) {                /* NOP */
                        i++;
                        continue;
                }
                if (n - i < 2)
                        break;
                len = rd8(o, i + 1);
                if (len < 2 || len > n - i)     /* malformed: stop walking */
                        break;
                if (kind == 2 && len == 4)
                        seg->mss = rd16(o, i + 2);
                else if (kind == 3 && len == 3)
                        seg->wscale = rd8(o, i + 2);
                else if (kind == 4 && len == 2)
                        seg->sack_perm = 1;
                else if (kind == 8 && len == 10) {
                        seg->has_ts = 1;
                        seg->tsval = rd32(o, i + 2);
                        seg->tsecr = rd32(o, i + 6);
                }
                i += len;
        }
}

/* ---- the duplicate hash ---- */

static uint64_t mix(uint64_t h, uint64_t w)
{
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        return h ^ (h >> 32);
}

/* Mix in the bytes of f, eight at a time. */
static uint64_t mix_bytes(uint64_t h, struct frame f)
{
        uint64_t w = 0;

        for (; f.cap >= 8; skip(&f, 8))
                h = mix(h, ld64(&f, 0));
        rdbytes(&f, 0, &w, f.cap);
        return mix(h, w ^ (uint64_t)f.cap << 56);
}

/* A hash of what identifies one transmitted packet: the IP header(s) but
 * the addresses (the connection has them) and the TCP header with its
 * options, as captured.  Two capture copies of a packet hash equal; a
 * retransmission differs in IP ID, TCP timestamp or time.  ip holds the
 * IP header(s), tcp the fixed TCP header, opt the options as captured. */
static uint64_t seg_hash(struct frame ip, struct frame tcp, struct frame opt,
                         const struct segment *seg)
{
        /* the words multiplied by odd constants and added (independent
         * multiplications), then mixed once */
        uint64_t h = ld64(&ip, 0) * 0x9e3779b97f4a7c15ULL;     /* v4: up to the
                                           fragment field, v6: flow, length, hop limit */
        uint32_t fixed = 40;

        if ((rd8(&ip, 0) >> 4) == 4) {
                h += ld32(&ip, 8) * 0xc2b2ae3d27d4eb4fULL;      /* TTL, protocol, checksum */
                fixed = 20;
        }
        if (ip.cap > fixed) {                   /* IPv4 options, IPv6 extension headers */
                skip(&ip, fixed);
                h = mix_bytes(h, ip);
        }
        h += ld64(&tcp, 0) * 0x165667b19e3779f9ULL;             /* ports, seq */
        h += ld64(&tcp, 8) * 0xff51afd7ed558ccdULL;             /* ack, offset, flags, window */
        h += (ld32(&tcp, 16) | (uint64_t)opt.cap << 32) * 0xc4ceb9fe1a85ec53ULL;
        if (opt.cap == 12 && seg->has_ts && rd8(&opt, 0) == 1 && rd8(&opt, 1) == 1)
                h += ((uint64_t)seg->tsval << 32 | seg->tsecr) * 0x27d4eb2f165667c5ULL;
        else if (opt.cap)
                h = mix_bytes(h, opt);
        h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
        return h ^ (h >> 29);
}

/* f starts at the TCP header; iplen is the TCP header + payload length the
 * IP layer claims (already bounded by the frame's wire length). */
static enum dec_result dec_tcp(struct frame f, uint32_t iplen, struct segment *seg)
{
        struct frame ip, opt;
        uint32_t hlen;

        if (iplen < 20)                 /* the datagram has no room for a TCP header, */
                return DEC_ERR_TCP_BAD; /* however much of it (or padding) was captured */
        if (f.cap < 20)
                return DEC_ERR_TCP_TRUNC;
        hlen = (uint32_t)(rd8(&f, 12) >> 4) * 4;
        if (hlen < 20 || hlen > iplen)
                return DEC_ERR_TCP_BAD;
        seg->src.port = rd16(&f, 0);
        seg->dst.port = rd16(&f, 2);
        seg->seq = rd32(&f, 4);
        seg->ack = rd32(&f, 8);
        seg->flags = rd8(&f, 13);
        seg->win = rd16(&f, 14);
        seg->payload = iplen - hlen;
        seg->mss = 0;
        seg->wscale = 0xff;
        seg->sack_perm = 0;
        seg->has_ts = 0;
        seg->tsval = seg->tsecr = 0;
        /* options cut by the snap length are parsed as far as captured:
         * the fixed header is what the analysis needs (opt and ip are
         * frames for the readers only: no wire length) */
        opt = (struct frame){ f.p + 20, (f.cap < hlen ? f.cap : hlen) - 20, 0, 0, NULL };
        dec_tcp_options(&opt, seg);
        /* the IP header(s) before f: the IP layers skipped over them, so
         * they were captured */
        ip = (struct frame){ f.ip, (uint32_t)(f.p - f.ip), 0, 0, NULL };
        seg->hash = (uint32_t)seg_hash(ip, f, opt, seg);
        seg->tuple_hash = (uint32_t)decode_tuple_hash(&seg->src, &seg->dst);
        return DEC_TCP;
}

/* ---- tunnels carried in UDP and GRE ---- */

static enum dec_result dec_udp(struct frame f, uint32_t iplen, struct segment *seg)
{
        uint16_t sport, dport;

        if (f.cap < 8 || iplen < 8)
                return DEC_NOT_TCP;
        sport = rd16(&f, 0);
        dport = rd16(&f, 2);
        if (++f.depth > RS_MAX_ENCAP_DEPTH)
                return DEC_ERR_ENCAP_DEPTH;
        if (f.wire > iplen)
                f.wire = iplen;
        skip(&f, 8);
        if (dport == 4789 || dport == 8472) {   /* VXLAN (IANA, Linux default) */
                if (f.cap < 8 || !(rd8(&f, 0) & 0x08))
                        return DEC_NOT_TCP;
                skip(&f, 8);
                return dec_ether(f, seg);
        }
        if (sport == 2152 || dport == 2152) {   /* GTP-U (3GPP TS 29.281) */
                uint32_t hl = 8;
                if (f.cap < 8 || (rd8(&f, 0) >> 5) != 1 || rd8(&f, 1) != 0xff)
                        return DEC_NOT_TCP;
                if (rd8(&f, 0) & 0x07) {        /* E, S or PN: 4 more bytes */
                        hl = 12;
                        if (f.cap < hl)
                                return DEC_ERR_LINK_TRUNC;
                        /* extension headers: length in 4-byte units */
                        for (uint8_t next = (rd8(&f, 0) & 0x04) ? rd8(&f, 11) : 0; next;) {
                                uint32_t el;
                                if (f.cap < hl + 1)
                                        return DEC_ERR_LINK_TRUNC;
                                el = (uint32_t)rd8(&f, hl) * 4;
                                if (el == 0 || f.cap < hl + el)
                                        return DEC_ERR_LINK_TRUNC;
                                next = rd8(&f, hl + el - 1);
                                hl += el;
                        }
                }
                skip(&f, hl);
                return dec_ip(f, seg);
        }
        if (sport == 3544 || dport == 3544) {   /* Teredo (RFC 4380) */
                for (int i = 0; i < 2 && f.cap >= 2 && rd8(&f, 0) == 0; i++) {
                        uint32_t n;
                        if (rd8(&f, 1) == 1) {  /* authentication indicator */
                                if (f.cap < 4)
                                        return DEC_NOT_TCP;
                                n = 4u + rd8(&f, 2) + rd8(&f, 3) + 9;
                        } else if (rd8(&f, 1) == 0) /* origin indication */
                                n = 8;
                        else
                                break;
                        if (f.cap < n)
                                return DEC_NOT_TCP;
                        skip(&f, n);
                }
                if (f.cap < 1 || (rd8(&f, 0) >> 4) != 6)
                        return DEC_NOT_TCP;
                return dec_ip(f, seg);
        }
        /* Teredo relays use any port: accept a UDP payload that is exactly
         * one IPv6 packet (version 6, payload length matching) */
        if (f.cap >= 40 && (rd8(&f, 0) >> 4) == 6 && iplen - 8 == 40u + rd16(&f, 4))
                return dec_ip(f, seg);
        return DEC_NOT_TCP;
}

/* GRE (RFC 2784/2890), including the transparent Ethernet bridging and
 * ERSPAN-free common cases. */
static enum dec_result dec_gre(struct frame f, uint32_t iplen, struct segment *seg)
{
        uint32_t hl = 4;
        uint16_t fl, proto;

        if (f.cap < 4)
                return DEC_NOT_TCP;
        fl = rd16(&f, 0);
        proto = rd16(&f, 2);
        if ((fl & 0x0007) == 1) {               /* enhanced GRE (PPTP) */
                hl = 8 + ((fl & 0x1000) ? 4 : 0) + ((fl & 0x0080) ? 4 : 0);
                if (proto != 0x880b || f.cap < hl + 4)
                        return DEC_NOT_TCP;
                skip(&f, hl);                   /* PPP: address, control, protocol */
                if (rd8(&f, 0) == 0xff && rd8(&f, 1) == 0x03)
                        skip(&f, 2);
                proto = rd8(&f, 0) & 1 ? rd8(&f, 0) : rd16(&f, 0);
                skip(&f, rd8(&f, 0) & 1 ? 1 : 2);
                proto = proto == 0x21 ? 0x0800 : proto == 0x57 ? 0x86dd : 0;
                hl = 0;
        } else {
                if (fl & 0x0007)                /* unknown version */
                        return DEC_NOT_TCP;
                hl += ((fl & 0x8000) || (fl & 0x4000) ? 4 : 0) + (fl & 0x2000 ? 4 : 0) +
                      (fl & 0x1000 ? 4 : 0);
        }
        if (f.cap < hl)
                return DEC_ERR_LINK_TRUNC;
        if (++f.depth > RS_MAX_ENCAP_DEPTH)
                return DEC_ERR_ENCAP_DEPTH;
        if (f.wire > iplen)
                f.wire = iplen;
        skip(&f, hl);
        if (proto == 0x0800 || proto == 0x86dd)
                return dec_ip(f, seg);
        if (proto == 0x6558)                    /* transparent Ethernet bridging */
                return dec_ether(f, seg);
        if (proto == 0x88be && f.cap >= 8) {    /* ERSPAN type II */
                skip(&f, 8);
                return dec_ether(f, seg);
        }
        return DEC_NOT_TCP;
}

/* ---- IP ---- */

/* Dispatch on an IP protocol number for a payload of iplen bytes at f. */
static enum dec_result dec_proto(struct frame f, uint8_t proto, uint32_t iplen,
                                 struct segment *seg)
{
        switch (proto) {
        case 6:
                return dec_tcp(f, iplen, seg);
        case 4:                                 /* IP in IP */
        case 41:
                if (++f.depth > RS_MAX_ENCAP_DEPTH)
                        return DEC_ERR_ENCAP_DEPTH;
                if (f.wire > iplen)
                        f.wire = iplen;
                return dec_ip(f, seg);
        case 17:
                return dec_udp(f, iplen, seg);
        case 47:
                return dec_gre(f, iplen, seg);
        default:
                return DEC_NOT_TCP;
        }
}

/* The IP layer's part of seg, from the IPv4 header at f. */
static void seg_ipv4(struct segment *seg, const struct frame *f, uint32_t tot, int fragment)
{
        seg->family = 4;
        memset(seg->src.addr, 0, 16);
        memset(seg->dst.addr, 0, 16);
        rdbytes(f, 12, seg->src.addr, 4);
        rdbytes(f, 16, seg->dst.addr, 4);
        seg->ip_len = tot;
        seg->fragment = (uint8_t)fragment;
}

/* The same from the IPv6 header at f, payload length plen. */
static void seg_ipv6(struct segment *seg, const struct frame *f, uint32_t plen)
{
        seg->family = 6;
        rdbytes(f, 8, seg->src.addr, 16);
        rdbytes(f, 24, seg->dst.addr, 16);
        seg->ip_len = plen + 40;
        seg->fragment = 0;
}

static enum dec_result dec_ipv4(struct frame f, struct segment *seg)
{
        uint32_t hlen, tot;
        uint16_t frag;

        if (f.cap < 20)
                return DEC_ERR_IP_TRUNC;
        hlen = (uint32_t)(rd8(&f, 0) & 0x0f) * 4;
        if (hlen < 20)
                return DEC_ERR_IP_BAD;
        if (f.cap < hlen)
                return DEC_ERR_IP_TRUNC;
        tot = rd16(&f, 2);
        if (tot == 0)                           /* TSO / BIG TCP: length from the frame */
                tot = f.wire;
        if (tot < hlen)
                return DEC_ERR_IP_BAD;
        if (tot > f.wire) {                     /* claims more than the frame holds */
                if (f.depth == 0)
                        return DEC_ERR_IP_BAD;
                tot = f.wire;                   /* inside a tunnel: trust the outer length */
                if (tot < hlen)
                        return DEC_ERR_IP_BAD;
        }
        frag = rd16(&f, 6);
        if (frag & 0x1fff)                      /* non-first fragment: no TCP header */
                return DEC_FRAGMENT;
        seg_ipv4(seg, &f, tot, (frag & 0x2000) != 0);
        f.ip = f.p;
        {
                uint8_t proto = rd8(&f, 9);
                skip(&f, hlen);
                return dec_proto(f, proto, tot - hlen, seg);
        }
}

static enum dec_result dec_ipv6(struct frame f, struct segment *seg)
{
        uint32_t plen, left;
        uint8_t next;
        const uint8_t *ip = f.p;
        int jumbo_ok;

        if (f.cap < 40)
                return DEC_ERR_IP_TRUNC;
        if (f.wire < 40)                        /* the outer datagram ends inside this header */
                return DEC_ERR_IP_BAD;
        plen = rd16(&f, 4);
        next = rd8(&f, 6);
        jumbo_ok = plen == 0;                   /* jumbogram / BIG TCP: length from frame */
        if (jumbo_ok || plen > f.wire - 40)
                plen = f.wire - 40;
        seg_ipv6(seg, &f, plen);
        skip(&f, 40);
        left = plen;
        /* extension headers (RFC 8200 4): each one advances, so the walk
         * ends; the count bound is for hostile chains of tiny headers */
        for (int n = 0;; n++) {
                uint32_t el;

                if (n > 32)
                        return DEC_ERR_IP_BAD;
                switch (next) {
                case 0: case 43: case 60: case 135: case 139: case 140:
                        if (f.cap < 8 || left < 8)
                                return f.cap < 8 ? DEC_ERR_IP_TRUNC : DEC_ERR_IP_BAD;
                        el = ((uint32_t)rd8(&f, 1) + 1) * 8;
                        break;
                case 51:                        /* AH: length in 4-byte units, minus 2 */
                        if (f.cap < 8 || left < 8)
                                return f.cap < 8 ? DEC_ERR_IP_TRUNC : DEC_ERR_IP_BAD;
                        el = ((uint32_t)rd8(&f, 1) + 2) * 4;
                        break;
                case 44:                        /* fragment header */
                        if (f.cap < 8 || left < 8)
                                return f.cap < 8 ? DEC_ERR_IP_TRUNC : DEC_ERR_IP_BAD;
                        if (rd16(&f, 2) & 0xfff8)
                                return DEC_FRAGMENT;
                        seg->fragment = (rd8(&f, 3) & 1) != 0;
                        el = 8;
                        break;
                default:
                        f.ip = ip;
                        return dec_proto(f, next, left, seg);
                }
                if (el > f.cap)
                        return DEC_ERR_IP_TRUNC;
                if (el > left)
                        return DEC_ERR_IP_BAD;
                next = rd8(&f, 0);
                skip(&f, el);
                left -= el;
        }
}

#ifndef RS_NO_SHORTCUTS
/* The usual datagram in one step: IPv4 (not a fragment, length within the
 * frame) or IPv6 (no extension header, payload length set and within the
 * frame) carrying TCP.  The result is what dec_ipv4/dec_ipv6 and
 * dec_proto would give; DEC_NRESULTS when the datagram is anything else
 * (they then take it, with all their checks).  Inline: the fast path of
 * decode_frame. */
static inline enum dec_result dec_ip_tcp(const struct frame *at, struct segment *seg)
{
        /* a copy: after a byte store to seg the compiler would reload *at
         * (the store might alias it) and redo the readers' checks */
        const struct frame f = *at;
        const uint8_t *p = f.p;
        uint32_t hlen, tot;

        if (f.cap >= 20 && (rd8(&f, 0) >> 4) == 4) {
                hlen = (uint32_t)(rd8(&f, 0) & 0x0f) * 4;
                tot = rd16(&f, 2);
                if (hlen < 20 || f.cap < hlen || tot < hlen || tot > f.wire || rd8(&f, 9) != 6 ||
                    (rd16(&f, 6) & 0x3fff))
                        return DEC_NRESULTS;
                seg_ipv4(seg, &f, tot, 0);
                {
                        struct frame t = { p + hlen, f.cap - hlen, f.wire - hlen, f.depth, p };
                        return dec_tcp(t, tot - hlen, seg);
                }
        }
        if (f.cap >= 40 && f.wire >= 40 && (rd8(&f, 0) >> 4) == 6 && rd8(&f, 6) == 6) {
                tot = rd16(&f, 4);
                if (tot == 0 || tot > f.wire - 40)
                        return DEC_NRESULTS;
                seg_ipv6(seg, &f, tot);
                {
                        struct frame t = { p + 40, f.cap - 40, f.wire - 40, f.depth, p };
                        return dec_tcp(t, tot, seg);
                }
        }
        return DEC_NRESULTS;
}
#endif

/* Any IP datagram, after dec_ip_tcp has declined it. */
static enum dec_result dec_ip_any(struct frame f, struct segment *seg)
{
        if (f.cap < 1)
                return DEC_ERR_IP_TRUNC;
        switch (rd8(&f, 0) >> 4) {
        case 4:
                return dec_ipv4(f, seg);
        case 6:
                return dec_ipv6(f, seg);
        default:
                return DEC_ERR_IP_BAD;
        }
}

/* An IP datagram at f, taken by pointer and inlined: decode_frame's fast
 * path builds its frame on the stack, and copying it by value into an
 * argument stalled on store forwarding. */
static inline __attribute__((always_inline)) enum dec_result
dec_ip_at(const struct frame *f, struct segment *seg)
{
#ifndef RS_NO_SHORTCUTS
        enum dec_result r = dec_ip_tcp(f, seg);

        if (r != DEC_NRESULTS)
                return r;
#endif
        return dec_ip_any(*f, seg);
}

static enum dec_result dec_ip(struct frame f, struct segment *seg)
{
        return dec_ip_at(&f, seg);
}

/* ---- link layers ---- */

/* PPP protocol field (RFC 1661), possibly compressed to one byte. */
static enum dec_result dec_ppp_proto(struct frame f, struct segment *seg)
{
        uint16_t proto;

        if (f.cap < 1)
                return DEC_ERR_LINK_TRUNC;
        if (rd8(&f, 0) & 1) {
                proto = rd8(&f, 0);
                skip(&f, 1);
        } else {
                if (f.cap < 2)
                        return DEC_ERR_LINK_TRUNC;
                proto = rd16(&f, 0);
                skip(&f, 2);
        }
        if (proto == 0x0021 || proto == 0x0057)
                return dec_ip(f, seg);
        return DEC_NOT_TCP;
}

/* Follow an EtherType at f (VLAN tags, MPLS, PPPoE, PBB, ... on the way).
 * Tags are counted in hops; nested frames (PBB) count as encapsulations. */
static enum dec_result dec_ethertype(uint16_t type, struct frame f, struct segment *seg)
{
        for (int hops = 0;; hops++) {
                if (hops > RS_MAX_ENCAP_DEPTH * 4)
                        return DEC_ERR_ENCAP_DEPTH;
                switch (type) {
                case 0x0800:
                case 0x86dd:
                        return dec_ip(f, seg);
                case 0x8100: case 0x88a8: case 0x9100: case 0x9200:  /* 802.1Q / QinQ */
                        if (f.cap < 4)
                                return DEC_ERR_LINK_TRUNC;
                        type = rd16(&f, 2);
                        skip(&f, 4);
                        break;
                case 0x8926:                    /* VN-Tag */
                        if (f.cap < 6)
                                return DEC_ERR_LINK_TRUNC;
                        type = rd16(&f, 4);
                        skip(&f, 6);
                        break;
                case 0x8847: case 0x8848:       /* MPLS: labels to bottom of stack */
                        for (;;) {
                                if (f.cap < 4)
                                        return DEC_ERR_LINK_TRUNC;
                                int bos = rd8(&f, 2) & 1;
                                skip(&f, 4);
                                if (bos)
                                        break;
                                if (++hops > RS_MAX_ENCAP_DEPTH * 4)
                                        return DEC_ERR_ENCAP_DEPTH;
                        }
                        if (f.cap < 1)
                                return DEC_ERR_LINK_TRUNC;
                        if (rd8(&f, 0) >> 4 == 4 || rd8(&f, 0) >> 4 == 6)
                                return dec_ip(f, seg);
                        return DEC_NOT_TCP;     /* pseudowire: not guessed */
                case 0x8864:                    /* PPPoE session (RFC 2516) */
                        if (f.cap < 6)
                                return DEC_ERR_LINK_TRUNC;
                        skip(&f, 6);
                        return dec_ppp_proto(f, seg);
                case 0x88e7:                    /* 802.1ah PBB: I-TAG, then Ethernet */
                        if (f.cap < 4)
                                return DEC_ERR_LINK_TRUNC;
                        if (++f.depth > RS_MAX_ENCAP_DEPTH)
                                return DEC_ERR_ENCAP_DEPTH;
                        skip(&f, 4);
                        return dec_ether(f, seg);
                default:
                        return DEC_NOT_TCP;
                }
        }
}

/* 802.2 LLC with SNAP (RFC 1042), after an 802.3 length field or FDDI. */
static enum dec_result dec_llc(struct frame f, struct segment *seg)
{
        if (f.cap < 3)
                return DEC_ERR_LINK_TRUNC;
        if (rd8(&f, 0) == 0xaa && rd8(&f, 1) == 0xaa && rd8(&f, 2) == 0x03) {
                if (f.cap < 8)
                        return DEC_ERR_LINK_TRUNC;
                uint16_t type = rd16(&f, 6);
                skip(&f, 8);
                return dec_ethertype(type, f, seg);
        }
        if (rd8(&f, 0) == 0x06 && rd8(&f, 1) == 0x06) { /* LLC IP SAP */
                skip(&f, 3);
                return dec_ip(f, seg);
        }
        return DEC_NOT_TCP;
}

static enum dec_result dec_ether(struct frame f, struct segment *seg)
{
        uint16_t type;

        if (f.cap < 14)
                return DEC_ERR_LINK_TRUNC;
        type = rd16(&f, 12);
        if (type == 0x8903) {                   /* Cisco FabricPath: 16-byte outer header */
                if (f.cap < 16 + 14)
                        return DEC_ERR_LINK_TRUNC;
                if (++f.depth > RS_MAX_ENCAP_DEPTH)
                        return DEC_ERR_ENCAP_DEPTH;
                skip(&f, 16);
                type = rd16(&f, 12);
        }
        skip(&f, 14);
        if (type <= 1500)                       /* 802.3 length: LLC follows */
                return dec_llc(f, seg);
        return dec_ethertype(type, f, seg);
}

static enum dec_result dec_sll(struct frame f, struct segment *seg)
{
        uint16_t proto;

        if (f.cap < 16)
                return DEC_ERR_LINK_TRUNC;
        proto = rd16(&f, 14);
        skip(&f, 16);
        if (proto == 0x0004)                    /* ETH_P_802_2: LLC frame */
                return dec_llc(f, seg);
        return dec_ethertype(proto, f, seg);
}

static enum dec_result dec_sll2(struct frame f, struct segment *seg)
{
        uint16_t proto;

        if (f.cap < 20)
                return DEC_ERR_LINK_TRUNC;
        proto = rd16(&f, 0);
        skip(&f, 20);
        if (proto == 0x0004)
                return dec_llc(f, seg);
        return dec_ethertype(proto, f, seg);
}

/* BSD loopback: address family in the writer's byte order (DLT_NULL) or
 * network order (DLT_LOOP).  IPv6 is 24, 28 or 30 depending on the BSD,
 * 10 on Linux. */
static enum dec_result dec_af(uint32_t af, struct frame f, struct segment *seg)
{
        skip(&f, 4);
        switch (af) {
        case 2:
                return dec_ip(f, seg);
        case 10: case 24: case 28: case 30:
                return dec_ip(f, seg);
        default:
                return DEC_NOT_TCP;
        }
}

static enum dec_result dec_null(struct frame f, struct segment *seg)
{
        uint32_t af;

        if (f.cap < 4)
                return DEC_ERR_LINK_TRUNC;
        af = rd32le(&f, 0);
        if (af > 0xffff)                        /* written big-endian */
                af = rd32(&f, 0);
        return dec_af(af, f, seg);
}

static enum dec_result dec_loop(struct frame f, struct segment *seg)
{
        if (f.cap < 4)
                return DEC_ERR_LINK_TRUNC;
        return dec_af(rd32(&f, 0), f, seg);
}

static enum dec_result dec_raw(struct frame f, struct segment *seg)
{
        return dec_ip(f, seg);
}

static enum dec_result dec_fddi(struct frame f, struct segment *seg)
{
        if (f.cap < 13)
                return DEC_ERR_LINK_TRUNC;
        skip(&f, 13);                           /* frame control, destination, source */
        return dec_llc(f, seg);
}

static enum dec_result dec_ppp(struct frame f, struct segment *seg)
{
        if (f.cap >= 2 && rd8(&f, 0) == 0xff && rd8(&f, 1) == 0x03)
                skip(&f, 2);
        return dec_ppp_proto(f, seg);
}

static enum dec_result dec_chdlc(struct frame f, struct segment *seg)
{
        uint16_t type;

        if (f.cap < 4)
                return DEC_ERR_LINK_TRUNC;
        type = rd16(&f, 2);
        skip(&f, 4);
        return dec_ethertype(type, f, seg);
}

/* NFLOG (Linux nfnetlink_log): TLVs in host byte order; type 9 carries the
 * packet. */
static enum dec_result dec_nflog(struct frame f, struct segment *seg)
{
        if (f.cap < 4)
                return DEC_ERR_LINK_TRUNC;
        skip(&f, 4);
        while (f.cap >= 4) {
                uint32_t len = rd16le(&f, 0), type = rd16le(&f, 2), adv;
                if (len < 4)
                        return DEC_ERR_LINK_BAD;
                if (type == 9) {
                        struct frame g = f;
                        skip(&g, 4);
                        if (len - 4 < g.cap)
                                g.cap = len - 4;
                        g.wire = len - 4;
                        return dec_ip(g, seg);
                }
                adv = (len + 3) & ~3u;
                if (adv > f.cap)
                        break;
                skip(&f, adv);
        }
        return DEC_NOT_TCP;
}

struct link_decoder {
        int dlt;
        const char *name;
        enum dec_result (*fn)(struct frame, struct segment *);
};

static const struct link_decoder link_decoders[] = {
        { DLT_EN10MB, "EN10MB", dec_ether },
        { DLT_LINUX_SLL, "LINUX_SLL", dec_sll },
        { DLT_LINUX_SLL2, "LINUX_SLL2", dec_sll2 },
        { DLT_NULL, "NULL", dec_null },
        { DLT_LOOP, "LOOP", dec_loop },
        { DLT_RAW, "RAW", dec_raw },
        { 12, "RAW", dec_raw },                 /* DLT_RAW on most systems */
        { 14, "RAW", dec_raw },                 /* DLT_RAW on OpenBSD */
        { 228, "IPV4", dec_raw },
        { 229, "IPV6", dec_raw },
        { DLT_FDDI, "FDDI", dec_fddi },
        { DLT_PPP, "PPP", dec_ppp },
        { DLT_PPP_SERIAL, "PPP_SERIAL", dec_ppp },
        { DLT_C_HDLC, "C_HDLC", dec_chdlc },
        { 239, "NFLOG", dec_nflog },
};

static const struct link_decoder *link_lookup(int dlt)
{
        for (size_t i = 0; i < sizeof link_decoders / sizeof link_decoders[0]; i++)
                if (link_decoders[i].dlt == dlt)
                        return &link_decoders[i];
        return NULL;
}

int decode_link_supported(int dlt)
{
        return link_lookup(dlt) != NULL;
}

const char *decode_link_name(int dlt)
{
        const struct link_decoder *d = link_lookup(dlt);
        return d ? d->name : "unknown";
}

/* ---- hashing: the same from both directions ---- */

static uint64_t fmix64(uint64_t h)              /* MurmurHash3's finalizer */
{
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        return h ^ (h >> 33);
}

static uint64_t ep_hash(const struct endpoint *e)
{
        uint64_t w[2];

        memcpy(w, e->addr, 16);
        return w[0] * 0x9e3779b97f4a7c15ULL + w[1] * 0xc2b2ae3d27d4eb4fULL +
               (uint64_t)e->port * 0x165667b19e3779f9ULL;
}

/* Each endpoint's words multiplied and added, the two combined in order
 * of those values (no comparison of addresses), then mixed once. */
uint64_t decode_tuple_hash(const struct endpoint *a, const struct endpoint *b)
{
        uint64_t x = ep_hash(a), y = ep_hash(b), lo = x < y ? x : y, hi = x < y ? y : x;

        return fmix64(lo * 0xff51afd7ed558ccdULL + hi);
}

enum dec_result decode_frame(int dlt, const uint8_t *p, uint32_t caplen,
                             uint32_t wirelen, struct segment *seg)
{
        const struct link_decoder *d;
        struct frame f = { p, caplen, wirelen < caplen ? caplen : wirelen, 0, NULL };

#ifndef RS_NO_SHORTCUTS
        /* the usual frame, Ethernet II carrying IP, without the lookup and
         * the walk over tags (what dec_ether would do for it) */
        if (dlt == DLT_EN10MB && caplen >= 14 &&
            (rd16(&f, 12) == 0x0800 || rd16(&f, 12) == 0x86dd)) {
                struct frame g = { p + 14, caplen - 14, f.wire - 14, 0, NULL };
                return dec_ip_at(&g, seg);
        }
#endif
        if (!(d = link_lookup(dlt)))
                return DEC_ERR_LINK_BAD;
        return d->fn(f, seg);
}
