/* check_conn.c - unit tests of the connection table: lookup from both
 * directions, address families, removal, expiry per timeout class, flush,
 * the max_conns cap, growth and ids.  Records are placed in a timeout
 * class with conn_touch_off(), as the state machine does.  The table lets
 * a closed-class record go as CLOSE_REASON_FIN; telling FIN from RST is
 * the state machine's (check_tcpsm). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "../src/conn_table.h"

#define SEC     1000000000LL
#define BASE    (1709294400LL * SEC)    /* 2024-03-01 12:00:00 UTC */

#define IDLE_S     100
#define HALFOPEN_S 10
#define LINGER_S   5

/* ---- what the finish callback saw ---- */

struct finished {
        uint64_t id;
        enum close_reason reason;
        struct endpoint cli, srv;
        uint8_t family;
        int64_t last;
};

static struct {
        struct finished *v;
        size_t n, cap;
} done;

static struct conn_table *tab;
static struct conn_limits lim;

static void on_finish(struct crec *c, void *ctx)
{
        ck_assert_ptr_eq(ctx, &done);
        if (done.n == done.cap) {
                done.cap = done.cap ? done.cap * 2 : 64;
                done.v = realloc(done.v, done.cap * sizeof *done.v);
                ck_assert_ptr_nonnull(done.v);
        }
        struct endpoint cli, srv;

        crec_endpoint(tab, c, CLIENT, &cli);
        crec_endpoint(tab, c, SERVER, &srv);
        done.v[done.n++] = (struct finished){ c->id, (enum close_reason)c->reason, cli,
                                              srv, c->family, crec_ns(c, c->t[T_LAST]) };
}

static const struct finished *finished_id(uint64_t id)
{
        for (size_t i = 0; i < done.n; i++)
                if (done.v[i].id == id)
                        return &done.v[i];
        return NULL;
}

static void make_table(uint32_t max_conns)
{
        if (tab)
                conn_table_destroy(tab);
        lim = (struct conn_limits){ .idle_ns = IDLE_S * SEC, .halfopen_ns = HALFOPEN_S * SEC,
                                    .linger_ns = LINGER_S * SEC, .max_conns = max_conns };
        tab = conn_table_create(&lim, on_finish, &done);
        ck_assert_ptr_nonnull(tab);
}

static void setup(void)
{
        memset(&done, 0, sizeof done);
        tab = NULL;
        make_table(0);
}

static void teardown(void)
{
        conn_table_destroy(tab);
        tab = NULL;
        free(done.v);
        memset(&done, 0, sizeof done);
}

/* ---- segments ---- */

/* IPv4 a.b.c.d:sport -> e.f.g.h:dport at t seconds after BASE */
static struct segment seg4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, int64_t t)
{
        struct segment s;

        memset(&s, 0, sizeof s);
        s.family = 4;
        s.src.addr[0] = (uint8_t)(src >> 24);
        s.src.addr[1] = (uint8_t)(src >> 16);
        s.src.addr[2] = (uint8_t)(src >> 8);
        s.src.addr[3] = (uint8_t)src;
        s.dst.addr[0] = (uint8_t)(dst >> 24);
        s.dst.addr[1] = (uint8_t)(dst >> 16);
        s.dst.addr[2] = (uint8_t)(dst >> 8);
        s.dst.addr[3] = (uint8_t)dst;
        s.src.port = sport;
        s.dst.port = dport;
        s.ts = BASE + t;
        s.flags = TH_SYN;
        return s;
}

/* s with its tuple hash, as decode_frame fills it in */
static struct segment *hashed(struct segment *s)
{
        s->tuple_hash = (uint32_t)decode_tuple_hash(&s->src, &s->dst);
        return s;
}

static struct segment reversed(const struct segment *s)
{
        struct segment r = *s;

        r.src = s->dst;
        r.dst = s->src;
        return r;
}

#define CLI_IP 0xc0a80a17u              /* 192.168.10.23 */
#define SRV_IP 0xc0a80a50u              /* 192.168.10.80 */

/* connection number k: client port 40000 + k to the server's port 80 */
static struct segment segk(uint16_t k, int64_t t)
{
        return seg4(CLI_IP, (uint16_t)(40000 + k), SRV_IP, 80, t);
}

