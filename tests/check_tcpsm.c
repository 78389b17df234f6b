/* check_tcpsm.c - unit tests of the TCP state machine: segment sequences
 * fed through tcpsm_on_segment(), then every record finished with
 * conn_table_flush() and the verdicts checked (conn_state and history as in
 * Zeek's conn.log, handshake, who closed and how, counts, bytes, RTT).
 *
 * Notation in comments: C = client (originator), S = server (responder);
 * times are milliseconds after BASE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../src/conn_table.h"
#include "tcpsm.h"

#define MS      1000000LL
#define SEC     1000000000LL
#define BASE    (1709294400LL * SEC)    /* 2024-03-01 12:00:00 UTC */

#define C 1                             /* from_client */
#define S 0

#define CISN    1000u                   /* client ISN */
#define SISN    5000u                   /* server ISN */

/* ---- fixture: table + state machine, finished records copied out ---- */

#define MAX_RECS 16

static struct tcpsm sm;
static struct conn recs[MAX_RECS];
static size_t nrecs;
static uint64_t hash_ctr;
static int family;                      /* of the segments made, 4 or 6 */
static uint8_t cli_ip[16], srv_ip[16];  /* IPv4 in the first 4 bytes */
static uint16_t cli_port, srv_port;

static void on_finish(struct conn *c, void *ctx)
{
        ck_assert_ptr_eq(ctx, &nrecs);
        ck_assert_uint_lt(nrecs, MAX_RECS);
        recs[nrecs++] = *c;
}

static void setup(void)
{
        struct conn_limits lim = {
                .idle_ns = 7200 * SEC,
                .halfopen_ns = 180 * SEC,
                .linger_ns = 5 * SEC,
                .max_conns = 0,
        };

        memset(recs, 0, sizeof recs);
        nrecs = 0;
        hash_ctr = 0;
        family = 4;
        memset(cli_ip, 0, sizeof cli_ip);
        memset(srv_ip, 0, sizeof srv_ip);
        memcpy(cli_ip, (uint8_t[]){ 10, 0, 0, 1 }, 4);
        memcpy(srv_ip, (uint8_t[]){ 10, 0, 0, 2 }, 4);
        cli_port = 50000;
        srv_port = 80;
        /* a full capture unless a test says otherwise */
        ck_assert_int_eq(tcpsm_init(&sm, &lim, 0, on_finish, &nrecs), 0);
}

static void teardown(void)
{
        tcpsm_free(&sm);
}

/* Build one segment at BASE + ts_ns, not yet applied.  Every segment gets
 * its own header hash (a real retransmission differs in IP ID or TSval). */
static struct segment seg_make_ns(int64_t ts_ns, int from_client, uint8_t flags, uint32_t seq,
                                  uint32_t ack, uint32_t len)
{
        struct segment s;

        memset(&s, 0, sizeof s);
        s.ts = BASE + ts_ns;
        s.family = (uint8_t)family;
        memcpy(s.src.addr, from_client ? cli_ip : srv_ip, 16);
        memcpy(s.dst.addr, from_client ? srv_ip : cli_ip, 16);
        s.src.port = from_client ? cli_port : srv_port;
        s.dst.port = from_client ? srv_port : cli_port;
        s.flags = flags;
        s.seq = seq;
        s.ack = flags & TH_ACK ? ack : 0;
        s.payload = len;
        s.ip_len = 40 + len;
        s.win = flags & TH_SYN ? 64240 : 502;
        s.wscale = 0xff;
        if (flags & TH_SYN) {
                s.mss = 1460;
                s.wscale = 7;
                s.sack_perm = 1;
        }
        s.hash = ++hash_ctr * 0x9e3779b97f4a7c15ULL;
        return s;
}

/* Apply s, with its tuple hash as decode_frame fills it in. */
static void on_segment(struct segment *s)
{
        s->tuple_hash = (uint32_t)decode_tuple_hash(&s->src, &s->dst);
        tcpsm_on_segment(&sm, s);
}

/* Build and apply one segment at BASE + ts_ns. */
static struct segment seg_ns(int64_t ts_ns, int from_client, uint8_t flags, uint32_t seq,
                             uint32_t ack, uint32_t len)
{
        struct segment s = seg_make_ns(ts_ns, from_client, flags, seq, ack, len);

        on_segment(&s);
        return s;
}

static struct segment seg(int64_t ts_ms, int from_client, uint8_t flags, uint32_t seq,
                          uint32_t ack, uint32_t len)
{
        return seg_ns(ts_ms * MS, from_client, flags, seq, ack, len);
}

#define SA      (TH_SYN | TH_ACK)
#define PA      (TH_PUSH | TH_ACK)
#define FA      (TH_FIN | TH_ACK)
#define RA      (TH_RST | TH_ACK)

/* C SYN at t, S SYN-ACK at t+10, C ACK at t+20 */
static void handshake(int64_t t, uint32_t cisn, uint32_t sisn)
{
        seg(t, C, TH_SYN, cisn, 0, 0);
        seg(t + 10, S, SA, sisn, cisn + 1, 0);
        seg(t + 20, C, TH_ACK, cisn + 1, sisn + 1, 0);
}

/* handshake at 0, C sends 100 bytes at 30, S ACKs at 40, S sends 200
 * bytes at 50, C ACKs at 60: next seqs C 1101, S 5201 */
static void open_and_exchange(void)
{
        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 100);
        seg(40, S, TH_ACK, SISN + 1, CISN + 101, 0);
        seg(50, S, PA, SISN + 1, CISN + 101, 200);
        seg(60, C, TH_ACK, CISN + 101, SISN + 201, 0);
}

/* Finish everything still in the table; returns the record count. */
static size_t flush(void)
{
        conn_table_flush(sm.table);
        ck_assert_uint_eq(conn_table_count(sm.table), 0);
        return nrecs;
}

/* The record's history, of a capture judged full (with data packets). */
static const char *hist(const struct conn *c)
{
        ck_assert_uint_eq(c->flags_only, 0);
        return c->history;
}

/* The same, of a capture judged SYN/FIN/RST-only (gap letters dropped). */
static const char *hist_flags_only(const struct conn *c)
{
        ck_assert_uint_eq(c->flags_only, 1);
        return c->history;
}

static void check_close(const struct conn *c, int by, enum close_how how, int64_t at_ms)
{
        ck_assert_int_eq(close_by((enum close_kind)c->close), by);
        ck_assert_int_eq(close_how_of((enum close_kind)c->close), how);
        ck_assert_int_eq(c->close_at, how == HOW_NONE ? 0 : BASE + at_ms * MS);
}

/* =================== handshake and normal close =================== */

START_TEST(client_fin_first_is_sf)
{
        open_and_exchange();
        seg(1000, C, FA, CISN + 101, SISN + 201, 0);
        seg(1010, S, FA, SISN + 201, CISN + 102, 0);
        seg(1020, C, TH_ACK, CISN + 102, SISN + 202, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "SF");
        ck_assert_str_eq(hist(c), "ShADadFf");
        ck_assert_str_eq(handshake_name((c)->handshake), "complete");
        check_close(c, CLIENT, HOW_FIN, 1000);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 6);
        ck_assert_uint_eq(c->s[SERVER].pkts, 4);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
        ck_assert_uint_eq(c->syn_count, 1);
        ck_assert_int_eq((c)->rtt_ns, 20 * MS);
        ck_assert_int_eq(c->reason, CLOSE_REASON_FIN);
        ck_assert_uint_eq(c->id, 1);
        ck_assert_uint_eq(c->midstream, 0);
        ck_assert_uint_eq(c->flipped, 0);
        ck_assert_uint_eq(c->cli.port, 50000);
        ck_assert_uint_eq(c->srv.port, 80);
        ck_assert_int_eq(c->first, BASE);
        ck_assert_int_eq(c->last, BASE + 1020 * MS);
        ck_assert_uint_eq(c->s[CLIENT].fin.seq, CISN + 101);
        ck_assert_int_eq(c->s[SERVER].fin.ts, BASE + 1010 * MS);
        ck_assert_int_eq(c->s[CLIENT].rst.ts, 0);
        ck_assert_uint_eq(c->s[CLIENT].mss, 1460);
        ck_assert_uint_eq(c->s[SERVER].wscale, 7);
        ck_assert_uint_eq(sm.st.segments, 10);
        ck_assert_uint_eq(sm.st.duplicates, 0);
}
END_TEST

START_TEST(server_fin_first_is_sf)
{
        open_and_exchange();
        seg(1000, S, FA, SISN + 201, CISN + 101, 0);
        seg(1010, C, FA, CISN + 101, SISN + 202, 0);
        seg(1020, S, TH_ACK, SISN + 202, CISN + 102, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "SF");
        ck_assert_str_eq(hist(c), "ShADadfF");
        check_close(c, SERVER, HOW_FIN, 1000);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 5);
        ck_assert_uint_eq(c->s[SERVER].pkts, 5);
        ck_assert_int_eq(c->reason, CLOSE_REASON_FIN);
}
END_TEST

