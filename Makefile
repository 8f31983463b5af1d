# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# sluice: eBPF/XDP throttler. `make help` lists the targets.

O          ?= build
V          ?= 0
CLANG      ?= clang
CC         ?= gcc
BPFTOOL    ?= bpftool
PKG_CONFIG ?= pkg-config
PREFIX     ?= /usr/local
VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Iinclude -Ibpf -I/usr/include/$(MULTIARCH)

LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS   := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf)
YAML_LIBS     := $(shell $(PKG_CONFIG) --libs yaml-0.1 2>/dev/null || echo -lyaml)
MHD_LIBS      := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -MMD -MP -Iinclude -Iuserspace -I$(O) $(LIBBPF_CFLAGS) -DSLUICE_VERSION='"$(VERSION)"'
LDLIBS  := $(LIBBPF_LIBS) -lelf -lz $(YAML_LIBS) $(MHD_LIBS) -pthread

# Modules that do not touch libbpf: unit tests link these directly.
PURE_SRCS := userspace/policy.c userspace/json.c userspace/log.c userspace/stats.c \
             userspace/tenants.c userspace/util.c userspace/period.c userspace/billing.c \
             userspace/metrics.c userspace/reply.c
BPF_SRCS  := userspace/pins.c userspace/maps.c userspace/apply.c userspace/netns.c \
             userspace/loader.c userspace/attach.c userspace/view.c \
             userspace/apply_http.c userspace/tview.c userspace/apply_reply.c
CMD_SRCS  := $(wildcard userspace/cmd_*.c)
MAIN_SRCS := userspace/main.c

PURE_OBJS := $(PURE_SRCS:userspace/%.c=$(O)/obj/%.o)
BPFU_OBJS := $(BPF_SRCS:userspace/%.c=$(O)/obj/%.o)
CMD_OBJS  := $(CMD_SRCS:userspace/%.c=$(O)/obj/%.o)
MAIN_OBJS := $(MAIN_SRCS:userspace/%.c=$(O)/obj/%.o)

BPF_OBJ      := $(O)/bpf/sluice.bpf.o
BPF_TEST_OBJ := $(O)/bpf/sluice_test.bpf.o
SKELS        := $(O)/sluice.skel.h $(O)/sluice_test.skel.h

SLUICE := $(O)/sluice

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(O)/tests/unit_tests
BPFT_SRCS := $(wildcard tests/bpf/test_*.c) tests/bpf/pktbuild.c
BPFT_BIN  := $(O)/tests/bpf_tests
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(O)/tools/%)

.DELETE_ON_ERROR:
.PHONY: all help clean test test-unit test-bpf test-integration bench demo deps install uninstall

all: $(SLUICE) $(BPF_OBJ) $(TOOL_BINS)

help:
	@echo 'sluice make targets:'
	@echo '  all               build build/sluice, the BPF objects and test tools (default)'
	@echo '  test              run every test level: unit, bpf, integration (root)'
	@echo '  test-unit         criterion unit tests (no root)'
	@echo '  test-bpf          BPF_PROG_TEST_RUN tests on crafted packets (root)'
	@echo '  test-integration  namespace + veth tests with real traffic (root); T=name filters'
	@echo '  bench             benchmarks, figures only (root)'
	@echo '  demo              two namespaces, a flood and a well-behaved source (root)'
	@echo '  deps              install build/test dependencies (scripts/install-deps.sh)'
	@echo '  install           install the binary, BPF object, systemd units, man page and'
	@echo '                    bash completion under $$(DESTDIR)$$(PREFIX) (builds first if needed)'
	@echo '  uninstall         remove what install installed'
	@echo '  clean             remove $(O)/'
	@echo 'Variables: O=builddir V=1 (full commands) CLANG= BPFTOOL= PREFIX= DESTDIR='

$(O)/bpf/sluice.bpf.o: bpf/sluice.bpf.c | $(O)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(O)/bpf/sluice_test.bpf.o: bpf/sluice.bpf.c | $(O)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DSL_TEST_CLOCK -MMD -MP -c $< -o $@

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .skel.h,,$(notdir $@)) > $@