static struct crec *insert_at(uint16_t k, int64_t t)
{
        struct segment s = segk(k, t);
        struct crec *c = conn_table_insert(tab, hashed(&s));

        ck_assert_ptr_nonnull(c);
        return c;
}

/* Mark c active at t in timeout class cls (the state machine's choice). */
static void set_class(struct crec *c, enum conn_class cls, int64_t t)
{
        conn_touch_off(tab, c, crec_off(tab, c, BASE + t), cls);
}

static struct crec *find(const struct segment *s, int *dir)
{
        struct segment h = *s;

        *dir = -1;
        return conn_table_find(tab, hashed(&h), dir);
}

/* =================== lookup =================== */

START_TEST(insert_fills_record)
{
        struct segment s = segk(1, 2 * SEC);
        struct crec *c = conn_table_insert(tab, hashed(&s));
        struct endpoint e;

        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->id, 1);
        ck_assert_uint_eq(c->family, 4);
        crec_endpoint(tab, c, CLIENT, &e);
        ck_assert_mem_eq(&e, &s.src, sizeof s.src);
        crec_endpoint(tab, c, SERVER, &e);
        ck_assert_mem_eq(&e, &s.dst, sizeof s.dst);
        ck_assert_int_eq(c->first, BASE + 2 * SEC);
        ck_assert_int_eq(crec_ns(c, c->t[T_LAST]), BASE + 2 * SEC);
        ck_assert_uint_eq(c->s[CLIENT].state, ST_CLOSED);
        ck_assert_uint_eq(c->s[SERVER].state, ST_CLOSED);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 0);
        ck_assert_uint_eq(c->hist_len, 0);
        ck_assert_uint_eq(conn_table_count(tab), 1);
        ck_assert_uint_eq(conn_table_peak(tab), 1);
}
END_TEST

START_TEST(find_from_both_directions)
{
        struct segment s = segk(1, 0), r = reversed(&s), other = segk(2, 0);
        struct crec *c = insert_at(1, 0);
        int dir;

        ck_assert_ptr_eq(find(&s, &dir), c);
        ck_assert_int_eq(dir, CLIENT);
        ck_assert_ptr_eq(find(&r, &dir), c);
        ck_assert_int_eq(dir, SERVER);
        ck_assert_ptr_null(find(&other, &dir));
}
END_TEST

/* Same address and port on one side, different on the other: distinct
 * 5-tuples; and a segment from client port to client port is not it. */
START_TEST(find_needs_full_tuple)
{
        struct segment a = seg4(CLI_IP, 40000, SRV_IP, 80, 0);
        struct segment b = seg4(CLI_IP, 40000, SRV_IP, 81, 0);
        struct segment d = seg4(CLI_IP, 40000, SRV_IP + 1, 80, 0);
        struct segment e = seg4(SRV_IP, 40000, CLI_IP, 80, 0);  /* ports crossed */
        struct crec *ca = conn_table_insert(tab, hashed(&a));
        int dir;

        ck_assert_ptr_nonnull(ca);
        ck_assert_ptr_null(find(&b, &dir));
        ck_assert_ptr_null(find(&d, &dir));
        ck_assert_ptr_null(find(&e, &dir));
        struct crec *cb = conn_table_insert(tab, hashed(&b));
        ck_assert_ptr_ne(ca, cb);
        ck_assert_ptr_eq(find(&a, &dir), ca);
        ck_assert_ptr_eq(find(&b, &dir), cb);
}
END_TEST

/* 10.0.0.1 as IPv4 is stored as 0a000001 followed by 12 zero bytes, the
 * same bytes as the IPv6 address a00:1:: - the family keeps them apart. */
