# samsa: one Makefile builds the library, the program, the tests and the
# benchmarks into build/.
#
#   make                      the libraries (build/lib) and the program (build/bin/samsa)
#   make test                 builds and runs every test
#   make bench                builds and runs the benchmarks
#   make fuzz                 runs each libFuzzer target for FUZZ_SECONDS (clang)
#   make install PREFIX=/usr/local DESTDIR=
#   SANITIZE=address,undefined make test    the same tests under ASan and UBSan

VERSION_MAJOR := $(shell sed -n 's/^\#define SAMSA_VERSION_MAJOR *//p' include/samsa.h)
VERSION_MINOR := $(shell sed -n 's/^\#define SAMSA_VERSION_MINOR *//p' include/samsa.h)
VERSION_PATCH := $(shell sed -n 's/^\#define SAMSA_VERSION_PATCH *//p' include/samsa.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
SONAME := libsamsa.so.$(VERSION_MAJOR)

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

CC ?= cc
OPT ?= -O2 -g
# V=1 shows the commands
Q := $(if $(V),,@)
BUILD ?= build
B := $(BUILD)
ifneq ($(SANITIZE),)
B := $(BUILD)/sanitize
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARN) -fPIC -pthread -D_GNU_SOURCE -Iinclude -Ilib $(SANFLAGS) $(CFLAGS)
LIB_CFLAGS := $(CFLAGS_ALL) -fvisibility=hidden -DSAMSA_BUILDING
DEP_LIBS := -lssl -lcrypto -lzstd -llz4 -lz -lpthread -lm
LDFLAGS_ALL := -pthread $(SANFLAGS) $(LDFLAGS)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

LIB_SRCS := $(sort $(wildcard lib/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
PROG_SRCS := $(sort $(wildcard programs/*.c))
PROG_OBJS := $(PROG_SRCS:%.c=$(B)/obj/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(sort $(wildcard tests/unit/*.c)))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
INTEG_SRCS := $(sort $(wildcard tests/integration/test_*.c))
INTEG_BINS := $(INTEG_SRCS:tests/integration/%.c=$(B)/tests/integration/%)
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(B)/tests/bench/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c examples/*/*.c))
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(B)/examples/%)
# Extra libraries of one program, named after it: LIBS_<name> := -l...
LIBS_pageviews := -lsqlite3
LIBS_test_client_mock := -lrdkafka
# the snappy library checks samsa's own snappy codec, in tests only
LIBS_test_compress := -lsnappy
LIBS_test_snappy := -lsnappy
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(B)/tests/tools/%)

STATIC_LIB := $(B)/lib/libsamsa.a
SHARED_LIB := $(B)/lib/$(SONAME)
SAMSA_BIN := $(B)/bin/samsa

.PHONY: all lib test bench fuzz install deps run clean examples valgrind
all: lib $(if $(PROG_SRCS),$(SAMSA_BIN))
lib: $(STATIC_LIB) $(SHARED_LIB) $(B)/lib/libsamsa.so $(B)/samsa.pc

$(B)/obj/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -o $@ $^ $(LDFLAGS_ALL) $(DEP_LIBS)

$(B)/lib/libsamsa.so: $(SHARED_LIB)
	$(Q)ln -sf $(SONAME) $@

$(B)/samsa.pc: pkgconfig/samsa.pc.in include/samsa.h
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

# The command carries the library in itself, and OpenSSL and the codecs
# too when their static archives are installed (Debian's -dev packages ship
# them): a process that loads no shared objects pages in only the code it
# runs and relocates nothing of libcrypto, which takes a cold start (the
# broker's start to its first answer, page cache dropped) from about 32 to
# 24 ms here. The price: a fix to one of those libraries reaches the
# command when it is rebuilt. libsamsa.so links them dynamically.
PROG_DEP_LIBS := $(shell for l in ssl crypto zstd lz4 z; do \
	  [ -f "$$($(CC) -print-file-name=lib$$l.a)" ] || exit 0; done; \
	  echo -Wl,-Bstatic -lssl -lcrypto -lzstd -llz4 -lz -Wl,-Bdynamic -lpthread -lm)
