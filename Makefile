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

# The modules, each a static library, and what each may use: the ones below it, listed in link
# order. The build enforces it: `make layers` links every module alone against exactly these,
# and each unit test and fuzz target links only the module it tests (TEST_MOD_*, FUZZ_MOD_*),
# so a call that goes up or sideways does not link.
MODULES       := stream pty fs process adapters desktop agentd
DEPS_stream   :=
DEPS_pty      :=
DEPS_fs       := stream
DEPS_process  := pty stream
DEPS_adapters := process pty stream
DEPS_desktop  := process pty stream
DEPS_agentd   := adapters process pty stream
$(foreach m,$(filter-out agentd,$(MODULES)),$(eval SRC_$(m) := $(wildcard $(m)/*.c)))
SRC_agentd    := $(filter-out agentd/main.c,$(wildcard agentd/*.c))
LIB_SRC    := $(foreach m,$(MODULES),$(SRC_$(m)))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ   := $(BUILD)/obj/agentd/main.o
BIN        := $(BUILD)/agentd
# A module and what it stands on, as archives in link order ($(1): module, $(2): build dir).
mod_libs = $(foreach m,$(1) $(DEPS_$(1)),$(2)/lib/lib$(m).a)

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps run test unit integration fuzz fuzz-build bench clean format format-check lint cycles layers \
        image image-test lint-yaml

all: $(DEPS_STAMP) $(BIN)

deps: $(DEPS_STAMP)

$(DEPS_STAMP): images/install-deps.sh images/desktop_packages.h
	./images/install-deps.sh
	@mkdir -p $(dir $@) && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

define module_archive
$(BUILD)/lib/lib$(1).a: $$(SRC_$(1):%.c=$$(BUILD)/obj/%.o)
	@mkdir -p $$(dir $$@)
	@rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_archive,$(m))))

# main.c wires every module.
BIN_LIBS := $(foreach m,agentd adapters desktop fs process pty stream,$(BUILD)/lib/lib$(m).a)
$(BIN): $(MAIN_OBJ) $(BIN_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(BIN_LIBS) $(PKG_LIBS)

# Each module, whole, against only what it may use: an undefined symbol is a call up or sideways.
define newline


endef
layers: $(foreach m,$(MODULES),$(BUILD)/lib/lib$(m).a)
	@mkdir -p $(BUILD)/layers
	@printf 'int main(void) { return 0; }\n' > $(BUILD)/layers/main.c
	$(foreach m,$(MODULES),@$(CC) $(LDFLAGS) -o $(BUILD)/layers/$(m) $(BUILD)/layers/main.c \
	  -Wl,--whole-archive $(BUILD)/lib/lib$(m).a -Wl,--no-whole-archive \
	  $(foreach d,$(DEPS_$(m)),$(BUILD)/lib/lib$(d).a) $(PKG_LIBS) \
	  || { echo "layers: $(m)/ uses a module it may not (it may use: $(or $(DEPS_$(m)),nothing of ours))"; exit 1; }$(newline))
	@echo "layers: each of $(MODULES) links against only what it may use"

run: all
	@echo "agentd: http://127.0.0.1:2468/  (Ctrl-C to stop)"
	./$(BIN) server --host 127.0.0.1 --port 2468 --no-token

# ---- tests -------------------------------------------------------------------------------------

# The module each unit test tests (it links that module and what the module stands on, no more).
TEST_MOD_test_buf := stream
TEST_MOD_test_http_parse := stream
TEST_MOD_test_json := stream
TEST_MOD_test_media := stream
TEST_MOD_test_problem := stream
TEST_MOD_test_query := stream
TEST_MOD_test_sse_parse := stream
TEST_MOD_test_ws_frame := stream
TEST_MOD_test_fs_path := fs
TEST_MOD_test_proc := process
TEST_MOD_test_config_decode := adapters
TEST_MOD_test_mock_agent := adapters
TEST_MOD_test_desktop := desktop
TEST_MOD_test_desktop_app := desktop
TEST_MOD_test_desktop_winclip := desktop
TEST_MOD_test_router := agentd
TEST_MOD_test_browser := agentd
TEST_MOD_test_opts := agentd
TEST_MOD_test_http_conn := agentd
test_mod = $(or $(TEST_MOD_$(1)),$(error tests/unit/$(1).c: say which module it tests (TEST_MOD_$(1) in the Makefile)))

.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $$(call mod_libs,$$(call test_mod,test_$$*),$(BUILD)) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(call mod_libs,$(call test_mod,test_$*),$(BUILD)) \
	  $(LDFLAGS) $(PKG_LIBS) -lcmocka

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
define fuzz_archive
build/fuzz/lib/lib$(1).a: $$(SRC_$(1):%.c=build/fuzz/obj/%.o)
	@mkdir -p $$(dir $$@)
	@rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call fuzz_archive,$(m))))
# The module each target fuzzes; a list (in link order) for one that drives several.
FUZZ_MOD_fuzz_accept := stream
FUZZ_MOD_fuzz_json := fs
FUZZ_MOD_fuzz_problem := stream
FUZZ_MOD_fuzz_query := stream
FUZZ_MOD_fuzz_range := stream
FUZZ_MOD_fuzz_sse_parse := stream
FUZZ_MOD_fuzz_ws_frame := stream
FUZZ_MOD_fuzz_path := fs
FUZZ_MOD_fuzz_tar := fs
FUZZ_MOD_fuzz_proc_decode := process
FUZZ_MOD_fuzz_config_decode := adapters
FUZZ_MOD_fuzz_mock_agent := adapters
FUZZ_MOD_fuzz_desk_app := desktop
FUZZ_MOD_fuzz_desk_decode := desktop
FUZZ_MOD_fuzz_desk_winclip_decode := desktop
FUZZ_MOD_fuzz_http_conn := agentd
FUZZ_MOD_fuzz_http_stream := agentd adapters desktop fs process pty stream
fuzz_libs = $(if $(word 2,$(FUZZ_MOD_$(1))),$(foreach m,$(FUZZ_MOD_$(1)),build/fuzz/lib/lib$(m).a),$(call mod_libs,$(or $(FUZZ_MOD_$(1)),$(error tests/fuzz/$(1).c: say which module it fuzzes (FUZZ_MOD_$(1) in the Makefile))),build/fuzz))
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(call fuzz_libs,fuzz_$$*) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(call fuzz_libs,fuzz_$*) $(PKG_LIBS)

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

# ---- the Docker image (images/Dockerfile; needs a running engine, tests/image/run.sh makes one) --

IMAGE ?= agentd
DOCKER ?= docker
image:
	DOCKER_BUILDKIT=0 $(DOCKER) build -f images/Dockerfile --target runtime -t $(IMAGE):runtime .
	DOCKER_BUILDKIT=0 $(DOCKER) build -f images/Dockerfile --target full -t $(IMAGE):full .

# Builds both images and checks them through the official SDK (installs docker.io, starts dockerd
# and makes the base image when they are missing). The test decodes screenshots with the host's
# image decoder.
image-test: $(IMGDECODE) tests/node_modules/.stamp
	IMAGE=$(IMAGE) tests/image/run.sh

# The Kubernetes manifests in docs/deploy.md's folder, linted (no cluster needed).
lint-yaml: $(DEPS_STAMP)
	yamllint -s -c images/k8s/.yamllint images/k8s/