$(O)/obj/%.o: userspace/%.c | $(O)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Objects that include a skeleton must wait for it.
$(BPFU_OBJS) $(CMD_OBJS) $(MAIN_OBJS): $(SKELS)

$(SLUICE): $(MAIN_OBJS) $(CMD_OBJS) $(BPFU_OBJS) $(PURE_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(UNIT_BIN): $(UNIT_SRCS) $(wildcard tests/unit/*.h) $(PURE_OBJS) | $(O)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(UNIT_SRCS) $(PURE_OBJS) -o $@ $(YAML_LIBS) -lz $(MHD_LIBS) -pthread \
		-lcriterion

$(BPFT_BIN): $(BPFT_SRCS) $(wildcard tests/bpf/*.h) $(SKELS) $(BPFU_OBJS) $(PURE_OBJS) | $(O)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $(BPFT_SRCS) $(BPFU_OBJS) $(PURE_OBJS) -o $@ \
		$(LDLIBS) -lcriterion

$(O)/tools/%: tests/tools/%.c | $(O)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $< -o $@ $(LIBBPF_LIBS) -lelf -lz

$(O)/bpf $(O)/obj $(O)/tests $(O)/tools:
	$(Q)mkdir -p $@

test: test-unit test-bpf test-integration

test-unit: $(UNIT_BIN)
	$(UNIT_BIN) --jobs 2 $(if $(T),--filter '$(T)')

# Each BPF test loads and verifies the whole object in its own process (~2 s of kernel time);
# they share nothing (private maps, kernel-chosen loopback ports), so two run at once.
test-bpf: $(BPFT_BIN)
	$(BPFT_BIN) --jobs 2 $(if $(T),--filter '$(T)')

test-integration: all
	tests/integration/run.sh $(T)

bench: all
	bench/run.sh

demo: all
	scripts/demo.sh

deps:
	scripts/install-deps.sh

# Install layout. Units go to /lib/systemd/system for PREFIX=/usr (where Debian keeps them);
# the templates get the installed binary's path with sed in the destination, so installing as
# root never writes into the source tree (and builds nothing when $(O) is up to date).
SBINDIR  ?= $(PREFIX)/sbin
BPFDIR   ?= $(PREFIX)/lib/sluice
UNITDIR  ?= $(if $(filter /usr,$(PREFIX)),,$(PREFIX))/lib/systemd/system
MAN8DIR  ?= $(PREFIX)/share/man/man8
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITS    := sluice.service sluice-attach@.service

install: $(SLUICE) $(BPF_OBJ)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 $(SLUICE) $(DESTDIR)$(SBINDIR)/sluice
	$(Q)install -D -m 0644 $(BPF_OBJ) $(DESTDIR)$(BPFDIR)/sluice.bpf.o
	$(Q)install -D -m 0644 man/sluice.8 $(DESTDIR)$(MAN8DIR)/sluice.8
	$(Q)install -D -m 0644 completion/sluice.bash $(DESTDIR)$(BASHCOMPDIR)/sluice
	$(Q)for u in $(UNITS); do \
		install -D -m 0644 packaging/$$u.in $(DESTDIR)$(UNITDIR)/$$u && \
		sed -i 's|@SBINDIR@|$(SBINDIR)|g' $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

uninstall:
	$(call msg,UNINST,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/sluice $(DESTDIR)$(BPFDIR)/sluice.bpf.o \
		$(DESTDIR)$(MAN8DIR)/sluice.8 $(DESTDIR)$(BASHCOMPDIR)/sluice \
		$(UNITS:%=$(DESTDIR)$(UNITDIR)/%)
	$(Q)rmdir $(DESTDIR)$(BPFDIR) 2>/dev/null || true

clean:
	rm -rf $(O)

-include $(wildcard $(O)/obj/*.d $(O)/bpf/*.d $(O)/tools/*.d)
include bench/bench.mk
