/* analysis.c - one run of the pipeline: decode each packet, hand it to
 * the state machine, and when a connection finishes run the detectors,
 * add it to the summary and turn it into an output record (spooled into
 * first-packet order for text; written at once, in the order connections
 * end, for JSON and JSON Lines).
 * At the end, the report around the records.  It owns the connection
 * table, the summary and the spool; it does not open inputs or parse
 * options.
 *
 * With cfg.threads = 2 the reading thread only reads and decodes, and a
 * worker thread does everything from the connection table on (state
 * machine, detectors, summary, records): decoded segments go to it in
 * batches, in capture order, so the output is the same as with one
 * thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#  include <immintrin.h>
#endif

#include "analysis.h"
#include "decode.h"
#include "detect.h"
#include "report.h"
#include "spool.h"
#include "tcpsm.h"

struct batch {                  /* decoded segments on their way to the worker */
        size_t n;
        struct segment s[RS_WORKER_BATCH];
};

struct worker {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t more;            /* a full batch queued, or stop */
        pthread_cond_t room;            /* a batch came back empty */
        struct batch *all[RS_WORKER_BATCHES];
        struct batch *queue[RS_WORKER_BATCHES]; /* full, oldest at head */
        size_t head, queued;
        struct batch *idle[RS_WORKER_BATCHES];  /* empty */
        size_t nidle;
        struct batch *cur;              /* being filled by the reading thread */
        int stop;
        /* A waiting thread is woken when half the batches are there for it:
         * a wake-up costs more than a batch (futex calls, a virtual CPU
         * going idle and back). */
        int reader_waits, worker_waits;
};

struct analysis {
        struct rs_config cfg;
        struct worker *w;               /* NULL: one thread */
        FILE *out;
        /* the reading thread's, on cache lines of their own (written per
         * packet while the worker writes its own per segment) */
        char pad0[64];
        int64_t now;                    /* packet clock: latest packet time, ns */
        int64_t first;                  /* earliest packet time, ns (0 = none yet) */
        int seen;                       /* a packet was seen */
        uint64_t skipped_shard;         /* TCP packets of other shards */
        char pad1[64];
        /* the worker's (the reading thread's with one thread, or once the
         * worker has stopped) */
        struct tcpsm sm;
        struct summary sum;
        struct spool *spool;
        int64_t sm_now;                 /* time of the segment being applied, ns */
        int64_t swept;                  /* last expiry sweep */
        int any;                        /* a TCP segment was applied */
        int err;                        /* an ERR_* below */
        int err_no;                     /*   and the errno with it */
        uint64_t json_records;          /* JSON: records written so far */
        char row[RS_JSON_RECORD_MAX];   /* a text row */
        char *obuf;                     /* JSON, JSON Lines: records are made here and */
        size_t oused;                   /*   written RS_WRITE_BUFFER bytes at a time */
};

/* "SYN/FIN/RST only" is judged on what was seen so far: records are made
 * as connections finish. */
static int flags_only(const struct analysis *a)
{
        if (a->cfg.flags_only_hint >= 0)
                return a->cfg.flags_only_hint;
        return a->sm.st.segments > 0 && a->sm.st.flagless == 0;
}

_Static_assert(RS_WRITE_BUFFER > RS_JSON_RECORD_MAX + 2, "a record fits the records buffer");

enum { ERR_NONE, ERR_WRITE, ERR_SPOOL, ERR_RECORD };

/* Remember the first error (with errno as it is now). */
static void fail(struct analysis *a, int kind)
{
        if (!a->err) {
                a->err = kind;
                a->err_no = errno;
        }
}

/* Write out the records made so far: straight to the file descriptor
 * (after what stdio holds), not copied once more through stdio's buffer. */
static void out_flush(struct analysis *a)
{
        const char *p = a->obuf;
        size_t n = a->oused;
        int fd = fileno(a->out);

        a->oused = 0;
        if (!n)
                return;
        if (fd < 0) {                   /* a stream without a descriptor */
                if (fwrite(p, 1, n, a->out) != n)
                        fail(a, ERR_WRITE);
                return;
        }
        if (fflush(a->out) != 0) {
                fail(a, ERR_WRITE);
                return;
        }
        while (n) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        fail(a, ERR_WRITE);
                        return;
                }
                p += w;
                n -= (size_t)w;
        }
}

/* Where the next record goes: room for RS_JSON_RECORD_MAX + 2 bytes. */
static char *out_room(struct analysis *a)
{
        if (RS_WRITE_BUFFER - a->oused < RS_JSON_RECORD_MAX + 2)
                out_flush(a);
        return a->obuf + a->oused;
}