/* Both FINs sent before either is acknowledged (RFC 9293 3.6, simultaneous
 * close: FIN-WAIT-1 -> CLOSING): a normal close. */
START_TEST(simultaneous_close_is_sf)
{
        open_and_exchange();
        seg(1000, C, FA, CISN + 101, SISN + 201, 0);
        seg(1001, S, FA, SISN + 201, CISN + 101, 0);    /* does not ack C's FIN */
        seg(1002, C, TH_ACK, CISN + 102, SISN + 202, 0);
        seg(1003, S, TH_ACK, SISN + 202, CISN + 102, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "SF");
        ck_assert_str_eq(hist(c), "ShADadFf");
        check_close(c, CLIENT, HOW_FIN, 1000);
        ck_assert_int_eq(c->s[SERVER].fin.ts, BASE + 1001 * MS);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
}
END_TEST

/* After FINs from both sides the connection is closed (TIME-WAIT/LAST-ACK,
 * RFC 9293 3.6): a later RST (loop: from C, then from S) does not turn
 * it into a reset, but is still in the history. */
START_TEST(rst_after_fin_keeps_sf)
{
        int from = _i == 0 ? C : S;

        open_and_exchange();
        seg(1000, C, FA, CISN + 101, SISN + 201, 0);
        seg(1010, S, FA, SISN + 201, CISN + 102, 0);
        seg(1020, from, TH_RST, from == C ? CISN + 102 : SISN + 202, 0, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "SF");
        ck_assert_str_eq(hist(c), from == C ? "ShADadFfR" : "ShADadFfr");
        check_close(c, CLIENT, HOW_FIN, 1000);
        ck_assert_int_eq(c->s[from == C ? CLIENT : SERVER].rst.ts, BASE + 1020 * MS);
        ck_assert_int_eq(c->reason, CLOSE_REASON_FIN);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
}
END_TEST

/* =================== failed handshakes =================== */

/* SYN to a closed port: RST+ACK, seq 0, ack ISN+1 (RFC 9293 3.10.7.1) */
START_TEST(refused_is_rej)
{
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(1, S, RA, 0, CISN + 1, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "REJ");
        ck_assert_str_eq(hist(c), "Sr");
        ck_assert_str_eq(handshake_name((c)->handshake), "refused");
        check_close(c, SERVER, HOW_RST, 1);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 1);
        ck_assert_uint_eq(c->s[SERVER].pkts, 1);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 0);
        ck_assert_uint_eq(c->s[SERVER].bytes, 0);
        ck_assert_int_eq((c)->rtt_ns, -1);
        ck_assert_int_eq(c->reason, CLOSE_REASON_RST);
}
END_TEST

/* The same SYN (same ISN) at 0, +1 s, +3 s: one attempt, never answered. */
START_TEST(unanswered_syn_retransmitted_is_s0)
{
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(1000, C, TH_SYN, CISN, 0, 0);
        seg(3000, C, TH_SYN, CISN, 0, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "S0");
        ck_assert_str_eq(hist(c), "S");
        ck_assert_str_eq(handshake_name((c)->handshake), "unanswered");
        ck_assert_uint_eq(c->syn_count, 3);
        ck_assert_uint_eq(c->syn_dt[0], 1000000);       /* µs after the first SYN */
        ck_assert_uint_eq(c->syn_dt[1], 3000000);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 3);
        ck_assert_uint_eq(c->s[SERVER].pkts, 0);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 0);
        check_close(c, -1, HOW_NONE, 0);
        ck_assert_int_eq((c)->rtt_ns, -1);
        ck_assert_int_eq(c->reason, CLOSE_REASON_EOF);
        ck_assert_uint_eq(sm.st.reused, 0);
}
END_TEST

/* SYN, SYN-ACK (retransmitted, same ISN), never acknowledged.  Zeek counts
 * both endpoints established after a SYN-ACK: S1 with history Sh. */
START_TEST(synack_never_acked_is_no_ack)
{
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(10, S, SA, SISN, CISN + 1, 0);
        seg(1010, S, SA, SISN, CISN + 1, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(handshake_name((c)->handshake), "no_ack");
        ck_assert_str_eq(hist(c), "Sh");
        ck_assert_str_eq(zeek_state_name((c)->zstate), "S1");
        ck_assert_int_eq((c)->rtt_ns, -1);
        ck_assert_uint_eq(c->s[SERVER].pkts, 2);
        ck_assert_uint_eq(c->syn_count, 1);
        ck_assert_int_eq(c->synack_ts, BASE + 10 * MS);
}
END_TEST

/* The client gives up on connect() with a RST before any answer: Zeek's
 * RSTOS0 (originator SYN followed by a RST, no SYN-ACK). */
START_TEST(syn_then_client_rst_is_rstos0)
{
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(500, C, TH_RST, CISN + 1, 0, 0);
        ck_assert_uint_eq(flush(), 1);
        ck_assert_str_eq(zeek_state_name((&recs[0])->zstate), "RSTOS0");
        ck_assert_str_eq(hist(&recs[0]), "SR");
        check_close(&recs[0], CLIENT, HOW_RST, 500);
}
END_TEST

/* SYN retransmitted with the same ISN, then answered: one connection,
 * RTT from the SYN that was answered. */
START_TEST(syn_retransmission_same_isn_is_same_connection)
{
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(1000, C, TH_SYN, CISN, 0, 0);
        seg(1010, S, SA, SISN, CISN + 1, 0);
        seg(1020, C, TH_ACK, CISN + 1, SISN + 1, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(hist(c), "ShA");
        ck_assert_str_eq(zeek_state_name((c)->zstate), "S1");
        ck_assert_str_eq(handshake_name((c)->handshake), "complete");
        ck_assert_uint_eq(c->syn_count, 2);
        ck_assert_int_eq((c)->rtt_ns, 20 * MS);
        ck_assert_uint_eq(sm.st.reused, 0);
}
END_TEST

/* =================== resets =================== */

START_TEST(server_abort_after_request_is_rstr)
{
        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 100);
        seg(40, S, RA, SISN + 1, CISN + 101, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "RSTR");
        ck_assert_str_eq(hist(c), "ShADr");
        ck_assert_str_eq(handshake_name((c)->handshake), "complete");
        check_close(c, SERVER, HOW_RST, 40);
        ck_assert_uint_eq(c->s[SERVER].state, ST_RESET);
        ck_assert_uint_eq(c->s[SERVER].rst.seq, SISN + 1);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 0);
        ck_assert_int_eq(c->reason, CLOSE_REASON_RST);
}
END_TEST

START_TEST(client_reset_is_rsto)
{
        open_and_exchange();
        seg(70, C, RA, CISN + 101, SISN + 201, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "RSTO");
        ck_assert_str_eq(hist(c), "ShADadR");
        check_close(c, CLIENT, HOW_RST, 70);
        ck_assert_uint_eq(c->s[CLIENT].state, ST_RESET);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
        ck_assert_int_eq(c->reason, CLOSE_REASON_RST);
}
END_TEST

/* HTTP keep-alive race: S closes the idle connection (FIN), C's next
 * request crosses it, S's stack answers the data with a bare RST at
 * seq = FIN seq + 1 (RFC 9293 3.10.7.4: data after close).  Closed by S,
 * first with a FIN; ends in a reset by S. */
START_TEST(keepalive_race_is_rstr_closed_by_server_fin)
{
        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 120);
        seg(40, S, TH_ACK, SISN + 1, CISN + 121, 0);
        seg(50, S, PA, SISN + 1, CISN + 121, 300);
        seg(60, C, TH_ACK, CISN + 121, SISN + 301, 0);
        seg(6100, S, FA, SISN + 301, CISN + 121, 0);
        seg(6101, C, PA, CISN + 121, SISN + 302, 120);
        seg(6102, S, TH_RST, SISN + 302, 0, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(zeek_state_name((c)->zstate), "RSTR");
        ck_assert_str_eq(hist(c), "ShADadfr");
        check_close(c, SERVER, HOW_FIN, 6100);
        ck_assert_int_eq(c->s[SERVER].rst.ts, BASE + 6102 * MS);
        ck_assert_uint_eq(c->s[SERVER].rst.seq, SISN + 302);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 240);
        ck_assert_uint_eq(c->s[SERVER].bytes, 300);
        ck_assert_uint_eq(c->s[SERVER].fin_cnt, 1);
}
END_TEST

