/* analysis.c - one run of the pipeline: decode each packet, hand it to
 * the state machine, and when a connection finishes run the detectors,
 * add it to the summary and turn it into an output record (spooled into
 * first-packet order for text; written at once, in the order connections
 * end, for JSON and JSON Lines).
 * At the end, the report around the records.  It owns the connection
 * table, the summary and the spool; it does not open inputs or parse
 * options.
 *
 * With cfg.threads = 2 the reading thread only decodes and tracks, and a
 * worker thread takes each finished connection from there on (detectors,
 * summary, record, spool): connections go to it in batches, in the order
 * they finished, so the output is the same as with one thread. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis.h"
#include "decode.h"
#include "detect.h"
#include "report.h"
#include "spool.h"
#include "tcpsm.h"

/* A finished connection on its way to the worker, with what it is judged
 * by as of the moment it finished. */
struct job {
        struct conn c;
        int64_t capture_end;
        int flags_only;
};

struct batch {
        size_t n;
        struct job j[RS_WORKER_BATCH];
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
};

struct analysis {
        struct rs_config cfg;
        struct worker *w;               /* NULL: one thread */
        FILE *out;
        struct tcpsm sm;
        struct summary sum;
        struct spool *spool;
        int64_t now;                    /* packet clock: latest packet time, ns */
        int64_t first;                  /* earliest packet time, ns (0 = none yet) */
        int64_t swept;                  /* last expiry sweep */
        int seen;                       /* a packet was seen */
        int any;                        /* a TCP packet was seen */
        uint64_t skipped_shard;         /* TCP packets of other shards */
        int err;                        /* output or memory error */
        uint64_t json_records;          /* JSON: records written so far */
        char row[RS_JSON_RECORD_MAX];   /* a text row or a JSON record */
};

/* "SYN/FIN/RST only" is judged on what was seen so far: records are made
 * as connections finish. */
static int flags_only(const struct analysis *a)
{
        if (a->cfg.flags_only_hint >= 0)
                return a->cfg.flags_only_hint;
        return a->sm.st.segments > 0 && a->sm.st.flagless == 0;
}

/* One finished connection, from the detectors to its record. */
static void finish_conn(struct analysis *a, const struct conn *c, int64_t capture_end,
                        int fonly)
{
        struct det_opts d = { .min_idle_s = a->cfg.min_idle, .flags_only = fonly,
                              .capture_end = capture_end };
        struct det_result dr;
        size_t n;

        detect_conn(c, &d, &dr);
        summary_add(&a->sum, c, &dr);
        if (a->cfg.on_conn)
                a->cfg.on_conn(a->cfg.on_conn_ctx, c, &dr);
        switch (a->cfg.format) {
        case FMT_JSONL:         /* the record, then each finding on its own line */
                n = report_json_conn(c, &dr, d.flags_only, 1, a->row, sizeof a->row - 1);
                for (int i = 0; ; i++) {
                        if (!n) {
                                a->err = 1;
                                break;
                        }
                        a->row[n++] = '\n';
                        if (fwrite(a->row, 1, n, a->out) != n)
                                a->err = 1;
                        if (i == dr.n)
                                break;
                        n = report_json_finding(c, &dr.f[i], a->row, sizeof a->row - 1);
                }
                if (a->cfg.flush_each && fflush(a->out) != 0)
                        a->err = 1;
                break;
        case FMT_JSON:          /* streamed into the document's connections array */
                n = report_json_conn(c, &dr, d.flags_only, 0, a->row, sizeof a->row);
                if (!a->json_records++)
                        report_json_open(a->out);
                else
                        fputs(",\n", a->out);
                if (!n || fwrite(a->row, 1, n, a->out) != n)
                        a->err = 1;
                break;
        case FMT_TEXT:
                n = report_text_row(c, a->cfg.verbose, d.flags_only, a->row, sizeof a->row);
                if (spool_add(a->spool, c->id, a->row, n) < 0)
                        a->err = 1;
                break;
        }
}