/* One finished connection, from the detectors to its record. */
static void finish_conn(struct analysis *a, const struct conn *c, int64_t capture_end,
                        int fonly)
{
        struct det_opts d = { .min_idle_s = a->cfg.min_idle, .flags_only = fonly,
                              .capture_end = capture_end };
        struct det_result dr;
        size_t n;
        char *p;

        detect_conn(c, &d, &dr);
        summary_add(&a->sum, c, &dr);
        if (a->cfg.on_conn)
                a->cfg.on_conn(a->cfg.on_conn_ctx, c, &dr);
        switch (a->cfg.format) {
        case FMT_JSONL:         /* the record, then each finding on its own line */
                for (int i = 0; i <= dr.n; i++) {
                        p = out_room(a);
                        n = i == 0 ? report_json_conn(c, &dr, d.flags_only, 1, p, RS_JSON_RECORD_MAX - 1)
                                   : report_json_finding(c, &dr.f[i - 1], p, RS_JSON_RECORD_MAX - 1);
                        if (!n) {
                                fail(a, ERR_RECORD);
                                break;
                        }
                        p[n++] = '\n';
                        a->oused += n;
                }
                if (a->cfg.flush_each) {
                        out_flush(a);
                        if (fflush(a->out) != 0)
                                fail(a, ERR_WRITE);
                }
                break;
        case FMT_JSON:          /* streamed into the document's connections array */
                if (!a->json_records++)
                        report_json_open(a->out);       /* (nothing is buffered yet) */
                p = out_room(a);
                if (a->json_records > 1) {
                        memcpy(p, ",\n", 2);
                        p += 2;
                        a->oused += 2;
                }
                if (!(n = report_json_conn(c, &dr, d.flags_only, 0, p, RS_JSON_RECORD_MAX)))
                        fail(a, ERR_RECORD);
                a->oused += n;
                if (a->cfg.flush_each)
                        out_flush(a);
                break;
        case FMT_TEXT:
                n = report_text_row(c, a->cfg.verbose, d.flags_only, a->row, sizeof a->row);
                if (spool_add(a->spool, c->id, a->row, n) < 0)
                        fail(a, ERR_SPOOL);
                break;
        }
}

/* One decoded segment, from the table on. */
static void apply(struct analysis *a, const struct segment *seg)
{
        a->sm_now = seg->ts;
        /* the packet clock drives expiry, at most once a second */
        if (!a->any || seg->ts - a->swept >= 1000000000) {
                conn_table_expire(a->sm.table, seg->ts);
                a->swept = seg->ts;
        }
        a->any = 1;
        tcpsm_on_segment(&a->sm, seg);
}

/* ---- the worker thread ---- */