/* The live record of the fixture's 5-tuple. */
static struct crec *live(void)
{
        struct segment s = { .family = (uint8_t)family };
        int dir;

        memcpy(s.src.addr, cli_ip, 16);
        memcpy(s.dst.addr, srv_ip, 16);
        s.src.port = cli_port;
        s.dst.port = srv_port;
        s.tuple_hash = (uint32_t)decode_tuple_hash(&s.src, &s.dst);
        return conn_table_find(sm.table, &s, &dir);
}

/* The race in keepalive_race_is_rstr_closed_by_server_fin, as the
 * detectors see it: at S's FIN the client's last payload was at 30 ms;
 * the client's request at 6101 ms is new payload after S's FIN, and then
 * (not before) S's FIN keeps 30 ms while the client's last payload moves.
 * An open connection holds neither extension; the FIN brings the close
 * details only, the race the rare extension. */
START_TEST(peer_last_payload_at_close_kept_when_peer_sends_more)
{
        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 120);
        seg(50, S, PA, SISN + 1, CISN + 121, 300);
        seg(60, C, TH_ACK, CISN + 121, SISN + 301, 0);
        ck_assert_ptr_null(conn_ext_get(sm.table, live()));
        ck_assert_ptr_null(conn_close_get(sm.table, live()));
        seg(6100, S, FA, SISN + 301, CISN + 121, 0);
        ck_assert_ptr_null(conn_ext_get(sm.table, live()));
        ck_assert_ptr_nonnull(conn_close_get(sm.table, live()));
        seg(6101, C, PA, CISN + 121, SISN + 302, 120);
        ck_assert_ptr_nonnull(conn_ext_get(sm.table, live()));
        seg(6150, C, PA, CISN + 241, SISN + 302, 120);
        seg(6200, C, FA, CISN + 361, SISN + 302, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_int_eq(c->s[SERVER].fin.ts, BASE + 6100 * MS);
        ck_assert_int_eq(c->s[SERVER].fin_peerlast, BASE + 30 * MS);
        ck_assert_int_eq(c->s[SERVER].fin_mylast, BASE + 50 * MS);
        ck_assert_int_eq(c->s[CLIENT].after_peer_fin, BASE + 6101 * MS);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 6150 * MS);
        /* the client's own FIN: the server sent nothing after it */
        ck_assert_int_eq(c->s[CLIENT].fin_peerlast, BASE + 50 * MS);
        ck_assert_int_eq(c->s[SERVER].after_peer_fin, 0);
        ck_assert_int_eq(c->idle_ref, BASE + 50 * MS);  /* the last payload before the FIN */
}
END_TEST

/* Without new payload after the close, the peer's last payload at the
 * close is its last payload, and no rare extension is made. */
START_TEST(peer_last_payload_at_close_without_race)
{
        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 120);
        seg(50, S, PA, SISN + 1, CISN + 121, 300);
        seg(5000, C, FA, CISN + 121, SISN + 301, 0);
        seg(5001, S, FA, SISN + 301, CISN + 122, 0);
        seg(5002, C, TH_ACK, CISN + 122, SISN + 302, 0);
        ck_assert_ptr_null(conn_ext_get(sm.table, live()));
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_int_eq(c->s[CLIENT].fin_peerlast, BASE + 50 * MS);
        ck_assert_int_eq(c->s[SERVER].fin_peerlast, BASE + 30 * MS);
        ck_assert_int_eq(c->s[CLIENT].after_peer_fin, 0);
        ck_assert_int_eq(c->s[SERVER].after_peer_fin, 0);
        ck_assert_int_eq(c->idle_ref, BASE + 50 * MS);
}
END_TEST

/* Sequence numbers wrapping past 2^32 are counted (in the rare extension):
 * 5 GB from the server counts as 5 GB. */
START_TEST(seq_wraps_counted_in_extension)
{
        const uint32_t step = 1000000000u;      /* 1 GB per segment's worth of seq */
        uint32_t sseq = SISN + 1;

        handshake(0, CISN, SISN);
        ck_assert_ptr_null(conn_ext_get(sm.table, live()));
        for (int i = 0; i < 5; i++) {
                /* pretend the GB was sent in between: one segment ending there */
                seg(100 + i * 100, S, PA, sseq + step - 1000, CISN + 1, 1000);
                seg(150 + i * 100, C, TH_ACK, CISN + 1, sseq + step, 0);
                sseq += step;
        }
        ck_assert_ptr_nonnull(conn_ext_get(sm.table, live()));
        seg(1000, S, FA, sseq, CISN + 1, 0);
        seg(1001, C, FA, CISN + 1, sseq + 1, 0);
        ck_assert_uint_eq(flush(), 1);
        ck_assert_uint_eq(recs[0].s[SERVER].seq_wraps, 1);
        ck_assert_uint_eq(recs[0].s[SERVER].ack_wraps, 1);
        ck_assert_uint_eq(recs[0].s[SERVER].bytes, 5ull * step);
}
END_TEST

/* An in-window RST resets the sender's side. */
START_TEST(rst_in_window_is_reset)
{
        open_and_exchange();
        seg(70, S, TH_RST, SISN + 201, 0, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[SERVER].state, ST_RESET);
        ck_assert_uint_eq(c->s[SERVER].rst.seq, SISN + 201);
        ck_assert_str_eq(zeek_state_name((c)->zstate), "RSTR");
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
}
END_TEST

/* A RST far outside the window (a receiver would ignore it, RFC 9293
 * 3.10.7.4 / RFC 5961): a passive observer still records that it was sent.
 * The first RST's sequence number is kept, the in-window one that follows
 * is a second 'r', and the bogus seq does not count as bytes. */
START_TEST(rst_out_of_window_recorded_first_seq_kept)
{
        const uint32_t far = SISN + 201 + 0x40000000u;

        open_and_exchange();
        seg(70, S, TH_RST, far, 0, 0);
        seg(80, S, TH_RST, SISN + 201, 0, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[SERVER].state, ST_RESET);
        ck_assert_uint_eq(c->s[SERVER].rst.seq, far);
        ck_assert_int_eq(c->s[SERVER].rst.ts, BASE + 70 * MS);
        ck_assert_str_eq(hist(c), "ShADadrr");
        ck_assert_str_eq(zeek_state_name((c)->zstate), "RSTR");
        check_close(c, SERVER, HOW_RST, 70);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
}
END_TEST

/* =================== connection boundaries =================== */

/* After a FIN close, a SYN with a new ISN on the same 5-tuple is a new
 * connection (RFC 9293 3.10.7.4, TIME-WAIT reuse; Zeek's IsReuse). */
START_TEST(port_reuse_new_isn_after_close)
{
        open_and_exchange();
        seg(1000, C, FA, CISN + 101, SISN + 201, 0);
        seg(1010, S, FA, SISN + 201, CISN + 102, 0);
        seg(1020, C, TH_ACK, CISN + 102, SISN + 202, 0);
        handshake(2000, 90000, 70000);
        ck_assert_uint_eq(flush(), 2);

        const struct conn *a = &recs[0], *b = &recs[1];
        ck_assert_uint_eq(a->id, 1);
        ck_assert_msg(a->reason == CLOSE_REASON_REUSE || a->reason == CLOSE_REASON_FIN,
                      "first connection finished as %s", close_reason_name(a->reason));
        ck_assert_str_eq(zeek_state_name((a)->zstate), "SF");
        ck_assert_str_eq(hist(a), "ShADadFf");
        ck_assert_uint_eq(a->s[CLIENT].pkts, 6);
        ck_assert_uint_eq(b->id, 2);
        ck_assert_str_eq(hist(b), "ShA");
        ck_assert_str_eq(zeek_state_name((b)->zstate), "S1");
        ck_assert_str_eq(handshake_name((b)->handshake), "complete");
        ck_assert_uint_eq(b->s[CLIENT].start_seq, 90000);
        ck_assert_uint_eq(b->syn_count, 1);
        ck_assert_uint_eq(b->s[CLIENT].pkts, 2);
        ck_assert_int_eq(b->first, BASE + 2000 * MS);
        ck_assert_int_eq((b)->rtt_ns, 20 * MS);
        ck_assert_int_eq(b->reason, CLOSE_REASON_EOF);
        ck_assert_uint_eq(sm.st.reused, 1);
}
END_TEST

/* A SYN with a different ISN while the first attempt is unanswered: the
 * client started over (new socket, same port) - Zeek's IsReuse. */
START_TEST(new_isn_while_half_open_is_new_connection)
{
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(1000, C, TH_SYN, CISN + 777777, 0, 0);
        ck_assert_uint_eq(flush(), 2);
        ck_assert_uint_eq(recs[0].syn_count, 1);
        ck_assert_uint_eq(recs[1].syn_count, 1);
        ck_assert_uint_eq(recs[1].id, 2);
        ck_assert_int_eq(recs[0].reason, CLOSE_REASON_REUSE);
}
END_TEST

