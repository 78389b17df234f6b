/* decode.h - turns one captured frame (link header to TCP options) into a
 * self-contained struct segment.  Owns no memory and keeps no pointer into
 * the frame; knows nothing about connections. */
#ifndef RS_DECODE_H
#define RS_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* TCP flag bits, as in the header's 13th byte */
#define TH_FIN  0x01
#define TH_SYN  0x02
#define TH_RST  0x04
#define TH_PUSH 0x08
#define TH_ACK  0x10
#define TH_URG  0x20
#define TH_ECE  0x40
#define TH_CWR  0x80

struct endpoint {
        uint8_t  addr[16];      /* IPv4 in the first 4 bytes, rest zero */
        uint16_t port;          /* host order */
};

/* Same address and port. */
static inline int endpoint_eq(const struct endpoint *a, const struct endpoint *b)
{
        return a->port == b->port && memcmp(a->addr, b->addr, 16) == 0;
}

/* Hash of a 5-tuple, the same from both directions (the connection
 * table's buckets, --shard); decode_frame fills segment.tuple_hash with
 * it. */
uint64_t decode_tuple_hash(const struct endpoint *a, const struct endpoint *b);

struct segment {
        int64_t  ts;            /* packet time, ns since the epoch */
        struct endpoint src;    /* sender */
        struct endpoint dst;    /* receiver */
        uint8_t  family;        /* 4 or 6 */
        uint8_t  flags;         /* TH_* bits */
        uint8_t  wscale;        /* window-scale option, 0xff when absent */
        uint8_t  sack_perm;     /* SACK-permitted option present */
        uint8_t  has_ts;        /* timestamps option present */
        uint8_t  fragment;      /* first fragment of a fragmented IPv4/IPv6 packet */
        uint16_t mss;           /* MSS option, 0 when absent */
        uint16_t win;           /* raw window field */
        uint32_t seq;           /* sequence number */
        uint32_t ack;           /* acknowledgment number (valid with TH_ACK) */
        uint32_t tsval, tsecr;  /* timestamps option values */
        uint32_t payload;       /* TCP payload bytes on the wire (from IP length) */
        uint32_t ip_len;        /* IP datagram length on the wire, bytes */
        uint32_t hash;          /* hash of the captured IP+TCP header bytes (duplicates) */
        uint32_t tuple_hash;    /* decode_tuple_hash of src and dst (a segment made
                                   otherwise must set it) */
};

/* What became of a frame.  Everything after DEC_FRAGMENT is an error kind
 * counted per input; names in decode_result_name(). */
enum dec_result {
        DEC_TCP = 0,            /* segment filled in */
        DEC_NOT_TCP,            /* valid frame, not TCP (ARP, UDP, ICMP ...) */
        DEC_FRAGMENT,           /* IP fragment with offset > 0: counted, skipped */
        DEC_ERR_LINK_TRUNC,     /* frame shorter than its link header */
        DEC_ERR_LINK_BAD,       /* link header content we cannot follow */
        DEC_ERR_IP_TRUNC,       /* captured bytes end inside the IP header(s) */
        DEC_ERR_IP_BAD,         /* bad version, IHL < 5, length < header, ext loop */
        DEC_ERR_TCP_TRUNC,      /* captured bytes end inside the 20-byte TCP header */
        DEC_ERR_TCP_BAD,        /* IP payload < 20 bytes, data offset < 5 or beyond it */
        DEC_ERR_ENCAP_DEPTH,    /* too many nested tunnels or labels */
        DEC_NRESULTS
};

const char *decode_result_name(enum dec_result r);

/* Link types we decode; decode_link_supported() says whether one is. */
int decode_link_supported(int dlt);
const char *decode_link_name(int dlt);

/* Decode one frame of link type dlt.  caplen bytes at p are readable;
 * wirelen is the frame's length on the wire.  Fills *seg (except ts) only
 * when DEC_TCP is returned. */
enum dec_result decode_frame(int dlt, const uint8_t *p, uint32_t caplen,
                             uint32_t wirelen, struct segment *seg);

#endif /* RS_DECODE_H */
