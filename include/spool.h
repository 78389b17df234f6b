/* spool.h - holds output records (text rows, JSON objects) that arrive in
 * finishing order and hands them back sorted by key (first-packet order).
 * Records stay in memory up to a limit, then go to sorted runs in one
 * temporary file that are merged at the end, at most 256 at a time (in
 * several passes when there are more), so memory does not grow with the
 * capture.  Owns its buffers and the temporary file. */
#ifndef RS_SPOOL_H
#define RS_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct spool;

struct spool *spool_create(size_t mem_limit);
/* Copy a record; -1 on error (out of memory, temporary file). */
int spool_add(struct spool *sp, uint64_t key, const char *data, size_t len);
/* Write every record in key order, separated by sep (not after the last);
 * returns the number of records or -1. */
long long spool_write(struct spool *sp, FILE *out, const char *sep);
/* The directory of the temporary file: $TMPDIR, else /tmp. */
const char *spool_dir(void);
/* Sorted runs written to the temporary file (before merging). */
size_t spool_runs(const struct spool *sp);
void spool_destroy(struct spool *sp);

#endif /* RS_SPOOL_H */