/* After a RST, packets within the linger belong to the old connection; a
 * packet more than the linger (5 s) after the last one starts a new one. */
START_TEST(packet_after_linger_after_rst_is_new_connection)
{
        open_and_exchange();
        seg(100, C, RA, CISN + 101, SISN + 201, 0);
        seg(1100, S, TH_ACK, SISN + 201, CISN + 101, 0);        /* stray, 1 s later */
        seg(1100 + 5000 + 1000, C, PA, CISN + 5000, SISN + 201, 50);
        ck_assert_uint_eq(flush(), 2);

        const struct conn *a = &recs[0], *b = &recs[1];
        ck_assert_uint_eq(a->id, 1);
        ck_assert_str_eq(zeek_state_name((a)->zstate), "RSTO");
        ck_assert_uint_eq(a->s[SERVER].pkts, 4);         /* incl. the stray ACK */
        ck_assert_uint_eq(a->s[CLIENT].pkts, 5);
        ck_assert_uint_eq(b->id, 2);
        ck_assert_str_eq(handshake_name((b)->handshake), "midstream");
        ck_assert_uint_eq(b->s[CLIENT].pkts, 1);
        ck_assert_uint_eq(b->cli.port, 50000);
        ck_assert_uint_eq(b->s[CLIENT].bytes, 50);
        ck_assert_int_eq(b->first, BASE + 7100 * MS);
        ck_assert_uint_eq(sm.st.reused, 1);
}
END_TEST

/* =================== mid-stream =================== */

/* Capture starts inside a connection; the first packet comes from the
 * higher (ephemeral) port, which is taken as the client. */
START_TEST(midstream_client_first_not_flipped)
{
        srv_port = 9999;                /* not a well-known server port */
        seg(0, C, PA, 7001, 9001, 100);
        seg(10, S, TH_ACK, 9001, 7101, 0);
        seg(20, S, PA, 9001, 7101, 50);
        seg(30, C, TH_ACK, 7101, 9051, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(handshake_name((c)->handshake), "midstream");
        ck_assert_uint_eq(c->midstream, 1);
        ck_assert_uint_eq(c->flipped, 0);
        ck_assert_uint_eq(c->cli.port, 50000);
        ck_assert_uint_eq(c->srv.port, 9999);
        ck_assert_str_eq(hist(c), "DadA");
        ck_assert_str_eq(zeek_state_name((c)->zstate), "OTH");
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 50);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 2);
        ck_assert_uint_eq(c->s[SERVER].pkts, 2);
}
END_TEST

/* The first packet comes from the lower port: roles are flipped so the
 * higher port is the client, and history starts with '^' (Zeek). */
START_TEST(midstream_server_first_flipped)
{
        srv_port = 9999;
        seg(0, S, PA, 9001, 7001, 50);
        seg(10, C, TH_ACK, 7001, 9051, 0);
        seg(20, C, PA, 7001, 9051, 100);
        seg(30, S, TH_ACK, 9051, 7101, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(handshake_name((c)->handshake), "midstream");
        ck_assert_uint_eq(c->flipped, 1);
        ck_assert_uint_eq(c->cli.port, 50000);
        ck_assert_uint_eq(c->srv.port, 9999);
        ck_assert_str_eq(hist(c), "^dADa");
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 50);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 2);
        ck_assert_uint_eq(c->s[SERVER].pkts, 2);
}
END_TEST

/* =================== sequence space =================== */

/* Sequence numbers wrap modulo 2^32 (RFC 9293 3.4): C's ISN 0xFFFFFF00 and
 * 1000 bytes in four segments cross zero; S's 300 bytes cross it too. */
START_TEST(sequence_wrap_counts_bytes)
{
        const uint32_t ci = 0xFFFFFF00u, si = 0xFFFFFFF0u;
        uint32_t cs = ci + 1;

        handshake(0, ci, si);
        for (int k = 0; k < 4; k++, cs += 250) {
                seg(30 + 20 * k, C, PA, cs, si + 1, 250);
                seg(40 + 20 * k, S, TH_ACK, si + 1, cs + 250, 0);
        }
        ck_assert_uint_eq(cs, ci + 1 + 1000);
        seg(200, S, PA, si + 1, cs, 300);
        seg(210, C, TH_ACK, cs, si + 301, 0);
        seg(300, C, FA, cs, si + 301, 0);
        seg(310, S, FA, si + 301, cs + 1, 0);
        seg(320, C, TH_ACK, cs + 1, si + 302, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].bytes, 1000);
        ck_assert_uint_eq(c->s[SERVER].bytes, 300);
        ck_assert_str_eq(zeek_state_name((c)->zstate), "SF");
        ck_assert_str_eq(hist(c), "ShADadFf");
        ck_assert_uint_eq(c->s[CLIENT].rexmits, 0);
}
END_TEST

/* ISN 0xFFFFFFFF: the SYN itself occupies the last sequence number, data
 * starts at 0.  Only the client's direction is captured (asymmetric
 * routing), so no ACK from the server helps. */
START_TEST(isn_all_ones_one_direction_counts_bytes)
{
        const uint32_t ci = 0xFFFFFFFFu;

        seg(0, C, TH_SYN, ci, 0, 0);
        seg(20, C, TH_ACK, 0, SISN + 1, 0);
        seg(30, C, PA, 0, SISN + 1, 100);
        seg(40, C, PA, 100, SISN + 1, 100);
        seg(100, C, FA, 200, SISN + 1, 0);
        ck_assert_uint_eq(flush(), 1);
        ck_assert_uint_eq(recs[0].s[CLIENT].bytes, 200);
}
END_TEST

/* The same payload sent again (RTO): one 'T' (Zeek logs t at the 1st,
 * 10th, 100th ...), counted in rexmits, bytes not doubled. */
START_TEST(retransmitted_data_counted_once)
{
        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 100);
        seg(230, C, PA, CISN + 1, SISN + 1, 100);
        seg(630, C, PA, CISN + 1, SISN + 1, 100);
        seg(640, S, TH_ACK, SISN + 1, CISN + 101, 0);
        seg(650, S, PA, SISN + 1, CISN + 101, 200);
        seg(660, C, TH_ACK, CISN + 101, SISN + 201, 0);
        seg(1000, C, FA, CISN + 101, SISN + 201, 0);
        seg(1010, S, FA, SISN + 201, CISN + 102, 0);
        seg(1020, C, TH_ACK, CISN + 102, SISN + 202, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(hist(c), "ShADTadFf");
        ck_assert_uint_eq(c->s[CLIENT].rexmits, 2);
        ck_assert_uint_eq(c->s[CLIENT].keepalives, 0);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 8);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 30 * MS);
        ck_assert_str_eq(zeek_state_name((c)->zstate), "SF");
}
END_TEST

/* RFC 9293 3.8.4: a keep-alive has SEG.SEQ = SND.NXT-1 and "may or may not
 * contain one garbage octet".  Two probes, each ACKed; neither is new data. */
static void keepalive_probes(uint32_t len)
{
        open_and_exchange();
        seg(60060, C, TH_ACK, CISN + 100, SISN + 201, len);
        seg(60070, S, TH_ACK, SISN + 201, CISN + 101, 0);
        seg(120060, C, TH_ACK, CISN + 100, SISN + 201, len);
        seg(120070, S, TH_ACK, SISN + 201, CISN + 101, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].keepalives, 2);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 30 * MS);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 6);
        ck_assert_str_eq(zeek_state_name((c)->zstate), "S1");
}

/* one garbage octet (BSD, Windows) */
START_TEST(keepalive_probe_one_byte_counted_not_data)
{
        keepalive_probes(1);
}
END_TEST

/* no data (Linux tcp_xmit_probe_skb: SND.UNA-1, zero length) */
START_TEST(keepalive_probe_zero_byte_counted_not_data)
{
        keepalive_probes(0);
}
END_TEST

/* The same IP packet captured twice within 1 ms (Linux -i any, loopback)
 * is one packet; the same bytes 5 ms later are a packet of their own. */
START_TEST(capture_duplicate_not_counted)
{
        struct segment d;

        handshake(0, CISN, SISN);
        d = seg(30, C, PA, CISN + 1, SISN + 1, 100);
        d.ts += 500000;                 /* +0.5 ms, same hash */
        on_segment(&d);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].pkts, 3);
        ck_assert_uint_eq(c->dups, 1);
        ck_assert_uint_eq(sm.st.duplicates, 1);
        ck_assert_uint_eq(c->s[CLIENT].rexmits, 0);
        ck_assert_str_eq(hist(c), "ShAD");
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
}
END_TEST