START_TEST(ipv4_and_ipv6_same_bytes_do_not_collide)
{
        struct segment v4 = seg4(0x0a000001, 5000, 0x0a000002, 80, 0);
        struct segment v6 = v4;
        struct crec *c4, *c6;
        int dir;

        v6.family = 6;
        c4 = conn_table_insert(tab, hashed(&v4));
        ck_assert_ptr_nonnull(c4);
        ck_assert_ptr_null(find(&v6, &dir));
        c6 = conn_table_insert(tab, hashed(&v6));
        ck_assert_ptr_nonnull(c6);
        ck_assert_ptr_ne(c4, c6);
        ck_assert_ptr_eq(find(&v4, &dir), c4);
        ck_assert_int_eq(dir, CLIENT);
        ck_assert_ptr_eq(find(&v6, &dir), c6);
        ck_assert_int_eq(dir, CLIENT);
        struct segment r6 = reversed(&v6);
        ck_assert_ptr_eq(find(&r6, &dir), c6);
        ck_assert_int_eq(dir, SERVER);
        ck_assert_uint_eq(c4->family, 4);
        ck_assert_uint_eq(c6->family, 6);
        ck_assert_uint_eq(conn_table_count(tab), 2);

        conn_table_remove(tab, c4, CLOSE_REASON_FIN);
        ck_assert_ptr_null(find(&v4, &dir));
        ck_assert_ptr_nonnull(find(&v6, &dir));
}
END_TEST

START_TEST(swap_sides_flips_direction)
{
        struct segment s = segk(3, 0), r = reversed(&s);
        struct endpoint e;
        struct crec *c = insert_at(3, 0);
        int dir;

        c->s[CLIENT].pkts = 7;
        conn_swap_sides(tab, c);
        crec_endpoint(tab, c, CLIENT, &e);
        ck_assert_mem_eq(&e, &s.dst, sizeof s.dst);
        crec_endpoint(tab, c, SERVER, &e);
        ck_assert_mem_eq(&e, &s.src, sizeof s.src);
        ck_assert_uint_eq(c->s[SERVER].pkts, 7);
        ck_assert_uint_eq(c->s[CLIENT].pkts, 0);
        ck_assert_ptr_eq(find(&s, &dir), c);
        ck_assert_int_eq(dir, SERVER);
        ck_assert_ptr_eq(find(&r, &dir), c);
        ck_assert_int_eq(dir, CLIENT);
}
END_TEST

/* =================== removal =================== */

START_TEST(remove_calls_finish_with_reason)
{
        struct segment s = segk(1, 0);
        struct crec *a = insert_at(1, 0), *b = insert_at(2, 0);
        uint64_t ida = a->id;
        int dir;

        conn_table_remove(tab, a, CLOSE_REASON_RST);
        ck_assert_uint_eq(done.n, 1);
        ck_assert_uint_eq(done.v[0].id, ida);
        ck_assert_int_eq(done.v[0].reason, CLOSE_REASON_RST);
        ck_assert_uint_eq(done.v[0].cli.port, 40001);
        ck_assert_ptr_null(find(&s, &dir));
        ck_assert_uint_eq(conn_table_count(tab), 1);

        conn_table_remove(tab, b, CLOSE_REASON_REUSE);
        ck_assert_uint_eq(done.n, 2);
        ck_assert_int_eq(done.v[1].reason, CLOSE_REASON_REUSE);
        ck_assert_uint_eq(conn_table_count(tab), 0);
        ck_assert_uint_eq(conn_table_peak(tab), 2);

        conn_table_flush(tab);          /* nothing left to report */
        ck_assert_uint_eq(done.n, 2);
}
END_TEST

/* A removed tuple can be inserted again: a fresh zeroed record, new id. */
START_TEST(reinsert_after_remove_is_fresh)
{
        struct crec *a = insert_at(1, 0);
        struct segment s = segk(1, SEC);
        int dir;

        a->s[CLIENT].pkts = 9;
        a->hist_len = 3;
        conn_table_remove(tab, a, CLOSE_REASON_FIN);
        struct crec *b = conn_table_insert(tab, hashed(&s));
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(b->id, 2);
        ck_assert_uint_eq(b->s[CLIENT].pkts, 0);
        ck_assert_uint_eq(b->hist_len, 0);
        ck_assert_ptr_eq(find(&s, &dir), b);
}
END_TEST

/* =================== expiry =================== */

