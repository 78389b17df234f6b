/* report_json.c - the JSON document (jansson).  The envelope is written
 * by hand and each connection is dumped as its own small object, one per
 * line, so the document never exists as one tree in memory.  Field names
 * are an interface: scripts rely on them (see the man page). */
#include <inttypes.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(16))

static const char *const state_keys[] = {
        "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH",
};
static const char *const close_keys[5] = {
        "client_fin", "client_rst", "server_fin", "server_rst", "none",
};

/* Seconds with microsecond precision, or null for "never". */
static json_t *jtime(int64_t ns)
{
        if (!ns)
                return json_null();
        return json_real((double)((ns + (ns >= 0 ? 500 : -500)) / 1000) / 1e6);
}

static json_t *jdur(int64_t ns)
{
        return json_real((double)((ns + 500) / 1000) / 1e6);
}

static json_t *jendpoint(const struct conn *c, int side)
{
        char ip[64];

        return json_pack("{s:s, s:i}", "ip", report_ip(c, side, ip, sizeof ip),
                         "port", (json_int_t)(side == CLIENT ? c->cli.port : c->srv.port));
}

static json_t *jmark(const struct pkt_mark *m)
{
        if (!m->ts)
                return json_null();
        return json_pack("{s:o, s:I, s:I, s:b}", "at", jtime(m->ts), "seq", (json_int_t)m->seq,
                         "ack", (json_int_t)m->ack, "ack_flag", (m->flags & TH_ACK) != 0);
}

static json_t *jside(const struct conn *c, int side)
{
        const struct side *s = &c->s[side];

        return json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:s}",
                         "fin", jmark(&s->fin), "rst", jmark(&s->rst),
                         "last_payload", jtime(s->last_data_ts),
                         "retransmits", (json_int_t)(s->rexmits - s->keepalives),
                         "keepalives", (json_int_t)s->keepalives,
                         "zero_windows", (json_int_t)s->zwins,
                         "state", tcpsm_state_name((enum tcp_state)s->state));
}

static json_t *jsyn_times(const struct conn *c)
{
        json_t *a = json_array();

        if (c->syn_ts)
                json_array_append_new(a, jtime(c->syn_ts));
        for (int i = 0; i + 1 < c->syn_count && i < RS_MAX_SYN_TIMES; i++)
                json_array_append_new(a, jtime(c->syn_ts + (int64_t)c->syn_dt[i] * 1000));
        return a;
}

static json_t *jconn(const struct report *r, const struct conn *c)
{
        struct close_info ci;
        char hist[RS_HISTORY_MAX + 4];
        int64_t rtt = tcpsm_rtt_ns(c);
        static const char *const how[] = { NULL, "fin", "rst" };

        tcpsm_close_info(c, &ci);
        return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o,"
                         " s:{s:s?, s:s?, s:o}, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o,"
                         " s:s, s:s, s:[]}",
                         "id", (json_int_t)c->id,
                         "client", jendpoint(c, CLIENT),
                         "server", jendpoint(c, SERVER),
                         "first", jtime(c->first),
                         "last", jtime(c->last),
                         "duration_s", jdur(c->end - c->first),
                         "handshake", tcpsm_handshake(c),
                         "syn_count", (int)c->syn_count,
                         "syn_times", jsyn_times(c),
                         "synack", jtime(c->synack_ts),
                         "established", jtime(c->est_ts),
                         "rtt_s", rtt < 0 ? json_null() : jdur(rtt),
                         "mss", json_pack("[i,i]", c->s[CLIENT].mss, c->s[SERVER].mss),
                         "close",
                         "by", ci.by < 0 ? NULL : ci.by == CLIENT ? "client" : "server",
                         "how", how[ci.how],
                         "at", jtime(ci.at),
                         "end", tcpsm_reason_name((enum close_reason)c->reason),
                         "client_pkts", (json_int_t)c->s[CLIENT].pkts,
                         "client_bytes", (json_int_t)tcpsm_bytes(c, CLIENT),
                         "server_pkts", (json_int_t)c->s[SERVER].pkts,
                         "server_bytes", (json_int_t)tcpsm_bytes(c, SERVER),
                         "duplicates", (json_int_t)c->dups,
                         "client_side", jside(c, CLIENT),
                         "server_side", jside(c, SERVER),
                         "state", tcpsm_conn_state(c),
                         "history", tcpsm_history(c, r->flags_only, hist, sizeof hist),
                         "findings");
}

static json_t *jinputs(const struct report *r)
{
        json_t *a = json_array();

        for (size_t i = 0; i < r->cap->nin; i++) {
                const struct input *in = &r->cap->in[i];
                json_t *err = json_object();
                for (int k = DEC_FRAGMENT; k < DEC_NRESULTS; k++)
                        if (in->errors[k])
                                json_object_set_new(err, decode_result_name((enum dec_result)k),
                                                    json_integer((json_int_t)in->errors[k]));
                json_array_append_new(a, json_pack(
                        "{s:s, s:s, s:s, s:I, s:I, s:b, s:s?, s:o}",
                        "file", in->name, "format", in->format,
                        "linktype", decode_link_name(in->linktype),
                        "packets", (json_int_t)in->packets,
                        "tcp_packets", (json_int_t)in->tcp_packets,
                        "truncated", in->truncated,
                        "error", in->truncated ? in->error : NULL,
                        "errors", err));
        }
        return a;
}

static json_t *jsummary(const struct report *r)
{
        json_t *bs = json_object(), *bc = json_object();
        size_t cl[5];

        for (size_t k = 0; k < sizeof state_keys / sizeof state_keys[0]; k++)
                json_object_set_new(bs, state_keys[k], json_integer(0));
        for (size_t i = 0; i < r->nconns; i++) {
                const char *s = tcpsm_conn_state(&r->conns[i]);
                json_object_set_new(bs, s, json_integer(json_integer_value(json_object_get(bs, s)) + 1));
        }
        report_close_counts(r, cl);
        for (int k = 0; k < 5; k++)
                json_object_set_new(bc, close_keys[k], json_integer((json_int_t)cl[k]));
        return json_pack("{s:I, s:o, s:o, s:I}", "connections", (json_int_t)r->nconns,
                         "by_state", bs, "by_close", bc,
                         "duplicates", (json_int_t)r->st->duplicates);
}

/* Dump one value after a key, or fail. */
static int put(FILE *out, const char *key, json_t *v)
{
        int rc;

        if (!v)
                return -1;
        if (key)
                fprintf(out, "\"%s\":", key);
        rc = json_dumpf(v, out, JSON_FLAGS | JSON_ENCODE_ANY);
        json_decref(v);
        return rc;
}

int report_json(FILE *out, const struct report *r)
{
        int rc = 0;

        fputc('{', out);
        rc |= put(out, "tool", json_pack("{s:s, s:s}", "name", "rstscope", "version", RS_VERSION));
        fputc(',', out);
        rc |= put(out, "inputs", jinputs(r));
        fputc(',', out);
        rc |= put(out, "capture", json_pack("{s:o, s:o, s:b}", "first", jtime(r->first),
                                            "last", jtime(r->last), "flags_only", r->flags_only));
        fputc(',', out);
        rc |= put(out, "summary", jsummary(r));
        fputs(",\"connections\":[", out);
        for (size_t i = 0; i < r->nconns; i++) {
                fputs(i ? ",\n" : "\n", out);
                rc |= put(out, NULL, jconn(r, &r->conns[i]));
        }
        fputs("\n]}\n", out);
        return rc ? -1 : 0;
}