START_TEST(same_hash_later_than_window_is_counted)
{
        struct segment d;

        handshake(0, CISN, SISN);
        d = seg(30, C, PA, CISN + 1, SISN + 1, 100);
        d.ts += 5 * MS;
        on_segment(&d);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].pkts, 4);
        ck_assert_uint_eq(c->dups, 0);
        ck_assert_uint_eq(c->s[CLIENT].rexmits, 1);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
}
END_TEST

/* A capture filtered to SYN/FIN/RST packets only: the bytes still follow
 * from the FINs' sequence numbers and the ACK fields. */
START_TEST(syn_fin_rst_only_capture_bytes)
{
        sm.flags_only_hint = -1;                /* judged from the segments: SYN/FIN/RST only */
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(10, S, SA, SISN, CISN + 1, 0);
        seg(1000, C, FA, CISN + 1 + 100, SISN + 1 + 500, 0);
        seg(1010, S, FA, SISN + 1 + 500, CISN + 1 + 100 + 1, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 500);
        ck_assert_str_eq(zeek_state_name((c)->zstate), "SF");
        ck_assert_str_eq(hist_flags_only(c), "ShFf");
        ck_assert_str_eq(handshake_name((c)->handshake), "complete");
        ck_assert_int_eq((c)->rtt_ns, -1);  /* the handshake ACK was not seen */
        check_close(c, CLIENT, HOW_FIN, 1000);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 2);
        ck_assert_uint_eq(c->s[SERVER].pkts, 2);
}
END_TEST

START_TEST(history_empty_is_dash_and_names)
{
        seg(0, C, 0, CISN, 0, 0);               /* no flag, no payload: no letter */
        ck_assert_uint_eq(flush(), 1);
        ck_assert_str_eq(recs[0].history, "-");
        ck_assert_str_eq(tcp_state_name(ST_FIN_WAIT), "FIN_WAIT");
        ck_assert_str_eq(close_reason_name(CLOSE_REASON_REUSE), "reused");
        ck_assert_str_eq(close_reason_name(CLOSE_REASON_EOF), "open_at_end");
}
END_TEST

/* A connection older than 2^32 µs (71 min): the record's 32-bit time
 * offsets coarsen, and every time still comes out within its unit. */
START_TEST(long_connection_times_survive_rescale)
{
        int64_t day = 86400LL * 1000;           /* ms */

        handshake(0, CISN, SISN);
        for (int64_t t = 1; t <= 24; t++)       /* a request every hour */
                seg(t * 3600 * 1000, C, PA, CISN + 1 + (uint32_t)(t - 1) * 10, SISN + 1, 10);
        seg(day + 7, S, FA, SISN + 1, CISN + 241, 0);
        seg(day + 9, C, FA, CISN + 241, SISN + 2, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        /* 1 day = 8.64e10 µs needs 5 more bits: unit 32 µs */
        ck_assert_int_eq(c->first, BASE);
        ck_assert_int_eq(c->syn_ts, BASE);
        ck_assert_int_le(llabs(c->synack_ts - (BASE + 10 * MS)), 32000);
        ck_assert_int_le(llabs(c->est_ts - (BASE + 20 * MS)), 32000);
        ck_assert_int_le(llabs(c->s[SERVER].fin.ts - (BASE + (day + 7) * MS)), 32000);
        ck_assert_int_le(llabs(c->s[CLIENT].last_data_ts - (BASE + day * MS)), 32000);
        ck_assert_int_le(llabs(c->last - (BASE + (day + 9) * MS)), 32000);
        ck_assert_int_le(llabs(c->s[SERVER].fin_peerlast - (BASE + day * MS)), 32000);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 240);
        ck_assert_str_eq(zeek_state_name((c)->zstate), "SF");
}
END_TEST

/* History letters are packed 5 bits each: the 24 kept read back exactly
 * and the rest is marked cut. */
START_TEST(history_packing_keeps_24_letters)
{
        char want[RS_HISTORY_MAX + 2];

        handshake(0, CISN, SISN);
        /* FINs each with a new seq: an 'F' each (Zeek's repeat rule) */
        for (uint32_t i = 0; i < 30; i++)
                seg(100 + i, C, FA, CISN + 1 + i, SISN + 1, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(strlen(c->history), RS_HISTORY_MAX + 1);     /* and the '+' */
        memcpy(want, "ShAF", 4);
        for (size_t i = 4; i < RS_HISTORY_MAX; i++)
                want[i] = 'F';
        want[RS_HISTORY_MAX] = '+';
        want[RS_HISTORY_MAX + 1] = '\0';
        ck_assert_str_eq(hist(c), want);
}
END_TEST

/* IPv6 addresses live in the record's extension; both directions find
 * the connection and the finished record has them. */
START_TEST(ipv6_endpoints_in_extension)
{
        static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
        static const uint8_t b6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

        family = 6;
        memcpy(cli_ip, a6, 16);
        memcpy(srv_ip, b6, 16);
        handshake(0, CISN, SISN);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->family, 6);
        ck_assert_mem_eq(c->cli.addr, a6, 16);
        ck_assert_mem_eq(c->srv.addr, b6, 16);
        ck_assert_uint_eq(c->srv.port, srv_port);
        ck_assert_str_eq(handshake_name((c)->handshake), "complete");
        ck_assert_uint_eq(c->s[SERVER].pkts, 1);
}
END_TEST

/* =================== the one-step path's contract ===================
 *
 * src/tcpsm.c takes the usual segment of an established connection (an
 * in-order ACK, with or without payload) in one step, conn_apply_plain,
 * whose guard must send every segment with any other effect to the
 * general path; the contract next to it numbers those effects.  Each test
 * here builds a connection in the one-step path's domain and sends one
 * segment that differs from a one-step segment in the way that has effect
 * N, then checks the effect on the finished record.  The tests hold in a
 * build without the shortcut (-DRS_NO_SHORTCUTS: every segment takes the
 * general path) and fail in the normal build when the guard lets such a
 * segment through. */

/* the next seqs after open_and_exchange: C 1101, S 5201 */
#define C_NEXT  (CISN + 101)
#define S_NEXT  (SISN + 201)

/* The baseline: segments in the domain, taken in one step in the normal
 * build; the record is the same as the general path's. */
START_TEST(one_step_plain_segments)
{
        open_and_exchange();
        seg(100, C, PA, C_NEXT, S_NEXT, 50);
        seg(110, S, TH_ACK, S_NEXT, C_NEXT + 50, 0);
        seg(120, S, PA, S_NEXT, C_NEXT + 50, 70);
        seg(130, C, TH_ACK, C_NEXT + 50, S_NEXT + 70, 0);
        ck_assert_ptr_null(conn_ext_get(sm.table, live()));
        ck_assert_ptr_null(conn_close_get(sm.table, live()));
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(hist(c), "ShADad");
        ck_assert_str_eq(zeek_state_name(c->zstate), "S1");
        ck_assert_uint_eq(c->s[CLIENT].pkts, 6);
        ck_assert_uint_eq(c->s[SERVER].pkts, 5);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 150);
        ck_assert_uint_eq(c->s[SERVER].bytes, 270);
        ck_assert_uint_eq(c->s[CLIENT].last_seq, C_NEXT + 50);
        ck_assert_uint_eq(c->s[SERVER].ack_seq, S_NEXT + 70);
        ck_assert_uint_eq(c->s[CLIENT].ack_seq, C_NEXT + 50);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 100 * MS);
        ck_assert_int_eq(c->s[SERVER].last_data_ts, BASE + 120 * MS);
        ck_assert_int_eq(c->end, BASE + 130 * MS);
        ck_assert_int_eq(c->last, BASE + 130 * MS);
        ck_assert_int_eq(c->reason, CLOSE_REASON_EOF);
}
END_TEST

/* A client's first payload after a response is a new request on a reused
 * connection, reported once with the idle time before it, by both paths;
 * the request's next segment and the first request are not. */
static int64_t reuse_idle[8];
static uint16_t reuse_port[8];
static size_t nreuse;

static void on_reuse(void *ctx, const struct segment *s, int64_t idle_ns)
{
        ck_assert_ptr_eq(ctx, &nrecs);
        ck_assert_uint_lt(nreuse, 8);
        reuse_port[nreuse] = s->dst.port;
        reuse_idle[nreuse++] = idle_ns;
}

