# SPDX-License-Identifier: Apache-2.0
# porin build.  `make` builds the three binaries and the BPF objects under
# build/; `make test` installs missing build dependencies, builds, and runs
# every test tier; `make demo` runs the local demo.

BUILD		?= build
CC		?= gcc
CLANG		?= clang
BPFTOOL		?= bpftool
ARCH		:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH	:= $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
		   -Idatapath/include -Ilib -Ipolicy -I$(BUILD)
LDLIBS		:= -lbpf -lelf -lz -lmnl -ljansson -lcurl -lyaml -lnftables
TEST_LDLIBS	:= $(LDLIBS) -lcmocka
# The CNI plugin is exec'd for every pod and verb, so it links little: no
# libbpf/libelf/libz, jansson statically.  It is not fully static: Debian
# ships no libmnl.a, so the plugin loads libc and libmnl as shared libraries.
CNI_LDFLAGS	:=
CNI_LDLIBS	:= -Wl,-Bstatic -ljansson -Wl,-Bdynamic -lmnl

BPF_CFLAGS	:= -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		   -I/usr/include/$(MULTIARCH) -Idatapath/include -Idatapath

# --- sources ---------------------------------------------------------------
# Each binary's main() lives in one file; everything else is linked into the
# binaries and the unit tests alike.
BPF_SRCS	:= $(wildcard datapath/bpf_*.c)
BPF_OBJS	:= $(patsubst datapath/%.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS		:= $(patsubst datapath/%.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

LIB_SRCS	:= $(wildcard lib/*.c)
CNI_SRCS	:= $(filter-out cni/main.c,$(wildcard cni/*.c))
AGENT_SRCS	:= $(filter-out agent/agent_main.c agent/porinctl.c,$(wildcard agent/*.c))
POLICY_SRCS	:= $(wildcard policy/*.c)
K8S_SRCS	:= $(wildcard agent/k8s/*.c)

obj		= $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJS	:= $(call obj,$(LIB_SRCS))
# All of lib/ but the libbpf log hook: the CNI plugin links no libbpf.
CNI_LIB_OBJS	:= $(filter-out $(call obj,lib/log_libbpf.c),$(LIB_OBJS))
CNI_OBJS	:= $(call obj,$(CNI_SRCS))
AGENT_OBJS	:= $(call obj,$(AGENT_SRCS))
POLICY_OBJS	:= $(call obj,$(POLICY_SRCS))
K8S_OBJS	:= $(call obj,$(K8S_SRCS))
ALL_LIB_OBJS	:= $(LIB_OBJS) $(CNI_OBJS) $(AGENT_OBJS) $(POLICY_OBJS) $(K8S_OBJS)

BINS		:= $(BUILD)/porin $(BUILD)/porin-agent $(BUILD)/porinctl

UNIT_TESTS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS	:= $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
HELPERS		:= $(patsubst hack/bench/%.c,$(BUILD)/hack/%,$(wildcard hack/bench/*.c)) \
		   $(patsubst tests/integ/%.c,$(BUILD)/tests/integ/%,$(wildcard tests/integ/*.c))

.PHONY: all test test-unit test-bpf test-integ deps demo bench clean
.DELETE_ON_ERROR:
# Keep the generated skeletons: as intermediates of a chain make would delete
# them after each build and recompile every object next time.
.SECONDARY:

all: $(BINS) $(BPF_OBJS) $(HELPERS)

# --- BPF: compile, then embed through a skeleton ---------------------------
$(BUILD)/%.bpf.o: datapath/%.c $(wildcard datapath/lib/*.h) datapath/include/porin/abi.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

# --- user space -------------------------------------------------------------
$(BUILD)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/porin: $(call obj,cni/main.c) $(CNI_OBJS) $(CNI_LIB_OBJS)
	$(CC) $(CFLAGS) $(CNI_LDFLAGS) $^ -o $@ $(CNI_LDLIBS)

$(BUILD)/porin-agent: $(call obj,agent/agent_main.c) $(AGENT_OBJS) $(POLICY_OBJS) $(K8S_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/porinctl: $(call obj,agent/porinctl.c) $(AGENT_OBJS) $(POLICY_OBJS) $(K8S_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/unit/%: $(call obj,tests/unit/%.c) $(ALL_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(TEST_LDLIBS)

$(BUILD)/tests/bpf/%: $(call obj,tests/bpf/%.c) $(ALL_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(TEST_LDLIBS)

$(BUILD)/tests/integ/k8s_watch_probe: $(call obj,tests/integ/k8s_watch_probe.c) $(K8S_OBJS) \
		$(call obj,lib/log.c)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lcurl -lyaml -ljansson

$(BUILD)/tests/integ/%: $(call obj,tests/integ/%.c)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@

$(BUILD)/hack/%: $(call obj,hack/bench/%.c)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@

$(BUILD):
	@mkdir -p $@

# --- tests, demo, benchmarks ------------------------------------------------
deps:
	@hack/deps.sh

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_TESTS) $(BPF_TESTS)
	@tests/run.sh

test-unit: $(UNIT_TESTS)
	@tests/run.sh unit

test-bpf: $(BPF_TESTS) $(BINS)
	@tests/run.sh bpf

test-integ: all
	@tests/run.sh integ

demo: deps all
	@hack/demo.sh

bench: deps all
	@hack/bench/run.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
