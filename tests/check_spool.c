/* check_spool.c - unit tests of the record spool (src/spool.c): records
 * come back in key order whether they stayed in memory or went through
 * sorted runs in the temporary file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

/* Add n records with keys in a scrambled order, write them, and check the
 * output is every record once, in key order. */
static void roundtrip(size_t n, size_t mem, size_t want_runs_min)
{
        struct spool *sp = spool_create(mem);
        FILE *out = tmpfile();
        char line[64], *buf = NULL;
        size_t cap = 0, k = 0;
        ssize_t len;

        ck_assert_ptr_nonnull(sp);
        ck_assert_ptr_nonnull(out);
        for (size_t i = 0; i < n; i++) {
                size_t key = (i * 7919) % n + 1;        /* a permutation of 1..n */
                int l = snprintf(line, sizeof line, "record %zu %.*s", key, (int)(key % 40),
                                 "........................................");
                ck_assert_int_eq(spool_add(sp, key, line, (size_t)l), 0);
        }
        ck_assert_int_eq(spool_write(sp, out, "\n"), (long long)n);
        ck_assert_uint_ge(spool_runs(sp), want_runs_min);
        fputc('\n', out);
        rewind(out);
        while ((len = getline(&buf, &cap, out)) > 0) {
                size_t key;
                ck_assert_int_eq(sscanf(buf, "record %zu", &key), 1);
                ck_assert_uint_eq(key, ++k);
                ck_assert_uint_eq((size_t)len, strlen("record ") + (size_t)snprintf(line, sizeof line,
                                  "%zu", key) + 1 + key % 40 + 1);
        }
        ck_assert_uint_eq(k, n);
        free(buf);
        fclose(out);
        spool_destroy(sp);
}

START_TEST(in_memory_sorted)
{
        roundtrip(1000, 1 << 20, 0);
}
END_TEST

START_TEST(spilled_runs_merged)
{
        roundtrip(20000, 4096, 50);     /* ~100 records a run */
}
END_TEST

/* More runs than are merged at once: merged in passes, still in order. */
START_TEST(many_runs_merged_in_passes)
{
        roundtrip(5000, 64, 3000);      /* one or two records a run: >3000 runs */
}
END_TEST

START_TEST(record_larger_than_read_buffer)
{
        struct spool *sp = spool_create(1000);
        FILE *out = tmpfile();
        size_t big = 200000;
        char *rec = malloc(big), *got = malloc(big + 16);

        memset(rec, 'x', big);
        rec[0] = 'B';
        ck_assert_int_eq(spool_add(sp, 2, rec, big), 0);
        ck_assert_int_eq(spool_add(sp, 1, "A", 1), 0);
        ck_assert_int_eq(spool_write(sp, out, "|"), 2);
        rewind(out);
        ck_assert_uint_eq(fread(got, 1, big + 16, out), big + 2);
        ck_assert_int_eq(got[0], 'A');
        ck_assert_int_eq(got[1], '|');
        ck_assert_int_eq(got[2], 'B');
        ck_assert_int_eq(got[big + 1], 'x');
        free(rec);
        free(got);
        fclose(out);
        spool_destroy(sp);
}
END_TEST

START_TEST(empty_writes_nothing)
{
        struct spool *sp = spool_create(100);
        FILE *out = tmpfile();

        ck_assert_int_eq(spool_write(sp, out, "\n"), 0);
        ck_assert_int_eq(ftell(out), 0);
        fclose(out);
        spool_destroy(sp);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("spool");
        TCase *tc = tcase_create("order");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, in_memory_sorted);
        tcase_add_test(tc, spilled_runs_merged);
        tcase_add_test(tc, many_runs_merged_in_passes);
        tcase_add_test(tc, record_larger_than_read_buffer);
        tcase_add_test(tc, empty_writes_nothing);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
