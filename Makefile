# winnow - plain Makefile. `make` builds the library and CLI, `make check` runs the
# tests, `make demo` runs the main job. SANITIZE=1 builds into build-asan/ with
# ASan+UBSan. CC=clang works too. Dependencies (Debian 12 packages): `make deps`.

CC      ?= cc
V       ?= 0
ifeq ($(V),1)
Q =
E = @true
else
Q = @
E = @echo
endif
SANITIZE ?= 0
OPT     ?= -O2
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -fPIC -pthread \
              -Iinclude -Isrc -fno-strict-aliasing
LDLIBS  = -lutf8proc -lcurl -lsqlite3 -lm -lpthread
# tests and benchmarks read their JSON fixtures with cJSON; the library does not use it
TEST_LDLIBS = -lcjson

ifeq ($(SANITIZE),1)
BUILD   = build-asan
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   = build
endif

# per-ISA flags, chosen by file name; the code picks a variant at run time
AVX2_FLAGS   = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16
# ops_amx.c: ops_avx512.c compiled again with the AMX tile GEMMs (some of its static
# functions are then unused)
AMX_FLAGS    = $(AVX512_FLAGS) -mamx-tile -mamx-bf16 -mamx-int8 -Wno-unused-function

# src/server/ is not part of libwinnow: it goes into its own archive (below), linked
# into the winnow program only, so the library needs no HTTP server library
LIB_SRC   = $(sort $(filter-out src/server/%,$(wildcard src/*/*.c)))
# aarch64 (a cross compiler as CC, or native): the x86 kernel files are left out
# (ops.c dispatches to them only on x86-64; dist_avx*.c compile to stubs without
# their flags) and ops_neon_dot.c gets +dotprod
ifneq ($(filter aarch64%,$(shell $(CC) -dumpmachine 2>/dev/null)),)
LIB_SRC  := $(filter-out src/nn/ops_avx2.c src/nn/ops_avx512.c src/nn/ops_avxvnni.c src/nn/ops_amx.c,$(LIB_SRC))
NEON_DOT_FLAGS = -march=armv8.2-a+dotprod
AVX2_FLAGS =
AVX512_FLAGS =
AMX_FLAGS =
endif
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC   = $(sort $(wildcard cli/*.c cli/demo/*.c))
CLI_OBJ   = $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
$(CLI_OBJ): CFLAGS_BASE += -Icli
# only what include/winnow.h marks WN_API leaves libwinnow.so (tests/t_symbols.sh)
$(LIB_OBJ): CFLAGS_BASE += -fvisibility=hidden
TEST_SRC  = $(sort $(wildcard tests/test_*.c))
TEST_BIN  = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPERS = $(filter-out tests/test_%.c,$(wildcard tests/*.c))
TEST_HOBJ = $(TEST_HELPERS:%.c=$(BUILD)/obj/%.o)
BENCH_SRC = $(sort $(wildcard bench/*.c))
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
HDRS      = include/winnow.h include/winnow_server.h $(wildcard src/*/*.h) $(wildcard cli/*.h cli/demo/*.h) $(wildcard tests/*.h)

.PHONY: all lib check demo deps clean bench fuzz
all: $(BUILD)/winnow $(BUILD)/libwinnow.a $(BUILD)/libwinnow.so

lib: $(BUILD)/libwinnow.a $(BUILD)/libwinnow.so

$(BUILD)/obj/%_avx2.o: %_avx2.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $<'
	$(Q)$(CC) $(CFLAGS_BASE) $(AVX2_FLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%_avxvnni.o: %_avxvnni.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $<'
	$(Q)$(CC) $(CFLAGS_BASE) $(AVX2_FLAGS) -mavxvnni $(CFLAGS) -c $< -o $@
# ops_avxvnni.c is ops_avx2.c compiled again with AVX-VNNI's int8
$(BUILD)/obj/src/nn/ops_avxvnni.o: src/nn/ops_avx2.c

$(BUILD)/obj/%_neon_dot.o: %_neon_dot.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $<'
	$(Q)$(CC) $(CFLAGS_BASE) $(NEON_DOT_FLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $<'
	$(Q)$(CC) $(CFLAGS_BASE) $(AVX512_FLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%_amx.o: %_amx.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $<'
	$(Q)$(CC) $(CFLAGS_BASE) $(AMX_FLAGS) $(CFLAGS) -c $< -o $@
# ops_amx.c includes ops_avx512.c
$(BUILD)/obj/src/nn/ops_amx.o: src/nn/ops_avx512.c

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $<'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -c $< -o $@

$(BUILD)/libwinnow.a: $(LIB_OBJ)
	@rm -f $@
	$(E) '  AR    $@'
	$(Q)ar rcs $@ $^

$(BUILD)/libwinnow.so: $(LIB_OBJ)
	$(E) '  LD    $@'
	$(Q)$(CC) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/winnow: $(CLI_OBJ) $(BUILD)/libwinnow_server.a $(BUILD)/libwinnow.a
	$(E) '  LD    $@'
	$(Q)$(CC) -o $@ $(CLI_OBJ) $(BUILD)/libwinnow_server.a $(BUILD)/libwinnow.a $(LDFLAGS) $(SERVER_LDLIBS) $(LDLIBS)

# ---- the HTTP server (src/server/, include/winnow_server.h, docs/SERVER.md): its own
# static archive on top of libwinnow, with libmicrohttpd (Debian libmicrohttpd-dev);
# only the winnow program links it.
SERVER_SRC    = $(sort $(wildcard src/server/*.c))
SERVER_OBJ    = $(SERVER_SRC:%.c=$(BUILD)/obj/%.o)
SERVER_LDLIBS = -lmicrohttpd
$(SERVER_OBJ): CFLAGS_BASE += -fvisibility=hidden
$(BUILD)/libwinnow_server.a: $(SERVER_OBJ)
	@rm -f $@
	$(E) '  AR    $@'
	$(Q)ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c $(TEST_HOBJ) $(BUILD)/libwinnow.a $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  LD    $@'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $< $(TEST_HOBJ) $(BUILD)/libwinnow.a $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# bench_encoder builds its models with the tests' synthetic-weight writer
$(BUILD)/bench/bench_encoder $(BUILD)/bench/bench_static $(BUILD)/bench/bench_train: BENCH_OBJ = $(BUILD)/obj/tests/synth.o
$(BUILD)/bench/bench_encoder $(BUILD)/bench/bench_static $(BUILD)/bench/bench_train: $(BUILD)/obj/tests/synth.o

$(BUILD)/bench/%: bench/%.c $(BUILD)/libwinnow.a $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  LD    $@'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $< $(BENCH_OBJ) $(BUILD)/libwinnow.a $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# the demo's Debian queries, compiled in: cli/demo/debian_queries.tsv as one C string
$(BUILD)/gen/debian_queries.inc: cli/demo/debian_queries.tsv
	@mkdir -p $(dir $@)
	$(Q)sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/cli/demo/demo_debian.o: $(BUILD)/gen/debian_queries.inc
$(BUILD)/obj/cli/demo/demo_debian.o: CFLAGS_BASE += -I$(BUILD)/gen

deps:
	@sh scripts/deps.sh

# The tests: every tests/test_*.c binary and tests/t_*.sh script, counted by
# tests/run_tests.sh ("N passed, N failed, N skipped"); exits non-zero on any failure.
check: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@BUILD=$(BUILD) sh tests/run_tests.sh $(TEST_BIN)

demo: deps
	@$(MAKE) --no-print-directory all
	./$(BUILD)/winnow demo

bench: all $(BENCH_BIN)

clean:
	rm -rf build build-asan build-fuzz build-aarch64

# ---- install / uninstall: `make install` (PREFIX=/usr/local, DESTDIR for staging;
# LIBDIR, INCLUDEDIR, BINDIR, DATADIR, PKGCONFIGDIR may be set one by one). The shared
# library gets a soname from WN_VERSION's major number: libwinnow.so.0 ->
# libwinnow.so.0.x.y, with libwinnow.so as the link name; winnow.pc comes from
# winnow.pc.in, with Libs.private = the libraries the static archive needs.
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
DATADIR      ?= $(PREFIX)/share
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
WN_VER       := $(shell sed -n 's/^\#define WN_VERSION "\([0-9.]*\)".*/\1/p' include/winnow.h)
WN_SOMAJOR   := $(firstword $(subst ., ,$(WN_VER)))
$(BUILD)/libwinnow.so: LDFLAGS += -Wl,-soname,libwinnow.so.$(WN_SOMAJOR)
.PHONY: install uninstall

$(BUILD)/winnow.pc: winnow.pc.in include/winnow.h Makefile
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(WN_VER)|g' -e 's|@LIBS_PRIVATE@|$(LDLIBS)|g' $< > $@.tmp && mv $@.tmp $@

# FORCE: the prefix lives in the file, so it is remade on every install
install: all FORCE
	$(Q)readelf -d $(BUILD)/libwinnow.so | grep -q 'SONAME.*libwinnow\.so\.$(WN_SOMAJOR)\]' || \
	    { rm -f $(BUILD)/libwinnow.so && $(MAKE) --no-print-directory $(BUILD)/libwinnow.so; }
	$(Q)rm -f $(BUILD)/winnow.pc && $(MAKE) --no-print-directory $(BUILD)/winnow.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(BUILD)/libwinnow.a $(DESTDIR)$(LIBDIR)/libwinnow.a
	install -m 755 $(BUILD)/libwinnow.so $(DESTDIR)$(LIBDIR)/libwinnow.so.$(WN_VER)
	ln -sf libwinnow.so.$(WN_VER) $(DESTDIR)$(LIBDIR)/libwinnow.so.$(WN_SOMAJOR)
	ln -sf libwinnow.so.$(WN_SOMAJOR) $(DESTDIR)$(LIBDIR)/libwinnow.so
	install -m 644 include/winnow.h $(DESTDIR)$(INCLUDEDIR)/winnow.h
	install -m 644 $(BUILD)/winnow.pc $(DESTDIR)$(PKGCONFIGDIR)/winnow.pc
	install -m 755 $(BUILD)/winnow $(DESTDIR)$(BINDIR)/winnow
	install -d $(DESTDIR)$(DATADIR)/winnow/models
	if [ -d models ] && [ -n "$$(ls -A models)" ]; then cp -R models/. $(DESTDIR)$(DATADIR)/winnow/models/; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libwinnow.a $(DESTDIR)$(LIBDIR)/libwinnow.so.$(WN_VER) \
	      $(DESTDIR)$(LIBDIR)/libwinnow.so.$(WN_SOMAJOR) $(DESTDIR)$(LIBDIR)/libwinnow.so \
	      $(DESTDIR)$(INCLUDEDIR)/winnow.h $(DESTDIR)$(PKGCONFIGDIR)/winnow.pc $(DESTDIR)$(BINDIR)/winnow
	rm -rf $(DESTDIR)$(DATADIR)/winnow

FORCE:

# The directory `make install` fills with models/ is compiled into src/model/bundled.c
# (WN_MODELS_DIR), so bundled names ("winnow-small-embed") resolve after an install
# (docs/MODELS.md); a change of PREFIX or DATADIR rebuilds that one file.
MODELS_INSTALL_DIR = $(DATADIR)/winnow/models
$(BUILD)/obj/src/model/bundled.o: CFLAGS_BASE += -DWN_MODELS_DIR='"$(MODELS_INSTALL_DIR)"'
$(BUILD)/obj/src/model/bundled.o: $(BUILD)/models-dir.stamp
$(BUILD)/models-dir.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(MODELS_INSTALL_DIR)' | cmp -s - $@ || echo '$(MODELS_INSTALL_DIR)' >$@

# ---- test rules: every fuzz harness (tests/fuzz/fuzz_*.c) is also built with
# tests/fuzz/replay.c as a test binary, build/tests/fuzz_replay_<harness>, which
# replays the committed corpus tests/fuzz/corpus/<harness>/ (fails if it is absent or
# empty); tests/fuzz/run.sh grows the corpora with libFuzzer. t_install.sh and
# t_readme_example.sh compile C with the compiler and sanitizer flags of this build.
FUZZ_SRC    = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/fuzz_replay_%)
TEST_BIN   += $(FUZZ_REPLAY)
check: export WN_CC := $(CC)
check: export WN_SANITIZE := $(SANITIZE)

$(BUILD)/tests/fuzz_replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/libwinnow.a $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  LD    $@'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -DFUZZ_CORPUS='"tests/fuzz/corpus/$*"' -o $@ $< tests/fuzz/replay.c \
	    $(BUILD)/libwinnow.a $(LDFLAGS) $(LDLIBS)

# ---- AVX-512 kernels checked on any x86-64 with AVX2: ops_avx512.c compiled
# against SIMDe (Debian libsimde-dev) with only the AVX2 flags, linked into
# tests/test_nn_simde.c (the symbols renamed by WN_SIMDE, so it links next to
# the native ones in libwinnow.a).
# Not instrumented under SANITIZE=1 (the emulated intrinsics, inlined 14 rows x 3
# kernels deep, took over 15 minutes to compile with ASan); test_nn covers the
# native kernels under the sanitizers.
SIMDE_FLAGS = -mavx2 -mfma -mf16c -DWN_SIMDE -Wno-unused-function -Wno-psabi
$(BUILD)/obj/simde/ops_avx512_simde.o: src/nn/ops_avx512.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $< (SIMDe)'
	$(Q)$(CC) $(CFLAGS_BASE) $(SIMDE_FLAGS) $(CFLAGS) -fno-sanitize=all -c $< -o $@

$(BUILD)/tests/test_nn_simde: tests/test_nn_simde.c tests/test_nn.c $(BUILD)/obj/simde/ops_avx512_simde.o $(TEST_HOBJ) $(BUILD)/libwinnow.a $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  LD    $@'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $< $(BUILD)/obj/simde/ops_avx512_simde.o $(TEST_HOBJ) $(BUILD)/libwinnow.a $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# ---- AMX kernels checked without AMX: ops_amx.c compiled against the scalar tile
# emulation src/nn/amx_emu.h (-DWN_AMX_EMU: no -mamx flags, nn_kernels_amx_emu()),
# its AVX-512 parts native, linked into tests/test_nn_amx.c (which needs AVX-512 to
# run it, and runs the native AMX kernels too where the CPU and the kernel allow).
# Instrumented under SANITIZE=1: the emulated tile loads and stores are plain C, so
# ASan sees every byte the kernels' tiles would read or write.
$(BUILD)/obj/amxemu/ops_amx_emu.o: src/nn/ops_amx.c src/nn/ops_avx512.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $< (AMX emulation)'
	$(Q)$(CC) $(CFLAGS_BASE) $(AVX512_FLAGS) -DWN_AMX_EMU -Wno-unused-function $(CFLAGS) -c $< -o $@

$(BUILD)/tests/test_nn_amx: tests/test_nn_amx.c tests/test_nn.c $(BUILD)/obj/amxemu/ops_amx_emu.o $(TEST_HOBJ) $(BUILD)/libwinnow.a $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  LD    $@'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $< $(BUILD)/obj/amxemu/ops_amx_emu.o $(TEST_HOBJ) $(BUILD)/libwinnow.a $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# ---- aarch64 under qemu: `make check-aarch64` cross-compiles the kernel modules
# (util, nn, index: no third-party libraries) with Debian's gcc-aarch64-linux-gnu
# into build-aarch64/ and runs the kernel tests with qemu-aarch64-static (Debian
# qemu-user-static; libc from libc6-arm64-cross, found through -L): the NEON
# kernels (sdot included: qemu emulates it) and the scalar oracle against each
# other. scripts/deps-aarch64.sh installs the three packages; tests/t_aarch64.sh
# runs this from `make check` where they are present and says SKIPPED otherwise.
AARCH64_CC   ?= aarch64-linux-gnu-gcc
QEMU_AARCH64 ?= qemu-aarch64-static
AARCH64_SYSROOT ?= /usr/aarch64-linux-gnu
AARCH64_BUILD = build-aarch64
AARCH64_OBJ   = $(patsubst %.c,$(AARCH64_BUILD)/obj/%.o,$(filter-out src/nn/ops_avx2.c src/nn/ops_avx512.c \
                src/nn/ops_avxvnni.c src/nn/ops_amx.c,$(sort $(wildcard src/util/*.c src/nn/*.c src/index/*.c))))
AARCH64_TESTS = test_nn test_nn_rel test_index_kernels
.PHONY: check-aarch64
check-aarch64:
	@$(MAKE) --no-print-directory CC=$(AARCH64_CC) BUILD=$(AARCH64_BUILD) SANITIZE=0 $(AARCH64_OBJ) \
	    $(AARCH64_TESTS:%=$(AARCH64_BUILD)/ktests/%)
	@for t in $(AARCH64_TESTS); do \
	    echo "qemu-aarch64: $$t"; \
	    $(QEMU_AARCH64) -L $(AARCH64_SYSROOT) $(AARCH64_BUILD)/ktests/$$t || exit 1; \
	done
	@echo "qemu-aarch64: test_nn without sdot (WN_FORCE_ISA=neon-nodot)"
	@WN_FORCE_ISA=neon-nodot $(QEMU_AARCH64) -L $(AARCH64_SYSROOT) $(AARCH64_BUILD)/ktests/test_nn
	@echo "qemu-aarch64: $(AARCH64_TESTS) passed"

$(AARCH64_BUILD)/ktests/%: tests/%.c $(AARCH64_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  LD    $@'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $< $(AARCH64_OBJ) -lm -lpthread
