/* check_record.c - the name tables of the record's enums (and of the
 * finding kinds): every value has a name (record.c checks each table's
 * size at compile time; a hole would be NULL), names are distinct, and a
 * value out of range gets "?" or "unknown", never NULL. */
#include <string.h>

#include <check.h>

#include "detect.h"
#include "record.h"

static void all_named(const char *what, const char *(*name)(int), int n, const char *bad)
{
        for (int i = 0; i < n; i++) {
                const char *a = name(i);
                ck_assert_msg(a && *a && strcmp(a, bad), "%s %d has no name", what, i);
                for (int j = 0; j < i; j++)
                        ck_assert_msg(strcmp(a, name(j)), "%s %d and %d share the name %s", what, i, j, a);
        }
        ck_assert_str_eq(name(n), bad);
        ck_assert_str_eq(name(-1), bad);
}

static const char *st(int i) { return tcp_state_name((enum tcp_state)i); }
static const char *cr(int i) { return close_reason_name((enum close_reason)i); }
static const char *hs(int i) { return handshake_name((enum handshake)i); }
static const char *zs(int i) { return zeek_state_name((enum zeek_state)i); }
static const char *dk(int i) { return detect_kind_name((enum finding_kind)i); }

START_TEST(every_value_named)
{
        all_named("tcp_state", st, ST_N, "?");
        all_named("close_reason", cr, CLOSE_REASON_N, "?");
        all_named("handshake", hs, HS_N, "?");
        all_named("zeek_state", zs, ZS_N, "?");
        all_named("finding kind", dk, DET_NKINDS, "unknown");
        ck_assert_str_eq(zs(ZS_RSTOS0), "RSTOS0");
        ck_assert_str_eq(hs(HS_NO_ACK), "no_ack");
        ck_assert_str_eq(cr(CLOSE_REASON_EOF), "open_at_end");
}
END_TEST

START_TEST(close_kind_parts)
{
        ck_assert_int_eq(close_by(CLOSE_CLIENT_FIN), CLIENT);
        ck_assert_int_eq(close_how_of(CLOSE_CLIENT_FIN), HOW_FIN);
        ck_assert_int_eq(close_by(CLOSE_CLIENT_RST), CLIENT);
        ck_assert_int_eq(close_how_of(CLOSE_CLIENT_RST), HOW_RST);
        ck_assert_int_eq(close_by(CLOSE_SERVER_FIN), SERVER);
        ck_assert_int_eq(close_how_of(CLOSE_SERVER_FIN), HOW_FIN);
        ck_assert_int_eq(close_by(CLOSE_SERVER_RST), SERVER);
        ck_assert_int_eq(close_how_of(CLOSE_SERVER_RST), HOW_RST);
        ck_assert_int_eq(close_by(CLOSE_NONE), -1);
        ck_assert_int_eq(close_how_of(CLOSE_NONE), HOW_NONE);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("record");
        TCase *tc = tcase_create("names");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, every_value_named);
        tcase_add_test(tc, close_kind_parts);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
