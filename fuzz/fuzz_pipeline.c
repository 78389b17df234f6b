/* fuzz_pipeline.c - libFuzzer harness for the whole pipeline: the input is
 * a capture file (pcap or pcapng) read through libpcap from memory, then
 * decoded, tracked, detected, summarised and reported as text, JSON and
 * JSON Lines to /dev/null. */
#define _GNU_SOURCE             /* fmemopen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis.h"
#include "capture.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const uint8_t *data, size_t size, const char *format, FILE *out)
{
        struct rs_config cfg = { .writer = writer_find(format), .verbose = 1, .flags_only_hint = -1,
                .lim = { 3600000000000LL, 180000000000LL, 5000000000LL, 10000 },
                .min_idle = 0.5, .cluster_min = 3, .spool_mem = 4096 };
        struct capture cap;
        struct analysis *an;
        struct packet pkt;
        char err[1024];
        FILE *fp;

        if (!size || !(fp = fmemopen((void *)(uintptr_t)data, size, "rb")))
                return;
        if (capture_open_stream(&cap, fp, "fuzz", err, sizeof err) == 0 &&
            (an = analysis_create(&cfg, out)) != NULL) {
                while (capture_next(&cap, &pkt))
                        analysis_packet(an, pkt.in, pkt.ts, pkt.data, pkt.caplen, pkt.len);
                analysis_end(an, &cap);
                analysis_destroy(an);
        }
        capture_close(&cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static FILE *out;

        if (!out && !(out = fopen("/dev/null", "w")))
                return 0;
        run(data, size, "text", out);
        run(data, size, "json", out);
        run(data, size, "jsonl", out);
        return 0;
}