static void *worker_main(void *arg)
{
        struct analysis *a = arg;
        struct worker *w = a->w;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                struct batch *b;

                while (!w->queued && !w->stop) {
                        w->worker_waits = 1;
                        pthread_cond_wait(&w->more, &w->lock);
                }
                w->worker_waits = 0;
                if (!w->queued)
                        break;
                b = w->queue[w->head];
                w->head = (w->head + 1) % RS_WORKER_BATCHES;
                w->queued--;
                pthread_mutex_unlock(&w->lock);
                for (size_t i = 0; i < b->n; i++) {
                        if (i + RS_PREFETCH_AHEAD < b->n)
                                conn_table_prefetch(a->sm.table, &b->s[i + RS_PREFETCH_AHEAD], 0);
                        if (i + RS_PREFETCH_AHEAD / 2 < b->n)
                                conn_table_prefetch(a->sm.table, &b->s[i + RS_PREFETCH_AHEAD / 2], 1);
                        apply(a, &b->s[i]);
                }
                b->n = 0;
                pthread_mutex_lock(&w->lock);
                w->idle[w->nidle++] = b;
                if (w->reader_waits && w->nidle >= RS_WORKER_BATCHES / 2)
                        pthread_cond_signal(&w->room);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

/* Copy a decoded segment into the batch being filled without reading the
 * batch's cache lines first.  The worker read them last, so a plain store
 * would have to fetch each line back from its core (measured: the reading
 * thread's time doubled on full-10M); a streaming store writes around the
 * cache, and the worker reads the batch in order, which the hardware
 * prefetches.  Ordered before the hand-over by stream_fence(). */
_Static_assert(sizeof(struct segment) % 8 == 0, "a segment is whole 8-byte words");

static void seg_stream(struct segment *dst, const struct segment *src)
{
#if defined(__x86_64__)
        long long *d = (long long *)(void *)dst;
        long long w[sizeof *src / 8];

        memcpy(w, src, sizeof w);
        for (size_t k = 0; k < sizeof w / sizeof w[0]; k++)
                _mm_stream_si64(d + k, w[k]);
#else
        *dst = *src;
#endif
}

static void stream_fence(void)
{
#if defined(__x86_64__)
        _mm_sfence();
#endif
}

/* Queue the batch being filled; take an empty one unless stopping. */
static void worker_submit(struct worker *w, int last)
{
        stream_fence();
        pthread_mutex_lock(&w->lock);
        if (w->cur->n) {
                w->queue[(w->head + w->queued) % RS_WORKER_BATCHES] = w->cur;
                w->queued++;
                w->cur = NULL;
                if (w->worker_waits && w->queued >= RS_WORKER_BATCHES / 2)
                        pthread_cond_signal(&w->more);
        }
        if (last) {
                w->stop = 1;
                pthread_cond_signal(&w->more);
        } else if (!w->cur) {
                while (!w->nidle) {
                        w->reader_waits = 1;
                        pthread_cond_wait(&w->room, &w->lock);
                }
                w->reader_waits = 0;
                w->cur = w->idle[--w->nidle];
        }
        pthread_mutex_unlock(&w->lock);
}

static void worker_free(struct worker *w)
{
        for (size_t i = 0; i < RS_WORKER_BATCHES; i++)
                free(w->all[i]);
        free(w);
}

/* Start the worker; NULL (one thread, nothing lost) when that fails. */
static struct worker *worker_start(struct analysis *a)
{
        struct worker *w = calloc(1, sizeof *w);

        if (!w)
                return NULL;
        for (size_t i = 0; i < RS_WORKER_BATCHES; i++)
                if (!(w->all[i] = w->idle[w->nidle++] = calloc(1, sizeof *w->all[i]))) {
                        worker_free(w);
                        return NULL;
                }
        w->cur = w->idle[--w->nidle];
        if (pthread_mutex_init(&w->lock, NULL)) {
                worker_free(w);
                return NULL;
        }
        if (pthread_cond_init(&w->more, NULL) || pthread_cond_init(&w->room, NULL) ||
            (a->w = w, pthread_create(&w->thread, NULL, worker_main, a))) {
                a->w = NULL;
                worker_free(w);         /* (a failed cond_init leaks nothing on Linux) */
                return NULL;
        }
        return w;
}

/* Hand the last batch over and wait until the worker has done it all. */
static void worker_finish(struct analysis *a)
{
        struct worker *w = a->w;

        if (!w)
                return;
        worker_submit(w, 1);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->more);
        pthread_cond_destroy(&w->room);
        pthread_mutex_destroy(&w->lock);
        worker_free(w);
        a->w = NULL;
}

/* The state machine's callback: each connection leaving the table. */
static void on_finish(struct conn *c, void *ctx)
{
        struct analysis *a = ctx;

        finish_conn(a, c, a->sm_now, flags_only(a));
}

struct analysis *analysis_create(const struct rs_config *cfg, FILE *out)
{
        struct analysis *a = calloc(1, sizeof *a);
        struct summary_opts so = { .min_count = cfg->cluster_min, .min_share = RS_CLUSTER_MIN_SHARE,
                                   .min_center = RS_CLUSTER_MIN_CENTER_S,
                                   .max_servers = RS_CLUSTER_MAX_SERVERS };

        if (!a)
                return NULL;
        a->cfg = *cfg;
        a->out = out;
        if (cfg->format != FMT_TEXT && !(a->obuf = malloc(RS_WRITE_BUFFER))) {
                free(a);
                return NULL;
        }
        a->spool = spool_create(cfg->spool_mem);
        summary_init(&a->sum, &so);
        if (tcpsm_init(&a->sm, &cfg->lim, on_finish, a) < 0 || !a->spool) {
                analysis_destroy(a);
                return NULL;
        }
        if (cfg->threads > 1)
                worker_start(a);
        return a;
}

