/* spool.c - an external merge sort for output records.  Records are kept
 * in an arena; when it passes the memory limit they are sorted by key and
 * appended to a temporary file as one run.  At the end the runs (and what
 * is still in memory) are merged through a small heap, each run read with
 * its own buffer.  Records of one capture mostly arrive nearly sorted, so
 * runs are few; nothing here depends on that. */
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "spool.h"

#define SPOOL_WRITE_BUFFER (1 << 20)   /* stdio buffer of the run file */

struct rec {
        uint64_t key;
        size_t off, len;                /* in the arena */
};

struct run {
        long long start, end;           /* byte range in the temporary file */
};

struct spool {
        char *arena;
        size_t used, cap, limit;
        struct rec *recs;
        size_t nrecs, rcap;
        FILE *tmp;                      /* runs, or NULL */
        char *tmpbuf;                   /* its stdio buffer */
        struct run *runs;
        size_t nruns, runcap;
        size_t spills;                  /* runs made from memory */
        long long tmpsize;
};

struct spool *spool_create(size_t mem_limit)
{
        struct spool *sp = calloc(1, sizeof *sp);

        if (sp)
                sp->limit = mem_limit;
        return sp;
}

static int by_key(const void *a, const void *b)
{
        const struct rec *x = a, *y = b;
        return (x->key > y->key) - (x->key < y->key);
}

/* Append a run-file record (header + data) to the temporary file. */
static int put_run_rec(struct spool *sp, uint64_t key, const char *data, size_t len)
{
        uint64_t hdr[2] = { key, len };

        if (fwrite(hdr, sizeof hdr, 1, sp->tmp) != 1 || fwrite(data, 1, len, sp->tmp) != len)
                return -1;
        sp->tmpsize += (long long)(sizeof hdr + len);
        return 0;
}

/* An unnamed temporary file in $TMPDIR (tmpfile(3) always uses /tmp),
 * written through a large buffer: runs are megabytes, written once. */
const char *spool_dir(void)
{
        const char *dir = getenv("TMPDIR");

        return dir && *dir ? dir : "/tmp";
}

static FILE *temp_file(char **buf)
{
        char path[4096];
        FILE *f;
        int fd;

        if ((size_t)snprintf(path, sizeof path, "%s/rstscope-XXXXXX", spool_dir()) >= sizeof path ||
            (fd = mkstemp(path)) < 0)
                return NULL;
        unlink(path);
        if (!(f = fdopen(fd, "w+b"))) {
                close(fd);
                return NULL;
        }
        /* glibc ignores the size unless it is given the buffer */
        if ((*buf = malloc(SPOOL_WRITE_BUFFER)) != NULL)
                setvbuf(f, *buf, _IOFBF, SPOOL_WRITE_BUFFER);
        __fsetlocking(f, FSETLOCKING_BYCALLER);        /* one thread at a time */
        return f;
}

/* Sort what is in memory and append it to the temporary file as a run. */
static int spill(struct spool *sp)
{
        struct run r;

        if (!sp->nrecs)
                return 0;
        if (!sp->tmp && !(sp->tmp = temp_file(&sp->tmpbuf)))
                return -1;
        qsort(sp->recs, sp->nrecs, sizeof *sp->recs, by_key);
        r.start = sp->tmpsize;
        for (size_t i = 0; i < sp->nrecs; i++)
                if (put_run_rec(sp, sp->recs[i].key, sp->arena + sp->recs[i].off, sp->recs[i].len) < 0)
                        return -1;
        r.end = sp->tmpsize;
        if (sp->nruns == sp->runcap) {
                size_t nc = sp->runcap ? sp->runcap * 2 : 8;
                struct run *p = realloc(sp->runs, nc * sizeof *p);
                if (!p)
                        return -1;
                sp->runs = p;
                sp->runcap = nc;
        }
        sp->runs[sp->nruns++] = r;
        sp->spills++;
        sp->nrecs = 0;
        sp->used = 0;
        return 0;
}

