#!/bin/bash
# tests/docs-agree.sh RSTSCOPE - the docs agree with the program (issue 13).
#
# Run from the top of the tree: tests/docs-agree.sh ./rstscope
# Prints one line, "docs: N options, M exit codes, K record types agree in
# --help, man page and README", and exits 0; or prints each disagreement and
# exits 1.  DOCS_MAN and DOCS_README name other copies of man/rstscope.1 and
# README.md to check (to try a change, or to see this test fail).
#
# The reference is what the program says: `RSTSCOPE --help` for the options,
# their defaults and the exit codes, and the JSON Lines stream of
# `RSTSCOPE -F jsonl testdata/node-race-flags.pcap` for the record types.
#
# What is compared, and how (strict on purpose: a doc that drifts fails):
#
#  * Options.  Every line of --help that starts with two spaces and a dash is
#    an option: its forms (-i, --interface; -r alone has no long form), its
#    argument name (IFACE: the word after its last form, [...] parts
#    dropped) and its description (with the indented lines under it).
#    Its ENTRY is, in the man page, the .TP paragraph of the OPTIONS section
#    whose tag names all its forms, and in the README the row of the Options
#    table whose first cell names all its forms.  There must be exactly one
#    entry in each; its tag (first cell) must give the same argument name
#    after the same form; and every option a man OPTIONS tag or a README
#    options row names must be an option of --help (no doc-only options).
#    Roff is read as text first: \- is -, \fB and the other font escapes,
#    \& and \% vanish, \(dq is ", the arguments of .B/.BI/.BR/... are
#    joined as groff would; a .TP paragraph ends at the next .TP, .PP, .IP
#    or .SH outside .RS/.RE (so an indented block within it belongs to it).
#    Markdown: backticks and ** vanish, \| is |.
#  * Defaults.  Where --help says "(default X)" or "(default: X)" the value
#    is X up to the closing parenthesis or a colon ("(default 160: headers)"
#    gives 160); "WORD (default)" gives WORD.  The man entry must say
#    "Default X", "default: X" (either case, colon optional) or
#    "X (default)", with X exactly as --help has it and not continued by a
#    letter, digit or decimal (160 does not match 1600 or 160.5).  The
#    README row's default cell must be exactly X, and empty where --help
#    gives no default.
#  * Exit codes.  The codes of --help's "Exit codes:" paragraph ("N text;
#    ..."), the man page's EXIT STATUS .TP tags and the first cells of the
#    README's Exit codes table must be the same set.  For each code, every
#    comma-separated phrase in a parenthesis of its --help text (a leading
#    "or"/"and" dropped) and every option it names must appear in the man
#    and README entries of that code (case and white space ignored).
#  * JSON Lines record types.  The "type" values of the stream, in the order
#    they first appear, must all be named (as a word, plural allowed) after
#    the first "jsonl" in the --format entry of --help, of the man page and
#    of the README options table, and first named in that same order.
#  * README examples.  A fenced block that starts with "$ rstscope ARGS" is
#    run (ARGS split as the shell would, rstscope replaced by RSTSCOPE,
#    TZ=UTC0 LC_ALL=C) and must show lines the program prints, in order,
#    trailing blanks ignored.  A line starting with "..." marks a cut (one or
#    more lines left out); without one, the block must be the whole output.
#  * Nothing a user reads may cite FIELDNOTES (users do not have it).
set -u -o pipefail

