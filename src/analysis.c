/* analysis.c - one run of the pipeline: decode each packet, hand it to
 * the state machine, and when a connection finishes run the detectors,
 * add it to the summary and turn it into an output record (spooled into
 * first-packet order for text; written at once, in the order connections
 * end, for JSON and JSON Lines).
 * At the end, the report around the records.  It owns the connection
 * table, the summary and the spool; it does not open inputs or parse
 * options.
 *
 * With cfg.threads = 2 the reading thread reads and decodes, and a worker
 * thread does the connection table, state machine, detectors and summary:
 * decoded segments go to it in batches, in capture order.  The finished
 * connections come back to the reading thread in batches, in the order
 * they ended, and it writes their records (it has time to spare while the
 * worker is busy).  So the output is the same as with one thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
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

/* A finished connection on its way back to be written; the worker has run
 * the detectors and the summary on it. */
struct rec {
        struct conn c;
        struct det_result d;            /* (findings past d.n are not copied) */
};

struct rbatch {
        size_t n;
        struct rec r[RS_RECORD_BATCH];
};

/* Batches going one way between the two threads, under the worker's lock:
 * the producer fills cur, queues it and takes an idle one; the consumer
 * takes the oldest queued one and gives it back idle when done. */
struct lane {
        void *all[RS_WORKER_BATCHES];
        void *queue[RS_WORKER_BATCHES]; /* full, oldest at head */
        size_t head, queued;
        void *idle[RS_WORKER_BATCHES];  /* empty */
        size_t nidle;
        void *cur;                      /* being filled by the producer */
};

static void lane_push(struct lane *l, void *b)
{
        l->queue[(l->head + l->queued) % RS_WORKER_BATCHES] = b;
        l->queued++;
}

static void *lane_pop(struct lane *l)
{
        void *b = l->queue[l->head];

        l->head = (l->head + 1) % RS_WORKER_BATCHES;
        l->queued--;
        return b;
}

/* The consumer gives a batch back empty; the producer takes one as cur. */
static void lane_give_back(struct lane *l, void *b)
{
        l->idle[l->nidle++] = b;
}

static void lane_take(struct lane *l)
{
        l->cur = l->idle[--l->nidle];
}

/* Allocate the lane's batches of size bytes (zeroed), cur taken. */
static int lane_init(struct lane *l, size_t size)
{
        for (size_t i = 0; i < RS_WORKER_BATCHES; i++) {
                if (!(l->all[i] = calloc(1, size)))
                        return -1;
                lane_give_back(l, l->all[i]);
        }
        lane_take(l);
        return 0;
}

struct worker {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t more;            /* for the worker: segments queued, a record
                                           batch came back, or stop */
        pthread_cond_t room;            /* for the reading thread: a segment batch came
                                           back, records queued, or the worker is done */
        struct lane seg;                /* struct batch: reading thread -> worker */
        struct lane rec;                /* struct rbatch: worker -> reading thread */
        int stop;                       /* no more segments will come */
        int done;                       /* the worker has queued its last records */
        /* A waiting thread is woken when half the batches are there for it
         * (or the other thread is about to wait too): a wake-up costs more
         * than a batch (futex calls, a virtual CPU going idle and back). */
        int reader_waits, worker_waits, worker_waits_rec;
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
        /* the output, also the reading thread's */
        struct spool *spool;
        int err;                        /* an ERR_* below */
        int err_no;                     /*   and the errno with it */
        uint64_t json_records;          /* JSON: records written so far */
        char *obuf;                     /* JSON, JSON Lines: records are made here and */
        size_t oused;                   /*   written RS_WRITE_BUFFER bytes at a time */
        char row[RS_JSON_RECORD_MAX];   /* a text row */
        char pad1[64];
        /* the worker's (the reading thread's with one thread, or once the
         * worker has stopped) */
        struct tcpsm sm;
        struct summary sum;
        int64_t sm_now;                 /* time of the segment being applied, ns */
        int64_t swept;                  /* last expiry sweep */
        int any;                        /* a TCP segment was applied */
};

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