int spool_add(struct spool *sp, uint64_t key, const char *data, size_t len)
{
        if (sp->used + len > sp->limit && spill(sp) < 0)
                return -1;
        if (sp->used + len > sp->cap) {
                size_t nc = sp->cap ? sp->cap : 65536;
                char *p;
                while (nc < sp->used + len)
                        nc *= 2;
                if (!(p = realloc(sp->arena, nc)))
                        return -1;
                sp->arena = p;
                sp->cap = nc;
        }
        if (sp->nrecs == sp->rcap) {
                size_t nc = sp->rcap ? sp->rcap * 2 : 1024;
                struct rec *p = realloc(sp->recs, nc * sizeof *p);
                if (!p)
                        return -1;
                sp->recs = p;
                sp->rcap = nc;
        }
        memcpy(sp->arena + sp->used, data, len);
        sp->recs[sp->nrecs].key = key;
        sp->recs[sp->nrecs].off = sp->used;
        sp->recs[sp->nrecs].len = len;
        sp->nrecs++;
        sp->used += len;
        return 0;
}

size_t spool_runs(const struct spool *sp)
{
        return sp->spills;
}

/* ---- merging ---- */

/* A merge reads up to RS_SPOOL_FANIN runs, sharing RS_SPOOL_MERGE_MEM of read
 * buffers (config.h), each between these sizes: */
#define RUNBUF_MIN 8192                 /* (so at most RS_SPOOL_FANIN x 8 KiB) */
#define RUNBUF_MAX (256 << 10)

struct reader {                         /* one run, read through a buffer */
        long long pos, end;
        char *buf;
        size_t bufsize, have, at;
        uint64_t key;
        const char *data;               /* current record: in buf, or in big */
        size_t len;
        char *big;                      /* records longer than buf (malloc'd) */
        size_t bigcap;
        int done;
};

static int reader_fill(int fd, struct reader *r, size_t need)
{
        if (r->have - r->at >= need)
                return 0;
        memmove(r->buf, r->buf + r->at, r->have - r->at);
        r->have -= r->at;
        r->at = 0;
        while (r->have < need && r->pos < r->end) {
                size_t want = r->bufsize - r->have;
                ssize_t n;
                if ((long long)want > r->end - r->pos)
                        want = (size_t)(r->end - r->pos);
                n = pread(fd, r->buf + r->have, want, (off_t)r->pos);
                if (n <= 0)
                        return -1;
                r->have += (size_t)n;
                r->pos += n;
        }
        return r->have >= need ? 0 : -1;
}

/* Next record of a run (r->data, r->len), valid until the next call;
 * records longer than the buffer are read straight from the file. */
static int reader_next(int fd, struct reader *r)
{
        uint64_t hdr[2];

        if (r->have - r->at == 0 && r->pos >= r->end) {
                r->done = 1;
                return 0;
        }
        if (reader_fill(fd, r, sizeof hdr) < 0)
                return -1;
        memcpy(hdr, r->buf + r->at, sizeof hdr);
        r->at += sizeof hdr;
        r->key = hdr[0];
        r->len = hdr[1];
        if (r->len <= r->bufsize) {
                if (reader_fill(fd, r, r->len) < 0)
                        return -1;
                r->data = r->buf + r->at;
                r->at += r->len;
        } else {                        /* bigger than the buffer: take what is there, read the rest */
                size_t got = r->have - r->at;
                if (r->len > r->bigcap) {
                        char *p = realloc(r->big, r->len);
                        if (!p)
                                return -1;
                        r->big = p;
                        r->bigcap = r->len;
                }
                memcpy(r->big, r->buf + r->at, got);
                r->at = r->have;
                if (pread(fd, r->big + got, r->len - got, (off_t)r->pos) != (ssize_t)(r->len - got))
                        return -1;
                r->pos += (long long)(r->len - got);
                r->data = r->big;
        }
        return 0;
}

static void heap_down(struct reader **h, size_t n, size_t i)
{
        for (;;) {
                size_t l = 2 * i + 1, m = i;
                if (l < n && h[l]->key < h[m]->key)
                        m = l;
                if (l + 1 < n && h[l + 1]->key < h[m]->key)
                        m = l + 1;
                if (m == i)
                        return;
                struct reader *t = h[i];
                h[i] = h[m];
                h[m] = t;
                i = m;
        }
}

