# agentd - plain Makefile, pkg-config for every library.
#
#   make run                 install what is missing, build, start on 127.0.0.1:2468 (no token)
#   make test                install what is missing, build, run every test layer
#   make SANITIZER=address   ASan + UBSan build (into build/asan/)
#   make WERROR=1            warnings are errors (CI)
#   make fuzz                build and briefly run every libFuzzer target
#   make bench               print throughput/RSS figures side by side with the reference
#   make clean

CC       ?= cc
comma    := ,
PKGS     := libwebsockets libuv libcjson libarchive
# The desktop: Xlib and its extensions (capture, input, cursor, damage), XCB (the clipboard
# owner's connection), the image encoders.
PKGS     += x11 xcb xext xtst xfixes xdamage libpng libjpeg libwebp
SANITIZER ?=
WERROR   ?=
FUZZ_SECONDS ?= 20

ifeq ($(SANITIZER),address)
  BUILD := build/asan
  SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined,float-cast-overflow
  OPT := -O1 -g
else
  BUILD := build
  SANFLAGS :=
  OPT := -O2 -g
endif

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual -Wstrict-prototypes \
        -Wmissing-prototypes -Wwrite-strings -Wvla -Wnull-dereference -Wundef \
        -Wimplicit-fallthrough -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
  WARN += -Werror
endif

DEPS_STAMP := .cache/deps.stamp
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libarchive is dlopen()ed on first use (fs/fs_archive.c): headers only.
PKG_LIBS   = $(shell pkg-config --libs $(filter-out libarchive,$(PKGS)) 2>/dev/null) -ldl -lpthread

CFLAGS  := -std=gnu11 $(OPT) $(WARN) $(SANFLAGS) -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 \
           -fstack-protector-strong -MMD -MP $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS)

STREAM_SRC := $(wildcard stream/*.c)
FS_SRC     := $(wildcard fs/*.c) $(wildcard process/*.c) $(wildcard pty/*.c) \
              $(wildcard adapters/*.c) $(wildcard desktop/*.c)
AGENTD_SRC := $(filter-out agentd/main.c,$(wildcard agentd/*.c))
LIB_SRC    := $(STREAM_SRC) $(FS_SRC) $(AGENTD_SRC)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ   := $(BUILD)/obj/agentd/main.o
BIN        := $(BUILD)/agentd

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps run test unit integration fuzz fuzz-build bench clean format format-check lint cycles

all: $(DEPS_STAMP) $(BIN)

deps: $(DEPS_STAMP)

$(DEPS_STAMP): images/install-deps.sh images/desktop_packages.h
	./images/install-deps.sh
	@mkdir -p $(dir $@) && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BIN): $(LIB_OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

run: all
	@echo "agentd: http://127.0.0.1:2468/  (Ctrl-C to stop)"
	./$(BIN) server --host 127.0.0.1 --port 2468 --no-token

# ---- tests -------------------------------------------------------------------------------------

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(PKG_LIBS) -lcmocka

# The desktop tests' helpers: an X client that maps a known window and prints the input it
# receives, and an image decoder (PNG/JPEG/WebP to PPM) to check the pixels agentd sends.
XCLIENT := $(BUILD)/tests/desk_xclient
IMGDECODE := $(BUILD)/tests/desk_imgdecode
$(XCLIENT): tests/tools/desk_xclient.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LDFLAGS) $(shell pkg-config --libs x11 2>/dev/null)
XWIN := $(BUILD)/tests/desk_xwin
$(XWIN): tests/tools/desk_xwin.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LDFLAGS) $(shell pkg-config --libs x11 2>/dev/null)
$(IMGDECODE): tests/tools/desk_imgdecode.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LDFLAGS) \
	  $(shell pkg-config --libs libpng libjpeg libwebp 2>/dev/null)

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; ./$$t || fail=1; done; \
	  if [ $$fail != 0 ]; then echo "unit tests FAILED"; exit 1; fi

tests/node_modules/.stamp: tests/package.json tests/package-lock.json | $(DEPS_STAMP)
	cd tests && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

integration: $(BIN) $(XCLIENT) $(XWIN) $(IMGDECODE) tests/node_modules/.stamp
	cd tests && AGENTD_BIN=../$(BIN) AGENTD_XCLIENT=../$(XCLIENT) AGENTD_IMGDECODE=../$(IMGDECODE) \
	  AGENTD_XWIN=../$(XWIN) \
	  node --test --test-concurrency=1 integration/

test: all unit integration

# ---- fuzzing (clang + libFuzzer) ---------------------------------------------------------------

FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all
# The library is compiled once for all targets (instrumented, without libFuzzer's main), so
# adding a target costs one link, not another build of every source.
FUZZ_LIB_CFLAGS := $(subst -fsanitize=fuzzer$(comma),-fsanitize=fuzzer-no-link$(comma),$(FUZZ_CFLAGS)) -MMD -MP
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
.SECONDARY: $(FUZZ_OBJ)
build/fuzz/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	clang $(FUZZ_LIB_CFLAGS) $(PKG_CFLAGS) -c $< -o $@
build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	  n=$$(basename $$f); mkdir -p tests/fuzz/artifacts/$$n build/fuzz/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  ./$$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=tests/fuzz/artifacts/$$n/ \
	    build/fuzz/corpus/$$n tests/fuzz/corpus/$$n > build/fuzz/$$n.log 2>&1 \
	    || { tail -n 40 build/fuzz/$$n.log; echo "fuzz target $$n FAILED"; exit 1; }; \
	  tail -n 2 build/fuzz/$$n.log; \
	done

# ---- benchmarks --------------------------------------------------------------------------------

bench: all
	./bench/run.sh
	node bench/terminal.mjs
	node bench/connections.mjs
	./bench/desktop.sh

# ---- housekeeping ------------------------------------------------------------------------------

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

lint:
	@! git ls-files '*.c' '*.h' | grep -v '^tests/fuzz/corpus' | xargs grep -nE \
	  '\b(strcpy|strcat|strncpy|sprintf|vsprintf|sscanf|gets|atoi|atol|strtok)\s*\(' \
	  || (echo "banned function used (see STYLE.md)"; exit 1)

# No file may call another that calls it back (issue 13): checked on the objects' symbols.
cycles: $(BIN)
	node tests/tools/callcycles.mjs build/obj

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
