/* main.c - command line: options, inputs, the packet loop feeding the
 * analysis (analysis.c: decode -> state machine -> detectors -> report),
 * the CI gate and the exit code.  Analyses nothing itself. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "capture.h"
#include "config.h"
#include "conn.h"
#include "decode.h"
#include "detect.h"
#include "report.h"
#include "summary.h"
#include "tcpsm.h"

/* Exit codes, documented in --help, README and the man page. */
#define EXIT_OK         0       /* analysed everything */
#define EXIT_INTERNAL   1       /* out of memory, write error */
#define EXIT_USAGE      2       /* bad option or argument */
#define EXIT_INPUT      3       /* an input cannot be opened or is not a usable capture */
#define EXIT_PARTIAL    4       /* an input ended with a read error; the report covers what was read */
#define EXIT_FINDINGS   5       /* --fail-on / --max: more findings than allowed */

struct opts {
        struct rs_config cfg;
        long gate[DET_NKINDS];          /* most connections allowed per kind, -1 = no gate */
        const char **files;
        size_t nfiles;
};

static void usage(FILE *out)
{
        fprintf(out,
"Usage: rstscope [options] FILE...\n"
"Passive TCP connection-lifecycle analyzer: every connection in a capture,\n"
"who closed it, how (FIN or RST) and when.\n"
"\n"
"Input:\n"
"  FILE...                 pcap or pcapng files, merged in time order; - is stdin\n"
"  -r FILE                 read FILE (as tcpdump -r); may be repeated\n"
"Output:\n"
"  -F, --format FMT        text (default), json, or jsonl (a line per connection\n"
"                          as it ends, then a line per cluster)\n"
"  -v, --verbose           more columns in the text table, per-server distributions\n"
"Findings:\n"
"  --min-idle S            a close after S seconds idle is an idle_close (default %.1f)\n"
"  --cluster-min N         smallest cluster, connections (default %d)\n"
"  --fail-on KIND[,KIND]   exit 5 when any connection has one of these findings\n"
"  --max KIND=N            exit 5 when more than N connections have KIND\n"
"                          (kinds: refused connect_timeout data_after_peer_fin\n"
"                          data_after_peer_rst request_reset idle_close)\n"
"Tracking:\n"
"  --idle-timeout S        expire established connections idle S seconds (default %d)\n"
"  --halfopen-timeout S    expire unfinished handshakes after S seconds (default %d)\n"
"  --close-linger S        a packet S seconds after a close starts a new connection (default %d)\n"
"  --max-conns N           connections tracked at once (default %d)\n"
"  --shard I/N             keep only 5-tuples whose hash falls in shard I of N\n"
"                          (N processes on a full copy each; outputs concatenate)\n"
"Other:\n"
"  -h, --help              this help\n"
"  -V, --version           version\n"
"\n"
"Exit codes: 0 ok; 1 internal error; 2 usage error; 3 input cannot be read\n"
"(missing, not a capture, unsupported link type); 4 an input was truncated or\n"
"failed midway (the report covers what was read); 5 --fail-on/--max exceeded.\n",
                RS_MIN_IDLE_S, RS_CLUSTER_MIN_COUNT,
                RS_IDLE_TIMEOUT_S, RS_HALFOPEN_TIMEOUT_S, RS_CLOSE_LINGER_S, RS_MAX_CONNS);
}

static int parse_seconds(const char *s, int64_t *ns)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || v < 0 || v > 1e9)
                return -1;
        *ns = (int64_t)(v * 1e9);
        return 0;
}

static int kind_of(const char *name, size_t len)
{
        for (int k = 0; k < DET_NKINDS; k++)
                if (strlen(detect_kind_name((enum finding_kind)k)) == len &&
                    strncmp(name, detect_kind_name((enum finding_kind)k), len) == 0)
                        return k;
        return -1;
}

/* --fail-on a,b,c: no connection may have a, b or c. */
static int parse_fail_on(const char *arg, struct opts *o)
{
        while (*arg) {
                size_t len = strcspn(arg, ",");
                int k = kind_of(arg, len);
                if (k < 0) {
                        fprintf(stderr, "rstscope: unknown finding kind '%.*s' in --fail-on\n",
                                (int)len, arg);
                        return -1;
                }
                o->gate[k] = 0;
                arg += len + (arg[len] == ',');
        }
        return 0;
}