START_TEST(one_step_new_request_after_response)
{
        nreuse = 0;
        sm.on_reuse = on_reuse;
        open_and_exchange();                    /* request at 30, response at 50 */
        ck_assert_uint_eq(nreuse, 0);
        seg(1050, C, TH_ACK, C_NEXT, S_NEXT, 40);       /* 1 s after the response */
        seg(1051, C, PA, C_NEXT + 40, S_NEXT, 10);      /* the same request */
        ck_assert_uint_eq(nreuse, 1);
        ck_assert_int_eq(reuse_idle[0], 1000 * MS);
        ck_assert_uint_eq(reuse_port[0], srv_port);
        seg(1060, S, PA, S_NEXT, C_NEXT + 50, 70);
        seg(3560, C, PA, C_NEXT + 50, S_NEXT + 70, 20); /* 2.5 s after it */
        ck_assert_uint_eq(nreuse, 2);
        ck_assert_int_eq(reuse_idle[1], 2500 * MS);
        ck_assert_ptr_null(conn_ext_get(sm.table, live()));     /* nothing allocated */
        ck_assert_uint_eq(flush(), 1);
        ck_assert_uint_eq(recs[0].s[CLIENT].bytes, 170);
}
END_TEST

/* A server FIN that does not ack the client's last request crossed it:
 * the server was idle since its own last payload, not since that request
 * (a reuse race whose request and FIN crossed); a FIN acking it was idle
 * since the request. */
START_TEST(fin_crossing_a_request_is_idle_since_the_response)
{
        open_and_exchange();                    /* response at 50 */
        seg(6050, C, PA, C_NEXT, S_NEXT, 40);   /* the request ... */
        seg(6051, S, FA, S_NEXT, C_NEXT, 0);    /* ... crosses the FIN */
        seg(6052, S, TH_RST, S_NEXT + 1, 0, 0);
        ck_assert_uint_eq(flush(), 1);
        ck_assert_int_eq(recs[0].idle_ref, BASE + 50 * MS);
        ck_assert_int_eq(recs[0].s[SERVER].fin_peerlast, 0);
        ck_assert_int_eq(recs[0].s[SERVER].fin_mylast, BASE + 50 * MS);

        nrecs = 0;
        cli_port++;
        open_and_exchange();
        seg(6050, C, PA, C_NEXT, S_NEXT, 40);
        seg(6051, S, FA, S_NEXT, C_NEXT + 40, 0);       /* acks it: saw it */
        ck_assert_uint_eq(flush(), 1);
        ck_assert_int_eq(recs[0].idle_ref, BASE + 6050 * MS);
        ck_assert_int_eq(recs[0].s[SERVER].fin_peerlast, BASE + 6050 * MS);
}
END_TEST

/* Effects 1, 19: a SYN (the client's, same ISN: no new connection) is
 * counted with its time and options. */
START_TEST(one_step_excludes_syn)
{
        open_and_exchange();
        seg(70, C, TH_SYN, CISN, 0, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->syn_count, 2);
        ck_assert_uint_eq(c->syn_dt[0], 70000);         /* µs after the first SYN */
        ck_assert_uint_eq(c->s[CLIENT].mss, 1460);
        ck_assert_uint_eq(c->s[CLIENT].state, ST_ESTABLISHED);
        ck_assert_str_eq(hist(c), "ShADad");            /* the same seq: no second S */
        ck_assert_uint_eq(c->s[CLIENT].pkts, 5);
        ck_assert_uint_eq(sm.st.reused, 0);
}
END_TEST

/* Effects 1, 3, 19: a SYN-ACK at the server's next seq (all else as a
 * one-step ACK) restarts the server's sequence space there, and its new
 * seq records 'h' again. */
START_TEST(one_step_excludes_synack_new_isn)
{
        open_and_exchange();
        seg(70, S, SA, S_NEXT, C_NEXT, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(sm.st.reused, 0);
        ck_assert_str_eq(hist(c), "ShADadh");
        ck_assert_uint_eq(c->s[SERVER].start_seq, S_NEXT);
        ck_assert_uint_eq(c->s[SERVER].last_seq, S_NEXT + 1);
        ck_assert_uint_eq(c->s[SERVER].state, ST_ESTABLISHED);
        ck_assert_uint_eq(c->s[SERVER].wscale, 7);
        ck_assert_uint_eq(c->s[SERVER].pkts, 4);
}
END_TEST

/* Effect 2: while the server has sent nothing (a one-direction capture),
 * each client ACK places the server's sequence space at ack - 1. */
START_TEST(one_step_excludes_ack_to_silent_peer)
{
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(20, C, TH_ACK, CISN + 1, SISN + 1, 0);
        seg(30, C, PA, CISN + 1, SISN + 1, 100);
        seg(60, C, TH_ACK, CISN + 101, SISN + 201, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[SERVER].state, ST_CLOSED);
        ck_assert_uint_eq(c->s[SERVER].pkts, 0);
        ck_assert_uint_eq(c->s[SERVER].start_seq, SISN + 200);
        ck_assert_uint_eq(c->s[SERVER].ack_seq, SISN + 200);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
}
END_TEST

/* Effect 4: the first payload of a direction records 'D'. */
START_TEST(one_step_excludes_first_data_letter)
{
        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 100);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(hist(c), "ShAD");
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 30 * MS);
}
END_TEST

/* Effect 4: the first pure ACK of a direction records 'A' ('a'). */
START_TEST(one_step_excludes_first_ack_letter)
{
        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 100);
        seg(40, S, TH_ACK, SISN + 1, CISN + 101, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(hist(c), "ShADa");
        ck_assert_uint_eq(c->s[CLIENT].ack_seq, CISN + 101);
}
END_TEST

/* Effect 5: a zero window is counted, 'W' at the first. */
START_TEST(one_step_excludes_zero_window)
{
        struct segment z;

        open_and_exchange();
        z = seg_make_ns(70 * MS, C, TH_ACK, C_NEXT, S_NEXT, 0);
        z.win = 0;
        on_segment(&z);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].zwins, 1);
        ck_assert_uint_eq(c->s[SERVER].zwins, 0);
        ck_assert_str_eq(hist(c), "ShADadW");
        ck_assert_uint_eq(c->s[CLIENT].pkts, 5);
}
END_TEST

/* Effect 6: after FINs from both sides the last ACK is a packet of the
 * connection but does not extend its duration. */
START_TEST(one_step_excludes_segment_after_both_fins)
{
        open_and_exchange();
        seg(1000, C, FA, C_NEXT, S_NEXT, 0);
        seg(1010, S, FA, S_NEXT, C_NEXT + 1, 0);
        seg(1020, C, TH_ACK, C_NEXT + 1, S_NEXT + 1, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_int_eq(c->end, BASE + 1010 * MS);
        ck_assert_int_eq(c->last, BASE + 1020 * MS);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 6);
        ck_assert_uint_eq(c->s[SERVER].ack_seq, S_NEXT + 1);
}
END_TEST

/* Effects 3, 7, 13, 21, 23: a FIN changes the sender's state, is counted,
 * lettered and marked, and is not payload. */
START_TEST(one_step_excludes_fin)
{
        open_and_exchange();
        seg(70, C, FA, C_NEXT, S_NEXT, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].state, ST_FIN_WAIT);
        ck_assert_uint_eq(c->s[CLIENT].prev_state, ST_ESTABLISHED);
        ck_assert_uint_eq(c->s[SERVER].state, ST_ESTABLISHED);
        ck_assert_str_eq(zeek_state_name(c->zstate), "S2");
        ck_assert_str_eq(hist(c), "ShADadF");
        ck_assert_uint_eq(c->s[CLIENT].fin_cnt, 1);
        ck_assert_uint_eq(c->s[CLIENT].did_close, 1);
        ck_assert_uint_eq(c->s[CLIENT].fin.seq, C_NEXT);
        ck_assert_uint_eq(c->s[CLIENT].fin.ack, S_NEXT);
        ck_assert_uint_eq(c->s[CLIENT].fin.flags, TH_ACK);
        ck_assert_uint_eq(c->s[CLIENT].last_fin_seq, C_NEXT);
        check_close(c, CLIENT, HOW_FIN, 70);
        ck_assert_int_eq(c->idle_ref, BASE + 50 * MS);
        ck_assert_uint_eq(c->s[CLIENT].last_seq, C_NEXT + 1);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 30 * MS);
        ck_assert_int_eq(c->reason, CLOSE_REASON_EOF);
}
END_TEST

/* Effects 3, 8, 21, 23, 24: a RST resets the sender and its payload
 * (diagnostic text) is not data; loop 1: its ack, too far ahead
 * (RS_RST_ACK_TRUST), is not taken as bytes the peer sent. */
