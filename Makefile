# SPDX-License-Identifier: GPL-2.0
#
# cport: top-level build, staging and test targets.
#
#   make                  build the module (W=1), libcport, tests, tools
#   make check            build, run the host tests and the VM tests; the
#                         last line says "N passed, N failed[, N skipped]"
#   make stage            assemble the guest payload in build/payload
#   make vm-run CMD='...' run one command in the VM (module loaded)
#   make vm-shell         interactive shell in the VM (Ctrl-A X quits)
#   make demo             run the examples in the VM
#   make bench            run the benchmarks in the VM
#   make checkpatch       checkpatch --strict on the module and uAPI header
#   make install          module, library, headers, man pages
#                         (DESTDIR, PREFIX, KVER)
#   make deps             install build/test dependencies (apt, as root)
#   make clean            remove build products (distclean: and .cache/)
#
# KVER is the kernel the module is built for and the VM boots: by default the
# newest installed Debian 6.1 kernel (tools/kver), never the host's own.
# VM_ARGS adds options to tools/vm/run (e.g. VM_ARGS='--kernel PATH').
#
# Each part (kmod, lib, selftests, tools/bench, examples) has its own
# Makefile; this one only calls their targets:
#   all, clean, install            the usual
#   install-guest GUEST_DIR=dir    static test binaries into dir/tests/,
#                                  other guest programs into dir/bin/
#   check-host TAP_LOG=file        (lib) host tests, TAP into file

KVER		?= $(shell tools/kver 2>/dev/null)
KDIR		?= /lib/modules/$(KVER)/build
W		?= 1

BUILD		:= build
PAYLOAD		:= $(BUILD)/payload
HOST_TAP	:= $(BUILD)/check-host.tap
VM_LOG		:= $(BUILD)/check-vm.log
VM_TIMEOUT	?= 1200
VM_ARGS		?=
VM_RUN		= tools/vm/run --kver $(KVER) --payload $(PAYLOAD) $(VM_ARGS)

MAKEFLAGS	+= --no-print-directory

# The parts, each built only once its Makefile exists.
has-makefile	= $(wildcard $(1)/Makefile)
# $(call has-target,DIR,TARGET): non-empty if DIR/Makefile has a rule for
# TARGET, alone or in a list of targets ("all clean:").
target-re	= ^([^:=[:space:]]+[[:space:]]+)*$(1)([[:space:]]+[^:=[:space:]]+)*[[:space:]]*::?([^=]|$$)
has-target	= $(shell grep -qsE '$(call target-re,$(2))' $(1)/Makefile && echo y)

SELFTESTS_DIR	:= $(firstword $(patsubst %/Makefile,%,\
		   $(wildcard selftests/Makefile selftests/cport/Makefile)))
GUEST_PARTS	:= $(SELFTESTS_DIR) lib tools/bench examples
INSTALL_PARTS	:= lib man

# Cheap check before building: tools/deps runs only if one of these is
# missing (it checks packages itself, and fills .cache/).
DEPS_FILES	:= .cache/ksft/kselftest.h .cache/ksft/kselftest_harness.h \
		   .cache/checkpatch/checkpatch.pl \
		   /usr/bin/qemu-system-x86_64 /bin/busybox /usr/bin/cpio \
		   /usr/include/check.h /usr/include/liburing.h \
		   /usr/lib/x86_64-linux-gnu/libc.a
deps-missing	= $(filter-out $(wildcard $(DEPS_FILES)),$(DEPS_FILES)) \
		  $(if $(wildcard $(KDIR)/Makefile),,$(KDIR))

all: build-kmod build-lib build-selftests build-bench build-examples

deps:
	tools/deps

deps-check:
	@$(if $(strip $(deps-missing)),tools/deps,:)

build-kmod: | deps-check
	$(if $(call has-makefile,kmod),$(MAKE) -C kmod KVER=$(KVER) \
		KDIR=$(KDIR) W=$(W))

build-lib: | deps-check
	$(if $(call has-makefile,lib),$(MAKE) -C lib)

