/* check_decode.c - unit tests of decode_frame(): one hand-written frame per
 * link type and encapsulation, IPv4/IPv6/TCP header corner cases, and
 * truncation at every captured length.  Every frame is written byte by
 * byte here; checksums are left zero (the decoder does not validate them).
 * Each decode runs on a malloc'd copy of exactly caplen bytes so that the
 * sanitizer build catches any read past the captured length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "decode.h"

/* link types by number (as in a pcap header), independent of <pcap/dlt.h> */
enum {
        LT_NULL = 0,
        LT_EN10MB = 1,
        LT_FDDI = 10,
        LT_PPP = 9,
        LT_RAW = 12,
        LT_PPP_SERIAL = 50,
        LT_C_HDLC = 104,
        LT_LOOP = 108,
        LT_LINUX_SLL = 113,
        LT_IPV4 = 228,
        LT_IPV6 = 229,
        LT_NFLOG = 239,
        LT_LINUX_SLL2 = 276,
};

/* ---- frame builder ---- */

struct frame {
        uint8_t b[2048];
        uint32_t n;
};

static struct frame fr;         /* the frame under construction */
static struct segment seg;      /* decoder output */

static void put8(struct frame *f, uint8_t v)
{
        ck_assert_uint_lt(f->n, sizeof f->b);
        f->b[f->n++] = v;
}

static void put16(struct frame *f, uint16_t v)
{
        put8(f, (uint8_t)(v >> 8));
        put8(f, (uint8_t)v);
}

static void put32(struct frame *f, uint32_t v)
{
        put16(f, (uint16_t)(v >> 16));
        put16(f, (uint16_t)v);
}

static void put32le(struct frame *f, uint32_t v)
{
        put8(f, (uint8_t)v);
        put8(f, (uint8_t)(v >> 8));
        put8(f, (uint8_t)(v >> 16));
        put8(f, (uint8_t)(v >> 24));
}

static void put_bytes(struct frame *f, const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                put8(f, p[i]);
}

static void put_fill(struct frame *f, uint8_t v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                put8(f, v);
}

/* ---- headers, every field written explicitly ---- */

