/* analysis.c - one run of the pipeline:
 *
 *   packet -> decode (decode.c) -> state machine and its table (tcpsm.c)
 *          -> finished record -> detectors (detect.c) -> summary (summary.c)
 *          -> writer (writer.h: spooled into first-packet order for an
 *             ordered writer, else written as connections end)
 *
 * and at the end, the report around the records.  It owns the state
 * machine, the summary, the spool and the records buffer; it does not open
 * inputs or parse options.  With cfg.threads = 2 the hand-over
 * (handover.c) runs the state machine, detectors and summary on a worker
 * thread and brings the finished connections back to be written here; the
 * output is the same. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis.h"
#include "decode.h"
#include "diagnose.h"
#include "handover.h"
#include "detect.h"
#include "report.h"
#include "spool.h"
#include "tcpsm.h"
#include "writer.h"

struct analysis {
        struct rs_config cfg;
        struct handover *ho;            /* the worker thread; NULL: one thread */
        FILE *out;
        /* the reading thread's, on cache lines of their own (written per
         * packet while the worker writes its own per segment, below) */
        char pad0[64];
        int64_t now;                    /* packet clock: latest packet time, ns */
        int64_t first;                  /* earliest packet time, ns (0 = none yet) */
        int seen;                       /* a packet was seen */
        uint64_t skipped_shard;         /* TCP packets of other shards */
        /* the output, also the reading thread's */
        struct spool *spool;
        int err;                        /* an ERR_* below */
        int err_no;                     /*   and the errno with it */
        uint64_t records;               /* records written (or spooled) so far */
        struct outbuf ob;               /* streamed writers: records are made here */
        char row[RS_JSON_RECORD_MAX];   /* a text row */
        char pad1[64];
        /* the worker's (the reading thread's with one thread, or once the
         * worker has stopped) */
        struct tcpsm sm;
        struct summary sum;
        struct diagnosis diag;          /* made at the end, from the summary */
        int64_t sm_now;                 /* time of the segment being applied, ns */
        int64_t swept;                  /* last expiry sweep */
        int any;                        /* a TCP segment was applied */
};

enum { ERR_NONE, ERR_WRITE, ERR_SPOOL, ERR_RECORD };

/* Remember the first error (with errno as it is now). */
static void fail(struct analysis *a, int kind)
{
        if (!a->err) {
                a->err = kind;
                a->err_no = errno;
        }
}

/* Write out the records made so far. */
static void out_flush(struct analysis *a)
{
        if (outbuf_flush(&a->ob) < 0)
                fail(a, ERR_WRITE);
}

/* Where the next record goes: room for RS_JSON_RECORD_MAX + 2 bytes. */
static char *out_room(struct analysis *a)
{
        if (outbuf_full(&a->ob))
                out_flush(a);
        return outbuf_end(&a->ob);
}

/* The record of one finished connection, into the output: kept in the
 * spool for an ordered writer, else made in the records buffer (with a
 * line per finding when the writer has them).  On the reading thread
 * (the hand-over's write callback with two threads). */
static void write_record(void *ctx, const struct conn *c, const struct det_result *dr)
{
        struct analysis *a = ctx;
        const struct writer *w = a->cfg.writer;
        size_t n;

        if (w->ordered) {
                n = w->connection(a->row, sizeof a->row, c, dr, a->cfg.verbose, a->records++);
                if (spool_add(a->spool, c->id, a->row, n) < 0)
                        fail(a, ERR_SPOOL);
                return;
        }
        if (!a->records && w->begin)
                w->begin(a->out);               /* (nothing is buffered yet) */
        n = w->connection(out_room(a), RS_JSON_RECORD_MAX + 2, c, dr, a->cfg.verbose, a->records++);
        if (!n)
                fail(a, ERR_RECORD);
        a->ob.used += n;
        for (int i = 0; n && w->finding && i < dr->n; i++) {
                n = w->finding(out_room(a), RS_JSON_RECORD_MAX + 2, c, &dr->f[i]);
                if (!n)
                        fail(a, ERR_RECORD);
                a->ob.used += n;
        }
        if (a->cfg.flush_each) {
                out_flush(a);
                if (fflush(a->out) != 0)
                        fail(a, ERR_WRITE);
        }
}

/* An ordered writer's records, from the spool. */
static int spooled_records(void *ctx, FILE *out, const char *sep)
{
        return spool_write(ctx, out, sep);
}

