#!/usr/bin/env python3
"""Compare rstscope's JSON output with the Zeek conn.log oracles of the corpus.

Usage: tests/conformance.py [--corpus DIR] [--rstscope PATH] [--only NAME]...
                            [-v] [--json] [--min-state PCT]

For every row of <corpus>/INDEX.tsv (one oracle each) rstscope is run on the
oracle's trace (once per distinct trace file) and its connections are matched
to the oracle rows:

  1. on the ordered 5-tuple (orig_h, orig_p, resp_h, resp_p) ==
     (client.ip, client.port, server.ip, server.port); several rows per tuple
     are paired in tiers, best agreement first (all fields, state+history,
     history, ...), ties and the last tier in order;
  2. oracle rows left over are tried against the reversed 5-tuple; such a
     match is counted in the "rev" column and compared after mirroring the
     rstscope side (history case swapped, SH<->SHR, RSTO<->RSTR, S2<->S3,
     packet counts swapped), so state/history usually disagree.

Compared fields: conn_state/state, history/history and orig_pkts+resp_pkts/
client_pkts+server_pkts ("pkts" agrees when both counts agree).  '?' in a
partial oracle is skipped.  An unmatched oracle row disagrees on every known
field; unmatched rstscope connections are counted in "extra".

Only the Python 3 standard library is used.  Exit status is 0, except 1 when
--min-state is given and conn_state agreement over full oracles is below it.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
from collections import defaultdict, deque

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS = "../shared/corpus/zeek"
FIELDS = ("state", "history", "pkts")
# Matching tiers: pair rows agreeing on these fields first; () = plain order.
TIERS = (("state", "history", "pkts"), ("state", "history"), ("history", "pkts"),
         ("history",), ("state", "pkts"), ("state",), ("pkts",), ())
# conn_state seen from the other side (states missing here have no mirror).
MIRROR = {"SF": "SF", "S1": "S1", "OTH": "OTH", "SH": "SHR", "SHR": "SH",
          "RSTO": "RSTR", "RSTR": "RSTO", "S2": "S3", "S3": "S2"}
RUN_TIMEOUT = 300  # seconds per rstscope run


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def load_oracle(path):
    """Oracle rows as dicts: key (ordered 5-tuple) and the compared values."""
    port = lambda p: int(p) if p.isdigit() else p  # noqa: E731
    return [{"key": (r["orig_h"], port(r["orig_p"]), r["resp_h"], port(r["resp_p"])),
             "state": r["conn_state"], "history": r["history"],
             "opkts": r["orig_pkts"], "rpkts": r["resp_pkts"]} for r in read_tsv(path)]


def conn_view(c, rev):
    """An rstscope connection as oracle-style values, mirrored if matched reversed."""
    hist = c.get("history") or "-"  # Zeek logs an empty history as '-'
    v = {"state": c.get("state"), "history": hist,
         "opkts": str(c.get("client_pkts")), "rpkts": str(c.get("server_pkts"))}
    if rev:
        v = {"state": MIRROR.get(v["state"]), "history": hist.swapcase(),
             "opkts": v["rpkts"], "rpkts": v["opkts"]}
    return v


def known(o, field):
    """Oracle columns behind a field, minus the ones a partial oracle leaves '?'."""
    cols = ("opkts", "rpkts") if field == "pkts" else (field,)
    return tuple(col for col in cols if o[col] != "?")


def agreement(o, v):
    """{field: True/False} for every field the oracle row knows."""
    res = {}
    for f in FIELDS:
        cols = known(o, f)
        if cols:
            res[f] = all(v is not None and o[col] == v[col] for col in cols)
    return res


def match_group(orows, conns, rev):
    """Pair oracle rows with connections sharing one key, tier by tier.

    Each tier buckets the remaining oracle rows by their values on the tier's
    (known) columns and walks the remaining connections in start order, so the
    cost is linear in the group size (llc has 1333 rows on one 5-tuple).
    Returns (pairs, unmatched oracle rows, unmatched connections)."""
    views = [conn_view(c, rev) for c in conns]
    left_o, left_c, pairs = list(range(len(orows))), list(range(len(conns))), []
    for tier in TIERS:
        if not left_o or not left_c:
            break
        buckets, colsets = defaultdict(deque), set()
        for i in left_o:
            cols = sum((known(orows[i], f) for f in tier), ())
            colsets.add(cols)
            buckets[(cols, tuple(orows[i][c] for c in cols))].append(i)
        still_c = []
        for j in left_c:
            cands = [buckets[(cols, tuple(views[j][c] for c in cols))] for cols in colsets]
            cands = [q for q in cands if q]
            if cands:
                pairs.append((min(cands, key=lambda q: q[0]).popleft(), j))
            else:
                still_c.append(j)
        used = {i for i, _ in pairs}
        left_o, left_c = [i for i in left_o if i not in used], still_c
    return ([(orows[i], conns[j], rev) for i, j in pairs],
            [orows[i] for i in left_o], [conns[j] for j in left_c])


def ckey(c):
    return (c["client"]["ip"], c["client"]["port"], c["server"]["ip"], c["server"]["port"])


def group_by(items, key):
    g = defaultdict(list)
    for x in items:
        g[key(x)].append(x)
    return g


def compare(orows, conns):
    """Match a whole trace: ordered keys first, then reversed ones."""
    by_c = group_by(conns, ckey)
    pairs, lost = [], []
    for key, group in group_by(orows, lambda o: o["key"]).items():
        p, lost_o, by_c[key] = match_group(group, by_c.get(key, []), False)
        pairs += p
        lost += lost_o
    unmatched = []
    for key, group in group_by(lost, lambda o: o["key"]).items():
        rkey = (key[2], key[3], key[0], key[1])
        p, lost_o, by_c[rkey] = match_group(group, by_c.get(rkey, []), True)
        pairs += p
        unmatched += lost_o
    extra = sorted((c for cs in by_c.values() for c in cs), key=lambda c: c.get("first") or 0)
    return pairs, unmatched, extra


def run_rstscope(binary, trace):
    """(connections, note); connections is None when the run failed."""
    try:
        p = subprocess.run([binary, "--format", "json", trace], capture_output=True,
                           timeout=RUN_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "FAILED(%s)" % type(e).__name__
    if p.returncode not in (0, 4):
        return None, "FAILED(rc=%d)" % p.returncode
    try:
        conns = json.loads(p.stdout)["connections"]
        for c in conns:
            ckey(c)  # every connection must have its endpoints
    except (ValueError, KeyError, TypeError):
        return None, "FAILED(bad json)"
    return conns, ("truncated" if p.returncode == 4 else "")


def fmt_ep(ip, port):
    return ("[%s]:%s" if ":" in str(ip) else "%s:%s") % (ip, port)


def fmt_o(o):
    k = o["key"]
    return "%s > %s %s %s %s/%s" % (fmt_ep(k[0], k[1]), fmt_ep(k[2], k[3]), o["state"],
                                    o["history"], o["opkts"], o["rpkts"])


def fmt_c(c):
    k, v = ckey(c), conn_view(c, False)
    return "%s > %s %s %s %s/%s" % (fmt_ep(k[0], k[1]), fmt_ep(k[2], k[3]), v["state"],
                                    v["history"], v["opkts"], v["rpkts"])


def new_stats():
    return {"oracles": 0, "rows": 0, "conns": 0, "extra": 0, "rev": 0, "unmatched": 0,
            **{f: [0, 0] for f in FIELDS}}


def score(orows, conns, out):
    """Per-oracle stats; disagreeing rows are appended to the list `out`."""
    st = new_stats()
    st.update(oracles=1, rows=len(orows), conns=len(conns or []))
    pairs, unmatched, extra = compare(orows, conns or [])
    for o, c, rev in pairs:
        agree = agreement(o, conn_view(c, rev))
        st["rev"] += rev
        for f, ok in agree.items():
            st[f][0] += ok
            st[f][1] += 1
        bad = [f for f, ok in agree.items() if not ok]
        if bad or rev:
            out.append("%-58s | %s  [%s]%s" % (fmt_o(o), fmt_c(c), ",".join(bad) or "ok",
                                               " REVERSED" if rev else ""))
    for o in unmatched:
        st["unmatched"] += 1
        for f in agreement(o, None):
            st[f][1] += 1
        out.append("%-58s | (no match)" % fmt_o(o))
    st["extra"] = len(extra)
    out += ["%-58s | %s  [extra]" % ("(none)", fmt_c(c)) for c in extra]
    return st


def add(total, st):
    for k, v in st.items():
        if isinstance(v, list):
            total[k] = [a + b for a, b in zip(total[k], v)]
        else:
            total[k] += v


def pct(pair):
    return 100.0 * pair[0] / pair[1] if pair[1] else None


def cell(pair, with_pct=False):
    s = "%d/%d" % tuple(pair)
    p = pct(pair)
    return s + (" %5.1f%%" % p if with_pct and p is not None else "") if pair[1] else "-"


ROW = "%-46s %6s %6s %16s %16s %16s %6s %4s  %s"


def print_table(title, results):
    print(title)
    print(ROW % ("trace", "rows", "conns", "state", "history", "pkts", "extra", "rev", "notes"))
    for r in results:
        st = r["stats"]
        print(ROW % (r["name"], st["rows"], st["conns"], cell(st["state"]), cell(st["history"]),
                     cell(st["pkts"]), st["extra"], st["rev"], r["note"]))


def print_total(label, st, results):
    print(ROW % ("TOTAL " + label, st["rows"], st["conns"], cell(st["state"], True),
                 cell(st["history"], True), cell(st["pkts"], True), st["extra"], st["rev"],
                 "(%d oracles, %d rows unmatched)" % (st["oracles"], st["unmatched"])))
    # Unweighted mean over oracles, so llc's 1333 identical rows do not dominate.
    means = []
    for f in FIELDS:
        vals = [pct(r["stats"][f]) for r in results if r["stats"][f][1]]
        means.append("%.1f%%" % (sum(vals) / len(vals)) if vals else "-")
    print(ROW % ("  mean per oracle", "", "", *means, "", "", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", help="Zeek corpus dir (default %s from the repo root)" % DEFAULT_CORPUS)
    ap.add_argument("--rstscope", help="rstscope binary (default ./rstscope in the repo root)")
    ap.add_argument("--only", action="append", metavar="NAME", help="run this oracle only (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every disagreeing row")
    ap.add_argument("--json", action="store_true", help="print a JSON summary instead of tables")
    ap.add_argument("--min-state", type=float, metavar="PCT",
                    help="exit 1 if conn_state agreement over full oracles is below PCT")
    a = ap.parse_args()
    corpus = a.corpus or os.path.join(REPO, DEFAULT_CORPUS)
    binary = a.rstscope or os.path.join(REPO, "rstscope")
    if not os.path.isdir(corpus):
        print("conformance: %s not found, skipping" % (a.corpus or DEFAULT_CORPUS))
        return 0
    if not os.path.exists(binary):
        print("conformance: %s not found, every trace will fail" % binary, file=sys.stderr)
    index = read_tsv(os.path.join(corpus, "INDEX.tsv"))
    if a.only:
        missing = set(a.only) - {r["name"] for r in index}
        if missing:
            sys.exit("conformance: unknown oracle(s): %s" % ", ".join(sorted(missing)))
        index = [r for r in index if r["name"] in a.only]
    vout = sys.stderr if a.json else sys.stdout
    runs, results, variants = {}, [], []
    for row in index:
        trace = row["trace_file"]
        if trace not in runs:
            runs[trace] = run_rstscope(binary, os.path.join(corpus, trace))
        conns, note = runs[trace]
        kind = "partial" if row["oracle"].startswith("oracle_partial/") else "full"
        if "--" in row["name"]:  # a setting variant; rstscope runs with its defaults
            variants.append((row["name"], row["note"]))
            note = (note + " variant*").strip()
        lines = []
        st = score(load_oracle(os.path.join(corpus, row["oracle"])), conns, lines)
        results.append({"name": row["name"], "kind": kind, "trace": trace, "note": note,
                        "failed": conns is None, "stats": st})
        if a.verbose and lines:  # oracle row | rstscope row  [disagreeing fields]
            vout.write("%s (%s oracle, %s)%s\n" % (row["name"], kind, trace, " " + note if note else ""))
            vout.writelines("  %s\n" % line for line in lines)
    totals = {k: new_stats() for k in ("full", "partial", "all")}
    for r in results:
        add(totals[r["kind"]], r["stats"])
        add(totals["all"], r["stats"])
    if a.json:
        summary = {"corpus": corpus, "rstscope": binary, "oracles": results, "totals": totals,
                   "pct": {k: {f: pct(t[f]) for f in FIELDS} for k, t in totals.items()},
                   "variants": dict(variants)}
        print(json.dumps(summary, indent=1))
    else:
        for kind in ("full", "partial"):
            sel = [r for r in results if r["kind"] == kind]
            if sel:
                print_table("== %s oracles" % kind, sel)
                print()
        for k in ("full", "partial", "all"):
            if totals[k]["oracles"]:
                print_total(k, totals[k], [r for r in results if k in ("all", r["kind"])])
        for name, note in variants:
            print("* variant compared with rstscope defaults: %s: %s" % (name, note))
    state_pct = pct(totals["full"]["state"])
    if a.min_state is not None and state_pct is not None and state_pct < a.min_state:
        print("conformance: conn_state agreement %.1f%% < %.1f%%" % (state_pct, a.min_state),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