static const uint8_t MAC_A[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t MAC_B[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t IP4_C[4] = { 192, 168, 1, 10 };
static const uint8_t IP4_S[4] = { 192, 168, 1, 20 };
static const uint8_t IP4_TUN_A[4] = { 10, 99, 0, 1 };
static const uint8_t IP4_TUN_B[4] = { 10, 99, 0, 2 };
static const uint8_t IP6_C[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
static const uint8_t IP6_S[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20 };

#define C_PORT  40000
#define S_PORT  443
#define SEQ     0x01020304u
#define ACK     0xa0b0c0d0u
#define WIN     502
#define IPID    0x1c46

static void put_eth(struct frame *f, uint16_t type)
{
        put_bytes(f, MAC_B, 6);         /* destination */
        put_bytes(f, MAC_A, 6);         /* source */
        put16(f, type);
}

static void put_vlan(struct frame *f, uint16_t tci, uint16_t type)
{
        put16(f, tci);
        put16(f, type);
}

/* Linux cooked v1: packet type, ARPHRD, address length, address[8], protocol */
static void put_sll(struct frame *f, uint16_t proto)
{
        put16(f, 0);                    /* PACKET_HOST */
        put16(f, 1);                    /* ARPHRD_ETHER */
        put16(f, 6);
        put_bytes(f, MAC_A, 6);
        put16(f, 0);                    /* address padding to 8 */
        put16(f, proto);
}

/* Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type,
 * address length, address[8] */
static void put_sll2(struct frame *f, uint16_t proto)
{
        put16(f, proto);
        put16(f, 0);
        put32(f, 3);
        put16(f, 1);
        put8(f, 0);
        put8(f, 6);
        put_bytes(f, MAC_A, 6);
        put16(f, 0);
}

static void put_ipv4(struct frame *f, uint8_t ihl, uint16_t tot, uint16_t id, uint16_t frag,
                     uint8_t proto, const uint8_t src[4], const uint8_t dst[4])
{
        put8(f, (uint8_t)(0x40 | ihl));
        put8(f, 0);                     /* DSCP/ECN */
        put16(f, tot);
        put16(f, id);
        put16(f, frag);                 /* flags + fragment offset */
        put8(f, 64);                    /* TTL */
        put8(f, proto);
        put16(f, 0);                    /* header checksum (not validated) */
        put_bytes(f, src, 4);
        put_bytes(f, dst, 4);
}

static void put_ipv6(struct frame *f, uint16_t plen, uint8_t next,
                     const uint8_t src[16], const uint8_t dst[16])
{
        put32(f, 0x60000000u);          /* version 6, class 0, flow 0 */
        put16(f, plen);
        put8(f, next);
        put8(f, 64);                    /* hop limit */
        put_bytes(f, src, 16);
        put_bytes(f, dst, 16);
}

static void put_tcp(struct frame *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                    uint8_t doff, uint8_t flags, uint16_t win)
{
        put16(f, sport);
        put16(f, dport);
        put32(f, seq);
        put32(f, ack);
        put8(f, (uint8_t)(doff << 4));
        put8(f, flags);
        put16(f, win);
        put16(f, 0);                    /* checksum (not validated) */
        put16(f, 0);                    /* urgent pointer */
}

/* The standard packets: IPv4 or IPv6, 20-byte TCP header, ACK+PSH, and
 * `payload` bytes of 'x'. */
static void put_std4(struct frame *f, uint16_t payload)
{
        put_ipv4(f, 5, (uint16_t)(40 + payload), IPID, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(f, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(f, 'x', payload);
}

static void put_std6(struct frame *f, uint16_t payload)
{
        put_ipv6(f, (uint16_t)(20 + payload), 6, IP6_C, IP6_S);
        put_tcp(f, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(f, 'x', payload);
}

/* ---- decoding on an exact-size copy ---- */

static enum dec_result decode(int dlt, const struct frame *f, uint32_t caplen, uint32_t wirelen,
                              struct segment *s)
{
        uint8_t *copy = malloc(caplen);
        enum dec_result r;

        ck_assert(copy != NULL || caplen == 0);
        if (caplen)
                memcpy(copy, f->b, caplen);
        memset(s, 0xa5, sizeof *s);     /* garbage: fields must be written */
        r = decode_frame(dlt, copy, caplen, wirelen, s);
        free(copy);
        return r;
}

static enum dec_result decode_whole(int dlt, const struct frame *f, struct segment *s)
{
        return decode(dlt, f, f->n, f->n, s);
}

/* ---- expected segment fields ---- */

static void check_addrs4(const struct segment *s, const uint8_t src[4], const uint8_t dst[4])
{
        uint8_t a[16] = { 0 }, b[16] = { 0 };

        memcpy(a, src, 4);
        memcpy(b, dst, 4);
        ck_assert_uint_eq(s->family, 4);
        ck_assert_mem_eq(s->src.addr, a, 16);
        ck_assert_mem_eq(s->dst.addr, b, 16);
}

static void check_addrs6(const struct segment *s)
{
        ck_assert_uint_eq(s->family, 6);
        ck_assert_mem_eq(s->src.addr, IP6_C, 16);
        ck_assert_mem_eq(s->dst.addr, IP6_S, 16);
}

/* TCP fields of the standard packet (no options) */
static void check_std_tcp(const struct segment *s, uint32_t payload)
{
        ck_assert_uint_eq(s->src.port, C_PORT);
        ck_assert_uint_eq(s->dst.port, S_PORT);
        ck_assert_uint_eq(s->seq, SEQ);
        ck_assert_uint_eq(s->ack, ACK);
        ck_assert_uint_eq(s->flags, TH_ACK | TH_PUSH);
        ck_assert_uint_eq(s->win, WIN);
        ck_assert_uint_eq(s->payload, payload);
        ck_assert_uint_eq(s->mss, 0);
        ck_assert_uint_eq(s->wscale, 0xff);
        ck_assert_uint_eq(s->sack_perm, 0);
        ck_assert_uint_eq(s->has_ts, 0);
}

static void check_std4(const struct segment *s, uint32_t payload)
{
        check_addrs4(s, IP4_C, IP4_S);
        check_std_tcp(s, payload);
        ck_assert_uint_eq(s->ip_len, 40 + payload);
        ck_assert_uint_eq(s->fragment, 0);
}

static void check_std6(const struct segment *s, uint32_t payload)
{
        check_addrs6(s);
        check_std_tcp(s, payload);
        ck_assert_uint_eq(s->ip_len, 60 + payload);
        ck_assert_uint_eq(s->fragment, 0);
}

static void setup(void)
{
        memset(&fr, 0, sizeof fr);
        memset(&seg, 0, sizeof seg);
}

static void teardown(void)
{
}

/* =================== link layers =================== */

START_TEST(ethernet_ipv4)
{
        put_eth(&fr, 0x0800);
        put_std4(&fr, 10);
        ck_assert_uint_eq(fr.n, 64);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(ethernet_ipv6)
{
        put_eth(&fr, 0x86dd);
        put_std6(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std6(&seg, 10);
}
END_TEST

START_TEST(ethernet_arp_is_not_tcp)
{
        put_eth(&fr, 0x0806);
        put16(&fr, 1);                  /* htype Ethernet */
        put16(&fr, 0x0800);
        put8(&fr, 6);
        put8(&fr, 4);
        put16(&fr, 1);                  /* request */
        put_fill(&fr, 0, 20);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_NOT_TCP);
}
END_TEST

START_TEST(vlan_8021q)
{
        put_eth(&fr, 0x8100);
        put_vlan(&fr, 0x0064, 0x0800);  /* VID 100 */
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(qinq_88a8_then_8100)
{
        put_eth(&fr, 0x88a8);
        put_vlan(&fr, 0x00c8, 0x8100);  /* S-tag VID 200 */
        put_vlan(&fr, 0x0064, 0x86dd);  /* C-tag VID 100 */
        put_std6(&fr, 7);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std6(&seg, 7);
}
END_TEST

START_TEST(linux_sll)
{
        put_sll(&fr, 0x0800);
        put_std4(&fr, 10);
        ck_assert_uint_eq(fr.n, 16 + 50);
        ck_assert_int_eq(decode_whole(LT_LINUX_SLL, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(linux_sll2)
{
        put_sll2(&fr, 0x86dd);
        put_std6(&fr, 10);
        ck_assert_uint_eq(fr.n, 20 + 70);
        ck_assert_int_eq(decode_whole(LT_LINUX_SLL2, &fr, &seg), DEC_TCP);
        check_std6(&seg, 10);
}
END_TEST

START_TEST(null_little_endian_af_inet)
{
        put32le(&fr, 2);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_NULL, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(null_big_endian_af_inet)
{
        put32(&fr, 2);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_NULL, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

/* AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS); loop index
 * _i selects value and byte order */
START_TEST(null_af_inet6_bsd_values)
{
        static const uint32_t af[3] = { 24, 28, 30 };

        if (_i & 1)
                put32(&fr, af[_i / 2]);
        else
                put32le(&fr, af[_i / 2]);
        put_std6(&fr, 5);
        ck_assert_int_eq(decode_whole(LT_NULL, &fr, &seg), DEC_TCP);
        check_std6(&seg, 5);
}
END_TEST

START_TEST(null_unknown_af_is_not_tcp)
{
        put32le(&fr, 7);
        put_std4(&fr, 0);
        ck_assert_int_eq(decode_whole(LT_NULL, &fr, &seg), DEC_NOT_TCP);
}
END_TEST

START_TEST(loop_network_order)
{
        put32(&fr, 2);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_LOOP, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);

        memset(&fr, 0, sizeof fr);
        put32(&fr, 24);
        put_std6(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_LOOP, &fr, &seg), DEC_TCP);
        check_std6(&seg, 10);
}
END_TEST

START_TEST(raw_12_ipv4_and_ipv6)
{
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_RAW, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);

        memset(&fr, 0, sizeof fr);
        put_std6(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_RAW, &fr, &seg), DEC_TCP);
        check_std6(&seg, 10);
}
END_TEST

START_TEST(linktype_ipv4_228)
{
        put_std4(&fr, 3);
        ck_assert_int_eq(decode_whole(LT_IPV4, &fr, &seg), DEC_TCP);
        check_std4(&seg, 3);
}
END_TEST

START_TEST(linktype_ipv6_229)
{
        put_std6(&fr, 3);
        ck_assert_int_eq(decode_whole(LT_IPV6, &fr, &seg), DEC_TCP);
        check_std6(&seg, 3);
}
END_TEST

static uint32_t mpls_entry(uint32_t label, int bos)
{
        return label << 12 | (uint32_t)(bos ? 0x100 : 0) | 64;
}

START_TEST(mpls_two_labels)
{
        put_eth(&fr, 0x8847);
        put32(&fr, mpls_entry(100, 0));
        put32(&fr, mpls_entry(200, 1));
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(pppoe_session)
{
        put_eth(&fr, 0x8864);
        put8(&fr, 0x11);                /* version 1, type 1 */
        put8(&fr, 0x00);                /* code: session data */
        put16(&fr, 0x1234);             /* session id */
        put16(&fr, 2 + 50);             /* PPP protocol + IP packet */
        put16(&fr, 0x0021);             /* PPP: IPv4 */
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(vxlan_udp_4789)
{
        const uint16_t inner = 14 + 50;

        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, (uint16_t)(20 + 8 + 8 + inner), 0x7777, 0, 17, IP4_TUN_A, IP4_TUN_B);
        put16(&fr, 54321);              /* UDP source port */
        put16(&fr, 4789);               /* VXLAN */
        put16(&fr, (uint16_t)(8 + 8 + inner));
        put16(&fr, 0);
        put8(&fr, 0x08);                /* I flag: VNI valid */
        put_fill(&fr, 0, 3);
        put8(&fr, 0x00);                /* VNI 42 */
        put8(&fr, 0x00);
        put8(&fr, 0x2a);
        put8(&fr, 0);
        put_eth(&fr, 0x0800);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);           /* the inner packet, not the tunnel */
}
END_TEST

START_TEST(gre_ipv4)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 4 + 50, 0x7777, 0, 47, IP4_TUN_A, IP4_TUN_B);
        put16(&fr, 0x0000);             /* no C/K/S, version 0 */
        put16(&fr, 0x0800);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(gre_with_key_ipv6)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 8 + 70, 0x7777, 0, 47, IP4_TUN_A, IP4_TUN_B);
        put16(&fr, 0x2000);             /* K */
        put16(&fr, 0x86dd);
        put32(&fr, 0xcafef00d);         /* key */
        put_std6(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std6(&seg, 10);
}
END_TEST

START_TEST(ip_in_ip)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 50, 0x7777, 0, 4, IP4_TUN_A, IP4_TUN_B);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(ipv6_in_ipv4_proto_41)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 70, 0x7777, 0, 41, IP4_TUN_A, IP4_TUN_B);
        put_std6(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std6(&seg, 10);
}
END_TEST

/* The outer header says its payload is 30 bytes: an inner IPv4 packet
 * claiming 50 bytes does not fit, and the TCP payload cannot be larger
 * than what the outer datagram carries. */
START_TEST(ip_in_ip_inner_longer_than_outer_is_not_trusted)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 10, 0x7777, 0, 4, IP4_TUN_A, IP4_TUN_B);
        put_std4(&fr, 10);              /* 50 bytes captured after the outer header */
        enum dec_result r = decode_whole(LT_EN10MB, &fr, &seg);
        ck_assert_msg(r == DEC_ERR_IP_BAD || r == DEC_ERR_IP_TRUNC ||
                      (r == DEC_TCP && seg.payload <= 10),
                      "inner packet beyond the outer datagram: result %s, payload %u",
                      decode_result_name(r), r == DEC_TCP ? seg.payload : 0);
}
END_TEST

/* Same with IPv6 inside: the outer datagram carries 30 bytes, the inner
 * header claims a 30-byte payload after its own 40 bytes. */
START_TEST(ipv6_in_ipv4_inner_longer_than_outer_is_not_trusted)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 30, 0x7777, 0, 41, IP4_TUN_A, IP4_TUN_B);
        put_std6(&fr, 10);              /* 70 bytes captured after the outer header */
        enum dec_result r = decode_whole(LT_EN10MB, &fr, &seg);
        ck_assert_msg(r == DEC_ERR_IP_BAD || r == DEC_ERR_IP_TRUNC ||
                      (r == DEC_TCP && seg.ip_len <= 30 && seg.payload <= 10),
                      "inner packet beyond the outer datagram: result %s, ip_len %u payload %u",
                      decode_result_name(r), r == DEC_TCP ? seg.ip_len : 0,
                      r == DEC_TCP ? seg.payload : 0);
}
END_TEST

START_TEST(fddi_snap)
{
        static const uint8_t snap[8] = { 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00 };

        put8(&fr, 0x50);                /* frame control: async LLC */
        put_bytes(&fr, MAC_B, 6);
        put_bytes(&fr, MAC_A, 6);
        put_bytes(&fr, snap, 8);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_FDDI, &fr, &seg), DEC_TCP);
        check_std4(&seg, 10);
}
END_TEST

