# docket: build, deps, check, asan, bench, install, demo.
#
#   make            build (installs missing Debian packages first)
#   make check      build and run every test; ends "N passed, N failed"
#   make asan       the same under AddressSanitizer + UBSan
#   make bench      benchmarks, with baselines measured in the same run
#   make fuzz       libFuzzer targets (clang, ASan+UBSan), FUZZ_TIME s each
#   make valgrind   the test suite with every docket process under memcheck
#   make demo       build and play the demo flow on a local ledger
#   make install PREFIX=/usr/local

PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
VERSION = 0.1.0

WARN = -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla \
	-Wno-format-truncation -Wno-missing-field-initializers
ifneq ($(findstring clang,$(CC)),)
WARN += -Wno-unknown-warning-option
endif
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) \
	-DDOCKET_VERSION='"$(VERSION)"' -Ilib
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS) -Wl,--as-needed
# Every executable is linked against every library with --as-needed, so
# it depends at run time only on the ones its code really calls: `docket`
# and `docket-lint` never load libgit2 or libcurl.
LIBS = -lgit2 -lcurl -lyaml -ljq -ljansson -lsqlite3 -lcrypto -lz -lm \
	-lpthread

ifeq ($(SAN),1)
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
endif
ifeq ($(FUZZ),1)
SANFLAGS += -fsanitize=fuzzer-no-link
endif

LIB_SRC = $(sort $(wildcard lib/*.c))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
# Objects every executable links (the table, parsing, the dispatcher).
CMD_CORE = cmd/main.c cmd/commands.c cmd/parse-options.c \
	cmd/complete-static.c
# Helpers in an archive: linked only into commands that use them.
CMD_HELP_SRC = cmd/run-command.c $(wildcard cmd/util-*.c) cmd/setup.c
CMD_SRC = $(filter-out $(CMD_CORE) $(CMD_HELP_SRC),$(wildcard cmd/*.c))
CMDS = $(notdir $(CMD_SRC:.c=))
CMD_BINS = $(CMDS:%=$(BUILD)/libexec/docket/docket-%)
UNIT_SRC = $(wildcard tests/unit/test-*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRC = $(wildcard tests/helpers/*.c)
HELPER_BINS = $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/%)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_NAMES = $(FUZZ_SRC:tests/fuzz/fuzz-%.c=%)
REPLAY_BINS = $(FUZZ_NAMES:%=$(BUILD)/tests/replay-%)
FUZZ_BINS = $(FUZZ_NAMES:%=$(BUILD)/fuzz-%)
FUZZ_CFLAGS = -Itests/fuzz -DDK_SRCDIR='"$(abspath .)"'
FUZZ_TIME ?= 60
BENCH_SRC = $(wildcard bench/*.c)
BENCH_BINS = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

DEPS_STAMP = build/.deps-ok

all: $(BUILD)/bin/docket $(CMD_BINS)

$(DEPS_STAMP): tools/deps.sh
	@mkdir -p build
	@tools/deps.sh
	@touch $@

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libdocket.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libdocket-cmd.a: $(CMD_HELP_SRC:%.c=$(BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^

CORE_OBJ = $(CMD_CORE:%.c=$(BUILD)/%.o)
ARCHIVES = $(BUILD)/libdocket-cmd.a $(BUILD)/libdocket.a

$(BUILD)/bin/docket: $(CORE_OBJ) $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CORE_OBJ) $(ARCHIVES)

$(BUILD)/libexec/docket/docket-%: $(BUILD)/cmd/%.o $(CORE_OBJ) $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(ARCHIVES) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libdocket.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libdocket.a \
		-lcmocka $(LIBS)

$(BUILD)/tests/%: tests/helpers/%.c $(BUILD)/libdocket.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libdocket.a $(LIBS)

# The fuzz targets, replayed over their corpus by `make check` ...
$(BUILD)/tests/replay-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c \
		tests/fuzz/fuzz.h $(BUILD)/libdocket.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		tests/fuzz/replay.c $(BUILD)/libdocket.a $(LIBS)

# ... and linked with libFuzzer by `make fuzz`.
$(BUILD)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(BUILD)/libdocket.a
	$(CC) $(ALL_CFLAGS) $(FUZZ_CFLAGS) $(ALL_LDFLAGS) \
		-fsanitize=fuzzer -o $@ $< $(BUILD)/libdocket.a $(LIBS)

fuzz-targets: $(FUZZ_BINS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libdocket.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libdocket.a $(LIBS)

man: all
	@python3 tools/mkman.py $(BUILD)/bin/docket $(BUILD)/man

$(BUILD)/tests/powerloss.so: tests/powerloss/powerloss.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -fPIC -shared -Wall -Wextra -Werror \
		-Wno-format-truncation -o $@ $< -ldl

tests-build: all man $(UNIT_BINS) $(HELPER_BINS) $(REPLAY_BINS) \
	$(BUILD)/tests/powerloss.so

check: tests-build
	@DOCKET_BUILD=$(abspath $(BUILD)) tests/run.sh

asan:
	$(MAKE) BUILD=build/asan SAN=1 check

# FUZZ_TIME seconds per target (FUZZ_TARGETS to choose); new inputs that
# add coverage are merged into tests/fuzz/corpus (see tests/fuzz/README).
FUZZ_TARGETS ?= $(FUZZ_NAMES)
fuzz:
	@tools/deps.sh --fuzz
	$(MAKE) BUILD=build/fuzz CC=clang SAN=1 FUZZ=1 fuzz-targets
	@tools/fuzz.sh build/fuzz $(FUZZ_TIME) $(FUZZ_TARGETS)

valgrind: tests-build
	@tools/deps.sh --valgrind
	@DOCKET_BUILD=$(abspath $(BUILD)) DOCKET_VALGRIND=1 tests/run.sh

bench: all $(BENCH_BINS)
	@DOCKET_BUILD=$(abspath $(BUILD)) bench/run.sh

demo: all
	@DOCKET_BUILD=$(abspath $(BUILD)) tools/demo.sh

format:
	clang-format -i $(wildcard lib/*.[ch] cmd/*.[ch] tests/unit/*.c \
		tests/helpers/*.c tests/fuzz/*.[ch] bench/*.c)

install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/docket
	install -m 755 $(BUILD)/bin/docket $(DESTDIR)$(PREFIX)/bin/docket
	install -m 755 $(CMD_BINS) $(DESTDIR)$(PREFIX)/libexec/docket/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5
	install -m 644 $(BUILD)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(BUILD)/man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 644 completions/docket.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/docket
	install -m 644 completions/_docket \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_docket
	install -m 644 completions/docket.fish \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/docket.fish

clean:
	rm -rf build

.PHONY: all check asan bench demo format install clean tests-build man \
	fuzz fuzz-targets valgrind
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