START_TEST(one_step_excludes_rst)
{
        open_and_exchange();
        seg(70, C, RA, C_NEXT, S_NEXT + (_i ? 0x50000000u : 0), 20);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].state, ST_RESET);
        ck_assert_str_eq(zeek_state_name(c->zstate), "RSTO");
        /* (side_update_last then counts the RST's text as a retransmission,
         * a 'T' after the 'R': not asserted here) */
        ck_assert_int_eq(strncmp(hist(c), "ShADadR", 7), 0);
        ck_assert_uint_eq(c->s[CLIENT].did_close, 1);
        check_close(c, CLIENT, HOW_RST, 70);
        ck_assert_uint_eq(c->s[CLIENT].rst.seq, C_NEXT);
        ck_assert_uint_eq(c->s[CLIENT].last_seq, C_NEXT);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 30 * MS);
        ck_assert_uint_eq(c->s[SERVER].ack_seq, S_NEXT);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
        ck_assert_int_eq(c->reason, CLOSE_REASON_RST);
}
END_TEST

/* Effect 8: without the ACK flag the ack field means nothing.  The server
 * sent 200 bytes the client has not acknowledged yet; a client segment
 * without ACK but with their ack in the field does not acknowledge them. */
START_TEST(one_step_excludes_segment_without_ack_flag)
{
        struct segment n;

        handshake(0, CISN, SISN);
        seg(30, C, PA, CISN + 1, SISN + 1, 100);
        seg(40, S, TH_ACK, SISN + 1, CISN + 101, 0);
        seg(50, S, PA, SISN + 1, CISN + 101, 200);
        n = seg_make_ns(60 * MS, C, TH_PUSH, C_NEXT, 0, 10);
        n.ack = S_NEXT;
        on_segment(&n);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[SERVER].ack_seq, SISN + 1);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 110);
        ck_assert_uint_eq(c->s[SERVER].bytes, 200);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 60 * MS);
        ck_assert_str_eq(hist(c), "ShADad");
}
END_TEST

/* Effect 9: an ack crossing 2^32 is counted as an ack wrap.  The server's
 * ISN is just below 2^32; its second segment crosses zero (a seq wrap). */
START_TEST(one_step_excludes_ack_wrap)
{
        const uint32_t si = 0xFFFFFF00u;

        handshake(0, CISN, si);
        seg(30, C, PA, CISN + 1, si + 1, 100);
        seg(40, S, PA, si + 1, CISN + 101, 0x80);
        seg(50, C, TH_ACK, CISN + 101, si + 1 + 0x80, 0);
        seg(60, S, PA, si + 1 + 0x80, CISN + 101, 0x100);
        seg(70, C, TH_ACK, CISN + 101, si + 1 + 0x180, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[SERVER].ack_wraps, 1);
        ck_assert_uint_eq(c->s[SERVER].seq_wraps, 1);
        ck_assert_uint_eq(c->s[SERVER].ack_seq, 0x81u);
        ck_assert_uint_eq(c->s[SERVER].bytes, 0x180);
}
END_TEST

/* Effect 11: payload beyond a hole (the capture missed [1101, 1201)) does
 * not count as seen without holes, so the ACK of all of it finds a
 * content gap. */
START_TEST(one_step_excludes_out_of_order_data)
{
        open_and_exchange();
        seg(70, C, PA, C_NEXT + 100, S_NEXT, 100);
        ck_assert_ptr_nonnull(conn_ext_get(sm.table, live()));  /* the block */
        seg(80, S, TH_ACK, S_NEXT, C_NEXT + 200, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].gaps, 1);
        ck_assert_str_eq(hist(c), "ShADadG");
        ck_assert_uint_eq(c->s[CLIENT].rexmits, 0);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 300);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 70 * MS);
}
END_TEST

/* Effect 12: the missing payload arrives late (a retransmission, below the
 * highest seq): what was seen beyond the hole joins the contiguous data,
 * and the ACK of all of it finds no gap. */
START_TEST(one_step_excludes_hole_fill)
{
        open_and_exchange();
        seg(70, C, PA, C_NEXT + 100, S_NEXT, 100);
        seg(80, C, PA, C_NEXT, S_NEXT, 100);
        seg(90, S, TH_ACK, S_NEXT, C_NEXT + 200, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].gaps, 0);
        ck_assert_uint_eq(c->s[CLIENT].rexmits, 1);
        ck_assert_str_eq(hist(c), "ShADadT");
        ck_assert_uint_eq(c->s[CLIENT].bytes, 300);
}
END_TEST

/* Effect 14: payload crossing 2^32 is counted as a seq wrap, so the bytes
 * come out right before any ACK of them. */
START_TEST(one_step_excludes_seq_wrap)
{
        const uint32_t ci = 0xFFFFFF00u;

        handshake(0, ci, SISN);
        seg(30, C, PA, ci + 1, SISN + 1, 0x80);
        seg(40, S, TH_ACK, SISN + 1, ci + 1 + 0x80, 0);
        seg(50, C, PA, ci + 1 + 0x80, SISN + 1, 0x100);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].seq_wraps, 1);
        ck_assert_uint_eq(c->s[CLIENT].last_seq, 0x81u);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 0x180);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 50 * MS);
}
END_TEST

/* Effect 15: payload a side sends after its own RST is not counted. */
START_TEST(one_step_excludes_data_after_own_rst)
{
        open_and_exchange();
        seg(70, C, RA, C_NEXT, S_NEXT, 0);
        seg(80, C, PA, C_NEXT, S_NEXT, 50);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].state, ST_RESET);
        ck_assert_uint_eq(c->s[CLIENT].last_seq, C_NEXT);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[CLIENT].rexmits, 0);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 6);
        ck_assert_str_eq(zeek_state_name(c->zstate), "RSTO");
}
END_TEST

/* Effect 16: payload sent again is a retransmission: counted, 'T', and
 * neither bytes nor the last payload time move. */
START_TEST(one_step_excludes_retransmission)
{
        open_and_exchange();
        seg(70, C, PA, CISN + 1, S_NEXT, 100);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].rexmits, 1);
        ck_assert_uint_eq(c->s[CLIENT].keepalives, 0);
        ck_assert_str_eq(hist(c), "ShADadT");
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[CLIENT].last_seq, C_NEXT);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 30 * MS);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 5);
}
END_TEST

/* Effect 17: a keep-alive probe (seq = SND.NXT - 1; loop: no octet, one
 * garbage octet, which is also a probe retransmission). */
START_TEST(one_step_excludes_keepalive)
{
        uint32_t len = (uint32_t)_i;

        open_and_exchange();
        seg(60060, C, TH_ACK, C_NEXT - 1, S_NEXT, len);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[CLIENT].keepalives, 1);
        ck_assert_uint_eq(c->s[CLIENT].probe_rexmits, len);
        ck_assert_uint_eq(c->s[CLIENT].rexmits, len);
        ck_assert_str_eq(hist(c), len ? "ShADadT" : "ShADad");
        ck_assert_uint_eq(c->s[CLIENT].bytes, 100);
        ck_assert_uint_eq(c->s[CLIENT].last_seq, C_NEXT);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 30 * MS);
        ck_assert_int_eq(c->end, BASE + 60060 * MS);
}
END_TEST

/* Effect 18: the first new payload after the peer's FIN (loop 0) or RST
 * (loop 1) is noted, and the peer's close keeps the client's last payload
 * from before it. */
START_TEST(one_step_excludes_data_after_peer_close)
{
        int rst = _i;

        open_and_exchange();
        seg(1000, S, rst ? RA : FA, S_NEXT, C_NEXT, 0);
        seg(1010, C, PA, C_NEXT, S_NEXT + !rst, 50);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_int_eq(rst ? c->s[CLIENT].after_peer_rst : c->s[CLIENT].after_peer_fin,
                         BASE + 1010 * MS);
        ck_assert_int_eq(rst ? c->s[CLIENT].after_peer_fin : c->s[CLIENT].after_peer_rst, 0);
        ck_assert_int_eq(rst ? c->s[SERVER].rst_peerlast : c->s[SERVER].fin_peerlast,
                         BASE + 30 * MS);
        ck_assert_int_eq(c->s[CLIENT].last_data_ts, BASE + 1010 * MS);
        ck_assert_uint_eq(c->s[CLIENT].bytes, 150);
        ck_assert_str_eq(hist(c), rst ? "ShADadr" : "ShADadf");
        ck_assert_str_eq(zeek_state_name(c->zstate), rst ? "RSTR" : "S3");
}
END_TEST

/* Effect 20: the handshake ACK completes the handshake even when the
 * client's 'A' is already recorded (here by an ACK captured before the
 * SYN-ACK, as -i any can reorder them). */