START_TEST(unknown_link_type_is_link_bad)
{
        put_eth(&fr, 0x0800);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(9999, &fr, &seg), DEC_ERR_LINK_BAD);
        ck_assert_int_eq(decode_whole(147, &fr, &seg), DEC_ERR_LINK_BAD);  /* USER0 */
        ck_assert_int_eq(decode_whole(-1, &fr, &seg), DEC_ERR_LINK_BAD);
}
END_TEST

START_TEST(link_supported_values)
{
        static const int yes[] = { LT_NULL, LT_EN10MB, LT_FDDI, LT_RAW, LT_LOOP,
                                   LT_LINUX_SLL, LT_IPV4, LT_IPV6, LT_LINUX_SLL2 };
        static const int no[] = { 9999, 147, 105 /* 802.11 */, 127 /* radiotap */, -1, 2 };

        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
                ck_assert_msg(decode_link_supported(yes[i]), "link type %d", yes[i]);
        for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
                ck_assert_msg(!decode_link_supported(no[i]), "link type %d", no[i]);
        ck_assert_str_eq(decode_link_name(LT_LINUX_SLL2), "LINUX_SLL2");
        ck_assert_str_eq(decode_link_name(9999), "unknown");
}
END_TEST

START_TEST(result_names)
{
        ck_assert_str_eq(decode_result_name(DEC_TCP), "tcp");
        ck_assert_str_eq(decode_result_name(DEC_FRAGMENT), "ip_fragment");
        ck_assert_str_eq(decode_result_name(DEC_ERR_TCP_BAD), "tcp_invalid");
        ck_assert_str_eq(decode_result_name(DEC_NRESULTS), "unknown");
}
END_TEST

/* =================== IPv4 =================== */

START_TEST(ipv4_options_ihl6)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 6, 24 + 20 + 10, IPID, 0x4000, 6, IP4_C, IP4_S);
        put8(&fr, 0x94);                /* Router Alert (RFC 2113) */
        put8(&fr, 4);
        put16(&fr, 0);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(&fr, 'x', 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_addrs4(&seg, IP4_C, IP4_S);
        check_std_tcp(&seg, 10);
        ck_assert_uint_eq(seg.ip_len, 54);
}
END_TEST

START_TEST(ipv4_options_ihl15)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 15, 60 + 20 + 10, IPID, 0x4000, 6, IP4_C, IP4_S);
        put8(&fr, 7);                   /* Record Route, 39 bytes */
        put8(&fr, 39);
        put8(&fr, 4);                   /* pointer */
        put_fill(&fr, 0, 36);           /* 9 empty slots */
        put8(&fr, 0);                   /* end of options list */
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(&fr, 'x', 10);
        ck_assert_uint_eq(fr.n, 14 + 60 + 30);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_addrs4(&seg, IP4_C, IP4_S);
        check_std_tcp(&seg, 10);
        ck_assert_uint_eq(seg.ip_len, 90);
}
END_TEST

/* A 40-byte pure ACK in a 60-byte minimum Ethernet frame: the 6 pad bytes
 * are not TCP payload (IP total length rules, RFC 791). */
START_TEST(ethernet_padding_is_not_payload)
{
        put_eth(&fr, 0x0800);
        put_std4(&fr, 0);
        put_fill(&fr, 0, 6);
        ck_assert_uint_eq(fr.n, 60);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 0);

        memset(&fr, 0, sizeof fr);
        put_eth(&fr, 0x0800);
        put_std4(&fr, 2);
        put_fill(&fr, 0x55, 4);
        put32(&fr, 0xdeadbeef);         /* and a captured FCS */
        ck_assert_uint_eq(fr.n, 64);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 2);
}
END_TEST