/* The record of one finished connection, into the output. */
static void write_record(struct analysis *a, const struct conn *c, const struct det_result *dr)
{
        size_t n;
        char *p;

        switch (a->cfg.format) {
        case FMT_JSONL:         /* the record, then each finding on its own line */
                for (int i = 0; i <= dr->n; i++) {
                        p = out_room(a);
                        n = i == 0 ? report_json_conn(c, dr, 1, p, RS_JSON_RECORD_MAX - 1)
                                   : report_json_finding(c, &dr->f[i - 1], p, RS_JSON_RECORD_MAX - 1);
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
                if (!(n = report_json_conn(c, dr, 0, p, RS_JSON_RECORD_MAX)))
                        fail(a, ERR_RECORD);
                a->oused += n;
                if (a->cfg.flush_each)
                        out_flush(a);
                break;
        case FMT_TEXT:
                n = report_text_row(c, a->cfg.verbose, a->row, sizeof a->row);
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
                tcpsm_expire(&a->sm, seg->ts);
                a->swept = seg->ts;
        }
        a->any = 1;
        tcpsm_on_segment(&a->sm, seg);
}

/* ---- the worker thread ---- */

/* Copy n bytes (whole 8-byte words) into a batch without reading the
 * batch's cache lines first.  The other thread read them last, so plain
 * stores would have to fetch each line back from its core (measured: the
 * reading thread's time doubled on full-10M); streaming stores write
 * around the cache, and the other thread reads the batch in order, which
 * the hardware prefetches.  Ordered before the hand-over by
 * stream_fence(). */
static void stream_copy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
        long long *d = dst, w;

        for (size_t k = 0; k < n / 8; k++) {
                memcpy(&w, (const char *)src + k * 8, 8);
                _mm_stream_si64(d + k, w);
        }
#else
        memcpy(dst, src, n);
#endif
}

static void stream_fence(void)
{
#if defined(__x86_64__)
        _mm_sfence();
#endif
}

_Static_assert(sizeof(struct segment) % 8 == 0, "a segment is whole 8-byte words");
_Static_assert(sizeof(struct conn) % 8 == 0 && sizeof(struct finding) % 8 == 0 &&
               offsetof(struct det_result, n) % 8 == 0 && sizeof(struct det_result) % 8 == 0,
               "a record is whole 8-byte words");

/* (worker) Queue a finished connection for the reading thread to write. */
static void worker_record(struct worker *w, const struct conn *c, const struct det_result *d)
{
        struct rbatch *rb = w->rec.cur;
        struct rec *r = &rb->r[rb->n];
        const size_t tail = offsetof(struct det_result, n);

        stream_copy(&r->c, c, sizeof *c);
        stream_copy(r->d.f, d->f, (size_t)d->n * sizeof d->f[0]);
        stream_copy((char *)&r->d + tail, (const char *)d + tail, sizeof *d - tail);
        if (++rb->n < RS_RECORD_BATCH)
                return;
        stream_fence();
        pthread_mutex_lock(&w->lock);
        lane_push(&w->rec, rb);
        if (w->reader_waits && (w->rec.queued >= RS_WORKER_BATCHES / 2 || !w->rec.nidle))
                pthread_cond_signal(&w->room);
        while (!w->rec.nidle) {
                w->worker_waits_rec = 1;
                pthread_cond_wait(&w->more, &w->lock);
        }
        w->worker_waits_rec = 0;
        lane_take(&w->rec);
        pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg)
{
        struct analysis *a = arg;
        struct worker *w = a->w;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                struct batch *b;

                while (!w->seg.queued && !w->stop) {
                        w->worker_waits = 1;
                        pthread_cond_wait(&w->more, &w->lock);
                }
                w->worker_waits = 0;
                if (!w->seg.queued)
                        break;
                b = lane_pop(&w->seg);
                pthread_mutex_unlock(&w->lock);
                for (size_t i = 0; i < b->n; i++) {
                        if (i + RS_PREFETCH_AHEAD < b->n)
                                tcpsm_prefetch(&a->sm, &b->s[i + RS_PREFETCH_AHEAD], 0);
                        if (i + RS_PREFETCH_AHEAD / 2 < b->n)
                                tcpsm_prefetch(&a->sm, &b->s[i + RS_PREFETCH_AHEAD / 2], 1);
                        apply(a, &b->s[i]);
                }
                b->n = 0;
                pthread_mutex_lock(&w->lock);
                lane_give_back(&w->seg, b);
                if (w->reader_waits && w->seg.nidle >= RS_WORKER_BATCHES / 2)
                        pthread_cond_signal(&w->room);
        }
        /* the segments are all applied: the last records go back */
        if (((struct rbatch *)w->rec.cur)->n) {
                stream_fence();
                lane_push(&w->rec, w->rec.cur);
                w->rec.cur = NULL;
        }
        w->done = 1;
        pthread_cond_signal(&w->room);
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