/* --max kind=N */
static int parse_max(const char *arg, struct opts *o)
{
        const char *eq = strchr(arg, '=');
        char *end;
        long v;
        int k = eq ? kind_of(arg, (size_t)(eq - arg)) : -1;

        if (k < 0) {
                fprintf(stderr, "rstscope: --max wants KIND=N with a known kind, not '%s'\n", arg);
                return -1;
        }
        errno = 0;
        v = strtol(eq + 1, &end, 10);
        if (errno || end == eq + 1 || *end || v < 0) {
                fprintf(stderr, "rstscope: bad count in --max '%s'\n", arg);
                return -1;
        }
        o->gate[k] = v;
        return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
        enum { O_IDLE = 256, O_HALFOPEN, O_LINGER, O_MAXCONNS, O_MINIDLE, O_CLMIN, O_FAILON, O_MAX,
               O_SHARD };
        static const struct option longopts[] = {
                { "format", required_argument, NULL, 'F' },
                { "verbose", no_argument, NULL, 'v' },
                { "idle-timeout", required_argument, NULL, O_IDLE },
                { "halfopen-timeout", required_argument, NULL, O_HALFOPEN },
                { "close-linger", required_argument, NULL, O_LINGER },
                { "max-conns", required_argument, NULL, O_MAXCONNS },
                { "min-idle", required_argument, NULL, O_MINIDLE },
                { "cluster-min", required_argument, NULL, O_CLMIN },
                { "fail-on", required_argument, NULL, O_FAILON },
                { "max", required_argument, NULL, O_MAX },
                { "shard", required_argument, NULL, O_SHARD },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        int ch;

        o->files = calloc((size_t)argc + 1, sizeof *o->files);
        if (!o->files)
                return EXIT_INTERNAL;
        opterr = 0;             /* our own one-line messages */
        while ((ch = getopt_long(argc, argv, ":F:r:vhV", longopts, NULL)) != -1) {
                switch (ch) {
                case 'F':
                        if (strcmp(optarg, "text") == 0)
                                o->cfg.format = FMT_TEXT;
                        else if (strcmp(optarg, "json") == 0)
                                o->cfg.format = FMT_JSON;
                        else if (strcmp(optarg, "jsonl") == 0)
                                o->cfg.format = FMT_JSONL;
                        else {
                                fprintf(stderr, "rstscope: unknown format '%s' (text, json, jsonl)\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'r':
                        o->files[o->nfiles++] = optarg;
                        break;
                case 'v':
                        o->cfg.verbose++;
                        break;
                case O_IDLE:
                case O_HALFOPEN:
                case O_LINGER: {
                        int64_t *dst = ch == O_IDLE ? &o->cfg.lim.idle_ns :
                                       ch == O_HALFOPEN ? &o->cfg.lim.halfopen_ns : &o->cfg.lim.linger_ns;
                        if (parse_seconds(optarg, dst) < 0) {
                                fprintf(stderr, "rstscope: bad number of seconds '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                }
                case O_MINIDLE: {
                        int64_t ns;
                        if (parse_seconds(optarg, &ns) < 0) {
                                fprintf(stderr, "rstscope: bad number of seconds '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        o->cfg.min_idle = (double)ns / 1e9;
                        break;
                }
                case O_CLMIN: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (end == optarg || *end || v < 2 || v > 1000000) {
                                fprintf(stderr, "rstscope: bad --cluster-min '%s' (2 or more)\n", optarg);
                                return EXIT_USAGE;
                        }
                        o->cfg.cluster_min = v;
                        break;
                }
                case O_FAILON:
                        if (parse_fail_on(optarg, o) < 0)
                                return EXIT_USAGE;
                        break;
                case O_MAX:
                        if (parse_max(optarg, o) < 0)
                                return EXIT_USAGE;
                        break;
                case O_SHARD: {
                        unsigned i, n;
                        char c;
                        if (sscanf(optarg, "%u/%u%c", &i, &n, &c) != 2 || n == 0 || i >= n ||
                            n > 65536) {
                                fprintf(stderr, "rstscope: bad --shard '%s' (I/N with 0 <= I < N)\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        o->cfg.shard_i = i;
                        o->cfg.shard_n = n;
                        break;
                }
                case O_MAXCONNS: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (end == optarg || *end || v == 0 || v > 0xfffff000UL) {
                                fprintf(stderr, "rstscope: bad --max-conns '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        o->cfg.lim.max_conns = (uint32_t)v;
                        break;
                }
                case 'h':
                        usage(stdout);
                        free(o->files);
                        exit(EXIT_OK);
                case 'V':
                        printf("rstscope %s (%s)\n", RS_VERSION, pcap_lib_version());
                        free(o->files);
                        exit(EXIT_OK);
                case ':':
                        fprintf(stderr, "rstscope: option '%s' needs an argument (try 'rstscope --help')\n",
                                argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        if (optopt)
                                fprintf(stderr, "rstscope: unknown option '-%c' (try 'rstscope --help')\n",
                                        optopt);
                        else
                                fprintf(stderr, "rstscope: unknown option '%s' (try 'rstscope --help')\n",
                                        argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }
        for (int i = optind; i < argc; i++)
                o->files[o->nfiles++] = argv[i];
        if (o->nfiles == 0) {
                fprintf(stderr, "rstscope: no capture file given (try 'rstscope --help')\n");
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

/* --fail-on / --max: one line per exceeded kind on stderr. */
static int gate_failed(const struct opts *o, const struct summary *sum)
{
        int failed = 0;

        for (int k = 0; k < DET_NKINDS; k++)
                if (o->gate[k] >= 0 && sum->kind_conns[k] > (uint64_t)o->gate[k]) {
                        fprintf(stderr, "rstscope: %" PRIu64 " connection%s with %s (at most %ld allowed)\n",
                                sum->kind_conns[k], sum->kind_conns[k] == 1 ? "" : "s",
                                detect_kind_name((enum finding_kind)k), o->gate[k]);
                        failed = 1;
                }
        return failed;
}

int main(int argc, char **argv)
{
        struct opts o = { .cfg = { .format = FMT_TEXT, .lim = {
                .idle_ns = (int64_t)RS_IDLE_TIMEOUT_S * 1000000000,
                .halfopen_ns = (int64_t)RS_HALFOPEN_TIMEOUT_S * 1000000000,
                .linger_ns = (int64_t)RS_CLOSE_LINGER_S * 1000000000,
                .max_conns = RS_MAX_CONNS }, .min_idle = RS_MIN_IDLE_S,
                .cluster_min = RS_CLUSTER_MIN_COUNT, .spool_mem = RS_SPOOL_MEM } };
        struct capture cap;
        struct analysis *an;
        struct packet pkt;
        char err[PCAP_ERRBUF_SIZE + 512];
        int rc;

        for (int k = 0; k < DET_NKINDS; k++)
                o.gate[k] = -1;
        if ((rc = parse_opts(argc, argv, &o)) != EXIT_OK) {
                free(o.files);
                return rc;
        }
        if (capture_open(&cap, o.files, o.nfiles, err, sizeof err) < 0) {
                fprintf(stderr, "rstscope: %s\n", err);
                capture_close(&cap);
                free(o.files);
                return strcmp(err, "out of memory") ? EXIT_INPUT : EXIT_INTERNAL;
        }
        if (!(an = analysis_create(&o.cfg, stdout))) {
                fprintf(stderr, "rstscope: out of memory\n");
                capture_close(&cap);
                free(o.files);
                return EXIT_INTERNAL;
        }
        while (capture_next(&cap, &pkt))
                analysis_packet(an, pkt.in, pkt.ts, pkt.data, pkt.caplen, pkt.len);
        for (size_t i = 0; i < cap.nin; i++)
                if (cap.in[i].truncated)
                        fprintf(stderr, "rstscope: %s: capture ends early: %s\n",
                                cap.in[i].name, cap.in[i].error);
        rc = analysis_end(an, &cap) < 0 ? EXIT_INTERNAL : EXIT_OK;
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "rstscope: cannot write output: %s\n", strerror(errno));
                rc = EXIT_INTERNAL;
        }
        if (analysis_incomplete(an))
                fprintf(stderr, "rstscope: warning: out of memory, some connections are missing\n");
        if (rc == EXIT_OK && gate_failed(&o, analysis_summary(an)))
                rc = EXIT_FINDINGS;
        if (rc == EXIT_OK && capture_truncated(&cap))
                rc = EXIT_PARTIAL;
        if (rc == EXIT_OK && analysis_incomplete(an))
                rc = EXIT_INTERNAL;
        analysis_destroy(an);
        capture_close(&cap);
        free(o.files);
        return rc;
}