/* TSO/GRO: total length 0 on a locally sent super-packet; the length
 * comes from the frame on the wire (even when the snap length cut it). */
START_TEST(ipv4_total_length_zero_uses_frame)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 0, IPID, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(&fr, 'x', 100);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_std4(&seg, 100);

        ck_assert_int_eq(decode(LT_EN10MB, &fr, 14 + 40 + 16, 14 + 40 + 30000, &seg), DEC_TCP);
        check_std4(&seg, 30000);
}
END_TEST

START_TEST(ipv4_non_first_fragment)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 40, IPID, 0x2000 | 185, 6, IP4_C, IP4_S);  /* MF, offset 1480 */
        put_fill(&fr, 'y', 40);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_FRAGMENT);

        memset(&fr, 0, sizeof fr);      /* the last fragment: MF clear */
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 40, IPID, 185, 6, IP4_C, IP4_S);
        put_fill(&fr, 'y', 40);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_FRAGMENT);
}
END_TEST

START_TEST(ipv4_first_fragment_decodes)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 40 + 10, IPID, 0x2000, 6, IP4_C, IP4_S);       /* MF, offset 0 */
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(&fr, 'x', 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_addrs4(&seg, IP4_C, IP4_S);
        check_std_tcp(&seg, 10);
        ck_assert_uint_eq(seg.fragment, 1);
}
END_TEST

START_TEST(ipv4_ihl_below_5_is_bad)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 4, 40, IPID, 0, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK, WIN);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_ERR_IP_BAD);

        fr.b[14] = 0x40;                /* IHL 0 */
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_ERR_IP_BAD);
}
END_TEST

START_TEST(ip_version_5_is_bad)
{
        put_eth(&fr, 0x0800);
        put_std4(&fr, 0);
        fr.b[14] = 0x55;
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_ERR_IP_BAD);
}
END_TEST

START_TEST(ipv4_udp_is_not_tcp)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 8 + 4, IPID, 0, 17, IP4_C, IP4_S);
        put16(&fr, 5353);
        put16(&fr, 5353);
        put16(&fr, 12);
        put16(&fr, 0);
        put32(&fr, 0);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_NOT_TCP);
}
END_TEST

/* =================== IPv6 =================== */

START_TEST(ipv6_hbh_dstopts_fragment0)
{
        put_eth(&fr, 0x86dd);
        put_ipv6(&fr, 24 + 20 + 10, 0, IP6_C, IP6_S);
        put8(&fr, 60);                  /* hop-by-hop: next = destination options */
        put8(&fr, 0);                   /* 8 bytes */
        put8(&fr, 1);                   /* PadN, 4 */
        put8(&fr, 4);
        put32(&fr, 0);
        put8(&fr, 44);                  /* destination options: next = fragment */
        put8(&fr, 0);
        put8(&fr, 1);
        put8(&fr, 4);
        put32(&fr, 0);
        put8(&fr, 6);                   /* fragment: next = TCP */
        put8(&fr, 0);
        put16(&fr, 0x0001);             /* offset 0, M */
        put32(&fr, 0xdeadbeef);         /* identification */
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(&fr, 'x', 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        check_addrs6(&seg);
        check_std_tcp(&seg, 10);
        ck_assert_uint_eq(seg.ip_len, 40 + 24 + 30);
        ck_assert_uint_eq(seg.fragment, 1);
}
END_TEST

START_TEST(ipv6_non_first_fragment)
{
        put_eth(&fr, 0x86dd);
        put_ipv6(&fr, 8 + 40, 44, IP6_C, IP6_S);
        put8(&fr, 6);
        put8(&fr, 0);
        put16(&fr, (uint16_t)(185 << 3 | 1));   /* offset 1480, M */
        put32(&fr, 0xdeadbeef);
        put_fill(&fr, 'y', 40);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_FRAGMENT);
}
END_TEST

/* =================== TCP =================== */

static void put_linux_syn_options(struct frame *f)
{
        put8(f, 2);                     /* MSS 1460 */
        put8(f, 4);
        put16(f, 1460);
        put8(f, 4);                     /* SACK permitted */
        put8(f, 2);
        put8(f, 8);                     /* timestamps */
        put8(f, 10);
        put32(f, 123456);
        put32(f, 0);
        put8(f, 1);                     /* NOP */
        put8(f, 3);                     /* window scale 7 */
        put8(f, 3);
        put8(f, 7);
}

START_TEST(tcp_syn_options_parsed)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 40, 0, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, 0, 10, TH_SYN, 64240);
        put_linux_syn_options(&fr);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.flags, TH_SYN);
        ck_assert_uint_eq(seg.seq, SEQ);
        ck_assert_uint_eq(seg.win, 64240);
        ck_assert_uint_eq(seg.payload, 0);
        ck_assert_uint_eq(seg.mss, 1460);
        ck_assert_uint_eq(seg.sack_perm, 1);
        ck_assert_uint_eq(seg.has_ts, 1);
        ck_assert_uint_eq(seg.tsval, 123456);
        ck_assert_uint_eq(seg.tsecr, 0);
        ck_assert_uint_eq(seg.wscale, 7);
}
END_TEST

START_TEST(tcp_nop_nop_timestamps)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 32 + 5, IPID, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 8, TH_ACK | TH_PUSH, WIN);
        put8(&fr, 1);
        put8(&fr, 1);
        put8(&fr, 8);
        put8(&fr, 10);
        put32(&fr, 0x11223344);
        put32(&fr, 0x55667788);
        put_fill(&fr, 'x', 5);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.payload, 5);
        ck_assert_uint_eq(seg.has_ts, 1);
        ck_assert_uint_eq(seg.tsval, 0x11223344);
        ck_assert_uint_eq(seg.tsecr, 0x55667788);
        ck_assert_uint_eq(seg.mss, 0);
        ck_assert_uint_eq(seg.wscale, 0xff);
        ck_assert_uint_eq(seg.sack_perm, 0);
}
END_TEST

/* kind 30 with length 0 (and, second pass, length 1) is malformed: the
 * walk stops there (options after it are not parsed) without looping */
START_TEST(tcp_option_bad_length_stops_walk)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 32, IPID, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, 0, 8, TH_SYN, 64240);
        put8(&fr, 2);                   /* MSS 1460 */
        put8(&fr, 4);
        put16(&fr, 1460);
        put8(&fr, 30);                  /* bad option, length byte at offset 55+... */
        put8(&fr, (uint8_t)_i);         /* 0 or 1 */
        put8(&fr, 4);                   /* SACK permitted: after the bad one */
        put8(&fr, 2);
        put8(&fr, 3);                   /* WS 7 */
        put8(&fr, 3);
        put8(&fr, 7);
        put8(&fr, 0);                   /* EOL */
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.mss, 1460);
        ck_assert_uint_eq(seg.sack_perm, 0);
        ck_assert_uint_eq(seg.wscale, 0xff);
        ck_assert_uint_eq(seg.seq, SEQ);
}
END_TEST