/* (reading thread, lock held) Write the records the worker has queued. */
static void drain_records(struct analysis *a, struct worker *w)
{
        int any = 0;

        while (w->rec.queued) {
                struct rbatch *rb = lane_pop(&w->rec);
                pthread_mutex_unlock(&w->lock);
                for (size_t i = 0; i < rb->n; i++)
                        write_record(a, &rb->r[i].c, &rb->r[i].d);
                rb->n = 0;
                pthread_mutex_lock(&w->lock);
                lane_give_back(&w->rec, rb);
                any = 1;
        }
        if (any && w->worker_waits_rec)
                pthread_cond_signal(&w->more);
}

/* Queue the batch being filled and write the records that came back; then
 * take an empty batch, or when last, wait until the worker is done. */
static void worker_submit(struct analysis *a, int last)
{
        struct worker *w = a->w;

        stream_fence();
        pthread_mutex_lock(&w->lock);
        if (((struct batch *)w->seg.cur)->n) {
                lane_push(&w->seg, w->seg.cur);
                w->seg.cur = NULL;
                if (w->worker_waits && w->seg.queued >= RS_WORKER_BATCHES / 2)
                        pthread_cond_signal(&w->more);
        }
        if (last) {
                w->stop = 1;
                pthread_cond_signal(&w->more);
        }
        for (;;) {
                drain_records(a, w);
                if (last ? w->done : w->seg.cur || w->seg.nidle)
                        break;
                w->reader_waits = 1;
                pthread_cond_wait(&w->room, &w->lock);
        }
        w->reader_waits = 0;
        if (!w->seg.cur && !last)
                lane_take(&w->seg);
        pthread_mutex_unlock(&w->lock);
}

static void worker_free(struct worker *w)
{
        for (size_t i = 0; i < RS_WORKER_BATCHES; i++) {
                free(w->seg.all[i]);
                free(w->rec.all[i]);
        }
        free(w);
}

/* Start the worker; NULL (one thread, nothing lost) when that fails. */
static struct worker *worker_start(struct analysis *a)
{
        struct worker *w = calloc(1, sizeof *w);

        if (!w)
                return NULL;
        if (lane_init(&w->seg, sizeof(struct batch)) < 0 ||
            lane_init(&w->rec, sizeof(struct rbatch)) < 0 ||
            pthread_mutex_init(&w->lock, NULL)) {
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

/* Hand the last batch over, write the records as they come back, and wait
 * until the worker has done it all. */
static void worker_finish(struct analysis *a)
{
        struct worker *w = a->w;

        if (!w)
                return;
        worker_submit(a, 1);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->more);
        pthread_cond_destroy(&w->room);
        pthread_mutex_destroy(&w->lock);
        worker_free(w);
        a->w = NULL;
}

/* One finished connection: the detectors and the summary here (the worker
 * with two threads), then its record. */
static void finish_conn(struct analysis *a, const struct conn *c, int64_t capture_end)
{
        struct det_opts d = { .min_idle_s = a->cfg.min_idle, .capture_end = capture_end };
        struct det_result dr;

        detect_conn(c, &d, &dr);
        summary_add(&a->sum, c, &dr);
        if (a->cfg.on_conn)
                a->cfg.on_conn(a->cfg.on_conn_ctx, c, &dr);
        if (a->w)
                worker_record(a->w, c, &dr);
        else
                write_record(a, c, &dr);
}

/* The state machine's callback: each connection leaving the table. */
static void on_finish(struct conn *c, void *ctx)
{
        struct analysis *a = ctx;

        finish_conn(a, c, a->sm_now);
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
        if (tcpsm_init(&a->sm, &cfg->lim, cfg->flags_only_hint, on_finish, a) < 0 || !a->spool) {
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
        {
                struct batch *b = a->w->seg.cur;
                stream_copy(&b->s[b->n], seg, sizeof *seg);
                if (++b->n == RS_WORKER_BATCH)
                        worker_submit(a, 0);
        }
}

void analysis_tick(struct analysis *a, int64_t now)
{
        if (now - a->swept >= 1000000000 && now > a->now) {
                tcpsm_expire(&a->sm, now);
                a->swept = now;
        }
}

size_t analysis_open_conns(const struct analysis *a)
{
        return tcpsm_open_count(&a->sm);
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
                tb, s->nconns, tcpsm_open_count(&a->sm), s->closes[0], s->closes[1], s->closes[2],
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
        tcpsm_flush(&a->sm);
        if (a->obuf)
                out_flush(a);
        rep.flags_only = tcpsm_flags_only(&a->sm);
        rep.evicted = tcpsm_evicted(&a->sm);
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
