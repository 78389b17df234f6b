# rstscope - plain make.  `make` builds ./rstscope, `make check` runs the
# unit and end-to-end tests (also under ASan+UBSan), `make install` installs.
PKG_CONFIG ?= pkg-config
CC         ?= cc
CFLAGS     ?= -O3 -g -flto=auto
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
PYTHON     ?= python3

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wcast-qual -Wformat=2 -Wundef -Wvla
override CFLAGS += -std=c11 -D_DEFAULT_SOURCE $(WARN) -Iinclude -MMD -MP \
                   $(shell $(PKG_CONFIG) --cflags libpcap jansson libmicrohttpd)
LIBS = $(shell $(PKG_CONFIG) --libs libpcap jansson libmicrohttpd) -lm -lpthread
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS   = $(shell $(PKG_CONFIG) --libs check)

SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Every src/*.c but main.c is a module (a new one needs no line here).
MODULES = $(filter-out main,$(basename $(notdir $(wildcard src/*.c))))
OBJ     = $(MODULES:%=build/%.o)
SAN_OBJ = $(MODULES:%=build/san/%.o)
GEN_OBJ = $(MODULES:%=build/general/%.o)
UNITS   = check_decode check_record check_conn check_tcpsm check_detect check_spool check_metrics check_report

all: rstscope

rstscope: $(OBJ) build/main.o
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

build/%.o: src/%.c | build
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

build/san/%.o: src/%.c | build
	@echo "  CC-SAN  $<"
	@$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

# Without the fast paths (RS_NO_SHORTCUTS), for tests/shortcuts-same.sh.
build/general/%.o: src/%.c | build
	@echo "  CC-GEN  $<"
	@mkdir -p $(@D)
	@$(CC) $(CFLAGS) -O1 -fno-lto -DRS_NO_SHORTCUTS -c -o $@ $<

build/rstscope-general: $(GEN_OBJ) build/general/main.o
	@echo "  LD-GEN  $@"
	@$(CC) $(CFLAGS) -O1 -fno-lto $(LDFLAGS) -o $@ $^ $(LIBS)

build/rstscope-san: $(SAN_OBJ) build/san/main.o
	@echo "  LD-SAN  $@"
	@$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $^ $(LIBS)

build/tests/%: tests/%.c $(OBJ) | build
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(CHECK_CFLAGS) -o $@ $< $(OBJ) $(LIBS) $(CHECK_LIBS)

build/tests/san-%: tests/%.c $(SAN_OBJ) | build
	@echo "  CC-SAN  $<"
	@$(CC) $(CFLAGS) -O1 $(SAN) $(CHECK_CFLAGS) -o $@ $< $(SAN_OBJ) $(LIBS) $(CHECK_LIBS)

build/pcapgen: tests/pcapgen.c | build
	$(CC) $(CFLAGS) -o $@ $< $(LIBS)

build:
	@mkdir -p build/san build/general build/tests

# Unit tests (Check, fork mode) and the golden end-to-end tests.
check: rstscope build/rstscope-san build/rstscope-general build/pcapgen build/bench/gen $(UNITS:%=build/tests/%) $(UNITS:%=build/tests/san-%)
	@for t in $(UNITS); do build/tests/$$t || exit 1; done
	@for t in $(UNITS); do CK_FORK=yes build/tests/san-$$t >/dev/null || \
	    { echo "sanitizer unit test $$t failed"; build/tests/san-$$t; exit 1; }; done
	@echo "unit tests (also under ASan+UBSan): passed"
	@tests/run-e2e.sh ./rstscope
	@tests/run-e2e.sh build/rstscope-san
	@tests/run-e2e.sh tests/valgrind-rstscope
	@tests/corpus-robust.sh build/rstscope-san
	@tests/shard-union.sh ./rstscope
	@tests/threads-same.sh build/rstscope-san
	@tests/shortcuts-same.sh ./rstscope build/rstscope-general
	@tests/docs-agree.sh ./rstscope
	@tests/synflood.sh ./rstscope
	@tests/live.sh build/rstscope-san
	@$(PYTHON) tests/conformance.py --rstscope ./rstscope --min-state 99 >build/conformance.txt; \
	    rc=$$?; grep -E '^TOTAL|skipping' build/conformance.txt; exit $$rc

check-asan: build/rstscope-san
	@tests/run-e2e.sh build/rstscope-san

# Regenerate the synthetic captures (the real ones come from tests/capture-lo.sh).
testdata: build/pcapgen
	build/pcapgen testdata

# Agreement with Zeek's conn.log on ../shared/corpus/zeek (skipped without it).
conformance: rstscope
	@$(PYTHON) tests/conformance.py --rstscope ./rstscope

# Fuzzing (clang, libFuzzer): FUZZ_TIME seconds per harness, seeds from
# testdata/, crashes written to build/fuzz/crash-*; reproducers belong in
# testdata/fuzz/ (checked by make check).
FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude \
             -D_DEFAULT_SOURCE $(shell $(PKG_CONFIG) --cflags libpcap jansson libmicrohttpd)
FUZZ_SRC   = $(MODULES:%=src/%.c)

build/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_SRC) | build
	@mkdir -p build/fuzz
	@echo "  FUZZ-CC $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC) $(LIBS)

fuzz: build/fuzz/fuzz_decode build/fuzz/fuzz_pipeline
	@mkdir -p build/fuzz/corpus-decode build/fuzz/corpus-pipeline
	@cp testdata/*.pcap testdata/*.pcapng build/fuzz/corpus-pipeline/ 2>/dev/null; true
	build/fuzz/fuzz_decode -max_total_time=$(FUZZ_TIME) -artifact_prefix=build/fuzz/ \
	    build/fuzz/corpus-decode
	build/fuzz/fuzz_pipeline -max_total_time=$(FUZZ_TIME) -max_len=65536 \
	    -artifact_prefix=build/fuzz/ build/fuzz/corpus-pipeline

install: rstscope
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 rstscope $(DESTDIR)$(BINDIR)/rstscope
	install -m 644 man/rstscope.1 $(DESTDIR)$(MANDIR)/man1/rstscope.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rstscope $(DESTDIR)$(MANDIR)/man1/rstscope.1

clean:
	rm -rf build rstscope

.PHONY: all check check-asan testdata conformance fuzz install uninstall clean

-include $(wildcard build/*.d build/san/*.d build/general/*.d build/tests/*.d)

# ---------------------------------------------------------------------------
# Benchmark (bench/, issue "Speed and memory"): `make bench` builds the
# capture generator and the bare libpcap read loop, generates the captures
# once into bench/data/ (git-ignored) and prints speed and memory of
# rstscope against the bare loop.  BENCH_QUICK=1 make bench: the 1 M
# capture only.  bench/callgrind.sh: instructions per packet.
BENCH_CFLAGS ?= -O2 -g
BENCH_WARN    = -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow
BENCH_PCAP_CFLAGS = $(shell $(PKG_CONFIG) --cflags libpcap)
BENCH_PCAP_LIBS   = $(shell $(PKG_CONFIG) --libs libpcap)

build/bench/gen: bench/gen.c
	@mkdir -p build/bench
	$(CC) $(BENCH_CFLAGS) $(BENCH_WARN) -o $@ $<

build/bench/bareloop: bench/bareloop.c
	@mkdir -p build/bench
	$(CC) $(BENCH_CFLAGS) $(BENCH_WARN) $(BENCH_PCAP_CFLAGS) -o $@ $< $(BENCH_PCAP_LIBS)

bench: rstscope build/bench/gen build/bench/bareloop
	@bench/run.sh

.PHONY: bench