/* A timestamps option whose length runs past the TCP header: the bytes
 * after the header are payload, not option data. */
START_TEST(tcp_option_past_header_stops_walk)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 28 + 10, IPID, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 7, TH_ACK | TH_PUSH, WIN);
        put8(&fr, 2);                   /* MSS 1460 */
        put8(&fr, 4);
        put16(&fr, 1460);
        put8(&fr, 1);                   /* NOP */
        put8(&fr, 8);                   /* TS, 10 bytes claimed, 3 left */
        put8(&fr, 10);
        put8(&fr, 0);
        put_fill(&fr, 0x01, 10);        /* payload that would "complete" it */
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.mss, 1460);
        ck_assert_uint_eq(seg.has_ts, 0);
        ck_assert_uint_eq(seg.payload, 10);
}
END_TEST

START_TEST(tcp_data_offset_below_5_is_bad)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 40 + 8, IPID, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 4, TH_ACK, WIN);
        put_fill(&fr, 'x', 8);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_ERR_TCP_BAD);
        fr.b[14 + 20 + 12] = 0x00;      /* data offset 0 */
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_ERR_TCP_BAD);
}
END_TEST

/* Data offset 6 (24 bytes) in a datagram with 20 bytes of TCP: bad, even
 * though the frame's padding would supply the 4 bytes. */
START_TEST(tcp_data_offset_beyond_ip_payload_is_bad)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 40, IPID, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 6, TH_ACK, WIN);
        put_fill(&fr, 0, 6);            /* Ethernet padding */
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_ERR_TCP_BAD);
}
END_TEST

/* An IP datagram with no room for a TCP header (IPv4 total length 20,
 * IPv6 payload length 0 read as "length from the frame") is tcp_invalid,
 * whether or not Ethernet padding follows it: the verdict must not depend
 * on what the link layer appended. */
START_TEST(ip_payload_empty_is_tcp_invalid)
{
        for (int pad = 0; pad < 2; pad++) {
                fr.n = 0;
                put_eth(&fr, 0x0800);
                put_ipv4(&fr, 5, 20, IPID, 0x4000, 6, IP4_C, IP4_S);
                if (pad)
                        put_fill(&fr, 0, 60 - 34);
                ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_ERR_TCP_BAD);
                fr.n = 0;
                put_eth(&fr, 0x86dd);
                put_ipv6(&fr, 0, 6, IP6_C, IP6_S);
                if (pad)
                        put_fill(&fr, 0, 60 - 54);
                ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_ERR_TCP_BAD);
        }
        fr.n = 0;
        put_ipv4(&fr, 5, 20, IPID, 0x4000, 6, IP4_C, IP4_S);
        ck_assert_int_eq(decode_whole(LT_RAW, &fr, &seg), DEC_ERR_TCP_BAD);
}
END_TEST

