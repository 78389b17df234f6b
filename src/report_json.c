/* report_json.c - the JSON document (jansson).  The envelope is written
 * by hand and each connection is dumped as its own small object, one per
 * line, so the document never exists as one tree in memory.  Field names
 * are an interface: scripts rely on them (see the man page). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(16))

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

static json_t *jendpoint(int family, const struct endpoint *e)
{
        char ip[64];

        return json_pack("{s:s, s:i}", "ip", report_ip(family, e, ip, sizeof ip), "port", (int)e->port);
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
                         "retransmits", (json_int_t)(s->rexmits - s->probe_rexmits),
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

static json_t *jnum(double v)
{
        return isnan(v) ? json_null() : json_real(round(v * 1e6) / 1e6);
}

static const char *side_name(int s) { return s == CLIENT ? "client" : "server"; }

static json_t *jfinding(const struct finding *f)
{
        json_t *o = json_pack("{s:s, s:o, s:s, s:b}", "kind", detect_kind_name((enum finding_kind)f->kind),
                              "at", jtime(f->at), "by", side_name(f->by), "inferred", f->inferred);

        switch ((enum finding_kind)f->kind) {
        case DET_CONNECT_TIMEOUT:
                json_object_set_new(o, "give_up_min_s", jnum(f->a));
                json_object_set_new(o, "give_up_s", jnum(f->b));
                json_object_set_new(o, "schedule", json_string(detect_schedule_name(
                                        (enum syn_schedule)f->sched)));
                break;
        case DET_DATA_AFTER_PEER_FIN:
                json_object_set_new(o, "idle_before_peer_fin_s", jnum(f->a));
                json_object_set_new(o, "after_fin_s", jnum(f->b));
                json_object_set_new(o, "answered_by_rst", json_boolean(f->answered));
                break;
        case DET_DATA_AFTER_PEER_RST:
                json_object_set_new(o, "after_rst_s", jnum(f->b));
                json_object_set_new(o, "note", json_string(
                        "seen at the resetting side; at the other side the data left before the RST arrived"));
                break;
        case DET_REQUEST_RESET:
                json_object_set_new(o, "request_age_s", jnum(f->a));
                break;
        case DET_IDLE_CLOSE:
                json_object_set_new(o, "idle_s", jnum(f->a));
                json_object_set_new(o, "how", json_string(f->how == HOW_RST ? "rst" : "fin"));
                break;
        case DET_REFUSED:
        case DET_NKINDS:
                break;
        }
        return o;
}

static json_t *jfindings(const struct det_result *d)
{
        json_t *a = json_array();

        for (int i = 0; d && i < d->n; i++)
                json_array_append_new(a, jfinding(&d->f[i]));
        return a;
}

static json_t *jconn(const struct conn *c, const struct det_result *d, int flags_only)
{
        struct close_info ci;
        char hist[RS_HISTORY_MAX + 4];
        int64_t rtt = tcpsm_rtt_ns(c);
        static const char *const how[] = { NULL, "fin", "rst" };

        tcpsm_close_info(c, &ci);
        return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o,"
                         " s:{s:s?, s:s?, s:o}, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o,"
                         " s:s, s:s, s:o, s:o, s:o}",
                         "id", (json_int_t)c->id,
                         "client", jendpoint(c->family, &c->cli),
                         "server", jendpoint(c->family, &c->srv),
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
                         "history", tcpsm_history(c, flags_only, hist, sizeof hist),
                         "syn_to_close_s", jnum(d ? d->syn_to_close : NAN),
                         "idle_before_close_s", jnum(d ? d->idle_before_close : NAN),
                         "findings", jfindings(d));
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
                        "{s:s, s:s, s:s, s:I, s:I, s:b, s:s?, s:o, s:o, s:o}",
                        "file", in->name, "format", in->format,
                        "linktype", decode_link_name(in->linktype),
                        "packets", (json_int_t)in->packets,
                        "tcp_packets", (json_int_t)in->tcp_packets,
                        "truncated", in->truncated,
                        "error", in->truncated ? in->error : NULL,
                        "errors", err,
                        "dropped", in->live ? json_integer((json_int_t)in->dropped) : json_null(),
                        "if_dropped", in->live ? json_integer((json_int_t)in->if_dropped) : json_null()));
        }
        return a;
}

static json_t *jsummary(const struct report *r)
{
        const struct summary *sum = r->sum;
        json_t *bs = json_object(), *bc = json_object(), *fk = json_object();

        for (size_t k = 0; k < SUM_NSTATES; k++)
                json_object_set_new(bs, summary_state_name(k), json_integer((json_int_t)sum->states[k]));
        for (int k = 0; k < 5; k++)
                json_object_set_new(bc, close_keys[k], json_integer((json_int_t)sum->closes[k]));
        for (int k = 0; k < DET_NKINDS; k++)
                json_object_set_new(fk, detect_kind_name((enum finding_kind)k),
                                    json_integer((json_int_t)sum->kind_conns[k]));
        return json_pack("{s:I, s:o, s:o, s:o, s:I}", "connections", (json_int_t)sum->nconns,
                         "by_state", bs, "by_close", bc, "findings", fk,
                         "duplicates", (json_int_t)r->st->duplicates);
}

static json_t *jserver(const struct report *r, int server)
{
        if (server < 0)
                return json_null();
        return jendpoint(r->sum->servers[server].family, &r->sum->servers[server].ep);
}

static const char *how_name(int how) { return how == HOW_RST ? "rst" : how == HOW_FIN ? "fin" : NULL; }

static json_t *jcluster(const struct report *r, const struct sum_cluster *k)
{
        json_t *likely = json_array(), *ex = json_array();

        for (size_t i = 0; i < k->nlikely; i++)
                json_array_append_new(likely, json_pack("{s:s, s:f, s:s}", "cause", k->likely[i]->what,
                                                        "seconds", k->likely[i]->seconds,
                                                        "source", k->likely[i]->source));
        for (size_t i = 0; i < k->nexamples; i++)
                json_array_append_new(ex, json_integer((json_int_t)k->ex[i].id));
        return json_pack("{s:s, s:s, s:s?, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
                         "measure", cluster_measure_name(k->measure),
                         "closing_side", side_name(k->side), "how", how_name(k->how),
                         "server", jserver(r, k->server), "count", (json_int_t)k->pk.count,
                         "share", jnum(k->group_n ? (double)k->pk.count / (double)k->group_n : 0),
                         "center_s", jnum(k->pk.center), "spread_s", jnum(k->pk.spread),
                         "min_s", jnum(k->pk.lo), "max_s", jnum(k->pk.hi),
                         "likely", likely, "remedy", k->remedy, "examples", ex);
}

static json_t *jclusters(const struct report *r)
{
        json_t *a = json_array();

        for (size_t i = 0; i < r->sum->nclusters; i++)
                json_array_append_new(a, jcluster(r, &r->sum->clusters[i]));
        return a;
}

static json_t *jdists(const struct report *r)
{
        json_t *a = json_array();

        for (size_t i = 0; i < r->sum->ndists; i++) {
                const struct sum_dist *d = &r->sum->dists[i];
                json_t *h = json_array();
                for (size_t b = 0; b < d->nbins; b++)
                        json_array_append_new(h, json_pack("{s:o, s:I}", "from_s", jnum(d->bin_edge[b]),
                                                           "count", (json_int_t)d->bin_count[b]));
                json_array_append_new(a, json_pack(
                        "{s:s, s:s, s:s?, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
                        "measure", cluster_measure_name(d->measure), "closing_side", side_name(d->side),
                        "how", how_name(d->how), "server", jserver(r, d->server),
                        "count", (json_int_t)d->s.n, "min_s", jnum(d->s.min), "p50_s", jnum(d->s.p50),
                        "p90_s", jnum(d->s.p90), "p99_s", jnum(d->s.p99), "max_s", jnum(d->s.max),
                        "histogram", h));
        }
        return a;
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

int report_json_head(FILE *out, const struct report *r)
{
        int rc = 0;

        fputc('{', out);
        rc |= put(out, "tool", json_pack("{s:s, s:s}", "name", "rstscope", "version", RS_VERSION));
        fputc(',', out);
        rc |= put(out, "inputs", jinputs(r));
        fputc(',', out);
        rc |= put(out, "capture", json_pack("{s:o, s:o, s:b, s:o}", "first", jtime(r->first),
                                            "last", jtime(r->last), "flags_only", r->flags_only,
                                            "shard", r->shard_n ? json_pack("{s:i, s:i}", "i",
                                            (int)r->shard_i, "n", (int)r->shard_n) : json_null()));
        fputc(',', out);
        rc |= put(out, "summary", jsummary(r));
        fputc(',', out);
        rc |= put(out, "clusters", jclusters(r));
        fputc(',', out);
        rc |= put(out, "distributions", jdists(r));
        fputs(",\"connections\":[\n", out);
        return rc ? -1 : 0;
}

void report_json_tail(FILE *out)
{
        fputs("\n]}\n", out);
}

char *report_json_conn(const struct conn *c, const struct det_result *d, int flags_only, int with_type)
{
        json_t *o = jconn(c, d, flags_only);
        char *s;

        if (!o)
                return NULL;
        if (with_type)
                json_object_set_new(o, "type", json_string("connection"));
        s = json_dumps(o, JSON_FLAGS);
        json_decref(o);
        return s;
}

char *report_json_finding(const struct conn *c, const struct finding *f)
{
        json_t *o = jfinding(f);
        char *s;

        json_object_set_new(o, "type", json_string("finding"));
        json_object_set_new(o, "id", json_integer((json_int_t)c->id));
        json_object_set_new(o, "client", jendpoint(c->family, &c->cli));
        json_object_set_new(o, "server", jendpoint(c->family, &c->srv));
        s = json_dumps(o, JSON_FLAGS);
        json_decref(o);
        return s;
}

int report_jsonl_end(FILE *out, const struct report *r)
{
        int rc = 0;

        for (size_t i = 0; i < r->sum->nclusters; i++) {
                json_t *o = jcluster(r, &r->sum->clusters[i]);
                json_object_set_new(o, "type", json_string("cluster"));
                rc |= put(out, NULL, o);
                fputc('\n', out);
        }
        {
                json_t *o = jsummary(r);
                json_object_set_new(o, "type", json_string("summary"));
                json_object_set_new(o, "flags_only", json_boolean(r->flags_only));
                rc |= put(out, NULL, o);
                fputc('\n', out);
        }
        return rc ? -1 : 0;
}
