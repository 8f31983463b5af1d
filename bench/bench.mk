# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Benchmark tools, included by the main Makefile. Alone: make -f bench/bench.mk bench-tools
# Everything lands in $(O)/bench/; `make bench` runs bench/run.sh (figures only, never pass/fail).

# Included, this must not change the default goal; alone, the default is bench-tools.
BENCH_SAVED_GOAL := $(if $(filter 1,$(words $(MAKEFILE_LIST))),bench-tools,$(.DEFAULT_GOAL))

O           ?= build
CLANG       ?= clang
BPFTOOL     ?= bpftool
BPF_CFLAGS  ?= -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror -Iinclude -Ibpf \
               -I/usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)
LIBBPF_LIBS ?= $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)

BENCH_O     := $(O)/bench
BENCH_BPF   := $(BENCH_O)/bare.bpf.o $(BENCH_O)/xdpgen.bpf.o
BENCH_TOOLS := $(BENCH_O)/sl_xdpgen $(BENCH_O)/sl_pktcost
BENCH_CFLAGS = $(CFLAGS) -std=gnu11 -Wall -MMD -MP -Iinclude -I$(BENCH_O)

.PHONY: bench-tools
bench-tools: $(BENCH_BPF) $(BENCH_TOOLS)

# The main Makefile's `bench` recipe runs bench/run.sh; this adds the tools it needs.
bench: bench-tools

$(BENCH_O)/%.bpf.o: bench/%.bpf.c | $(BENCH_O)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BENCH_O)/%.skel.h: $(BENCH_O)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

$(BENCH_O)/sl_xdpgen: bench/sl_xdpgen.c $(BENCH_O)/xdpgen.skel.h | $(BENCH_O)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $< -o $@ $(LIBBPF_LIBS) -lelf -lz

$(BENCH_O)/sl_pktcost: bench/sl_pktcost.c | $(BENCH_O)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $< -o $@ $(LIBBPF_LIBS) -lelf -lz

$(BENCH_O):
	$(Q)mkdir -p $@

-include $(wildcard $(BENCH_O)/*.d)

.DEFAULT_GOAL := $(BENCH_SAVED_GOAL)