START_TEST(tcp_options_cut_by_snaplen)
{
        uint32_t full;

        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 40, 0, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, 0, 10, TH_SYN, 64240);
        put_linux_syn_options(&fr);
        full = fr.n;

        /* MSS and SACK-permitted captured, timestamps cut */
        ck_assert_int_eq(decode(LT_EN10MB, &fr, 14 + 20 + 20 + 6 + 3, full, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.src.port, C_PORT);
        ck_assert_uint_eq(seg.dst.port, S_PORT);
        ck_assert_uint_eq(seg.seq, SEQ);
        ck_assert_uint_eq(seg.flags, TH_SYN);
        ck_assert_uint_eq(seg.payload, 0);
        ck_assert_uint_eq(seg.ip_len, 60);
        ck_assert_uint_eq(seg.mss, 1460);
        ck_assert_uint_eq(seg.sack_perm, 1);
        ck_assert_uint_eq(seg.has_ts, 0);
        ck_assert_uint_eq(seg.wscale, 0xff);

        /* only the fixed header */
        ck_assert_int_eq(decode(LT_EN10MB, &fr, 14 + 20 + 20, full, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.seq, SEQ);
        ck_assert_uint_eq(seg.mss, 0);
        ck_assert_uint_eq(seg.sack_perm, 0);
}
END_TEST

/* =================== truncation =================== */

static void trunc_loop(const struct frame *f, uint32_t ip_off, uint32_t tcp_off,
                       uint32_t ts_end, uint32_t payload, int family)
{
        uint32_t full = f->n;

        for (uint32_t cap = 0; cap < full; cap++) {
                enum dec_result want = cap < ip_off ? DEC_ERR_LINK_TRUNC :
                                       cap < tcp_off ? DEC_ERR_IP_TRUNC :
                                       cap < tcp_off + 20 ? DEC_ERR_TCP_TRUNC : DEC_TCP;
                enum dec_result r = decode(LT_EN10MB, f, cap, full, &seg);

                ck_assert_msg(r == want, "caplen %u: got %s, want %s", cap,
                              decode_result_name(r), decode_result_name(want));
                if (r != DEC_TCP)
                        continue;
                ck_assert_uint_eq(seg.family, family);
                ck_assert_uint_eq(seg.src.port, C_PORT);
                ck_assert_uint_eq(seg.dst.port, S_PORT);
                ck_assert_uint_eq(seg.seq, SEQ);
                ck_assert_uint_eq(seg.ack, ACK);
                ck_assert_uint_eq(seg.payload, payload);        /* from IP, not caplen */
                ck_assert_uint_eq(seg.ip_len, full - ip_off);
                ck_assert_msg(seg.has_ts == (cap >= ts_end), "caplen %u: has_ts %u", cap,
                              seg.has_ts);
        }
        ck_assert_int_eq(decode(LT_EN10MB, f, full, full, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.has_ts, 1);
        ck_assert_uint_eq(seg.tsval, 0x01010101);
}

static void put_ts_options(struct frame *f)
{
        put8(f, 1);
        put8(f, 1);
        put8(f, 8);
        put8(f, 10);
        put32(f, 0x01010101);
        put32(f, 0x02020202);
}

START_TEST(truncation_at_every_offset_ipv4)
{
        put_eth(&fr, 0x0800);
        put_ipv4(&fr, 5, 20 + 32 + 10, IPID, 0x4000, 6, IP4_C, IP4_S);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 8, TH_ACK | TH_PUSH, WIN);
        put_ts_options(&fr);
        put_fill(&fr, 'x', 10);
        ck_assert_uint_eq(fr.n, 76);
        trunc_loop(&fr, 14, 34, 34 + 32, 10, 4);
}
END_TEST

START_TEST(truncation_at_every_offset_ipv6)
{
        put_eth(&fr, 0x86dd);
        put_ipv6(&fr, 8 + 32 + 10, 0, IP6_C, IP6_S);
        put8(&fr, 6);                   /* hop-by-hop, next TCP */
        put8(&fr, 0);
        put8(&fr, 1);
        put8(&fr, 4);
        put32(&fr, 0);
        put_tcp(&fr, C_PORT, S_PORT, SEQ, ACK, 8, TH_ACK | TH_PUSH, WIN);
        put_ts_options(&fr);
        put_fill(&fr, 'x', 10);
        ck_assert_uint_eq(fr.n, 104);
        trunc_loop(&fr, 14, 14 + 48, 14 + 48 + 32, 10, 6);
}
END_TEST

/* Every encapsulation above, cut at every length: no read past caplen
 * (ASan), and never a segment before the whole fixed TCP header. */
typedef void (*frame_fn)(struct frame *f);

static void fx_vlan(struct frame *f) { put_eth(f, 0x8100); put_vlan(f, 100, 0x0800); put_std4(f, 10); }
static void fx_qinq(struct frame *f)
{
        put_eth(f, 0x88a8);
        put_vlan(f, 200, 0x8100);
        put_vlan(f, 100, 0x86dd);
        put_std6(f, 10);
}
static void fx_sll(struct frame *f) { put_sll(f, 0x0800); put_std4(f, 10); }
static void fx_sll2(struct frame *f) { put_sll2(f, 0x86dd); put_std6(f, 10); }
static void fx_null(struct frame *f) { put32le(f, 30); put_std6(f, 10); }
static void fx_mpls(struct frame *f)
{
        put_eth(f, 0x8847);
        put32(f, mpls_entry(100, 0));
        put32(f, mpls_entry(200, 1));
        put_std4(f, 10);
}
static void fx_pppoe(struct frame *f)
{
        put_eth(f, 0x8864);
        put8(f, 0x11);
        put8(f, 0);
        put16(f, 1);
        put16(f, 52);
        put16(f, 0x0021);
        put_std4(f, 10);
}
static void fx_vxlan(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 5, 20 + 16 + 64, 1, 0, 17, IP4_TUN_A, IP4_TUN_B);
        put16(f, 54321);
        put16(f, 4789);
        put16(f, 16 + 64);
        put16(f, 0);
        put32(f, 0x08000000);
        put32(f, 0x00002a00);
        put_eth(f, 0x0800);
        put_std4(f, 10);
}
static void fx_gre(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 5, 20 + 8 + 50, 1, 0, 47, IP4_TUN_A, IP4_TUN_B);
        put16(f, 0x2000);
        put16(f, 0x0800);
        put32(f, 7);
        put_std4(f, 10);
}
static void fx_ipip(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 5, 20 + 50, 1, 0, 4, IP4_TUN_A, IP4_TUN_B);
        put_std4(f, 10);
}
static void fx_fddi(struct frame *f)
{
        static const uint8_t snap[8] = { 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00 };
        put8(f, 0x50);
        put_bytes(f, MAC_B, 6);
        put_bytes(f, MAC_A, 6);
        put_bytes(f, snap, 8);
        put_std4(f, 10);
}
static void fx_null_big_endian(struct frame *f) { put32(f, 2); put_std4(f, 10); }
static void fx_loop(struct frame *f) { put32(f, 2); put_std4(f, 10); }
static void fx_ppp(struct frame *f)
{
        put8(f, 0xff);                  /* address, control */
        put8(f, 0x03);
        put16(f, 0x0021);
        put_std4(f, 10);
}
static void fx_ppp_compressed(struct frame *f) { put8(f, 0x21); put_std4(f, 10); }
static void fx_chdlc(struct frame *f)
{
        put8(f, 0x0f);                  /* unicast */
        put8(f, 0);
        put16(f, 0x86dd);
        put_std6(f, 10);
}
static void fx_nflog(struct frame *f)
{
        put8(f, 2);                     /* AF_INET, version 0, resource id 0 */
        put8(f, 0);
        put16(f, 0);
        put8(f, 8);                     /* TLV length 8 (little-endian), type 10: prefix */
        put8(f, 0);
        put8(f, 10);
        put8(f, 0);
        put_fill(f, 'p', 4);
        put8(f, 4 + 50);                /* type 9: the packet */
        put8(f, 0);
        put8(f, 9);
        put8(f, 0);
        put_std4(f, 10);
}
static void fx_vntag(struct frame *f)
{
        put_eth(f, 0x8926);
        put32(f, 0x80010002);
        put16(f, 0x0800);
        put_std4(f, 10);
}
static void fx_pbb(struct frame *f)
{
        put_eth(f, 0x88e7);
        put32(f, 0x00012345);           /* I-TAG */
        put_eth(f, 0x0800);
        put_std4(f, 10);
}
static void fx_fabricpath(struct frame *f)
{
        put_eth(f, 0x8903);
        put16(f, 0x0001);               /* FTag, TTL */
        put_eth(f, 0x0800);
        put_std4(f, 10);
}
static void fx_llc_snap(struct frame *f)
{
        static const uint8_t snap[8] = { 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00 };
        put_eth(f, 8 + 50);             /* 802.3 length */
        put_bytes(f, snap, 8);
        put_std4(f, 10);
}
static void fx_llc_ip_sap(struct frame *f)
{
        put_eth(f, 3 + 50);
        put8(f, 0x06);
        put8(f, 0x06);
        put8(f, 0x03);
        put_std4(f, 10);
}
static void fx_gtpu(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 5, 20 + 8 + 16 + 50, 1, 0, 17, IP4_TUN_A, IP4_TUN_B);
        put16(f, 2152);
        put16(f, 2152);
        put16(f, 8 + 16 + 50);
        put16(f, 0);
        put8(f, 0x34);                  /* version 1, GTP, E: an extension header */
        put8(f, 0xff);                  /* T-PDU */
        put16(f, 8 + 50);
        put32(f, 0x1234);               /* TEID */
        put16(f, 0);                    /* sequence number, N-PDU number */
        put8(f, 0);
        put8(f, 0x85);                  /* next extension header type */
        put8(f, 1);                     /* its length: 4 bytes, next type 0 */
        put8(f, 0);
        put8(f, 0);
        put8(f, 0);
        put_std4(f, 10);
}
static void fx_teredo(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 5, 20 + 8 + 8 + 70, 1, 0, 17, IP4_TUN_A, IP4_TUN_B);
        put16(f, 3544);
        put16(f, 40001);
        put16(f, 8 + 8 + 70);
        put16(f, 0);
        put16(f, 0x0000);               /* origin indication */
        put16(f, 0x1234);
        put32(f, 0x01020304);
        put_std6(f, 10);
}
static void fx_pptp(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 5, 20 + 12 + 4 + 50, 1, 0, 47, IP4_TUN_A, IP4_TUN_B);
        put16(f, 0x3001);               /* enhanced GRE: key, sequence number */
        put16(f, 0x880b);
        put16(f, 4 + 50);               /* payload length, call id, sequence number */
        put16(f, 7);
        put32(f, 1);
        put8(f, 0xff);                  /* PPP address, control, protocol */
        put8(f, 0x03);
        put16(f, 0x0021);
        put_std4(f, 10);
}
static void fx_erspan(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 5, 20 + 8 + 8 + 64, 1, 0, 47, IP4_TUN_A, IP4_TUN_B);
        put16(f, 0x1000);               /* GRE with a sequence number */
        put16(f, 0x88be);
        put32(f, 1);
        put32(f, 0x10000001);           /* ERSPAN type II */
        put32(f, 0);
        put_eth(f, 0x0800);
        put_std4(f, 10);
}
static void fx_6in4(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 5, 20 + 70, 1, 0, 41, IP4_TUN_A, IP4_TUN_B);
        put_std6(f, 10);
}
static void fx_ipv4_options(struct frame *f)
{
        put_eth(f, 0x0800);
        put_ipv4(f, 6, 24 + 30, IPID, 0x4000, 6, IP4_C, IP4_S);
        put32(f, 0x01010100);           /* NOP, NOP, NOP, end of options */
        put_tcp(f, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(f, 'x', 10);
}
static void fx_ipv6_fragment0(struct frame *f)
{
        put_eth(f, 0x86dd);
        put_ipv6(f, 8 + 30, 44, IP6_C, IP6_S);
        put8(f, 6);                     /* fragment header: offset 0, more fragments */
        put8(f, 0);
        put16(f, 0x0001);
        put32(f, 0x12345678);
        put_tcp(f, C_PORT, S_PORT, SEQ, ACK, 5, TH_ACK | TH_PUSH, WIN);
        put_fill(f, 'x', 10);
}

static const struct {
        const char *name;
        int dlt;
        frame_fn fn;
} encaps[] = {
        { "vlan", LT_EN10MB, fx_vlan },
        { "qinq", LT_EN10MB, fx_qinq },
        { "sll", LT_LINUX_SLL, fx_sll },
        { "sll2", LT_LINUX_SLL2, fx_sll2 },
        { "null", LT_NULL, fx_null },
        { "mpls", LT_EN10MB, fx_mpls },
        { "pppoe", LT_EN10MB, fx_pppoe },
        { "vxlan", LT_EN10MB, fx_vxlan },
        { "gre", LT_EN10MB, fx_gre },
        { "ipip", LT_EN10MB, fx_ipip },
        { "fddi", LT_FDDI, fx_fddi },
        { "null_big_endian", LT_NULL, fx_null_big_endian },
        { "loop", LT_LOOP, fx_loop },
        { "ppp", LT_PPP, fx_ppp },
        { "ppp_compressed", LT_PPP_SERIAL, fx_ppp_compressed },
        { "chdlc", LT_C_HDLC, fx_chdlc },
        { "nflog", LT_NFLOG, fx_nflog },
        { "vntag", LT_EN10MB, fx_vntag },
        { "pbb", LT_EN10MB, fx_pbb },
        { "fabricpath", LT_EN10MB, fx_fabricpath },
        { "llc_snap", LT_EN10MB, fx_llc_snap },
        { "llc_ip_sap", LT_EN10MB, fx_llc_ip_sap },
        { "gtpu", LT_EN10MB, fx_gtpu },
        { "teredo", LT_EN10MB, fx_teredo },
        { "pptp", LT_EN10MB, fx_pptp },
        { "erspan", LT_EN10MB, fx_erspan },
        { "6in4", LT_EN10MB, fx_6in4 },
        { "ipv4_options", LT_EN10MB, fx_ipv4_options },
        { "ipv6_fragment0", LT_EN10MB, fx_ipv6_fragment0 },
};

START_TEST(truncation_every_encapsulation)
{
        encaps[_i].fn(&fr);
        uint32_t full = fr.n, tcp_off = full - 30;      /* std packet: 20 TCP + 10 data */

        ck_assert_int_eq(decode_whole(encaps[_i].dlt, &fr, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.payload, 10);
        for (uint32_t cap = 0; cap < full; cap++) {
                enum dec_result r = decode(encaps[_i].dlt, &fr, cap, full, &seg);
                if (cap < tcp_off + 20)
                        ck_assert_msg(r != DEC_TCP, "%s caplen %u: segment from a partial header",
                                      encaps[_i].name, cap);
                else {
                        ck_assert_msg(r == DEC_TCP, "%s caplen %u: %s", encaps[_i].name, cap,
                                      decode_result_name(r));
                        ck_assert_uint_eq(seg.seq, SEQ);
                        ck_assert_uint_eq(seg.payload, 10);
                }
        }
}
END_TEST

/* A SYN with the usual options after IPv4 options (first pass) or IPv6
 * extension headers of 16 and 8 bytes (second), cut at every length: an
 * error kind until the fixed TCP header is whole, then the segment, with
 * each option only once all its bytes were captured (never a value read
 * from part of one). */
START_TEST(truncation_syn_options_every_offset)
{
        const uint32_t ip_off = 14;
        uint32_t tcp_off, full;

        if (_i == 0) {
                put_eth(&fr, 0x0800);
                put_ipv4(&fr, 6, 24 + 40, IPID, 0x4000, 6, IP4_C, IP4_S);
                put32(&fr, 0x01010100);         /* NOP, NOP, NOP, end of options */
        } else {
                put_eth(&fr, 0x86dd);
                put_ipv6(&fr, 16 + 8 + 40, 0, IP6_C, IP6_S);
                put8(&fr, 44);                  /* hop-by-hop, 16 bytes: PadN */
                put8(&fr, 1);
                put8(&fr, 1);
                put8(&fr, 12);
                put_fill(&fr, 0, 12);
                put8(&fr, 6);                   /* fragment header: offset 0, more fragments */
                put8(&fr, 0);
                put16(&fr, 0x0001);
                put32(&fr, 0x12345678);
        }
        tcp_off = fr.n;
        put_tcp(&fr, C_PORT, S_PORT, SEQ, 0, 10, TH_SYN, 64240);
        put_linux_syn_options(&fr);
        full = fr.n;
        for (uint32_t cap = 0; cap <= full; cap++) {
                enum dec_result want = cap < ip_off ? DEC_ERR_LINK_TRUNC :
                                       cap < tcp_off ? DEC_ERR_IP_TRUNC :
                                       cap < tcp_off + 20 ? DEC_ERR_TCP_TRUNC : DEC_TCP;
                enum dec_result r = decode(LT_EN10MB, &fr, cap, full, &seg);
                uint32_t opt;

                ck_assert_msg(r == want, "pass %d caplen %u: got %s, want %s", _i, cap,
                              decode_result_name(r), decode_result_name(want));
                if (r != DEC_TCP)
                        continue;
                opt = cap - tcp_off - 20;       /* option bytes captured */
                if (_i == 0)
                        check_addrs4(&seg, IP4_C, IP4_S);
                else
                        check_addrs6(&seg);
                ck_assert_uint_eq(seg.ip_len, _i == 0 ? 64 : 104);
                ck_assert_uint_eq(seg.fragment, _i);
                ck_assert_uint_eq(seg.src.port, C_PORT);
                ck_assert_uint_eq(seg.dst.port, S_PORT);
                ck_assert_uint_eq(seg.seq, SEQ);
                ck_assert_uint_eq(seg.ack, 0);
                ck_assert_uint_eq(seg.flags, TH_SYN);
                ck_assert_uint_eq(seg.win, 64240);
                ck_assert_uint_eq(seg.payload, 0);
                ck_assert_uint_eq(seg.mss, opt >= 4 ? 1460 : 0);
                ck_assert_uint_eq(seg.sack_perm, opt >= 6);
                ck_assert_uint_eq(seg.has_ts, opt >= 16);
                ck_assert_uint_eq(seg.tsval, opt >= 16 ? 123456 : 0);
                ck_assert_uint_eq(seg.tsecr, 0);
                ck_assert_uint_eq(seg.wscale, opt >= 20 ? 7 : 0xff);
        }
}
END_TEST

/* =================== duplicate hash =================== */

START_TEST(hash_same_packet_different_link_headers)
{
        struct frame eth = { { 0 }, 0 }, sll = { { 0 }, 0 }, vlan = { { 0 }, 0 };
        uint64_t h_eth, h_sll;

        put_eth(&eth, 0x0800);
        put_std4(&eth, 10);
        put_sll(&sll, 0x0800);
        put_std4(&sll, 10);
        put_eth(&vlan, 0x8100);
        put_vlan(&vlan, 5, 0x0800);
        put_std4(&vlan, 10);

        ck_assert_int_eq(decode_whole(LT_EN10MB, &eth, &seg), DEC_TCP);
        h_eth = seg.hash;
        ck_assert_int_eq(decode_whole(LT_LINUX_SLL, &sll, &seg), DEC_TCP);
        h_sll = seg.hash;
        ck_assert_uint_eq(h_eth, h_sll);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &vlan, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.hash, h_eth);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &eth, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.hash, h_eth);             /* deterministic */
}
END_TEST

