/* check_report.c - unit tests of the report helpers: addresses are
 * written as inet_ntop(3) writes them, without stdio (src/report_text.c),
 * and a JSON record either fits the buffer it is given, whole, or is not
 * written past its end (src/report_json.c). */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "report.h"

/* report_ip and inet_ntop agree on a; returns report_ip's text. */
static const char *same_as_libc(int family, const uint8_t *a)
{
        static char mine[64];
        char libc[64];
        struct endpoint e;

        memset(&e, 0, sizeof e);
        memcpy(e.addr, a, family == 6 ? 16 : 4);
        report_ip(family, &e, mine, sizeof mine);
        ck_assert_ptr_nonnull(inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, libc, sizeof libc));
        ck_assert_str_eq(mine, libc);
        return mine;
}

static void parse6(const char *s, uint8_t *a)
{
        ck_assert_int_eq(inet_pton(AF_INET6, s, a), 1);
}

START_TEST(ipv6_special_forms)
{
        static const char *const cases[][2] = {
                { "::", "::" },
                { "::1", "::1" },
                { "::2", "::2" },
                { "::ffff:10.1.2.3", "::ffff:10.1.2.3" },       /* IPv4-mapped */
                { "::ffff:0:0", "::ffff:0.0.0.0" },
                { "::1:0:0:0", "::1:0:0:0" },
                { "fe80::1", "fe80::1" },
                { "2001:db8::", "2001:db8::" },
                { "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },      /* first of equal runs */
                { "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },  /* one zero: not cut */
                { "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },           /* the longer run */
                { "fd00:abcd:ef01:2345:6789:abcd:ef01:2345", "fd00:abcd:ef01:2345:6789:abcd:ef01:2345" },
                { "::a:b:c:d:e:f", "::a:b:c:d:e:f" },
                { "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
        };
        uint8_t a[16];

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                parse6(cases[i][0], a);
                ck_assert_str_eq(same_as_libc(6, a), cases[i][1]);
        }
}
END_TEST

START_TEST(ipv6_random_like_libc)
{
        uint8_t a[16];
        uint64_t x = 0x9e3779b97f4a7c15ULL;

        for (int n = 0; n < 200000; n++) {
                for (int g = 0; g < 8; g++) {   /* groups often zero, small or 0xffff */
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        unsigned v = (x >> 8) & 0xffff;
                        switch (x & 7) {
                        case 0: case 1: case 2: v = 0; break;
                        case 3: v &= 0xf; break;
                        case 4: v = 0xffff; break;
                        default: break;
                        }
                        a[2 * g] = (uint8_t)(v >> 8);
                        a[2 * g + 1] = (uint8_t)v;
                }
                same_as_libc(6, a);
        }
}
END_TEST

START_TEST(ipv4_like_libc)
{
        static const uint8_t cases[][4] = {
                { 0, 0, 0, 0 }, { 10, 1, 2, 3 }, { 255, 255, 255, 255 }, { 100, 99, 10, 9 },
                { 192, 168, 0, 100 },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                same_as_libc(4, cases[i]);
}
END_TEST

/* A long record: IPv6 addresses of the longest form, every close mark,
 * eight SYN times, a full history, large numbers, times in the exponent
 * and the slow real form, and the most findings, each kind's longest. */
static void long_record(struct conn *c, struct det_result *d)
{
        static const enum finding_kind kinds[DET_MAX] = {
                DET_DATA_AFTER_PEER_RST, DET_DATA_AFTER_PEER_FIN, DET_CONNECT_TIMEOUT,
                DET_REQUEST_RESET, DET_IDLE_CLOSE, DET_REFUSED,
        };

        memset(c, 0, sizeof *c);
        memset(d, 0, sizeof *d);
        c->id = INT64_MAX;                      /* (jansson reads integers as int64) */
        c->family = 6;
        memset(c->cli.addr, 0xff, 16);
        memset(c->srv.addr, 0xfe, 16);
        c->cli.port = c->srv.port = 65535;
        c->first = 1709294400123456789LL;
        c->last = c->end = INT64_MAX - 1;
        c->syn_ts = c->first;
        c->synack_ts = c->first + 7000;         /* 7 us after: exponent form nearby */
        c->est_ts = INT64_MAX / 2;
        c->syn_count = 255;
        for (int i = 0; i < RS_MAX_SYN_TIMES; i++)
                c->syn_dt[i] = UINT32_MAX - (uint32_t)i;
        c->dups = UINT32_MAX;
        c->reason = CLOSE_REASON_REUSE;
        memset(c->history, 'd', RS_HISTORY_MAX);
        c->history[RS_HISTORY_MAX] = '+';               /* cut */
        c->history[RS_HISTORY_MAX + 1] = '\0';
        /* the verdicts with the longest texts */
        c->handshake = HS_UNANSWERED;
        c->zstate = ZS_RSTOS0;
        c->close = CLOSE_SERVER_RST;
        c->close_at = INT64_MAX - 9;
        c->rtt_ns = INT64_MAX / 4;
        for (int k = 0; k < 2; k++) {
                struct side *s = &c->s[k];
                s->state = ST_SYN_RECEIVED;
                s->mss = 65535;
                s->pkts = s->rexmits = s->keepalives = s->zwins = UINT32_MAX;
                s->start_seq = 1;
                s->last_seq = s->ack_seq = UINT32_MAX;
                s->seq_wraps = s->ack_wraps = 65535;    /* (saturated in the table) */
                s->bytes = INT64_MAX;            /* (jansson reads int64) */
                s->last_data_ts = INT64_MAX - 3;
                s->fin = (struct pkt_mark){ INT64_MAX - 5, UINT32_MAX, UINT32_MAX, 0x10 };
                s->rst = (struct pkt_mark){ c->first + 3, UINT32_MAX - 1, UINT32_MAX - 1, 0 };
        }
        d->n = DET_MAX;
        for (int i = 0; i < DET_MAX; i++) {
                struct finding *f = &d->f[i];
                f->kind = (uint8_t)kinds[i];
                f->by = SERVER;
                f->inferred = 1;
                f->how = HOW_RST;
                f->at = INT64_MAX - 7;
                f->a = -1e300;                          /* the slow real form */
                f->b = 1.2345678901234567e15;
                f->sched = SCHED_LINEAR;
                f->answered = 1;
        }
        d->syn_to_close = -123456789.123456;
        d->idle_before_close = 9.87e-5;
}

/* Every buffer size from 0 up: the record is whole or not written (0);
 * written past the buffer's end, AddressSanitizer stops the test. */
START_TEST(json_record_fits_or_not)
{
        struct conn c;
        struct det_result d;
        char *ref = malloc(RS_JSON_RECORD_MAX);
        size_t n, len, fits_from = 0;
        json_error_t jerr;
        json_t *j;

        ck_assert_ptr_nonnull(ref);
        long_record(&c, &d);
        n = report_json_conn(&c, &d, 1, ref, RS_JSON_RECORD_MAX);
        ck_assert_uint_gt(n, 1500);
        ck_assert_uint_lt(n, RS_JSON_RECORD_MAX / 2);   /* the limit has room to spare */
        j = json_loadb(ref, n, 0, &jerr);
        ck_assert_msg(j != NULL, "not JSON: %s at %d", jerr.text, jerr.position);
        ck_assert_int_eq((int)json_array_size(json_object_get(j, "findings")), DET_MAX);
        json_decref(j);
        for (len = 0; len < n + 400; len++) {
                char *buf = malloc(len ? len : 1);
                size_t m = report_json_conn(&c, &d, 1, buf, len);
                ck_assert_ptr_nonnull(buf);
                if (m) {
                        ck_assert_uint_eq(m, n);
                        ck_assert(memcmp(buf, ref, n) == 0);
                        if (!fits_from)
                                fits_from = len;
                } else {
                        ck_assert_uint_eq(fits_from, 0);        /* once it fits, it keeps fitting */
                }
                free(buf);
        }
        ck_assert_uint_gt(fits_from, 0);
        for (int i = 0; i < d.n; i++) {
                n = report_json_finding(&c, &d.f[i], ref, RS_JSON_RECORD_MAX);
                ck_assert_uint_gt(n, 0);
                for (len = 0; len < n + 400; len++) {
                        char *buf = malloc(len ? len : 1);
                        size_t m = report_json_finding(&c, &d.f[i], buf, len);
                        ck_assert_ptr_nonnull(buf);
                        ck_assert(m == 0 || (m == n && memcmp(buf, ref, n) == 0));
                        free(buf);
                }
        }
        free(ref);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("report");
        TCase *tc = tcase_create("addresses");
        TCase *tj = tcase_create("json");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, ipv6_special_forms);
        tcase_add_test(tc, ipv6_random_like_libc);
        tcase_add_test(tc, ipv4_like_libc);
        suite_add_tcase(s, tc);
        tcase_add_test(tj, json_record_fits_or_not);
        suite_add_tcase(s, tj);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
