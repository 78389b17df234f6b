/* main.c - command line and the packet loop: capture -> decode -> state
 * machine (with its connection table) -> report.  Owns the options, the
 * list of finished records and the exit code; analyses nothing itself. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

enum fmt { FMT_TEXT, FMT_JSON, FMT_JSONL };

struct opts {
        enum fmt format;
        int verbose;
        struct conn_limits lim;
        double min_idle;                /* s, see RS_MIN_IDLE_S */
        size_t cluster_min;             /* see RS_CLUSTER_MIN_COUNT */
        long gate[DET_NKINDS];          /* most connections allowed per kind, -1 = no gate */
        const char **files;
        size_t nfiles;
};

struct results {                /* finished records, in finishing order */
        struct conn *v;
        size_t n, cap;
        int nomem;
        /* for --format jsonl: each record is written as it finishes */
        enum fmt format;
        const struct tcpsm *sm;
        int64_t now;            /* packet clock, ns */
        double min_idle;
        int write_err;
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
        enum { O_IDLE = 256, O_HALFOPEN, O_LINGER, O_MAXCONNS, O_MINIDLE, O_CLMIN, O_FAILON, O_MAX };
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
                                o->format = FMT_TEXT;
                        else if (strcmp(optarg, "json") == 0)
                                o->format = FMT_JSON;
                        else if (strcmp(optarg, "jsonl") == 0)
                                o->format = FMT_JSONL;
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
                        o->verbose++;
                        break;
                case O_IDLE:
                case O_HALFOPEN:
                case O_LINGER: {
                        int64_t *dst = ch == O_IDLE ? &o->lim.idle_ns :
                                       ch == O_HALFOPEN ? &o->lim.halfopen_ns : &o->lim.linger_ns;
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
                        o->min_idle = (double)ns / 1e9;
                        break;
                }
                case O_CLMIN: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (end == optarg || *end || v < 2 || v > 1000000) {
                                fprintf(stderr, "rstscope: bad --cluster-min '%s' (2 or more)\n", optarg);
                                return EXIT_USAGE;
                        }
                        o->cluster_min = v;
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
                case O_MAXCONNS: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (end == optarg || *end || v == 0 || v > 0xfffff000UL) {
                                fprintf(stderr, "rstscope: bad --max-conns '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        o->lim.max_conns = (uint32_t)v;
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

static struct det_opts det_opts_now(const struct results *r, int flags_only)
{
        struct det_opts d = { .min_idle_s = r->min_idle, .flags_only = flags_only,
                              .capture_end = r->now };
        return d;
}

static void on_finish(struct conn *c, void *ctx)
{
        struct results *r = ctx;

        if (r->format == FMT_JSONL) {
                /* streamed as it ends: "SYN/FIN/RST only" is judged on what
                 * was seen so far */
                int fo = r->sm->st.segments > 0 && r->sm->st.flagless == 0;
                struct det_opts d = det_opts_now(r, fo);
                struct det_result dr;
                detect_conn(c, &d, &dr);
                if (report_jsonl_conn(stdout, c, &dr, fo) < 0)
                        r->write_err = 1;
        }

        if (r->n == r->cap) {
                size_t ncap = r->cap ? r->cap * 2 : 1024;
                struct conn *nv = realloc(r->v, ncap * sizeof *nv);
                if (!nv) {
                        r->nomem = 1;
                        return;
                }
                r->v = nv;
                r->cap = ncap;
        }
        r->v[r->n++] = *c;
}

static int by_id(const void *a, const void *b)
{
        const struct conn *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* Findings of every record (with the final verdict on SYN/FIN/RST-only)
 * and the summary across them. */
static int analyse(const struct results *res, struct report *rep, const struct opts *o,
                   struct summary *sum, struct det_result **det)
{
        struct det_opts d = det_opts_now(res, rep->flags_only);
        struct summary_opts so = { .min_count = o->cluster_min, .min_share = RS_CLUSTER_MIN_SHARE,
                                   .min_center = RS_CLUSTER_MIN_CENTER_S,
                                   .max_servers = RS_CLUSTER_MAX_SERVERS };

        *det = calloc(res->n ? res->n : 1, sizeof **det);
        if (!*det) {
                fprintf(stderr, "rstscope: out of memory\n");
                return EXIT_INTERNAL;
        }
        for (size_t i = 0; i < res->n; i++)
                detect_conn(&res->v[i], &d, &(*det)[i]);
        if (summary_build(sum, res->v, *det, res->n, &so) < 0) {
                fprintf(stderr, "rstscope: out of memory\n");
                return EXIT_INTERNAL;
        }
        rep->det = *det;
        rep->sum = sum;
        return EXIT_OK;
}

/* --fail-on / --max: one line per exceeded kind on stderr. */
static int gate_failed(const struct opts *o, const struct summary *sum)
{
        int failed = 0;

        for (int k = 0; k < DET_NKINDS; k++)
                if (o->gate[k] >= 0 && sum->kind_conns[k] > (size_t)o->gate[k]) {
                        fprintf(stderr, "rstscope: %zu connection%s with %s (at most %ld allowed)\n",
                                sum->kind_conns[k], sum->kind_conns[k] == 1 ? "" : "s",
                                detect_kind_name((enum finding_kind)k), o->gate[k]);
                        failed = 1;
                }
        return failed;
}

int main(int argc, char **argv)
{
        struct opts o = { .format = FMT_TEXT, .lim = {
                .idle_ns = (int64_t)RS_IDLE_TIMEOUT_S * 1000000000,
                .halfopen_ns = (int64_t)RS_HALFOPEN_TIMEOUT_S * 1000000000,
                .linger_ns = (int64_t)RS_CLOSE_LINGER_S * 1000000000,
                .max_conns = RS_MAX_CONNS }, .min_idle = RS_MIN_IDLE_S,
                .cluster_min = RS_CLUSTER_MIN_COUNT };
        struct capture cap;
        struct results res = { 0 };
        struct tcpsm sm = { 0 };
        struct report rep = { 0 };
        struct summary sum = { 0 };
        struct det_result *det = NULL;
        struct packet pkt;
        struct segment seg;
        char err[PCAP_ERRBUF_SIZE + 512];
        int64_t now = INT64_MIN, swept = 0;
        int any = 0;
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
        sm.table = conn_table_create(&o.lim, on_finish, &res);
        if (!sm.table) {
                fprintf(stderr, "rstscope: out of memory\n");
                return EXIT_INTERNAL;
        }
        sm.linger_ns = o.lim.linger_ns;
        sm.idle_ns = o.lim.idle_ns;
        res.format = o.format;
        res.sm = &sm;
        res.min_idle = o.min_idle;

        while (capture_next(&cap, &pkt)) {
                enum dec_result dr = decode_frame(pkt.in->linktype, pkt.data, pkt.caplen,
                                                  pkt.len, &seg);
                pkt.in->errors[dr]++;
                if (pkt.ts > now)
                        now = res.now = pkt.ts;
                if (rep.first == 0 || pkt.ts < rep.first)
                        rep.first = pkt.ts;
                if (dr != DEC_TCP)
                        continue;
                pkt.in->tcp_packets++;
                seg.ts = pkt.ts;
                /* the packet clock drives expiry, at most once a second */
                if (!any || now - swept >= 1000000000) {
                        any = 1;
                        conn_table_expire(sm.table, now);
                        swept = now;
                }
                tcpsm_on_segment(&sm, &seg);
        }
        conn_table_flush(sm.table);
        rep.last = now == INT64_MIN ? 0 : now;

        for (size_t i = 0; i < cap.nin; i++)
                if (cap.in[i].truncated)
                        fprintf(stderr, "rstscope: %s: capture ends early: %s\n",
                                cap.in[i].name, cap.in[i].error);
        if (res.nomem || sm.st.nomem)
                fprintf(stderr, "rstscope: warning: out of memory, some connections are missing\n");

        if (res.n)
                qsort(res.v, res.n, sizeof *res.v, by_id);
        rep.cap = &cap;
        rep.conns = res.v;
        rep.nconns = res.n;
        rep.st = &sm.st;
        rep.flags_only = sm.st.segments > 0 && sm.st.flagless == 0;
        rep.evicted = conn_table_evicted(sm.table);
        rep.verbose = o.verbose;
        rc = analyse(&res, &rep, &o, &sum, &det);
        if (rc == EXIT_OK) {
                if (o.format == FMT_JSON)
                        rc = report_json(stdout, &rep) < 0 ? EXIT_INTERNAL : EXIT_OK;
                else if (o.format == FMT_JSONL)
                        rc = report_jsonl_end(stdout, &rep) < 0 || res.write_err ?
                             EXIT_INTERNAL : EXIT_OK;
                else
                        report_text(stdout, &rep);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "rstscope: cannot write output: %s\n", strerror(errno));
                rc = EXIT_INTERNAL;
        }
        if (rc == EXIT_OK && gate_failed(&o, &sum))
                rc = EXIT_FINDINGS;
        if (rc == EXIT_OK && (capture_truncated(&cap) || res.nomem || sm.st.nomem))
                rc = capture_truncated(&cap) ? EXIT_PARTIAL : EXIT_INTERNAL;

        summary_free(&sum);
        free(det);
        conn_table_destroy(sm.table);
        capture_close(&cap);
        free(res.v);
        free(o.files);
        return rc;
}
