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
#include <limits.h>
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

/* The finding kinds, ", " between them. */
static const char *kind_names(void)
{
        static char names[256];

        if (!names[0])
                for (int k = 0; k < DET_NKINDS; k++)
                        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                                 k ? ", " : "", detect_kind_name((enum finding_kind)k));
        return names;
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
                        fprintf(stderr, "rstscope: unknown finding kind '%.*s' in --fail-on (%s)\n",
                                (int)len, arg, kind_names());
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
                fprintf(stderr, "rstscope: --max wants KIND=N with a known kind (%s), not '%s'\n",
                        kind_names(), arg);
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

#define STR_(x) #x
#define STR(x) STR_(x)

static int bad_seconds(const char *arg)
{
        fprintf(stderr, "rstscope: bad number of seconds '%s'\n", arg);
        return EXIT_USAGE;
}

/* ---- one setter per option: 0, or an exit code after a message ---- */

static int set_format(struct opts *o, const char *arg)
{
        if (!(o->cfg.writer = writer_find(arg))) {
                fprintf(stderr, "rstscope: unknown format '%s' (%s)\n", arg, writer_names());
                return EXIT_USAGE;
        }
        return 0;
}

static int set_file(struct opts *o, const char *arg) { o->files[o->nfiles++] = arg; return 0; }
static int set_iface(struct opts *o, const char *arg) { o->iface = arg; return 0; }
static int set_filter(struct opts *o, const char *arg) { o->filter = arg; return 0; }
static int set_write(struct opts *o, const char *arg) { o->write_file = arg; return 0; }
static int set_user(struct opts *o, const char *arg) { o->user = arg; return 0; }
static int set_metrics(struct opts *o, const char *arg) { o->metrics_addr = arg; return 0; }

static int set_full(struct opts *o, const char *arg)
{
        (void)arg;
        o->full = 1;
        return 0;
}

static int set_verbose(struct opts *o, const char *arg)
{
        (void)arg;
        o->cfg.verbose++;
        return 0;
}

/* seconds > 0 into *dst */
static int positive_seconds(const char *arg, double *dst)
{
        int64_t ns;

        if (parse_seconds(arg, &ns) < 0 || ns == 0)
                return bad_seconds(arg);
        *dst = (double)ns / 1e9;
        return 0;
}

static int set_duration(struct opts *o, const char *arg) { return positive_seconds(arg, &o->duration); }
static int set_interval(struct opts *o, const char *arg) { return positive_seconds(arg, &o->interval); }

/* a whole number in lo..hi, or a message naming the option */
static int whole(const char *arg, unsigned long long lo, unsigned long long hi, const char *what,
                 unsigned long long *v)
{
        char *end;

        errno = 0;
        *v = strtoull(arg, &end, 10);
        if (errno || end == arg || *end || arg[0] == '-' || *v < lo || *v > hi) {
                fprintf(stderr, "rstscope: bad %s '%s'\n", what, arg);
                return EXIT_USAGE;
        }
        return 0;
}

static int set_count(struct opts *o, const char *arg)
{
        unsigned long long v;
        int rc = whole(arg, 1, ULLONG_MAX, "--count", &v);

        o->count = v;
        return rc;
}

static int set_snaplen(struct opts *o, const char *arg)
{
        unsigned long long v;
        int rc = whole(arg, 64, 262144, "--snaplen (64..262144)", &v);

        o->snaplen = (int)v;
        return rc;
}

static int set_cluster_min(struct opts *o, const char *arg)
{
        unsigned long long v;
        int rc = whole(arg, 2, 1000000, "--cluster-min (2 or more)", &v);

        o->cfg.cluster_min = (size_t)v;
        return rc;
}

static int set_max_conns(struct opts *o, const char *arg)
{
        unsigned long long v;
        int rc = whole(arg, 1, 0xfffff000UL, "--max-conns", &v);

        o->cfg.lim.max_conns = (uint32_t)v;
        return rc;
}

static int limit_seconds(const char *arg, int64_t *dst)
{
        return parse_seconds(arg, dst) < 0 ? bad_seconds(arg) : 0;
}

static int set_idle(struct opts *o, const char *arg) { return limit_seconds(arg, &o->cfg.lim.idle_ns); }
static int set_halfopen(struct opts *o, const char *arg) { return limit_seconds(arg, &o->cfg.lim.halfopen_ns); }
static int set_linger(struct opts *o, const char *arg) { return limit_seconds(arg, &o->cfg.lim.linger_ns); }

static int set_min_idle(struct opts *o, const char *arg)
{
        int64_t ns;

        if (parse_seconds(arg, &ns) < 0)
                return bad_seconds(arg);
        o->cfg.min_idle = (double)ns / 1e9;
        return 0;
}

static int set_fail_on(struct opts *o, const char *arg) { return parse_fail_on(arg, o) < 0 ? EXIT_USAGE : 0; }
static int set_max(struct opts *o, const char *arg) { return parse_max(arg, o) < 0 ? EXIT_USAGE : 0; }