/* One decoded segment, from the table on. */
static void apply(struct analysis *a, const struct segment *seg)
{
        a->sm_now = seg->ts;
        /* the packet clock drives expiry, at most once per RS_SWEEP_NS */
        if (!a->any || seg->ts - a->swept >= RS_SWEEP_NS) {
                tcpsm_expire(&a->sm, seg->ts);
                a->swept = seg->ts;
        }
        a->any = 1;
        tcpsm_on_segment(&a->sm, seg);
}

/* (worker) A batch of segments; each one's hash bucket is asked for
 * RS_PREFETCH_AHEAD segments ahead, its record half as many ahead. */
static void apply_batch(void *ctx, const struct segment *seg, size_t n)
{
        struct analysis *a = ctx;

        for (size_t i = 0; i < n; i++) {
                if (i + RS_PREFETCH_AHEAD < n)
                        tcpsm_prefetch(&a->sm, &seg[i + RS_PREFETCH_AHEAD], 0);
                if (i + RS_PREFETCH_AHEAD / 2 < n)
                        tcpsm_prefetch(&a->sm, &seg[i + RS_PREFETCH_AHEAD / 2], 1);
                apply(a, &seg[i]);
        }
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
        if (a->ho)
                handover_record(a->ho, c, &dr);
        else
                write_record(a, c, &dr);
}

/* The state machine's callback: a new request on a reused connection. */
static void on_reuse(void *ctx, const struct segment *seg, int64_t idle_ns)
{
        struct analysis *a = ctx;

        summary_reuse(&a->sum, seg->family, &seg->dst, (double)idle_ns / 1e9);
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
        if (!cfg->writer->ordered && outbuf_init(&a->ob, out) < 0) {
                free(a);
                return NULL;
        }
        a->spool = spool_create(cfg->spool_mem);
        summary_init(&a->sum, &so);
        if (tcpsm_init(&a->sm, &cfg->lim, cfg->flags_only_hint, on_finish, a) < 0 || !a->spool) {
                analysis_destroy(a);
                return NULL;
        }
        a->sm.on_reuse = on_reuse;
        if (cfg->threads > 1) {
                struct handover_calls calls = { apply_batch, write_record, a };
                a->ho = handover_start(&calls);
        }
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
        if (a->cfg.shard_n && seg->tuple_hash % a->cfg.shard_n != a->cfg.shard_i) {
                a->skipped_shard++;
                return;
        }
        /* A record stamped earlier than one before it (a clock stepped
         * back, several capture queues) is analysed at the latest time
         * seen: connection times never run backwards, so no duration is
         * negative.  capture.c counts such records per input. */
        seg->ts = a->now;
        if (a->ho)
                handover_segment(a->ho, seg);
        else
                apply(a, seg);
}

void analysis_tick(struct analysis *a, int64_t now)
{
        if (now - a->swept >= RS_SWEEP_NS && now > a->now) {
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
        struct writer_records rec = { spooled_records, a->spool };
        struct report rep = { .cap = cap, .st = &a->sm.st, .sum = &a->sum,
                              .first = a->seen ? a->first : 0, .last = a->seen ? a->now : 0,
                              .verbose = a->cfg.verbose, .shard_i = a->cfg.shard_i,
                              .shard_n = a->cfg.shard_n, .skipped_shard = a->skipped_shard,
                              .saved_to = a->cfg.saved_to };

        handover_finish(a->ho);
        a->ho = NULL;
        a->sm_now = a->now;
        tcpsm_flush(&a->sm);
        if (a->ob.buf)
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
        if (summary_finish(&a->sum) < 0 || a->sum.oom ||
            diagnose(&a->sum, rep.flags_only, &a->diag) < 0)
                fprintf(stderr, "rstscope: out of memory while summarising\n");
        rep.diag = &a->diag;
        if (!a->records && !a->cfg.writer->ordered && a->cfg.writer->begin)
                a->cfg.writer->begin(a->out);
        if (a->cfg.writer->end(a->out, &rep, &rec) < 0)
                goto fail;
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
        handover_finish(a->ho);
        tcpsm_free(&a->sm);
        spool_destroy(a->spool);
        summary_free(&a->sum);
        diagnosis_free(&a->diag);
        outbuf_free(&a->ob);
        free(a);
}