/* Merge runs [from, from + n) in key order: to out with sep between
 * records (then *count is their number), or, when out is NULL, into one
 * new run at the end of the temporary file. */
static int merge(struct spool *sp, size_t from, size_t n, FILE *out, const char *sep,
                 long long *count)
{
        struct reader *rd = calloc(n, sizeof *rd), **heap = calloc(n, sizeof *heap);
        size_t nh = 0, seplen = sep ? strlen(sep) : 0, bufsize = RS_SPOOL_MERGE_MEM / (n ? n : 1);
        int fd = fileno(sp->tmp), rc = -1;
        struct run nr = { sp->tmpsize, 0 };

        if (!rd || !heap)
                goto out;
        bufsize = bufsize < RUNBUF_MIN ? RUNBUF_MIN : bufsize > RUNBUF_MAX ? RUNBUF_MAX : bufsize;
        for (size_t i = 0; i < n; i++) {
                rd[i].bufsize = bufsize;
                rd[i].pos = sp->runs[from + i].start;
                rd[i].end = sp->runs[from + i].end;
                if (!(rd[i].buf = malloc(bufsize)) || reader_next(fd, &rd[i]) < 0)
                        goto out;
                if (!rd[i].done)
                        heap[nh++] = &rd[i];
        }
        for (size_t i = nh; i-- > 0;)
                heap_down(heap, nh, i);
        while (nh) {
                struct reader *r = heap[0];
                if (out) {
                        if ((*count)++)
                                fwrite(sep, 1, seplen, out);
                        fwrite(r->data, 1, r->len, out);
                } else if (put_run_rec(sp, r->key, r->data, r->len) < 0) {
                        goto out;
                }
                if (reader_next(fd, r) < 0)
                        goto out;
                if (r->done)
                        heap[0] = heap[--nh];
                heap_down(heap, nh, 0);
        }
        if (!out) {                     /* the n runs become one, last */
                if (fflush(sp->tmp) != 0)
                        goto out;
                nr.end = sp->tmpsize;
                memmove(sp->runs + from, sp->runs + from + n, (sp->nruns - from - n) * sizeof *sp->runs);
                sp->nruns -= n;
                sp->runs[sp->nruns++] = nr;
        }
        rc = 0;
out:
        for (size_t i = 0; rd && i < n; i++) {
                free(rd[i].buf);
                free(rd[i].big);
        }
        free(rd);
        free(heap);
        return rc;
}

long long spool_write(struct spool *sp, FILE *out, const char *sep)
{
        size_t seplen = strlen(sep);
        long long count = 0;

        if (!sp->nruns) {               /* all in memory: sort and write */
                if (sp->nrecs)
                        qsort(sp->recs, sp->nrecs, sizeof *sp->recs, by_key);
                for (size_t i = 0; i < sp->nrecs; i++) {
                        if (i)
                                fwrite(sep, 1, seplen, out);
                        fwrite(sp->arena + sp->recs[i].off, 1, sp->recs[i].len, out);
                }
                return ferror(out) ? -1 : (long long)sp->nrecs;
        }
        if (spill(sp) < 0 || fflush(sp->tmp) != 0)
                return -1;
        /* at most RS_SPOOL_FANIN runs are read at once (a buffer each), so
         * memory stays flat however many runs a long capture made; merge
         * passes first join only as many runs as it takes to get there */
        while (sp->nruns > RS_SPOOL_FANIN) {
                size_t k = sp->nruns - RS_SPOOL_FANIN + 1;
                if (merge(sp, 0, k < RS_SPOOL_FANIN ? k : RS_SPOOL_FANIN, NULL, NULL, NULL) < 0)
                        return -1;
        }
        if (merge(sp, 0, sp->nruns, out, sep, &count) < 0)
                return -1;
        return ferror(out) ? -1 : count;
}

void spool_destroy(struct spool *sp)
{
        if (!sp)
                return;
        if (sp->tmp)
                fclose(sp->tmp);
        free(sp->tmpbuf);
        free(sp->arena);
        free(sp->recs);
        free(sp->runs);
        free(sp);
}