START_TEST(expire_by_timeout_class)
{
        struct crec *half = insert_at(1, 0), *est = insert_at(2, 0);
        struct crec *fin = insert_at(3, 0), *rst = insert_at(4, 0);
        uint64_t idh = half->id, ide = est->id, idf = fin->id, idr = rst->id;

        set_class(half, CC_HALFOPEN, 0);
        set_class(est, CC_ESTABLISHED, 0);
        set_class(fin, CC_CLOSED, 0);
        set_class(rst, CC_CLOSED, 0);

        conn_table_expire(tab, BASE + LINGER_S * SEC);          /* not past yet */
        ck_assert_uint_eq(done.n, 0);

        conn_table_expire(tab, BASE + LINGER_S * SEC + 1);
        ck_assert_uint_eq(done.n, 2);
        ck_assert_ptr_nonnull(finished_id(idf));
        ck_assert_int_eq(finished_id(idf)->reason, CLOSE_REASON_FIN);
        ck_assert_ptr_nonnull(finished_id(idr));
        ck_assert_int_eq(finished_id(idr)->reason, CLOSE_REASON_FIN);

        conn_table_expire(tab, BASE + HALFOPEN_S * SEC + 1);
        ck_assert_uint_eq(done.n, 3);
        ck_assert_ptr_nonnull(finished_id(idh));
        ck_assert_int_eq(finished_id(idh)->reason, CLOSE_REASON_IDLE);

        conn_table_expire(tab, BASE + IDLE_S * SEC);
        ck_assert_uint_eq(done.n, 3);
        conn_table_expire(tab, BASE + IDLE_S * SEC + 1);
        ck_assert_uint_eq(done.n, 4);
        ck_assert_ptr_nonnull(finished_id(ide));
        ck_assert_int_eq(finished_id(ide)->reason, CLOSE_REASON_IDLE);
        ck_assert_uint_eq(conn_table_count(tab), 0);
}
END_TEST

/* Activity moves a record to the back of its list: only the silent one goes. */
START_TEST(touch_postpones_expiry)
{
        struct crec *a = insert_at(1, 0), *b = insert_at(2, 0);
        uint64_t ida = a->id, idb = b->id;

        set_class(a, CC_ESTABLISHED, 0);
        set_class(b, CC_ESTABLISHED, 0);
        set_class(a, CC_ESTABLISHED, 50 * SEC);
        ck_assert_int_eq(crec_ns(a, a->t[T_LAST]), BASE + 50 * SEC);
        conn_table_expire(tab, BASE + (IDLE_S + 10) * SEC);
        ck_assert_uint_eq(done.n, 1);
        ck_assert_uint_eq(done.v[0].id, idb);
        ck_assert_uint_eq(conn_table_count(tab), 1);
        conn_table_expire(tab, BASE + (IDLE_S + 51) * SEC);
        ck_assert_uint_eq(done.n, 2);
        ck_assert_uint_eq(done.v[1].id, ida);
}
END_TEST

/* A half-open record that completes its handshake gets the long timeout;
 * one that closes gets the linger. */
START_TEST(class_follows_state_changes)
{
        struct crec *a = insert_at(1, 0), *b = insert_at(2, 0);
        uint64_t ida = a->id, idb = b->id;

        set_class(a, CC_HALFOPEN, 0);
        set_class(b, CC_HALFOPEN, 0);
        set_class(a, CC_ESTABLISHED, 1 * SEC);
        conn_table_expire(tab, BASE + (HALFOPEN_S + 2) * SEC);
        ck_assert_uint_eq(done.n, 1);
        ck_assert_uint_eq(done.v[0].id, idb);
        ck_assert_int_eq(done.v[0].reason, CLOSE_REASON_IDLE);

        set_class(a, CC_CLOSED, (HALFOPEN_S + 3) * SEC);
        conn_table_expire(tab, BASE + (HALFOPEN_S + 3 + LINGER_S + 1) * SEC);
        ck_assert_uint_eq(done.n, 2);
        ck_assert_uint_eq(done.v[1].id, ida);
        ck_assert_int_eq(done.v[1].reason, CLOSE_REASON_FIN);
}
END_TEST