START_TEST(hash_differs_with_ip_id)
{
        uint64_t h1;

        put_eth(&fr, 0x0800);
        put_std4(&fr, 10);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        h1 = seg.hash;
        fr.b[14 + 5] ^= 1;              /* IP ID low byte */
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        ck_assert_uint_ne(seg.hash, h1);
}
END_TEST

START_TEST(hash_ignores_ethernet_padding)
{
        uint64_t h1;

        put_eth(&fr, 0x0800);
        put_std4(&fr, 0);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        h1 = seg.hash;
        put_fill(&fr, 0xee, 6);
        ck_assert_int_eq(decode_whole(LT_EN10MB, &fr, &seg), DEC_TCP);
        ck_assert_uint_eq(seg.hash, h1);
}
END_TEST

static Suite *decode_suite(void)
{
        Suite *s = suite_create("decode");
        TCase *tc;

        tc = tcase_create("link_layers");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, ethernet_ipv4);
        tcase_add_test(tc, ethernet_ipv6);
        tcase_add_test(tc, ethernet_arp_is_not_tcp);
        tcase_add_test(tc, vlan_8021q);
        tcase_add_test(tc, qinq_88a8_then_8100);
        tcase_add_test(tc, linux_sll);
        tcase_add_test(tc, linux_sll2);
        tcase_add_test(tc, null_little_endian_af_inet);
        tcase_add_test(tc, null_big_endian_af_inet);
        tcase_add_loop_test(tc, null_af_inet6_bsd_values, 0, 6);
        tcase_add_test(tc, null_unknown_af_is_not_tcp);
        tcase_add_test(tc, loop_network_order);
        tcase_add_test(tc, raw_12_ipv4_and_ipv6);
        tcase_add_test(tc, linktype_ipv4_228);
        tcase_add_test(tc, linktype_ipv6_229);
        tcase_add_test(tc, fddi_snap);
        tcase_add_test(tc, unknown_link_type_is_link_bad);
        tcase_add_test(tc, link_supported_values);
        tcase_add_test(tc, result_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("encapsulation");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, mpls_two_labels);
        tcase_add_test(tc, pppoe_session);
        tcase_add_test(tc, vxlan_udp_4789);
        tcase_add_test(tc, gre_ipv4);
        tcase_add_test(tc, gre_with_key_ipv6);
        tcase_add_test(tc, ip_in_ip);
        tcase_add_test(tc, ipv6_in_ipv4_proto_41);
        tcase_add_test(tc, ip_in_ip_inner_longer_than_outer_is_not_trusted);
        tcase_add_test(tc, ipv6_in_ipv4_inner_longer_than_outer_is_not_trusted);
        suite_add_tcase(s, tc);

        tc = tcase_create("ipv4");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, ipv4_options_ihl6);
        tcase_add_test(tc, ipv4_options_ihl15);
        tcase_add_test(tc, ethernet_padding_is_not_payload);
        tcase_add_test(tc, ipv4_total_length_zero_uses_frame);
        tcase_add_test(tc, ipv4_non_first_fragment);
        tcase_add_test(tc, ipv4_first_fragment_decodes);
        tcase_add_test(tc, ipv4_ihl_below_5_is_bad);
        tcase_add_test(tc, ip_version_5_is_bad);
        tcase_add_test(tc, ipv4_udp_is_not_tcp);
        suite_add_tcase(s, tc);

        tc = tcase_create("ipv6");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, ipv6_hbh_dstopts_fragment0);
        tcase_add_test(tc, ipv6_non_first_fragment);
        suite_add_tcase(s, tc);

        tc = tcase_create("tcp_header");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, tcp_syn_options_parsed);
        tcase_add_test(tc, tcp_nop_nop_timestamps);
        tcase_add_loop_test(tc, tcp_option_bad_length_stops_walk, 0, 2);
        tcase_add_test(tc, tcp_option_past_header_stops_walk);
        tcase_add_test(tc, tcp_data_offset_below_5_is_bad);
        tcase_add_test(tc, tcp_data_offset_beyond_ip_payload_is_bad);
        tcase_add_test(tc, ip_payload_empty_is_tcp_invalid);
        tcase_add_test(tc, tcp_options_cut_by_snaplen);
        suite_add_tcase(s, tc);

        tc = tcase_create("truncation");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, truncation_at_every_offset_ipv4);
        tcase_add_test(tc, truncation_at_every_offset_ipv6);
        tcase_add_loop_test(tc, truncation_every_encapsulation, 0,
                            (int)(sizeof encaps / sizeof encaps[0]));
        tcase_add_loop_test(tc, truncation_syn_options_every_offset, 0, 2);
        suite_add_tcase(s, tc);

        tc = tcase_create("duplicate_hash");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, hash_same_packet_different_link_headers);
        tcase_add_test(tc, hash_differs_with_ip_id);
        tcase_add_test(tc, hash_ignores_ethernet_padding);
        suite_add_tcase(s, tc);

        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(decode_suite());
        int failed;

        srunner_set_fork_status(sr, CK_FORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
