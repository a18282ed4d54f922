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

LIB_SRC   = $(sort $(wildcard src/*/*.c))
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
HDRS      = include/winnow.h $(wildcard src/*/*.h) $(wildcard cli/*.h cli/demo/*.h) $(wildcard tests/*.h)

# Where `make install` puts things; the models' directory is compiled into
# src/model/bundled.c (WN_MODELS_DIR), so bundled names ("winnow-small-embed") resolve
# after an install (docs/MODELS.md). A change of PREFIX rebuilds that one file.
PREFIX  ?= /usr/local
MODELS_INSTALL_DIR = $(PREFIX)/share/winnow/models
$(BUILD)/obj/src/model/bundled.o: CFLAGS_BASE += -DWN_MODELS_DIR='"$(MODELS_INSTALL_DIR)"'
$(BUILD)/obj/src/model/bundled.o: $(BUILD)/models-dir.stamp
$(BUILD)/models-dir.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(MODELS_INSTALL_DIR)' | cmp -s - $@ || echo '$(MODELS_INSTALL_DIR)' >$@
FORCE:

.PHONY: all lib check demo deps clean bench fuzz install
all: $(BUILD)/winnow $(BUILD)/libwinnow.a $(BUILD)/libwinnow.so

lib: $(BUILD)/libwinnow.a $(BUILD)/libwinnow.so

$(BUILD)/obj/%_avx2.o: %_avx2.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $<'
	$(Q)$(CC) $(CFLAGS_BASE) $(AVX2_FLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  CC    $<'
	$(Q)$(CC) $(CFLAGS_BASE) $(AVX512_FLAGS) $(CFLAGS) -c $< -o $@

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

$(BUILD)/winnow: $(CLI_OBJ) $(BUILD)/libwinnow.a
	$(E) '  LD    $@'
	$(Q)$(CC) -o $@ $(CLI_OBJ) $(BUILD)/libwinnow.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_HOBJ) $(BUILD)/libwinnow.a $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  LD    $@'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $< $(TEST_HOBJ) $(BUILD)/libwinnow.a $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

# bench_encoder builds its models with the tests' synthetic-weight writer
$(BUILD)/bench/bench_encoder: BENCH_OBJ = $(BUILD)/obj/tests/synth.o
$(BUILD)/bench/bench_encoder: $(BUILD)/obj/tests/synth.o

$(BUILD)/bench/%: bench/%.c $(BUILD)/libwinnow.a $(HDRS)
	@mkdir -p $(dir $@)
	$(E) '  LD    $@'
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $< $(BENCH_OBJ) $(BUILD)/libwinnow.a $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

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

# DESTDIR for staged installs (packaging). Models: every directory under models/.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(MODELS_INSTALL_DIR)
	install -m 755 $(BUILD)/winnow $(DESTDIR)$(PREFIX)/bin/winnow
	install -m 644 $(BUILD)/libwinnow.a $(DESTDIR)$(PREFIX)/lib/libwinnow.a
	install -m 755 $(BUILD)/libwinnow.so $(DESTDIR)$(PREFIX)/lib/libwinnow.so
	install -m 644 include/winnow.h $(DESTDIR)$(PREFIX)/include/winnow.h
	cp -R models/. $(DESTDIR)$(MODELS_INSTALL_DIR)/

clean:
	rm -rf build build-asan build-fuzz
