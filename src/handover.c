/* handover.c - the two threads of the offline pipeline (handover.h).  The
 * reading thread reads and decodes; the worker applies the segments
 * (table, state machine, detectors, summary: the pipeline's apply
 * callback); decoded segments go to it in batches, in capture order.  The
 * finished connections come back to the reading thread in batches, in the
 * order they ended, and it writes their records (it has time to spare
 * while the worker is busy).  So the output is the same as with one
 * thread.
 *
 * Batches are written with streaming stores, waiting threads are woken
 * only when half the batches are there for them: see stream_copy and
 * struct worker. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#  include <immintrin.h>
#endif

#include "config.h"
#include "handover.h"

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

struct handover {
        struct worker w;
        struct handover_calls calls;
};

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

void handover_record(struct handover *h, const struct conn *c, const struct det_result *d)
{
        struct worker *w = &h->w;
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
        struct handover *h = arg;
        struct worker *w = &h->w;

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
                h->calls.apply(h->calls.ctx, b->s, b->n);
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
static void drain_records(struct handover *h)
{
        struct worker *w = &h->w;
        int any = 0;

        while (w->rec.queued) {
                struct rbatch *rb = lane_pop(&w->rec);
                pthread_mutex_unlock(&w->lock);
                for (size_t i = 0; i < rb->n; i++)
                        h->calls.write(h->calls.ctx, &rb->r[i].c, &rb->r[i].d);
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
static void worker_submit(struct handover *h, int last)
{
        struct worker *w = &h->w;

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
                drain_records(h);
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

static void worker_free(struct handover *h)
{
        for (size_t i = 0; i < RS_WORKER_BATCHES; i++) {
                free(h->w.seg.all[i]);
                free(h->w.rec.all[i]);
        }
        free(h);
}

struct handover *handover_start(const struct handover_calls *calls)
{
        struct handover *h = calloc(1, sizeof *h);
        struct worker *w;

        if (!h)
                return NULL;
        h->calls = *calls;
        w = &h->w;
        if (lane_init(&w->seg, sizeof(struct batch)) < 0 ||
            lane_init(&w->rec, sizeof(struct rbatch)) < 0 ||
            pthread_mutex_init(&w->lock, NULL)) {
                worker_free(h);
                return NULL;
        }
        if (pthread_cond_init(&w->more, NULL) || pthread_cond_init(&w->room, NULL) ||
            pthread_create(&w->thread, NULL, worker_main, h)) {
                worker_free(h);         /* (a failed cond_init leaks nothing on Linux) */
                return NULL;
        }
        return h;
}

void handover_segment(struct handover *h, const struct segment *seg)
{
        struct batch *b = h->w.seg.cur;

        stream_copy(&b->s[b->n], seg, sizeof *seg);
        if (++b->n == RS_WORKER_BATCH)
                worker_submit(h, 0);
}

void handover_finish(struct handover *h)
{
        struct worker *w;

        if (!h)
                return;
        w = &h->w;
        worker_submit(h, 1);
        pthread_join(w->thread, NULL);
        pthread_cond_destroy(&w->more);
        pthread_cond_destroy(&w->room);
        pthread_mutex_destroy(&w->lock);
        worker_free(h);
}
