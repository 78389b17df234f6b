/* main.c - command line: options, inputs, the packet loop feeding the
 * analysis (analysis.c: decode -> state machine -> detectors -> report),
 * the CI gate and the exit code.  Analyses nothing itself. */
#define _GNU_SOURCE             /* initgroups */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "capture.h"
#include "config.h"
#include "decode.h"
#include "detect.h"
#include "metrics.h"
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
        const char *iface;              /* -i: live capture */
        const char *filter;             /* -f, or the default */
        int full;                       /* --full: every TCP packet */
        double duration;                /* --duration S, 0 = until a signal */
        uint64_t count;                 /* --count N, 0 = no limit */
        double interval;                /* --interval S (text), 0 = none */
        const char *write_file;         /* -w */
        const char *metrics_addr;       /* --metrics ADDR:PORT */
        const char *user;               /* -Z */
        int snaplen;                    /* --snaplen */
        long gate[DET_NKINDS];          /* most connections allowed per kind, -1 = no gate */
        const char **files;
        size_t nfiles;
};

static void usage(FILE *out)
{
        fprintf(out,
"Usage: rstscope [options] FILE...\n"
"       rstscope [options] -i INTERFACE\n"
"Passive TCP connection-lifecycle analyzer: every connection in a capture,\n"
"who closed it, how (FIN or RST) and when.\n"
"\n"
"Input:\n"
"  FILE...                 pcap or pcapng files, merged in time order; - is stdin\n"
"  -r FILE                 read FILE (as tcpdump -r); may be repeated\n"
"Live capture:\n"
"  -i, --interface IFACE   capture on IFACE (lo, eth0, any ...)\n"
"  -f, --filter BPF        capture filter (default: SYN/FIN/RST packets, IPv4 and IPv6)\n"
"  --full                  capture every TCP packet (idle times, data races)\n"
"  --duration S            stop after S seconds (default: at SIGINT/SIGTERM)\n"
"  --count N               stop after N packets\n"
"  --interval S            text: print a line of counts every S seconds\n"
"  -w, --write FILE        also save the packets to FILE (pcap)\n"
"  --metrics ADDR:PORT     serve Prometheus metrics on http://ADDR:PORT/metrics\n"
"  --snaplen N             bytes kept of each packet (default %d: headers)\n"
"  -Z, --user USER         drop root privileges to USER once capturing\n"
"Output:\n"
"  -F, --format FMT        text (default), json, or jsonl (per connection as it\n"
"                          ends: a connection line, then a line per finding;\n"
"                          then a line per cluster and a summary line)\n"
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
"  --threads N             offline: 1, or 2 to track connections (state machine,\n"
"                          detectors, summary) on a second thread while the\n"
"                          first reads, decodes and writes the records\n"
"                          (default 2 with 2+ CPUs)\n"
"Other:\n"
"  -h, --help              this help\n"
"  -V, --version           version\n"
"\n"
"Exit codes: 0 ok; 1 internal error; 2 usage error; 3 input cannot be read\n"
"(missing, not a capture, unsupported link type) or, live, the capture cannot\n"
"start (no permission, no such interface, the -w file cannot be created, the\n"
"--metrics address cannot be bound); 4 an input was truncated or failed midway\n"
"(the report covers what was read); 5 --fail-on/--max exceeded.\n",
                RS_SNAPLEN, RS_MIN_IDLE_S, RS_CLUSTER_MIN_COUNT,
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
               O_SHARD, O_FULL, O_DURATION, O_COUNT, O_INTERVAL, O_METRICS, O_SNAPLEN, O_THREADS };
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
                { "threads", required_argument, NULL, O_THREADS },
                { "interface", required_argument, NULL, 'i' },
                { "filter", required_argument, NULL, 'f' },
                { "full", no_argument, NULL, O_FULL },
                { "duration", required_argument, NULL, O_DURATION },
                { "count", required_argument, NULL, O_COUNT },
                { "interval", required_argument, NULL, O_INTERVAL },
                { "write", required_argument, NULL, 'w' },
                { "metrics", required_argument, NULL, O_METRICS },
                { "snaplen", required_argument, NULL, O_SNAPLEN },
                { "user", required_argument, NULL, 'Z' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        int ch;

        o->files = calloc((size_t)argc + 1, sizeof *o->files);
        if (!o->files)
                return EXIT_INTERNAL;
        opterr = 0;             /* our own one-line messages */
        while ((ch = getopt_long(argc, argv, ":F:r:vhVi:f:w:Z:", longopts, NULL)) != -1) {
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
                case 'i':
                        o->iface = optarg;
                        break;
                case 'f':
                        o->filter = optarg;
                        break;
                case 'w':
                        o->write_file = optarg;
                        break;
                case 'Z':
                        o->user = optarg;
                        break;
                case O_FULL:
                        o->full = 1;
                        break;
                case O_METRICS:
                        o->metrics_addr = optarg;
                        break;
                case O_DURATION:
                case O_INTERVAL: {
                        int64_t ns;
                        if (parse_seconds(optarg, &ns) < 0 || ns == 0) {
                                fprintf(stderr, "rstscope: bad number of seconds '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        *(ch == O_DURATION ? &o->duration : &o->interval) = (double)ns / 1e9;
                        break;
                }
                case O_COUNT:
                case O_SNAPLEN: {
                        char *end;
                        unsigned long long v = strtoull(optarg, &end, 10);
                        if (end == optarg || *end || v == 0 || (ch == O_SNAPLEN && (v < 64 || v > 262144))) {
                                fprintf(stderr, "rstscope: bad %s '%s'\n",
                                        ch == O_COUNT ? "--count" : "--snaplen (64..262144)", optarg);
                                return EXIT_USAGE;
                        }
                        if (ch == O_COUNT)
                                o->count = v;
                        else
                                o->snaplen = (int)v;
                        break;
                }
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
                case O_THREADS:
                        if (strcmp(optarg, "1") && strcmp(optarg, "2")) {
                                fprintf(stderr, "rstscope: bad --threads '%s' (1 or 2)\n", optarg);
                                return EXIT_USAGE;
                        }
                        o->cfg.threads = optarg[0] - '0';
                        break;
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
        if (o->iface && o->nfiles) {
                fprintf(stderr, "rstscope: -i captures live; it does not read files\n");
                return EXIT_USAGE;
        }
        if (!o->iface && o->nfiles == 0) {
                fprintf(stderr, "rstscope: no capture file or interface given (try 'rstscope --help')\n");
                return EXIT_USAGE;
        }
        if (!o->iface && (o->filter || o->full || o->duration > 0 || o->count || o->interval > 0 ||
                          o->write_file || o->metrics_addr || o->user)) {
                fprintf(stderr, "rstscope: -f, --full, --duration, --count, --interval, -w, --metrics "
                        "and -Z are for live capture (-i)\n");
                return EXIT_USAGE;
        }
        if (o->full && o->filter) {
                fprintf(stderr, "rstscope: --full and -f both set the filter; give one\n");
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

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
        (void)sig;
        stop_requested = 1;
}

static int64_t clock_ns(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* -Z: give up root once the capture, the -w file and the metrics socket
 * are open, as tcpdump does. */
static int drop_privileges(const char *user)
{
        struct passwd *pw;

        if (getuid() != 0 && geteuid() != 0)
                return 0;
        if (!(pw = getpwnam(user))) {
                fprintf(stderr, "rstscope: -Z: no such user '%s'\n", user);
                return EXIT_USAGE;
        }
        if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
            setuid(pw->pw_uid) != 0) {
                fprintf(stderr, "rstscope: -Z %s: cannot change user: %s\n", user, strerror(errno));
                return EXIT_INTERNAL;
        }
        return 0;
}

static void metrics_hook(void *ctx, const struct conn *c, const struct det_result *d)
{
        metrics_conn(ctx, c, d);
}

/* The live loop: until a signal, --duration or --count.  Returns an exit
 * code; *an is created here and handed back for the report. */
static int live_loop(struct opts *o, struct capture *cap, struct analysis *an,
                     struct metrics *m, pcap_dumper_t *dump)
{
        int64_t start = clock_ns(CLOCK_MONOTONIC), next_tick = start, next_line = 0;
        uint64_t n = 0;
        struct packet pkt;
        int rc;

        if (o->interval > 0)
                next_line = start + (int64_t)(o->interval * 1e9);
        while (!stop_requested) {
                int64_t mono;
                rc = capture_live_next(cap, &pkt);
                if (rc < 0)
                        break;
                if (rc == 1) {
                        analysis_packet(an, pkt.in, pkt.ts, pkt.data, pkt.caplen, pkt.len);
                        if (dump)
                                pcap_dump((u_char *)dump, pkt.hdr, pkt.data);
                        if (o->count && ++n >= o->count)
                                break;
                }
                mono = clock_ns(CLOCK_MONOTONIC);
                if (mono >= next_tick) {        /* once a second */
                        next_tick = mono + 1000000000;
                        analysis_tick(an, clock_ns(CLOCK_REALTIME));
                        capture_live_stats(cap);
                        if (m)
                                metrics_capture(m, cap->in[0].packets, cap->in[0].tcp_packets,
                                                cap->in[0].dropped, cap->in[0].if_dropped,
                                                analysis_open_conns(an));
                        if (dump)
                                pcap_dump_flush(dump);
                }
                if (next_line && mono >= next_line) {
                        next_line = mono + (int64_t)(o->interval * 1e9);
                        analysis_interval(an, stdout, clock_ns(CLOCK_REALTIME));
                }
                if (o->duration > 0 && mono - start >= (int64_t)(o->duration * 1e9))
                        break;
        }
        capture_live_stats(cap);
        if (cap->in[0].truncated)
                fprintf(stderr, "rstscope: %s: capture failed: %s\n", o->iface, cap->in[0].error);
        return cap->in[0].truncated ? EXIT_PARTIAL : EXIT_OK;
}

/* Open the interface (and -w, --metrics), drop privileges, capture. */
static int run_live(struct opts *o, struct capture *cap, struct analysis **anp, struct metrics **mp)
{
        char err[PCAP_ERRBUF_SIZE + 1024];
        pcap_dumper_t *dump = NULL;
        struct sigaction sa;
        int usage, rc;

        o->filter = o->full ? "tcp" : o->filter ? o->filter : RS_LIVE_FILTER;
        o->cfg.flush_each = 1;
        o->cfg.threads = 1;             /* interval lines and metrics read the summary */
        o->cfg.flags_only_hint = o->full ? 0 : strcmp(o->filter, RS_LIVE_FILTER) == 0 ? 1 : -1;
        if (capture_open_live(cap, o->iface, o->filter, o->snaplen, err, sizeof err, &usage) < 0) {
                fprintf(stderr, "rstscope: %s\n", err);
                return usage ? EXIT_USAGE : EXIT_INPUT;
        }
        if (o->write_file && !(dump = pcap_dump_open(capture_pcap(cap), o->write_file))) {
                fprintf(stderr, "rstscope: %s: %s\n", o->write_file, pcap_geterr(capture_pcap(cap)));
                return EXIT_INPUT;
        }
        if (o->metrics_addr) {
                if (!(*mp = metrics_create()) ||
                    metrics_serve(*mp, o->metrics_addr, err, sizeof err) < 0) {
                        fprintf(stderr, "rstscope: --metrics %s: %s\n", o->metrics_addr,
                                *mp ? err : "out of memory");
                        if (dump)
                                pcap_dump_close(dump);
                        return EXIT_INPUT;
                }
                o->cfg.on_conn = metrics_hook;
                o->cfg.on_conn_ctx = *mp;
        }
        if (o->user && (rc = drop_privileges(o->user)) != 0) {
                if (dump)
                        pcap_dump_close(dump);
                return rc;
        }
        if (!(*anp = analysis_create(&o->cfg, stdout))) {
                fprintf(stderr, "rstscope: out of memory\n");
                if (dump)
                        pcap_dump_close(dump);
                return EXIT_INTERNAL;
        }
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        fprintf(stderr, "rstscope: capturing on %s (filter: %s)%s\n", o->iface, o->filter,
                o->duration > 0 ? "" : "; Ctrl-C ends it");
        rc = live_loop(o, cap, *anp, *mp, dump);
        if (dump)
                pcap_dump_close(dump);
        return rc;
}

/* stdout's buffer offline (glibc ignores setvbuf's size without one) */
static char outbuf[RS_WRITE_BUFFER];

int main(int argc, char **argv)
{
        struct opts o = { .cfg = { .format = FMT_TEXT, .lim = {
                .idle_ns = (int64_t)RS_IDLE_TIMEOUT_S * 1000000000,
                .halfopen_ns = (int64_t)RS_HALFOPEN_TIMEOUT_S * 1000000000,
                .linger_ns = (int64_t)RS_CLOSE_LINGER_S * 1000000000,
                .max_conns = RS_MAX_CONNS }, .min_idle = RS_MIN_IDLE_S,
                .cluster_min = RS_CLUSTER_MIN_COUNT, .spool_mem = RS_SPOOL_MEM,
                .flags_only_hint = -1 }, .snaplen = RS_SNAPLEN };
        struct capture cap = { 0 };
        struct analysis *an = NULL;
        struct metrics *m = NULL;
        struct packet pkt;
        char err[PCAP_ERRBUF_SIZE + 512];
        int rc, live_rc = EXIT_OK;

        for (int k = 0; k < DET_NKINDS; k++)
                o.gate[k] = -1;
        if ((rc = parse_opts(argc, argv, &o)) != EXIT_OK) {
                free(o.files);
                return rc;
        }
        if (o.iface) {
                live_rc = run_live(&o, &cap, &an, &m);
                if (!an) {
                        capture_close(&cap);
                        metrics_destroy(m);
                        free(o.files);
                        return live_rc;
                }
        } else {
                if (capture_open(&cap, o.files, o.nfiles, err, sizeof err) < 0) {
                        fprintf(stderr, "rstscope: %s\n", err);
                        capture_close(&cap);
                        free(o.files);
                        return strcmp(err, "out of memory") ? EXIT_INPUT : EXIT_INTERNAL;
                }
                /* offline, the report is read when it is complete: write
                 * it in large blocks, not a system call per 4 KiB */
                setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
                /* only this thread writes it: no lock per fwrite */
                __fsetlocking(stdout, FSETLOCKING_BYCALLER);
                if (!o.cfg.threads)
                        o.cfg.threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
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
        }
        rc = analysis_end(an, &cap) < 0 ? EXIT_INTERNAL : EXIT_OK;
        if (fflush(stdout) != 0 || ferror(stdout)) {
                if (rc == EXIT_OK)      /* (else analysis_end said why) */
                        fprintf(stderr, "rstscope: cannot write output: %s\n", strerror(errno));
                rc = EXIT_INTERNAL;
        }
        if (analysis_incomplete(an))
                fprintf(stderr, "rstscope: warning: out of memory, some connections are missing\n");
        if (rc == EXIT_OK && gate_failed(&o, analysis_summary(an)))
                rc = EXIT_FINDINGS;
        if (rc == EXIT_OK && (capture_truncated(&cap) || live_rc == EXIT_PARTIAL))
                rc = EXIT_PARTIAL;
        if (rc == EXIT_OK && analysis_incomplete(an))
                rc = EXIT_INTERNAL;
        analysis_destroy(an);
        metrics_destroy(m);
        capture_close(&cap);
        free(o.files);
        return rc;
}