/* ---- the worker thread ---- */

static void *worker_main(void *arg)
{
        struct analysis *a = arg;
        struct worker *w = a->w;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                struct batch *b;

                while (!w->queued && !w->stop)
                        pthread_cond_wait(&w->more, &w->lock);
                if (!w->queued)
                        break;
                b = w->queue[w->head];
                w->head = (w->head + 1) % RS_WORKER_BATCHES;
                w->queued--;
                pthread_mutex_unlock(&w->lock);
                for (size_t i = 0; i < b->n; i++)
                        finish_conn(a, &b->j[i].c, b->j[i].capture_end, b->j[i].flags_only);
                b->n = 0;
                pthread_mutex_lock(&w->lock);
                w->idle[w->nidle++] = b;
                pthread_cond_signal(&w->room);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

/* Queue the batch being filled; take an empty one unless stopping. */
static void worker_submit(struct worker *w, int last)
{
        pthread_mutex_lock(&w->lock);
        if (w->cur->n) {
                w->queue[(w->head + w->queued) % RS_WORKER_BATCHES] = w->cur;
                w->queued++;
                w->cur = NULL;
                pthread_cond_signal(&w->more);
        }
        if (last) {
                w->stop = 1;
                pthread_cond_signal(&w->more);
        } else if (!w->cur) {
                while (!w->nidle)
                        pthread_cond_wait(&w->room, &w->lock);
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
        struct worker *w = a->w;
        struct job *j;

        if (!w) {
                finish_conn(a, c, a->now, flags_only(a));
                return;
        }
        j = &w->cur->j[w->cur->n++];
        j->c = *c;
        j->capture_end = a->now;
        j->flags_only = flags_only(a);
        if (w->cur->n == RS_WORKER_BATCH)
                worker_submit(w, 0);
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
        struct segment seg;
        enum dec_result dr = decode_frame(in->linktype, data, caplen, len, &seg);

        in->errors[dr]++;
        if (!a->seen || ts > a->now)
                a->now = ts;
        if (!a->seen || ts < a->first)
                a->first = ts;
        a->seen = 1;
        if (dr != DEC_TCP)
                return;
        in->tcp_packets++;
        if (a->cfg.shard_n &&
            conn_tuple_hash(&seg.src, &seg.dst) % a->cfg.shard_n != a->cfg.shard_i) {
                a->skipped_shard++;
                return;
        }
        /* A record stamped earlier than one before it (a clock stepped
         * back, several capture queues) is analysed at the latest time
         * seen: connection times never run backwards, so no duration is
         * negative.  capture.c counts such records per input. */
        seg.ts = a->now;
        /* the packet clock drives expiry, at most once a second */
        if (!a->any || a->now - a->swept >= 1000000000) {
                conn_table_expire(a->sm.table, a->now);
                a->swept = a->now;
        }
        a->any = 1;
        tcpsm_on_segment(&a->sm, &seg);
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

        conn_table_flush(a->sm.table);
        worker_finish(a);
        rep.flags_only = flags_only(a);
        rep.evicted = conn_table_evicted(a->sm.table);
        if (summary_finish(&a->sum) < 0 || a->sum.oom || a->err) {
                fprintf(stderr, "rstscope: %s\n", a->err ? "cannot write or spool the records" :
                        "out of memory while summarising");
                if (a->err)
                        return -1;
        }
        switch (a->cfg.format) {
        case FMT_JSONL:
                if (report_jsonl_end(a->out, &rep) < 0)
                        return -1;
                break;
        case FMT_JSON:
                if (!a->json_records)
                        report_json_open(a->out);
                if (report_json_close(a->out, &rep) < 0)
                        return -1;
                break;
        case FMT_TEXT:
                report_text_head(a->out, &rep);
                if (spool_write(a->spool, a->out, "\n") < 0)
                        return -1;
                if (a->sum.nconns)
                        fputc('\n', a->out);
                break;
        }
        return 0;
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
        free(a);
}