void analysis_packet(struct analysis *a, struct input *in, int64_t ts, const uint8_t *data,
                     uint32_t caplen, uint32_t len)
{
        struct segment one, *seg = &one;     /* (decoded here, in L1) */
        enum dec_result dr = decode_frame(in->linktype, data, caplen, len, seg);

        in->errors[dr]++;
        if (!a->seen || ts > a->now)
                a->now = ts;
        if (!a->seen || ts < a->first)
                a->first = ts;
        a->seen = 1;
        if (dr != DEC_TCP)
                return;
        in->tcp_packets++;
        /* here rather than in the table: the reading thread has time to spare */
        seg->tuple_hash = (uint32_t)conn_tuple_hash(&seg->src, &seg->dst);
        if (a->cfg.shard_n && seg->tuple_hash % a->cfg.shard_n != a->cfg.shard_i) {
                a->skipped_shard++;
                return;
        }
        /* A record stamped earlier than one before it (a clock stepped
         * back, several capture queues) is analysed at the latest time
         * seen: connection times never run backwards, so no duration is
         * negative.  capture.c counts such records per input. */
        seg->ts = a->now;
        if (!a->w) {
                apply(a, seg);
                return;
        }
        seg_stream(&a->w->cur->s[a->w->cur->n], seg);
        if (++a->w->cur->n == RS_WORKER_BATCH)
                worker_submit(a->w, 0);
}

void analysis_tick(struct analysis *a, int64_t now)
{
        if (now - a->swept >= 1000000000 && now > a->now) {
                conn_table_expire(a->sm.table, now);
                a->swept = now;
        }
}

size_t analysis_open_conns(const struct analysis *a)
{
        return conn_table_count(a->sm.table);
}

void analysis_interval(const struct analysis *a, FILE *out, int64_t now)
{
        const struct summary *s = &a->sum;
        time_t sec = (time_t)(now / 1000000000);
        struct tm tm;
        char tb[32] = "";

        if (localtime_r(&sec, &tm))
                strftime(tb, sizeof tb, "%H:%M:%S", &tm);
        fprintf(out, "[%s] %" PRIu64 " connections ended, %zu open; closes: client FIN %" PRIu64
                ", client RST %" PRIu64 ", server FIN %" PRIu64 ", server RST %" PRIu64 "; findings:",
                tb, s->nconns, conn_table_count(a->sm.table), s->closes[0], s->closes[1], s->closes[2],
                s->closes[3]);
        for (int k = 0; k < DET_NKINDS; k++)
                fprintf(out, " %s %" PRIu64, detect_kind_name((enum finding_kind)k), s->kind_conns[k]);
        fputc('\n', out);
        fflush(out);
}

int analysis_end(struct analysis *a, const struct capture *cap)
{
        struct report rep = { .cap = cap, .st = &a->sm.st, .sum = &a->sum,
                              .first = a->seen ? a->first : 0, .last = a->seen ? a->now : 0,
                              .verbose = a->cfg.verbose, .shard_i = a->cfg.shard_i,
                              .shard_n = a->cfg.shard_n, .skipped_shard = a->skipped_shard };

        worker_finish(a);
        a->sm_now = a->now;
        conn_table_flush(a->sm.table);
        if (a->obuf)
                out_flush(a);
        rep.flags_only = flags_only(a);
        rep.evicted = conn_table_evicted(a->sm.table);
        if (a->err) {
                if (a->err == ERR_SPOOL)
                        fprintf(stderr, "rstscope: cannot sort the records through a temporary file "
                                "in %s: %s\n", spool_dir(), strerror(a->err_no));
                else if (a->err == ERR_RECORD)
                        fprintf(stderr, "rstscope: a record is longer than %d bytes\n",
                                RS_JSON_RECORD_MAX);
                else
                        fprintf(stderr, "rstscope: cannot write output: %s\n", strerror(a->err_no));
                return -1;
        }
        if (summary_finish(&a->sum) < 0 || a->sum.oom)
                fprintf(stderr, "rstscope: out of memory while summarising\n");
        switch (a->cfg.format) {
        case FMT_JSONL:
                if (report_jsonl_end(a->out, &rep) < 0)
                        goto fail;
                break;
        case FMT_JSON:
                if (!a->json_records)
                        report_json_open(a->out);
                if (report_json_close(a->out, &rep) < 0)
                        goto fail;
                break;
        case FMT_TEXT:
                report_text_head(a->out, &rep);
                if (spool_write(a->spool, a->out, "\n") < 0)
                        goto fail;
                if (a->sum.nconns)
                        fputc('\n', a->out);
                break;
        }
        return 0;
fail:
        fprintf(stderr, "rstscope: cannot write output: %s\n", strerror(errno));
        return -1;
}

const struct summary *analysis_summary(const struct analysis *a)
{
        return &a->sum;
}

int analysis_incomplete(const struct analysis *a)
{
        return a->sm.st.nomem > 0 || a->sum.oom;
}

void analysis_destroy(struct analysis *a)
{
        if (!a)
                return;
        worker_finish(a);
        tcpsm_free(&a->sm);
        spool_destroy(a->spool);
        summary_free(&a->sum);
        free(a->obuf);
        free(a);
}