$(SAMSA_BIN): $(PROG_OBJS) $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) -o $@ $(PROG_OBJS) $(STATIC_LIB) $(LDFLAGS_ALL) $(or $(PROG_DEP_LIBS),$(DEP_LIBS))

# Examples use the public header only, like any program outside the tree.
examples: $(EXAMPLE_BINS)
$(B)/examples/%: examples/%.c include/samsa.h $(B)/lib/libsamsa.so
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) -std=gnu11 $(OPT) $(WARN) $(SANFLAGS) -Iinclude -o $@ $< -L$(B)/lib -lsamsa \
	    -Wl,-rpath,'$$ORIGIN/../lib' -Wl,-rpath,'$$ORIGIN/../../lib' $(LDFLAGS_ALL) $(LIBS_$(notdir $(@D))) $(LIBS_$(notdir $@))

# Unit tests link the static library so they can reach internal functions.
$(B)/tests/unit/%: tests/unit/%.c $(UNIT_HELPERS) $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(UNIT_HELPERS) $(STATIC_LIB) $(LDFLAGS_ALL) $(CHECK_LIBS) $(DEP_LIBS) $(LIBS_$(notdir $@))

$(B)/tests/integration/%: tests/integration/%.c $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(STATIC_LIB) $(LDFLAGS_ALL) $(CHECK_LIBS) $(DEP_LIBS) $(LIBS_$(notdir $@))

$(B)/tests/bench/%: tests/bench/%.c $(wildcard tests/bench/*.h) $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/bench -o $@ $< $(STATIC_LIB) $(LDFLAGS_ALL) $(DEP_LIBS)

$(B)/tests/tools/%: tests/tools/%.c $(STATIC_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(STATIC_LIB) $(LDFLAGS_ALL) $(DEP_LIBS)

deps:
	@tools/deps.sh

test: deps all $(UNIT_BINS) $(INTEG_BINS) $(TOOL_BINS) $(EXAMPLE_BINS)
	@B=$(B) tests/run.sh

# The unit tests under valgrind, unforked so that leaks are seen.
valgrind: deps all $(UNIT_BINS)
	@mkdir -p $(B)/test-logs
	@set -e; for t in $(UNIT_BINS); do \
	  echo "== valgrind $$t"; \
	  CK_FORK=no valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=1 $$t > $(B)/test-logs/valgrind-$$(basename $$t).log 2>&1 || \
	    { tail -n 40 $(B)/test-logs/valgrind-$$(basename $$t).log; exit 1; }; \
	done; echo "valgrind: no errors, no leaks"

bench: deps all $(BENCH_BINS)
	@B=$(B) tests/bench/run.sh

# libFuzzer needs clang; each target runs for FUZZ_SECONDS and fails on a crash.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := build/fuzz
fuzz: deps
	@mkdir -p $(FUZZ_DIR)/obj
	@set -e; for f in $(FUZZ_SRCS); do \
	  n=$$(basename $$f .c); \
	  $(FUZZ_CC) -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -Iinclude -Ilib \
	     -DSAMSA_BUILDING $$f $(LIB_SRCS) -o $(FUZZ_DIR)/$$n $(DEP_LIBS); \
	done
	@B=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(notdir $(FUZZ_SRCS:.c=))

# The main job: a broker on 127.0.0.1:9092 keeping its data in ./data, in
# the foreground until Ctrl-C (which flushes and stops it cleanly).
run: deps all
	$(B)/bin/samsa broker

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsamsa.so
	install -m 644 include/samsa.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(B)/samsa.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	for d in man/man*; do \
	  install -d $(DESTDIR)$(MANDIR)/$$(basename $$d) && install -m 644 $$d/* $(DESTDIR)$(MANDIR)/$$(basename $$d)/; \
	done
	$(if $(PROG_SRCS),install -d $(DESTDIR)$(BINDIR) && install -m 755 $(SAMSA_BIN) $(DESTDIR)$(BINDIR)/)

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(PROG_OBJS:.o=.d)
