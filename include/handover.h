/* handover.h - the two-thread hand-over of the offline pipeline: the
 * reading thread queues decoded segments, a worker thread applies them in
 * batches, in capture order, through the pipeline's apply callback; the
 * finished connections the worker queues come back to the reading thread,
 * in the order they ended, through the write callback.  It knows nothing
 * of what the callbacks do: the pipeline (analysis.c) owns the table, the
 * detectors and the output.  Output is the same as with one thread. */
#ifndef RS_HANDOVER_H
#define RS_HANDOVER_H

#include <stddef.h>

#include "decode.h"
#include "detect.h"
#include "record.h"

struct handover_calls {
        /* (worker) apply n segments in order */
        void (*apply)(void *ctx, const struct segment *seg, size_t n);
        /* (reading thread) write one finished connection */
        void (*write)(void *ctx, const struct conn *c, const struct det_result *d);
        void *ctx;
};

struct handover;

/* Start the worker; NULL (stay on one thread, nothing lost) when that fails. */
struct handover *handover_start(const struct handover_calls *calls);

/* (reading thread) Queue one segment; may write records that came back. */
void handover_segment(struct handover *h, const struct segment *seg);

/* (worker, inside apply) Queue a finished connection for the write callback. */
void handover_record(struct handover *h, const struct conn *c, const struct det_result *d);

/* (reading thread) Hand the last segments over, write the records as they
 * come back, wait until the worker is done and free everything.  NULL is
 * allowed. */
void handover_finish(struct handover *h);

#endif /* RS_HANDOVER_H */
