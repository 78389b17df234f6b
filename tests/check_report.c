/* check_report.c - unit tests of the report helpers (src/report_text.c):
 * addresses are written as inet_ntop(3) writes them, without stdio. */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
        Suite *s = suite_create("report");
        TCase *tc = tcase_create("addresses");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, ipv6_special_forms);
        tcase_add_test(tc, ipv6_random_like_libc);
        tcase_add_test(tc, ipv4_like_libc);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