if [ $# -ne 1 ]; then
        echo "usage: $0 RSTSCOPE (run from the top of the tree)" >&2
        exit 2
fi
rs=$1
man=${DOCS_MAN:-man/rstscope.1}
readme=${DOCS_README:-README.md}
sample=testdata/node-race-flags.pcap
for f in "$man" "$readme" "$sample"; do
        [ -r "$f" ] || { echo "docs: cannot read $f (run from the top of the tree)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "docs: python3 is needed" >&2; exit 2; }

help=$("$rs" --help) || { echo "docs: '$rs --help' failed" >&2; exit 1; }
types=$("$rs" -F jsonl "$sample" | python3 -c '
import json, sys
seen = []
for line in sys.stdin:
    t = json.loads(line)["type"]
    if t not in seen:
        seen.append(t)
print(json.dumps(seen))') || { echo "docs: '$rs -F jsonl $sample' failed or is not JSON Lines" >&2; exit 1; }

exec python3 - "$rs" "$man" "$readme" "$help" "$types" <<'EOF'
import json, os, re, shlex, subprocess, sys

rs, man_path, readme_path, help_text, types_json = sys.argv[1:6]
types = json.loads(types_json)
errors = []
OPT = re.compile(r'(?<![\w-])(--?[A-Za-z][\w-]*)')


def err(msg):
    errors.append(msg)


def norm(s):
    return re.sub(r'\s+', ' ', s).strip()


def opts_in(s):
    return OPT.findall(s)


def base_arg(s):
    return re.sub(r'\[[^\]]*\]', '', s).rstrip(',')


def arg_after(text, form):
    """The word after option FORM in TEXT ('' if none)."""
    m = re.search(r'(?<![\w-])' + re.escape(form) + r'(?![\w-])\s*(\S*)', text)
    if not m:
        return None
    nxt = m.group(1)
    return '' if nxt.startswith('-') or nxt in (',', '') else base_arg(nxt)


# ---- --help ----------------------------------------------------------------
options, exit_lines, cur, in_exit = [], [], None, False
for line in help_text.split('\n'):
    if line.startswith('Exit codes:'):
        in_exit = True
    if in_exit:
        if not line.strip():
            in_exit = False
        else:
            exit_lines.append(line)
        continue
    m = re.match(r'^  (-\S.*?)(?:\s{2,}(\S.*))?$', line)
    if m:
        cur = {'head': m.group(1), 'desc': m.group(2) or ''}
        options.append(cur)
    elif cur is not None and re.match(r'^ {10,}\S', line):
        cur['desc'] += ' ' + line.strip()
    else:
        cur = None

for o in options:
    o['forms'] = opts_in(o['head'])
    last = o['forms'][-1]
    o['arg'] = base_arg(o['head'][o['head'].index(last) + len(last):].strip())
    o['desc'] = norm(o['desc'])
    o['defaults'] = [m.group(1).rstrip(',') for m in re.finditer(r'(\S+) \(default\)', o['desc'])]
    o['defaults'] += [m.group(1).strip() for m in re.finditer(r'\(default:? ([^):]+)', o['desc'])]
    o['name'] = ', '.join(o['forms'])
if not options:
    err('--help: no option lines found')

exit_help = {}
for item in norm(' '.join(exit_lines))[len('Exit codes:'):].rstrip('.').split(';'):
    m = re.match(r'^\s*(\d+)\s+(.*)$', item)
    if m:
        exit_help[m.group(1)] = m.group(2)
if not exit_help:
    err('--help: no "Exit codes:" paragraph')

# ---- man page: roff to text --------------------------------------------------
def roff_args(s):
    args, i = [], 0
    while i < len(s):
        if s[i] == ' ':
            i += 1
        elif s[i] == '"':
            j, a = i + 1, ''
            while j < len(s):
                if s[j] == '"':
                    if s[j + 1:j + 2] == '"':
                        a += '"'
                        j += 2
                        continue
                    break
                a += s[j]
                j += 1
            args.append(a)
            i = j + 1
        else:
            j = s.find(' ', i)
            j = len(s) if j < 0 else j
            args.append(s[i:j])
            i = j
    return args


SPECIAL = {'dq': '"', 'aq': "'", 'em': '--', 'en': '-', 'bu': '*', 'mc': 'u', '<=': '<=',
           '>=': '>=', 'co': '(c)'}


def roff_text(s):
    s = re.sub(r'\\f(\[[^\]]*\]|\(..|.)', '', s)
    s = re.sub(r'\\\((..)', lambda m: SPECIAL.get(m.group(1), ''), s)
    return s.replace('\\-', '-').replace('\\&', '').replace('\\%', '').replace('\\e', '\\').replace('\\ ', ' ')


def roff_line(line):
    """(request, text): request None for a text line, text None for a
    request that prints nothing of its own."""
    if line[:1] not in ('.', "'"):
        return None, roff_text(line)
    m = re.match(r"^[.'](\S*)\s*(.*)$", line)
    req, rest = m.group(1), m.group(2)
    if req.startswith('\\"'):
        return 'comment', None
    if req in ('B', 'I', 'SM', 'SB'):
        return req, roff_text(' '.join(roff_args(rest)))
    if req in ('BI', 'IB', 'BR', 'RB', 'IR', 'RI'):
        return req, roff_text(''.join(roff_args(rest)))
    if req in ('SH', 'SS'):
        return req, roff_text(' '.join(roff_args(rest)))
    return req, None


def man_entries(path):
    """{section: [{'tag': text, 'body': text}]} for the .TP paragraphs."""
    sections, sec, entry, want_tag, rs = {}, None, None, False, 0
    with open(path, encoding='utf-8') as f:
        for raw in f.read().split('\n'):
            req, text = roff_line(raw)
            if req == 'comment':
                continue
            if req in ('RS', 'RE'):  # an indented part of the paragraph
                rs = max(0, rs + (1 if req == 'RS' else -1))
                continue
            if req == 'SH':
                sec, entry, want_tag, rs = text, None, False, 0
                sections.setdefault(sec, [])
                continue
            if req == 'TP' and not rs:
                entry = {'tag': '', 'body': ''}
                sections.setdefault(sec, []).append(entry)
                want_tag = True
                continue
            if req in ('PP', 'P', 'LP', 'IP', 'SS') and not rs:
                entry, want_tag = None, False
                continue
            if text is None or entry is None:
                continue
            if want_tag:
                entry['tag'], want_tag = norm(text), False
            else:
                entry['body'] += ' ' + text
    for ents in sections.values():
        for e in ents:
            e['body'] = norm(e['body'])
            e['text'] = norm(e['tag'] + ' ' + e['body'])
    return sections


man = man_entries(man_path)
man_opts = man.get('OPTIONS', [])
man_exit = man.get('EXIT STATUS', [])
if not man_opts:
    err('man page: no .TP entries in an OPTIONS section')
if not man_exit:
    err('man page: no .TP entries in an EXIT STATUS section')

# ---- README ---------------------------------------------------------------------
with open(readme_path, encoding='utf-8') as f:
    readme_text = f.read()


def md(s):
    return norm(s.replace('\\|', '|').replace('`', '').replace('**', ''))


def readme_table(heading):
    rows, sec, fence = [], None, False
    for line in readme_text.split('\n'):
        if line.startswith('```'):
            fence = not fence
        if fence:
            continue
        m = re.match(r'^(#{1,6}) (.*)$', line)
        if m:
            sec = m.group(2).strip()
            continue
        if sec == heading and line.startswith('|'):
            cells = [md(c) for c in re.split(r'(?<!\\)\|', line.strip())[1:-1]]
            if cells and not re.match(r'^-+$', cells[0]):
                rows.append(cells)
    return rows[1:]  # the first row is the header


readme_opts = [{'head': r[0], 'default': r[1] if len(r) > 1 else '', 'text': ' '.join(r)}
               for r in readme_table('Options')]
readme_exit = {r[0]: ' '.join(r[1:]) for r in readme_table('Exit codes')}
if not readme_opts:
    err('README: no table under "## Options"')
if not readme_exit:
    err('README: no table under "## Exit codes"')

# ---- options ---------------------------------------------------------------------
known = {f for o in options for f in o['forms']}
for e in man_opts:
    for f in opts_in(e['tag']):
        if f not in known:
            err('man page: OPTIONS names %s, which --help does not have' % f)
for r in readme_opts:
    for f in opts_in(r['head']):
        if f not in known:
            err('README: the Options table names %s, which --help does not have' % f)


def default_said(text, v):
    tail = r'(?![\w]|\.\d)'
    return (re.search(r'(?i:default):?\s+' + re.escape(v) + tail, text) or
            re.search(r'(?<![\w.])' + re.escape(v) + r' \((?i:default)\)', text))


for o in options:
    for where, ents, head in (('man page', man_opts, 'tag'), ('README', readme_opts, 'head')):
        hits = [e for e in ents if set(o['forms']) <= set(opts_in(e[head]))]
        if len(hits) != 1:
            err('%s: %s entries name %s (want exactly one%s)' % (
                where, len(hits), o['name'],
                ' .TP paragraph in OPTIONS' if where == 'man page' else ' row of the Options table'))
            continue
        e = hits[0]
        if o['arg']:
            got = arg_after(e[head], o['forms'][-1])
            if got != o['arg']:
                err('%s: %s takes %s in --help, "%s" here' % (where, o['forms'][-1], o['arg'], e[head]))
        for v in o['defaults']:
            if where == 'man page' and not default_said(e['text'], v):
                err('man page: the entry of %s does not say "Default %s" (--help: default %s)'
                    % (o['name'], v, v))
            if where == 'README' and e['default'] != v:
                err('README: the default of %s is "%s", --help says "%s"' % (o['name'], e['default'], v))
        if where == 'README' and not o['defaults'] and e['default']:
            err('README: gives %s the default "%s", --help gives none' % (o['name'], e['default']))

# ---- exit codes --------------------------------------------------------------------
man_exit_map = {e['tag']: e['body'] for e in man_exit}
for where, docs in (('man page EXIT STATUS', man_exit_map), ('README Exit codes table', readme_exit)):
    for c in sorted(set(exit_help) - set(docs)):
        err('%s: no exit code %s (--help: "%s")' % (where, c, exit_help[c]))
    for c in sorted(set(docs) - set(exit_help)):
        err('%s: exit code %s, which --help does not list' % (where, c))
    for c in sorted(set(exit_help) & set(docs)):
        doc = docs[c].lower()
        phrases = []
        for group in re.findall(r'\(([^()]*)\)', exit_help[c]):
            for p in group.split(','):
                p = re.sub(r'^(or|and) ', '', p.strip())
                if p:
                    phrases.append(p)
        phrases += [f for f in opts_in(exit_help[c]) if f not in phrases]
        for p in phrases:
            if p.lower() not in doc:
                err('%s: exit code %s does not say "%s" (--help: "%s")' % (where, c, p, exit_help[c]))

# ---- JSON Lines record types -------------------------------------------------------
def fmt_entry(where, ents, head):
    for e in ents:
        if '--format' in opts_in(e[head]):
            return e['text']
    return None


help_fmt = next((o['head'] + ' ' + o['desc'] for o in options if '--format' in o['forms']), None)
for where, text in (('--help', help_fmt), ('man page', fmt_entry('man page', man_opts, 'tag')),
                    ('README', fmt_entry('README', readme_opts, 'head'))):
    if text is None:
        err('%s: no --format entry' % where)
        continue
    i = text.find('jsonl')
    if i < 0:
        err('%s: the --format entry does not name jsonl' % where)
        continue
    text = text[i:]
    pos = []
    for t in types:
        m = re.search(r'(?<![\w-])' + re.escape(t) + r's?(?![\w-])', text)
        if not m:
            err('%s: the --format entry does not name the JSON Lines record type "%s" after jsonl' % (where, t))
        else:
            pos.append((m.start(), t))
    named = [t for _, t in sorted(pos)]
    want = [t for t in types if t in named]
    if named != want:
        err('%s: the --format entry names the record types in the order %s; the stream has %s'
            % (where, ', '.join(named), ', '.join(want)))

# ---- README examples ---------------------------------------------------------------
env = dict(os.environ, TZ='UTC0', LC_ALL='C')
nexamples, block = 0, None
for line in readme_text.split('\n') + ['']:
    if block is None:
        if line.startswith('```'):
            block = []
        continue
    if not line.startswith('```'):
        block.append(line)
        continue
    shown, block = block, None
    if not shown or not shown[0].startswith('$ rstscope '):
        continue
    nexamples += 1
    argv = shlex.split(shown[0][2:])
    argv[0] = rs
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                         universal_newlines=True).stdout.rstrip('\n').split('\n')
    out = [l.rstrip() for l in out]
    lines = [l.rstrip() for l in shown[1:]]
    cut = [l.lstrip().startswith('...') for l in lines]
    segs, seg = [], []
    for l, c in zip(lines, cut):
        if c:
            segs.append(seg)
            seg = []
        else:
            seg.append(l)
    segs.append(seg)
    pos, bad = 0, None
    for k, seg in enumerate(segs):
        if k == 0 and not seg:
            pos = 1  # a leading cut leaves out at least one line
            continue
        if not seg:
            continue
        start = pos if k == 0 else pos + 1
        if k == 0:
            found = start if out[start:start + len(seg)] == seg else -1
        else:
            found = next((j for j in range(start, len(out) - len(seg) + 1)
                          if out[j:j + len(seg)] == seg), -1)
        if found < 0:
            bad = seg
            break
        pos = found + len(seg)
    if bad is None and not cut[-1] and pos != len(out):
        bad = ['(%d more lines of output; mark the cut with a "..." line)' % (len(out) - pos)]
    if bad is not None:
        first = next((l for l in bad if l not in out), bad[0])
        err('README: the example "%s" shows lines %s does not print in that order, e.g. "%s"'
            % (shown[0], ' '.join(shlex.quote(a) for a in argv), first))

# ---- no private sources -------------------------------------------------------------
for path in (man_path, readme_path):
    with open(path, encoding='utf-8') as f:
        if 'fieldnotes' in f.read().lower():
            err('%s: cites FIELDNOTES, which users do not have: cite public sources' % path)

if errors:
    for e in errors:
        print('docs: ' + e)
    sys.exit(1)
print('docs: %d options, %d exit codes, %d record types agree in --help, man page and README'
      % (len(options), len(exit_help), len(types)))
EOF