# These link libcport.a.
build-selftests: build-lib
	$(if $(SELFTESTS_DIR),$(MAKE) -C $(SELFTESTS_DIR))

build-bench: build-lib
	$(if $(call has-makefile,tools/bench),$(MAKE) -C tools/bench)

build-examples: build-lib
	$(if $(call has-makefile,examples),$(MAKE) -C examples)

# The guest has no libc: everything staged must be linked statically.
stage: all
	rm -rf $(PAYLOAD)
	mkdir -p $(PAYLOAD)/tests $(PAYLOAD)/bin
	install -m 644 kmod/cport.ko $(PAYLOAD)/
	install -m 755 tools/vm/run-tests $(PAYLOAD)/
	$(foreach part,$(GUEST_PARTS),$(if $(call has-target,$(part),install-guest),\
		$(MAKE) -C $(part) install-guest GUEST_DIR=$(CURDIR)/$(PAYLOAD)$(newline)))
	@for f in $(PAYLOAD)/tests/* $(PAYLOAD)/bin/*; do \
		if [ -f "$$f" ] && readelf -l "$$f" 2>/dev/null | \
				grep -q 'program interpreter'; then \
			echo "stage: $$f is not linked statically" >&2; \
			exit 1; \
		fi; \
	done
	@echo "stage: $(PAYLOAD): $$(ls $(PAYLOAD)/tests | wc -l) tests," \
		"$$(ls $(PAYLOAD)/bin | wc -l) programs"

# Host tests, then the VM tests, then one summary line. Every step runs even
# if an earlier one failed, so that the summary covers all of them.
check: stage
	@rm -f $(HOST_TAP) $(VM_LOG)
	@status=0; \
	$(if $(call has-target,lib,check-host),\
		$(MAKE) -C lib check-host TAP_LOG=$(CURDIR)/$(HOST_TAP) || status=1;) \
	$(VM_RUN) --timeout $(VM_TIMEOUT) --log $(VM_LOG) -- /cport/run-tests \
		|| status=1; \
	tools/tap-summary $(if $(call has-target,lib,check-host),$(HOST_TAP)) \
		$(VM_LOG) || status=1; \
	exit $$status

# CMD reaches the guest's sh as typed: no make expansion of $(...) in it.
ifdef CMD
override CMD := $(value CMD)
export CMD
endif

vm-run: stage
	@test -n "$$CMD" || { echo "usage: make vm-run CMD='command'" >&2; exit 2; }
	$(VM_RUN) --timeout $(VM_TIMEOUT) -- "$$CMD"

vm-shell: stage
	$(VM_RUN) --interactive

demo: stage
	$(VM_RUN) --timeout $(VM_TIMEOUT) -- /cport/bin/demo

bench: stage
	$(VM_RUN) --timeout $(VM_TIMEOUT) -- /cport/bin/bench-all

CHECKPATCH	:= .cache/checkpatch/checkpatch.pl
CHECKPATCH_FILES = $(filter-out %.mod.c,$(wildcard kmod/*.c)) \
		   $(wildcard kmod/*.h) include/uapi/cport.h

checkpatch: deps-check
	$(CHECKPATCH) --no-tree --strict --show-types -f \
		$(CHECKPATCH_FILES)

install: build-kmod build-lib
	$(if $(call has-target,kmod,install),$(MAKE) -C kmod install \
		KVER=$(KVER) KDIR=$(KDIR))
	$(foreach part,$(INSTALL_PARTS),$(if $(call has-target,$(part),install),\
		$(MAKE) -C $(part) install$(newline)))

clean:
	$(foreach part,kmod lib $(SELFTESTS_DIR) tools/bench examples man,\
		$(if $(call has-target,$(part),clean),\
		$(MAKE) -C $(part) clean KVER=$(KVER) KDIR=$(KDIR)$(newline)))
	rm -rf $(BUILD)

distclean: clean
	rm -rf .cache

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' Makefile

define newline


endef

.PHONY: all deps deps-check build-kmod build-lib build-selftests build-bench \
	build-examples stage check vm-run vm-shell demo bench checkpatch \
	install clean distclean help