/* One side RESET is closed; one FIN alone is not (only FINs from both). */
START_TEST(expire_takes_the_closed_class_after_linger)
{
        struct crec *a = insert_at(1, 0), *b = insert_at(2, 0);
        uint64_t idb = b->id;

        set_class(a, CC_ESTABLISHED, 0);
        set_class(b, CC_CLOSED, 0);
        conn_table_expire(tab, BASE + (LINGER_S + 1) * SEC);
        ck_assert_uint_eq(done.n, 1);
        ck_assert_uint_eq(done.v[0].id, idb);
        ck_assert_int_eq(done.v[0].reason, CLOSE_REASON_FIN);
        ck_assert_uint_eq(conn_table_count(tab), 1);
}
END_TEST

/* =================== flush =================== */

START_TEST(flush_reports_everything_left)
{
        struct crec *half = insert_at(1, 0), *est = insert_at(2, 0);
        struct crec *fin = insert_at(3, 0), *rst = insert_at(4, 0), *fresh = insert_at(5, 0);
        uint64_t idh = half->id, ide = est->id, idf = fin->id, idr = rst->id, idn = fresh->id;

        set_class(half, CC_HALFOPEN, 0);
        set_class(est, CC_ESTABLISHED, 0);
        set_class(fin, CC_CLOSED, 0);
        set_class(rst, CC_CLOSED, 0);
        conn_table_flush(tab);
        ck_assert_uint_eq(done.n, 5);
        ck_assert_uint_eq(conn_table_count(tab), 0);
        ck_assert_int_eq(finished_id(idh)->reason, CLOSE_REASON_EOF);
        ck_assert_int_eq(finished_id(ide)->reason, CLOSE_REASON_EOF);
        ck_assert_int_eq(finished_id(idn)->reason, CLOSE_REASON_EOF);
        ck_assert_int_eq(finished_id(idf)->reason, CLOSE_REASON_FIN);
        ck_assert_int_eq(finished_id(idr)->reason, CLOSE_REASON_FIN);
}
END_TEST

/* =================== cap =================== */

START_TEST(cap_evicts_oldest_by_activity)
{
        struct crec *a, *b, *c, *d, *e;
        uint64_t ida, idb, idc, idd, ide;
        struct segment s;
        int dir;

        make_table(3);
        a = insert_at(1, 1 * SEC);
        b = insert_at(2, 2 * SEC);
        c = insert_at(3, 3 * SEC);
        ida = a->id;
        idb = b->id;
        idc = c->id;
        set_class(a, CC_HALFOPEN, 10 * SEC);        /* a active again: b is oldest */
        set_class(c, CC_ESTABLISHED, 3 * SEC);  /* c on another list */

        d = insert_at(4, 11 * SEC);
        idd = d->id;
        ck_assert_uint_eq(done.n, 1);
        ck_assert_uint_eq(done.v[0].id, idb);
        ck_assert_int_eq(done.v[0].reason, CLOSE_REASON_EVICT);
        ck_assert_uint_eq(conn_table_count(tab), 3);
        ck_assert_uint_eq(conn_table_evicted(tab), 1);

        e = insert_at(5, 12 * SEC);     /* next oldest is c (3 s), on the established list */
        ide = e->id;
        ck_assert_uint_eq(done.n, 2);
        ck_assert_uint_eq(done.v[1].id, idc);
        ck_assert_int_eq(done.v[1].reason, CLOSE_REASON_EVICT);
        ck_assert_uint_eq(conn_table_evicted(tab), 2);

        s = segk(1, 0);
        ck_assert_ptr_nonnull(find(&s, &dir));
        ck_assert_uint_eq(find(&s, &dir)->id, ida);
        s = segk(4, 0);
        ck_assert_uint_eq(find(&s, &dir)->id, idd);
        s = segk(5, 0);
        ck_assert_uint_eq(find(&s, &dir)->id, ide);
        s = segk(2, 0);
        ck_assert_ptr_null(find(&s, &dir));
        s = segk(3, 0);
        ck_assert_ptr_null(find(&s, &dir));
        ck_assert_uint_eq(conn_table_peak(tab), 3);
}
END_TEST

/* =================== growth and ids =================== */

#define MANY 100000

static struct segment many_seg(uint32_t i)
{
        /* distinct client address and port per i, one server */
        return seg4(0x0a000000u + (i >> 4), (uint16_t)(1024 + (i & 15)), SRV_IP, 443, i);
}