static int set_shard(struct opts *o, const char *arg)
{
        unsigned i, n;
        char c;

        if (sscanf(arg, "%u/%u%c", &i, &n, &c) != 2 || n == 0 || i >= n || n > 65536) {
                fprintf(stderr, "rstscope: bad --shard '%s' (I/N with 0 <= I < N)\n", arg);
                return EXIT_USAGE;
        }
        o->cfg.shard_i = i;
        o->cfg.shard_n = n;
        return 0;
}

static int set_threads(struct opts *o, const char *arg)
{
        if (strcmp(arg, "1") && strcmp(arg, "2")) {
                fprintf(stderr, "rstscope: bad --threads '%s' (1 or 2)\n", arg);
                return EXIT_USAGE;
        }
        o->cfg.threads = arg[0] - '0';
        return 0;
}

static int show_help(struct opts *o, const char *arg);
static int show_version(struct opts *o, const char *arg);

/* ---- the options: getopt_long's table, the short options and --help
 * are all made from this one ---- */

struct opt {
        const char *name;               /* long name, NULL: short only */
        int key;                        /* short letter, or an id >= 256 */
        const char *arg;                /* argument's name in --help, NULL: none */
        const char *heading;            /* --help heading that starts before it, or NULL */
        const char *help;               /* --help text, '\n' between its lines */
        int (*set)(struct opts *o, const char *arg);
};

enum { O_LONG = 256 };                  /* ids of long-only options: O_LONG + index */

static const struct opt opts_table[] = {
        { NULL, 'r', "FILE", "Input:\n"
          "  FILE...                 pcap or pcapng files, merged in time order; - is stdin",
          "read FILE (as tcpdump -r); may be repeated", set_file },
        { "interface", 'i', "IFACE", "Live capture:", "capture on IFACE (lo, eth0, any ...)", set_iface },
        { "filter", 'f', "BPF", NULL, "capture filter (default: SYN/FIN/RST packets, IPv4 and IPv6)",
          set_filter },
        { "full", 0, NULL, NULL, "capture every TCP packet (idle times, data races)", set_full },
        { "duration", 0, "S", NULL, "stop after S seconds (default: at SIGINT/SIGTERM)", set_duration },
        { "count", 0, "N", NULL, "stop after N packets", set_count },
        { "interval", 0, "S", NULL, "text: print a line of counts every S seconds", set_interval },
        { "write", 'w', "FILE", NULL, "also save the packets to FILE (pcap)", set_write },
        { "metrics", 0, "ADDR:PORT", NULL, "serve Prometheus metrics on http://ADDR:PORT/metrics",
          set_metrics },
        { "snaplen", 0, "N", NULL, "bytes kept of each packet (default " STR(RS_SNAPLEN) ": headers)",
          set_snaplen },
        { "user", 'Z', "USER", NULL, "drop root privileges to USER once capturing", set_user },
        { "format", 'F', "FMT", "Output:",
          "text (default), json, or jsonl (per connection as it\n"
          "ends: a connection line, then a line per finding;\n"
          "then a line per server, per cluster and a summary line)", set_format },
        { "verbose", 'v', NULL, NULL, "more columns in the text table, per-server distributions",
          set_verbose },
        { "min-idle", 0, "S", "Findings:",
          "a close after S seconds idle is an idle_close (default " STR(RS_MIN_IDLE_S) ")", set_min_idle },
        { "cluster-min", 0, "N", NULL, "smallest cluster, connections (default "
          STR(RS_CLUSTER_MIN_COUNT) ")", set_cluster_min },
        { "fail-on", 0, "KIND[,KIND]", NULL, "exit 5 when any connection has one of these findings",
          set_fail_on },
        { "max", 0, "KIND=N", NULL, "exit 5 when more than N connections have KIND", set_max },
        { "idle-timeout", 0, "S", "Tracking:", "expire established connections idle S seconds (default "
          STR(RS_IDLE_TIMEOUT_S) ")", set_idle },
        { "halfopen-timeout", 0, "S", NULL, "expire unfinished handshakes after S seconds (default "
          STR(RS_HALFOPEN_TIMEOUT_S) ")", set_halfopen },
        { "close-linger", 0, "S", NULL, "a packet S seconds after a close starts a new connection (default "
          STR(RS_CLOSE_LINGER_S) ")", set_linger },
        { "max-conns", 0, "N", NULL, "connections tracked at once (default " STR(RS_MAX_CONNS) ")",
          set_max_conns },
        { "shard", 0, "I/N", NULL, "keep only 5-tuples whose hash falls in shard I of N\n"
          "(N processes on a full copy each; outputs concatenate)", set_shard },
        { "threads", 0, "N", NULL, "offline: 1, or 2 to track connections (state machine,\n"
          "detectors, summary) on a second thread while the\n"
          "first reads, decodes and writes the records\n"
          "(default 2 with 2+ CPUs)", set_threads },
        { "help", 'h', NULL, "Other:", "this help", show_help },
        { "version", 'V', NULL, NULL, "version", show_version },
};