START_TEST(one_step_excludes_missing_handshake_ack)
{
        seg(0, C, TH_SYN, CISN, 0, 0);
        seg(5, C, TH_ACK, CISN + 1, SISN + 1, 0);
        seg(10, S, SA, SISN, CISN + 1, 0);
        seg(20, C, TH_ACK, CISN + 1, SISN + 1, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_str_eq(hist(c), "SAh");
        ck_assert_int_eq(c->est_ts, BASE + 20 * MS);
        ck_assert_str_eq(handshake_name(c->handshake), "complete");
        ck_assert_int_eq(c->rtt_ns, 20 * MS);
        ck_assert_uint_eq(c->s[CLIENT].state, ST_ESTABLISHED);
        ck_assert_uint_eq(c->s[SERVER].state, ST_ESTABLISHED);
}
END_TEST

/* Effect 22: an ACK of bytes never seen is a content gap of the peer. */
START_TEST(one_step_excludes_content_gap)
{
        open_and_exchange();
        seg(70, C, TH_ACK, C_NEXT, S_NEXT + 100, 0);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_uint_eq(c->s[SERVER].gaps, 1);
        ck_assert_uint_eq(c->s[CLIENT].gaps, 0);
        ck_assert_str_eq(hist(c), "ShADadg");
        ck_assert_uint_eq(c->s[SERVER].ack_seq, S_NEXT + 100);
        ck_assert_uint_eq(c->s[SERVER].bytes, 300);
}
END_TEST

/* =================== the close linger =================== */

/* A half-closed connection (the client's FIN, acknowledged; the server
 * still established) is not over: the close linger does not expire it. */
START_TEST(half_close_not_expired_at_linger)
{
        open_and_exchange();
        seg(70, C, FA, C_NEXT, S_NEXT, 0);
        seg(80, S, TH_ACK, S_NEXT, C_NEXT + 1, 0);
        tcpsm_expire(&sm, BASE + 6 * SEC);
        ck_assert_uint_eq(nrecs, 0);
        ck_assert_uint_eq(tcpsm_open_count(&sm), 1);
        ck_assert_uint_eq(flush(), 1);

        const struct conn *c = &recs[0];
        ck_assert_int_eq(c->reason, CLOSE_REASON_EOF);
        ck_assert_str_eq(zeek_state_name(c->zstate), "S2");
        ck_assert_uint_eq(c->s[CLIENT].state, ST_FIN_WAIT);
        ck_assert_uint_eq(c->s[SERVER].state, ST_ESTABLISHED);
}
END_TEST

/* After FINs from both sides the connection leaves once the linger (5 s
 * in the fixture) has passed since its last packet, as a FIN close. */
START_TEST(both_fins_expire_after_linger)
{
        open_and_exchange();
        seg(70, C, FA, C_NEXT, S_NEXT, 0);
        seg(80, S, FA, S_NEXT, C_NEXT + 1, 0);
        seg(90, C, TH_ACK, C_NEXT + 1, S_NEXT + 1, 0);
        tcpsm_expire(&sm, BASE + 5 * SEC);              /* 4.91 s after the last */
        ck_assert_uint_eq(nrecs, 0);
        tcpsm_expire(&sm, BASE + 6 * SEC);
        ck_assert_uint_eq(nrecs, 1);
        ck_assert_uint_eq(tcpsm_open_count(&sm), 0);

        const struct conn *c = &recs[0];
        ck_assert_int_eq(c->reason, CLOSE_REASON_FIN);
        ck_assert_str_eq(zeek_state_name(c->zstate), "SF");
}
END_TEST

/* After a RST the same, as a reset. */
START_TEST(rst_expires_after_linger)
{
        open_and_exchange();
        seg(70, S, RA, S_NEXT, C_NEXT, 0);
        tcpsm_expire(&sm, BASE + 5 * SEC);
        ck_assert_uint_eq(nrecs, 0);
        tcpsm_expire(&sm, BASE + 6 * SEC);
        ck_assert_uint_eq(nrecs, 1);
        ck_assert_uint_eq(tcpsm_open_count(&sm), 0);

        const struct conn *c = &recs[0];
        ck_assert_int_eq(c->reason, CLOSE_REASON_RST);
        ck_assert_str_eq(zeek_state_name(c->zstate), "RSTR");
}
END_TEST

static Suite *tcpsm_suite(void)
{
        Suite *s = suite_create("tcpsm");
        TCase *tc;

        tc = tcase_create("normal_close");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, client_fin_first_is_sf);
        tcase_add_test(tc, peer_last_payload_at_close_kept_when_peer_sends_more);
        tcase_add_test(tc, peer_last_payload_at_close_without_race);
        tcase_add_test(tc, seq_wraps_counted_in_extension);
        tcase_add_test(tc, server_fin_first_is_sf);
        tcase_add_test(tc, simultaneous_close_is_sf);
        tcase_add_loop_test(tc, rst_after_fin_keeps_sf, 0, 2);
        suite_add_tcase(s, tc);

        tc = tcase_create("handshake");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, refused_is_rej);
        tcase_add_test(tc, unanswered_syn_retransmitted_is_s0);
        tcase_add_test(tc, synack_never_acked_is_no_ack);
        tcase_add_test(tc, syn_then_client_rst_is_rstos0);
        tcase_add_test(tc, syn_retransmission_same_isn_is_same_connection);
        suite_add_tcase(s, tc);

        tc = tcase_create("reset");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, server_abort_after_request_is_rstr);
        tcase_add_test(tc, client_reset_is_rsto);
        tcase_add_test(tc, keepalive_race_is_rstr_closed_by_server_fin);
        tcase_add_test(tc, rst_in_window_is_reset);
        tcase_add_test(tc, rst_out_of_window_recorded_first_seq_kept);
        suite_add_tcase(s, tc);

        tc = tcase_create("boundaries");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, port_reuse_new_isn_after_close);
        tcase_add_test(tc, new_isn_while_half_open_is_new_connection);
        tcase_add_test(tc, packet_after_linger_after_rst_is_new_connection);
        tcase_add_test(tc, midstream_client_first_not_flipped);
        tcase_add_test(tc, midstream_server_first_flipped);
        suite_add_tcase(s, tc);

        tc = tcase_create("sequence_space");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, sequence_wrap_counts_bytes);
        tcase_add_test(tc, isn_all_ones_one_direction_counts_bytes);
        tcase_add_test(tc, retransmitted_data_counted_once);
        tcase_add_test(tc, keepalive_probe_one_byte_counted_not_data);
        tcase_add_test(tc, keepalive_probe_zero_byte_counted_not_data);
        tcase_add_test(tc, syn_fin_rst_only_capture_bytes);
        suite_add_tcase(s, tc);

        tc = tcase_create("duplicates");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, capture_duplicate_not_counted);
        tcase_add_test(tc, same_hash_later_than_window_is_counted);
        tcase_add_test(tc, history_empty_is_dash_and_names);
        tcase_add_test(tc, long_connection_times_survive_rescale);
        tcase_add_test(tc, history_packing_keeps_24_letters);
        tcase_add_test(tc, ipv6_endpoints_in_extension);
        suite_add_tcase(s, tc);

        tc = tcase_create("one_step");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, one_step_plain_segments);
        tcase_add_test(tc, one_step_new_request_after_response);
        tcase_add_test(tc, fin_crossing_a_request_is_idle_since_the_response);
        tcase_add_test(tc, one_step_excludes_syn);
        tcase_add_test(tc, one_step_excludes_synack_new_isn);
        tcase_add_test(tc, one_step_excludes_ack_to_silent_peer);
        tcase_add_test(tc, one_step_excludes_first_data_letter);
        tcase_add_test(tc, one_step_excludes_first_ack_letter);
        tcase_add_test(tc, one_step_excludes_zero_window);
        tcase_add_test(tc, one_step_excludes_segment_after_both_fins);
        tcase_add_test(tc, one_step_excludes_fin);
        tcase_add_loop_test(tc, one_step_excludes_rst, 0, 2);
        tcase_add_test(tc, one_step_excludes_segment_without_ack_flag);
        tcase_add_test(tc, one_step_excludes_ack_wrap);
        tcase_add_test(tc, one_step_excludes_out_of_order_data);
        tcase_add_test(tc, one_step_excludes_hole_fill);
        tcase_add_test(tc, one_step_excludes_seq_wrap);
        tcase_add_test(tc, one_step_excludes_data_after_own_rst);
        tcase_add_test(tc, one_step_excludes_retransmission);
        tcase_add_loop_test(tc, one_step_excludes_keepalive, 0, 2);
        tcase_add_loop_test(tc, one_step_excludes_data_after_peer_close, 0, 2);
        tcase_add_test(tc, one_step_excludes_missing_handshake_ack);
        tcase_add_test(tc, one_step_excludes_content_gap);
        suite_add_tcase(s, tc);

        tc = tcase_create("linger");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, half_close_not_expired_at_linger);
        tcase_add_test(tc, both_fins_expire_after_linger);
        tcase_add_test(tc, rst_expires_after_linger);
        suite_add_tcase(s, tc);

        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(tcpsm_suite());
        int failed;

        srunner_set_fork_status(sr, CK_FORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