START_TEST(grows_past_many_buckets)
{
        int dir;

        for (uint32_t i = 0; i < MANY; i++) {
                struct segment s = many_seg(i);
                struct crec *c = conn_table_insert(tab, hashed(&s));
                ck_assert_ptr_nonnull(c);
                ck_assert_uint_eq(c->id, (uint64_t)i + 1);
        }
        ck_assert_uint_eq(conn_table_count(tab), MANY);
        ck_assert_uint_eq(conn_table_peak(tab), MANY);
        for (uint32_t i = 0; i < MANY; i++) {
                struct segment s = many_seg(i), r = reversed(&s);
                struct crec *c = find(&s, &dir);
                ck_assert_msg(c != NULL, "tuple %u not found", i);
                ck_assert_uint_eq(c->id, (uint64_t)i + 1);
                ck_assert_int_eq(dir, CLIENT);
                ck_assert_ptr_eq(find(&r, &dir), c);
                ck_assert_int_eq(dir, SERVER);
        }
        /* remove every other one; the rest stay reachable through the chains */
        for (uint32_t i = 0; i < MANY; i += 2) {
                struct segment s = many_seg(i);
                conn_table_remove(tab, find(&s, &dir), CLOSE_REASON_IDLE);
        }
        ck_assert_uint_eq(done.n, MANY / 2);
        ck_assert_uint_eq(conn_table_count(tab), MANY / 2);
        for (uint32_t i = 0; i < MANY; i++) {
                struct segment s = many_seg(i);
                struct crec *c = find(&s, &dir);
                if (i & 1) {
                        ck_assert_msg(c != NULL, "tuple %u lost", i);
                        ck_assert_uint_eq(c->id, (uint64_t)i + 1);
                } else {
                        ck_assert_msg(c == NULL, "removed tuple %u found", i);
                }
        }
        conn_table_flush(tab);
        ck_assert_uint_eq(done.n, MANY);
        ck_assert_uint_eq(conn_table_count(tab), 0);
}
END_TEST

START_TEST(ids_increase_in_insertion_order)
{
        struct crec *a = insert_at(9, 0), *b = insert_at(3, 0), *c = insert_at(7, 0);

        ck_assert_uint_eq(a->id, 1);
        ck_assert_uint_eq(b->id, 2);
        ck_assert_uint_eq(c->id, 3);
        conn_table_remove(tab, b, CLOSE_REASON_FIN);
        conn_table_remove(tab, c, CLOSE_REASON_FIN);
        ck_assert_uint_eq(insert_at(3, 0)->id, 4);      /* ids are never reused */
        ck_assert_uint_eq(insert_at(11, 0)->id, 5);
}
END_TEST

static Suite *conn_suite(void)
{
        Suite *s = suite_create("conn");
        TCase *tc;

        tc = tcase_create("lookup");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, insert_fills_record);
        tcase_add_test(tc, find_from_both_directions);
        tcase_add_test(tc, find_needs_full_tuple);
        tcase_add_test(tc, ipv4_and_ipv6_same_bytes_do_not_collide);
        tcase_add_test(tc, swap_sides_flips_direction);
        suite_add_tcase(s, tc);

        tc = tcase_create("removal");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, remove_calls_finish_with_reason);
        tcase_add_test(tc, reinsert_after_remove_is_fresh);
        suite_add_tcase(s, tc);

        tc = tcase_create("expiry");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, expire_by_timeout_class);
        tcase_add_test(tc, touch_postpones_expiry);
        tcase_add_test(tc, class_follows_state_changes);
        tcase_add_test(tc, expire_takes_the_closed_class_after_linger);
        tcase_add_test(tc, flush_reports_everything_left);
        suite_add_tcase(s, tc);

        tc = tcase_create("capacity");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, cap_evicts_oldest_by_activity);
        tcase_add_test(tc, grows_past_many_buckets);
        tcase_add_test(tc, ids_increase_in_insertion_order);
        suite_add_tcase(s, tc);

        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(conn_suite());
        int failed;

        srunner_set_fork_status(sr, CK_FORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