#define NOPTS (sizeof opts_table / sizeof opts_table[0])
#define HELP_COL 26                     /* where the help texts start */

/* "(kinds: ...)" under an option's text, wrapped at 80 columns. */
static void help_kinds(FILE *out)
{
        int col = HELP_COL + fprintf(out, "%*s(kinds:", HELP_COL, "") - HELP_COL;

        for (int k = 0; k < DET_NKINDS; k++) {
                const char *name = detect_kind_name((enum finding_kind)k);
                int w = (int)strlen(name) + 1 + (k == DET_NKINDS - 1);
                if (col + w > 80)
                        col = HELP_COL + fprintf(out, "\n%*s", HELP_COL, "") - 1 - HELP_COL;
                col += fprintf(out, "%s%s", col > HELP_COL ? " " : "", name);
        }
        fputs(")\n", out);
}

static void usage(FILE *out)
{
        fputs("Usage: rstscope [options] FILE...\n"
              "       rstscope [options] -i INTERFACE\n"
              "Passive TCP connection-lifecycle analyzer: every connection in a capture,\n"
              "who closed it, how (FIN or RST) and when.\n\n", out);
        for (size_t i = 0; i < NOPTS; i++) {
                const struct opt *op = &opts_table[i];
                char left[64];
                int n;

                if (op->heading)
                        fprintf(out, "%s\n", op->heading);
                if (op->name && op->key < O_LONG && op->key)
                        n = snprintf(left, sizeof left, "  -%c, --%s", op->key, op->name);
                else if (op->name)
                        n = snprintf(left, sizeof left, "  --%s", op->name);
                else
                        n = snprintf(left, sizeof left, "  -%c", op->key);
                if (op->arg)
                        snprintf(left + n, sizeof left - (size_t)n, " %s", op->arg);
                fprintf(out, "%-*s", HELP_COL - 1, left);
                for (const char *h = op->help; *h;) {
                        size_t len = strcspn(h, "\n");
                        if (h != op->help)
                                fprintf(out, "%*s", HELP_COL - 1, "");
                        fprintf(out, " %.*s\n", (int)len, h);
                        h += len + (h[len] == '\n');
                }
                if (op->set == set_max)         /* the kinds, from their table */
                        help_kinds(out);
        }
        fputs("\nExit codes: 0 ok; 1 internal error; 2 usage error; 3 input cannot be read\n"
              "(missing, not a capture, unsupported link type) or, live, the capture cannot\n"
              "start (no permission, no such interface, the -w file cannot be created, the\n"
              "--metrics address cannot be bound); 4 an input was truncated or failed midway\n"
              "(the report covers what was read); 5 --fail-on/--max exceeded.\n", out);
}

static int show_help(struct opts *o, const char *arg)
{
        (void)arg;
        usage(stdout);
        free(o->files);
        exit(EXIT_OK);
}

static int show_version(struct opts *o, const char *arg)
{
        (void)arg;
        printf("rstscope %s (%s)\n", RS_VERSION, pcap_lib_version());
        free(o->files);
        exit(EXIT_OK);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
        struct option longopts[NOPTS + 1];
        char shortopts[2 * NOPTS + 2] = ":";
        size_t nl = 0, ns = 1;
        int ch;

        memset(longopts, 0, sizeof longopts);
        for (size_t i = 0; i < NOPTS; i++) {
                const struct opt *op = &opts_table[i];
                int key = op->key ? op->key : O_LONG + (int)i;
                if (op->name)
                        longopts[nl++] = (struct option){ op->name, op->arg ? required_argument : no_argument,
                                                          NULL, key };
                if (op->key) {
                        shortopts[ns++] = (char)op->key;
                        if (op->arg)
                                shortopts[ns++] = ':';
                }
        }
        shortopts[ns] = '\0';
        o->files = calloc((size_t)argc + 1, sizeof *o->files);
        if (!o->files)
                return EXIT_INTERNAL;
        opterr = 0;             /* our own one-line messages */
        while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
                const struct opt *op = NULL;
                int rc;

                for (size_t i = 0; i < NOPTS && !op; i++)
                        if (ch == (opts_table[i].key ? opts_table[i].key : O_LONG + (int)i))
                                op = &opts_table[i];
                if (op) {
                        if ((rc = op->set(o, optarg)) != 0)
                                return rc;
                        continue;
                }
                if (ch == ':') {
                        fprintf(stderr, "rstscope: option '%s' needs an argument (try 'rstscope --help')\n",
                                argv[optind - 1]);
                } else if (optopt) {
                        fprintf(stderr, "rstscope: unknown option '-%c' (try 'rstscope --help')\n", optopt);
                } else {
                        fprintf(stderr, "rstscope: unknown option '%s' (try 'rstscope --help')\n",
                                argv[optind - 1]);
                }
                return EXIT_USAGE;
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

/* The live loop: until a signal, --duration or --count, feeding an
 * (created by run_live).  Returns an exit code. */
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
        o->cfg.saved_to = o->write_file;
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
        struct opts o = { .cfg = { .writer = writer_default(), .lim = {
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
