# SPDX-License-Identifier: GPL-2.0
#
# cport: top-level build, staging and test targets.
#
#   make                  build the module (W=1), libcport, tests, tools
#   make check            build, run the host tests and the VM tests; the
#                         last line says "N passed, N failed[, N skipped]"
#   make check-debug      the VM tests on a debug kernel (KASAN, lockdep,
#                         kmemleak, UBSAN, fault injection), built once from
#                         linux-source-6.1 and cached in KERNEL_CACHE
#   make check-debug-inject  prove check-debug catches a use-after-free, a
#                         lock inversion and a leak (CPORT_INJECT=...)
#   make check-kcsan      the VM tests on a KCSAN kernel
#   make soak             kill storm and exactly-once run on the debug
#                         kernel, then rmmod and kmemleak (SOAK_ARGS)
#   make coverage         the VM tests on a gcov kernel with a profiled
#                         module; prints "coverage: kmod lines N%, ..."
#                         and writes build/coverage/ (html/, summary.txt)
#   make stage            assemble the guest payload in build/payload
#   make vm-run CMD='...' run one command in the VM (module loaded)
#   make vm-shell         interactive shell in the VM (Ctrl-A X quits)
#   make demo             run the examples in the VM
#   make bench            run the benchmarks in the VM
#   make bench-fio        fio with psync, posixaio, libaio, io_uring and the
#                         cport engine, in one VM boot (BENCH_FIO_RUNTIME,
#                         BENCH_FIO_ROUNDS; Documentation/benchmarks.rst)
#   make fio-engine       the cport ioengine for fio (fio 3.33 is built
#                         once from Debian's source, cached in FIO_CACHE)
#   make fuzz             afl-fuzz with KCOV coverage of cport.ko on the
#                         debug kernel for FUZZ_SECONDS (tools/fuzz/README)
#   make fuzz-replay      replay the fuzz corpus and reproducers (debug)
#   make checkpatch       checkpatch --strict on the module and uAPI header
#   make check-licenses   every license an SPDX line names is in LICENSES/
#   make check-version    one version everywhere (tools/version; set with
#                         tools/version set X.Y.Z)
#   make check-packages   DKMS for 6.1 and 6.12, dpkg-buildpackage, lintian,
#                         install, build with pkg-config, purge (as root)
#   make install          install-module, install-lib and install-tools:
#                         nothing but install (no apt-get, no tools/deps);
#                         DESTDIR, PREFIX, LIBDIR, KVER/KDIR (default:
#                         uname -r)
#   make install-module   cport.ko into /lib/modules/$(KVER)/extra, depmod,
#                         and install-udev: 60-cport.rules (UDEVRULESDIR)
#   make install-lib      libcport, libcportaio, headers, cport.pc, man pages
#   make install-tools    cportstat into $(PREFIX)/sbin
#   make install-dkms     the DKMS source tree, /usr/src/cport-<version>
#   make uninstall        undoes install (also uninstall-module, -udev,
#                         -lib, -tools, -dkms)
#   make deps             install build/test dependencies (apt, as root)
#   make clean            remove build products (distclean: and .cache/)
#
# KVER is the kernel the module is built for and the VM boots: by default the
# newest installed Debian 6.1 kernel (tools/kver), never the host's own. The
# install and uninstall targets are for this machine: with one of them on
# the command line, KVER defaults to the running kernel (uname -r).
# VM_ARGS adds options to tools/vm/run (e.g. VM_ARGS='--kernel PATH').
# check-debug: KERNEL_CACHE (default /var/cache/cport) holds the kernels;
# TESTS='post_test timeout_test' runs only those; CPORT_INJECT=uaf|lockdep|
# leak builds the module with that deliberate bug (kmod/inject.c).
#
# Each part (kmod, lib, selftests, tools/bench, examples) has its own
# Makefile; this one only calls their targets:
#   all, clean, install            the usual
#   install-guest GUEST_DIR=dir    static test binaries into dir/tests/,
#                                  other guest programs into dir/bin/
#   check-host TAP_LOG=file        (lib) host tests, TAP into file

INSTALL_GOALS	:= install install-module install-udev install-lib \
		   install-tools install-dkms uninstall uninstall-module \
		   uninstall-udev uninstall-lib uninstall-tools uninstall-dkms
ifneq ($(filter $(INSTALL_GOALS),$(MAKECMDGOALS)),)
KVER		?= $(shell uname -r)
endif
KVER		?= $(shell tools/kver 2>/dev/null)
KDIR		?= /lib/modules/$(KVER)/build
W		?= 1

BUILD		:= build
PAYLOAD		:= $(BUILD)/payload
HOST_TAP	:= $(BUILD)/check-host.tap
AIO_HOST_TAP	:= $(BUILD)/check-host-aio.tap
VM_LOG		:= $(BUILD)/check-vm.log
VM_TIMEOUT	?= 1200
VM_ARGS		?=
VM_RUN		= tools/vm/run --kver $(KVER) --payload $(PAYLOAD) $(VM_ARGS)

MAKEFLAGS	+= --no-print-directory

# CPORT_INJECT plants a deliberate bug in the module (kmod/inject.c): only
# from the command line, only for the debug lanes, and never passed on to a
# sub-make except the one that builds the lane's module.
INJECT		:= $(if $(filter command line,$(origin CPORT_INJECT)),$(strip $(CPORT_INJECT)))
ifneq ($(INJECT),)
ifneq ($(filter-out check-debug check-kcsan,$(or $(MAKECMDGOALS),all)),)
$(error CPORT_INJECT is only for make check-debug and make check-kcsan)
endif
endif
MAKEOVERRIDES	:= $(filter-out CPORT_INJECT=%,$(MAKEOVERRIDES))

# The parts, each built only once its Makefile exists.
has-makefile	= $(wildcard $(1)/Makefile)
# $(call has-target,DIR,TARGET): non-empty if DIR/Makefile has a rule for
# TARGET, alone or in a list of targets ("all clean:").
target-re	= ^([^:=[:space:]]+[[:space:]]+)*$(1)([[:space:]]+[^:=[:space:]]+)*[[:space:]]*::?([^=]|$$)
has-target	= $(shell grep -qsE '$(call target-re,$(2))' $(1)/Makefile && echo y)

SELFTESTS_DIR	:= $(firstword $(patsubst %/Makefile,%,\
		   $(wildcard selftests/Makefile selftests/cport/Makefile)))
GUEST_PARTS	:= $(SELFTESTS_DIR) lib tools/bench examples tools/soak \
		   tools/fuzz tools/cportstat

# Cheap check before building: tools/deps runs only if one of these is
# missing (it checks packages itself, and fills .cache/).
DEPS_FILES	:= .cache/ksft/kselftest.h .cache/ksft/kselftest_harness.h \
		   .cache/checkpatch/checkpatch.pl \
		   /usr/bin/qemu-system-x86_64 /bin/busybox /usr/bin/cpio \
		   /usr/include/check.h /usr/include/liburing.h \
		   /usr/lib/x86_64-linux-gnu/libc.a
deps-missing	= $(filter-out $(wildcard $(DEPS_FILES)),$(DEPS_FILES)) \
		  $(if $(wildcard $(KDIR)/Makefile),,$(KDIR))

all: build-kmod build-lib build-selftests build-bench build-examples \
	build-soak build-fuzz build-tools

deps:
	tools/deps

deps-check:
	@$(if $(strip $(deps-missing)),tools/deps,:)

build-kmod: | deps-check
	$(if $(call has-makefile,kmod),$(MAKE) -C kmod KVER=$(KVER) \
		KDIR=$(KDIR) W=$(W))

build-lib: | deps-check
	$(if $(call has-makefile,lib),$(MAKE) -C lib)
	$(if $(call has-makefile,aio),$(MAKE) -C aio)

# These link libcport.a.
build-selftests: build-lib
	$(if $(SELFTESTS_DIR),$(MAKE) -C $(SELFTESTS_DIR))

build-bench: build-lib
	$(if $(call has-makefile,tools/bench),$(MAKE) -C tools/bench)

build-examples: build-lib
	$(if $(call has-makefile,examples),$(MAKE) -C examples)

build-soak: build-lib
	$(if $(call has-makefile,tools/soak),$(MAKE) -C tools/soak)

build-tools: | deps-check
	$(if $(call has-makefile,tools/cportstat),$(MAKE) -C tools/cportstat)

build-fuzz: | deps-check
	$(if $(call has-makefile,tools/fuzz),$(MAKE) -C tools/fuzz)

# $(call stage-guest,DIR): the payload in DIR, but for the module: the guest
# has no libc, so everything staged must be linked statically.
define stage-guest
	rm -rf $(1)
	mkdir -p $(1)/tests $(1)/bin
	install -m 755 tools/vm/run-tests tools/vm/kmemleak \
		tools/vm/textpatch-loop tools/vm/test-times $(1)/
	sed -n 's/^TEST_F_TIMEOUT(\([a-z0-9_]*\), *\([a-z0-9_]*\), *\([0-9]*\)).*/\1.\2 \3/p; s/^TEST_TIMEOUT(\([a-z0-9_]*\), *\([0-9]*\)).*/global.\1 \2/p' \
		$(wildcard $(SELFTESTS_DIR)/*.c $(SELFTESTS_DIR)/cport/*.c) \
		> $(1)/test-timeouts
	$(foreach part,$(GUEST_PARTS),$(if $(call has-target,$(part),install-guest),\
		$(MAKE) -C $(part) install-guest GUEST_DIR=$(CURDIR)/$(1)$(newline)))
	@for f in $(1)/tests/* $(1)/bin/*; do \
		if [ -f "$$f" ] && readelf -l "$$f" 2>/dev/null | \
				grep -q 'program interpreter'; then \
			echo "stage: $$f is not linked statically" >&2; \
			exit 1; \
		fi; \
	done
	@echo "stage: $(1): $$(ls $(1)/tests | wc -l) tests," \
		"$$(ls $(1)/bin | wc -l) programs"
endef

stage: all
	$(call stage-guest,$(PAYLOAD))
	install -m 644 kmod/cport.ko $(PAYLOAD)/

# Host tests, then the VM tests, then one summary line. Every step runs even
# if an earlier one failed, so that the summary covers all of them.
check: stage
	@rm -f $(HOST_TAP) $(AIO_HOST_TAP) $(VM_LOG)
	@status=0; \
	$(if $(call has-target,lib,check-host),\
		$(MAKE) -C lib check-host TAP_LOG=$(CURDIR)/$(HOST_TAP) || status=1;) \
	$(if $(call has-target,aio,check-host),\
		$(MAKE) -C aio check-host TAP_LOG=$(CURDIR)/$(AIO_HOST_TAP) || status=1;) \
	$(VM_RUN) --timeout $(VM_TIMEOUT) --log $(VM_LOG) -- /cport/run-tests \
		|| status=1; \
	tools/tap-summary $(if $(call has-target,lib,check-host),$(HOST_TAP)) \
		$(if $(call has-target,aio,check-host),$(AIO_HOST_TAP)) \
		$(VM_LOG) || status=1; \
	exit $$status

# Debug-kernel lanes. tools/debug-kernel/build builds the lane's kernel from
# linux-source-6.1 once (about 10 minutes) and caches it in KERNEL_CACHE,
# keyed by everything that shapes it; the module is built against that
# kernel in a copy of kmod/ (kmod/ keeps the stock build), the guest
# programs are those of `make check`. The VM clears kmemleak before loading
# the module and scans after unloading it; tools/vm/run fails the run on
# any report (KASAN, lockdep, UBSAN, ODEBUG, kmemleak, WARNING...).
#   debug: KASAN, lockdep, kmemleak, UBSAN, DEBUG_LIST/OBJECTS, fault
#          injection (tools/debug-kernel/debug.config)
#   kcsan: KCSAN and lockdep (tools/debug-kernel/kcsan.config)
KERNEL_CACHE	?=
TESTS		?=
DEBUG_VM_TIMEOUT ?= 3600
# A kmemleak scan reads every struct page: 12 s with 1 GiB, 22 s with 2.
DEBUG_VM_MEMORY	?= 1G
DEBUG_DIR	:= $(BUILD)/debug
KMOD_SRCS	= $(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h) \
		  kmod/Kbuild kmod/Makefile
# Per lane: the kernel command line, the cached kernel's directory, the
# module's build directory, the console log.
lane-append-debug := kasan_multi_shot
lane-append-kcsan :=
# The KCSAN lane fails on races that involve cport; races of the kernel
# with itself (6.1 has a few, e.g. in the tick code) are listed, not counted.
lane-vm-args-debug :=
lane-vm-args-kcsan := --kcsan-module cport
lane-kernel	= $(shell cat $(DEBUG_DIR)/$(1)-kernel.path)
lane-kmod	= $(DEBUG_DIR)/kmod-$(1)$(if $(INJECT),-$(INJECT))
lane-log	= $(BUILD)/check-$(1)$(if $(INJECT),-$(INJECT)).log

# Extra make arguments for a lane's module (the gcov lane profiles it).
lane-kmod-args-gcov := CPORT_GCOV=1

LANES		:= debug kcsan gcov

$(LANES:%=lane-kernel-%): lane-kernel-%: | deps-check
	@mkdir -p $(DEBUG_DIR)
	tools/debug-kernel/build $(if $(KERNEL_CACHE),--cache $(KERNEL_CACHE)) \
		$* > $(DEBUG_DIR)/$*-kernel.path

$(LANES:%=lane-module-%): lane-module-%: lane-kernel-%
	@mkdir -p $(call lane-kmod,$*)
	@ln -sfn $(CURDIR)/include $(DEBUG_DIR)/include
	@for f in $(KMOD_SRCS); do \
		cmp -s $$f $(call lane-kmod,$*)/$${f##*/} || \
			cp -p $$f $(call lane-kmod,$*)/ || exit 1; \
	done
	$(MAKE) -C $(call lane-kmod,$*) KDIR=$(call lane-kernel,$*)/tree \
		W=$(W) $(if $(INJECT),CPORT_INJECT=$(INJECT)) $(lane-kmod-args-$*)

lane-payload: build-lib build-selftests build-bench build-examples build-soak \
	build-fuzz build-tools
	$(call stage-guest,$(DEBUG_DIR)/payload)

# $(call run-lane,LANE): the tests in the VM on the lane's kernel.
define run-lane
	@rm -f $(call lane-log,$(1))
	@status=0; \
	tools/vm/run --bzimage --kernel $(call lane-kernel,$(1))/bzImage \
		--memory $(DEBUG_VM_MEMORY) \
		--payload $(DEBUG_DIR)/payload \
		--module $(call lane-kmod,$(1))/cport.ko \
		$(if $(lane-append-$(1)),--append '$(lane-append-$(1))') \
		$(lane-vm-args-$(1)) \
		--pre-cmd '/cport/kmemleak clear' \
		--post-cmd '/cport/kmemleak check' \
		--timeout $(DEBUG_VM_TIMEOUT) --log $(call lane-log,$(1)) \
		$(VM_ARGS) -- '/cport/run-tests $(TESTS)' \
		|| status=1; \
	tools/tap-summary $(call lane-log,$(1)) || status=1; \
	exit $$status
endef

check-debug: lane-module-debug lane-payload
	$(call run-lane,debug)

check-kcsan: lane-module-kcsan lane-payload
	$(call run-lane,kcsan)

# The soak (tools/soak, Documentation/testing.rst): a kill storm and an
# exactly-once run in one boot of the debug kernel, then rmmod and a
# kmemleak scan. SOAK_ARGS sizes it (soak -h); the last line is
# "soak: N processes killed, N ops, N lost, N duplicated, N leaks".
SOAK_ARGS	?=
SOAK_TIMEOUT	?= 1200
SOAK_LOG	:= $(BUILD)/soak.log

soak: lane-module-debug lane-payload
	@rm -f $(SOAK_LOG)
	@status=0; \
	tools/vm/run --bzimage --kernel $(call lane-kernel,debug)/bzImage \
		--memory $(DEBUG_VM_MEMORY) --payload $(DEBUG_DIR)/payload \
		--module $(call lane-kmod,debug)/cport.ko \
		--append '$(lane-append-debug)' \
		--pre-cmd '/cport/kmemleak clear' \
		--post-cmd '/cport/kmemleak check' \
		--timeout $(SOAK_TIMEOUT) --log $(SOAK_LOG) \
		$(VM_ARGS) -- '/cport/bin/soak $(SOAK_ARGS)' || status=$$?; \
	tools/soak/soak-summary $(SOAK_LOG) $$status

# gcov of cport.ko over the whole suite: the gcov kernel
# (tools/debug-kernel/gcov.config), the module built with CPORT_GCOV=1, the
# tests as in check-debug; tools/coverage brings the .gcda files back and
# writes the report. Fails if the suite failed, after the report.
COVERAGE_DIR	:= $(BUILD)/coverage

coverage: lane-module-gcov lane-payload
	tools/coverage --kernel $(call lane-kernel,gcov) \
		--kmod $(call lane-kmod,gcov) --payload $(DEBUG_DIR)/payload \
		--out $(COVERAGE_DIR) --log $(call lane-log,gcov) \
		--memory $(DEBUG_VM_MEMORY) --timeout $(DEBUG_VM_TIMEOUT) \
		--tests '$(TESTS)' -- $(VM_ARGS)

.PHONY: coverage

# Each injected bug must fail check-debug with its own report. Only
# INJECT_TESTS run (the bugs fire on the first CPORT_IOC_POST), so that the
# three runs take minutes, not three full suites.
INJECT_TESTS	?= post_test
inject-re-uaf	:= BUG: KASAN: use-after-free in cport_inject
inject-re-lockdep := WARNING: possible circular locking dependency detected
inject-re-leak	:= unreferenced object
inject-lines-uaf := KASAN:|Read of size|cport_inject_bug|freed by task
inject-lines-lockdep := circular locking|cport_inject_bug|->cq_lock|poll_wait|lock\(
inject-lines-leak := unreferenced object|cport-inject-lea|cport_inject_bug|new suspected

check-debug-inject: lane-kernel-debug
	@caught=0; missed=0; \
	for kind in uaf lockdep leak; do \
		echo "check-debug-inject: make check-debug CPORT_INJECT=$$kind" \
			"TESTS='$(INJECT_TESTS)' (must fail)"; \
		out=$(BUILD)/check-debug-inject-$$kind.out; \
		log=$(BUILD)/check-debug-$$kind.log; \
		$(MAKE) check-debug CPORT_INJECT=$$kind TESTS='$(INJECT_TESTS)' \
			> $$out 2>&1; \
		rc=$$?; \
		case $$kind in \
		uaf) re='$(inject-re-uaf)'; lines='$(inject-lines-uaf)' ;; \
		lockdep) re='$(inject-re-lockdep)'; lines='$(inject-lines-lockdep)' ;; \
		leak) re='$(inject-re-leak)'; lines='$(inject-lines-leak)' ;; \
		esac; \
		if [ $$rc -ne 0 ] && grep -qF "$$re" $$log; then \
			echo "check-debug-inject: $$kind: caught (make exited $$rc):"; \
			grep -aE "$$lines" $$log | head -n 8 | sed 's/^/    /'; \
			caught=$$((caught + 1)); \
		else \
			echo "check-debug-inject: $$kind: NOT caught (make exited" \
				"$$rc; no '$$re' in $$log; output in $$out)"; \
			missed=$$((missed + 1)); \
		fi; \
	done; \
	echo "$$caught passed, $$missed failed"; \
	[ $$missed -eq 0 ]

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

# The TCG text-patching hang (tools/vm/textpatch): TEXTPATCH_LOOPS unloads
# and reloads of cport.ko under context-switch load, on the stock kernel or
# with LANE=debug on the debug kernel. TEXTPATCH_UNSAFE=1 flips the keys
# with every CPU online, which hangs the guest within a few hundred
# reloads: the watchdog must then fail the run with status 123.
TEXTPATCH_LOOPS	?= 300
LANE		?=
textpatch-cmd	= /cport/textpatch-loop $(if $(TEXTPATCH_UNSAFE),-u) $(TEXTPATCH_LOOPS)

# $(call lane-vm,COMMAND): run COMMAND in the VM, on the stock kernel or,
# with LANE=debug|kcsan, on that lane's kernel and module.
lane-vm-deps	= $(if $(LANE),lane-module-$(LANE) lane-payload,stage)
define lane-vm
	$(if $(LANE),tools/vm/run --bzimage \
		--kernel $(call lane-kernel,$(LANE))/bzImage \
		--memory $(DEBUG_VM_MEMORY) --payload $(DEBUG_DIR)/payload \
		--module $(call lane-kmod,$(LANE))/cport.ko \
		--timeout $(DEBUG_VM_TIMEOUT) $(VM_ARGS),\
		$(VM_RUN) --timeout $(VM_TIMEOUT)) -- '$(1)'
endef

textpatch-loop: $(lane-vm-deps)
	$(call lane-vm,$(textpatch-cmd))

# How long each kselftest takes (tools/vm/test-times), slowest first; fails
# if one takes more than TEST_TIMES_BUDGET percent of its timeout.
TEST_TIMES_BUDGET ?= 40
test-times: $(lane-vm-deps)
	$(call lane-vm,/cport/test-times -b $(TEST_TIMES_BUDGET) $(TESTS))

bench: stage
	$(VM_RUN) --timeout $(VM_TIMEOUT) -- /cport/bin/bench-all

# The fio ioengine (tools/fio/): fio is built from Debian's fio source by
# tools/fio/build-fio (once, cached in FIO_CACHE, default /var/cache/cport),
# the engine against that tree. Its payload holds only cport.ko and fio/
# (fio, the engine, the shared libraries they need, null_blk): fio loads
# the engine with dlopen, so it cannot be static like tests/ and bin/.
FIO_CACHE	?=
FIO_PATH	:= $(BUILD)/fio/fio.path
FIO_PAYLOAD	:= $(BUILD)/fio/payload
BENCH_FIO_LOG	:= $(BUILD)/bench-fio.log
BENCH_FIO_TIMEOUT ?= 900
BENCH_FIO_RUNTIME ?= 4
BENCH_FIO_ROUNDS ?= 2

# tools/deps --check also covers what deps-check does not look for: the
# deb-src entry, libaio-dev, dpkg-dev.
fio-engine: build-lib | deps-check
	@tools/deps --check >/dev/null 2>&1 || tools/deps
	@mkdir -p $(dir $(FIO_PATH))
	tools/fio/build-fio $(if $(FIO_CACHE),--cache $(FIO_CACHE)) \
		> $(FIO_PATH)
	$(MAKE) -C tools/fio FIO_DIR=$$(cat $(FIO_PATH))

bench-fio: build-kmod fio-engine
	rm -rf $(FIO_PAYLOAD)
	mkdir -p $(FIO_PAYLOAD)
	install -m 644 kmod/cport.ko $(FIO_PAYLOAD)/
	$(MAKE) -C tools/fio stage FIO_DIR=$$(cat $(FIO_PATH)) \
		GUEST_DIR=$(CURDIR)/$(FIO_PAYLOAD) KVER=$(KVER)
	tools/fio/bench-fio --payload $(FIO_PAYLOAD) --log $(BENCH_FIO_LOG) \
		--timeout $(BENCH_FIO_TIMEOUT) --runtime $(BENCH_FIO_RUNTIME) \
		--rounds $(BENCH_FIO_ROUNDS) -- --kver $(KVER) $(VM_ARGS)

# Coverage-guided fuzzing (tools/fuzz/README): afl-fuzz in the VM drives
# tools/fuzz/cport-fuzz for FUZZ_SECONDS on the kernel and module of
# check-debug, with KCOV coverage of cport.ko; queue, crashes, hangs and
# stats in build/fuzz/out. The last line is "fuzz: <execs> execs, <edges>
# edges, <crashes> crashes, <reports> kernel reports".
# fuzz-replay: the corpus and every reproducer (tools/fuzz/corpus, repro),
# as the fuzz_replay test of check-debug, alone.
FUZZ_SECONDS	?= 600
FUZZ_EXEC_TIMEOUT ?= 3000

fuzz: lane-module-debug build-fuzz
	tools/fuzz/run-fuzz --kernel $(call lane-kernel,debug)/bzImage \
		--module $(call lane-kmod,debug)/cport.ko \
		--seconds $(FUZZ_SECONDS) --exec-timeout $(FUZZ_EXEC_TIMEOUT) \
		--out $(BUILD)/fuzz -- $(VM_ARGS)

fuzz-replay:
	$(MAKE) check-debug TESTS=fuzz_replay

CHECKPATCH	:= .cache/checkpatch/checkpatch.pl
CHECKPATCH_FILES = $(filter-out %.mod.c,$(wildcard kmod/*.c)) \
		   $(filter-out kmod/trace.h,$(wildcard kmod/*.h)) \
		   include/uapi/cport.h
# The TRACE_EVENT() idiom (as in the kernel's include/trace/events/) opens
# every argument macro on a line of its own: --strict's two checks of that
# are left out for trace.h only.
CHECKPATCH_TRACE = --ignore OPEN_ENDED_LINE,PARENTHESIS_ALIGNMENT

checkpatch: deps-check
	$(CHECKPATCH) --no-tree --strict --show-types -f \
		$(CHECKPATCH_FILES)
	$(CHECKPATCH) --no-tree --strict --show-types $(CHECKPATCH_TRACE) \
		-f kmod/trace.h

# Every license an SPDX line names has its text in LICENSES/ (COPYING).
check-licenses:
	tools/check-licenses

# One version everywhere: lib/VERSION, MODULE_VERSION, dkms.conf, the
# Debian changelog, CHANGELOG.md, the man pages' footers (tools/version).
check-version:
	tools/version check

# What an operator gets (tools/check-packages): DKMS add, build, install and
# remove for the 6.1 and 6.12 headers in throwaway trees, dpkg-buildpackage
# in a clean copy, lintian, dpkg -i, programs built with pkg-config and
# -lcportaio, dpkg --purge. Root only; the last line is "N passed, N failed".
check-packages:
	@tools/deps --check >/dev/null 2>&1 || tools/deps
	tools/check-packages

# Installing: for this machine (KVER defaults to uname -r, see above), and
# nothing but installing: no deps-check, so never tools/deps or apt-get.
# Each part builds what it installs if it is not built yet. DESTDIR, PREFIX
# (/usr/local), LIBDIR, INCLUDEDIR, MANDIR and SBINDIR reach the parts'
# Makefiles from the command line. Without DESTDIR, install-module runs
# depmod and install-lib ldconfig (the new libcport.so.1 is found at run
# time); with it, they are left to whoever installs the staged files.
DEPMOD		?= depmod
LDCONFIG	?= ldconfig

install: install-module install-lib install-tools

install-module: install-udev
	@test -f $(KDIR)/Makefile || { echo "install-module: no kernel build" \
		"tree at $(KDIR): install the kernel's headers" \
		"(Debian: linux-headers-$(KVER)) or set KVER= or KDIR=" >&2; \
		exit 1; }
	$(MAKE) -C kmod install KVER=$(KVER) KDIR=$(KDIR)
	$(if $(DESTDIR),@echo "install-module: $(DESTDIR): depmod not run",\
		$(DEPMOD) -a $(KVER))

# The rule gives /dev/cport to group cport, which the Debian package
# creates; make install only says when it is missing.
install-udev:
	$(MAKE) -C kmod install-udev
	$(if $(DESTDIR),,@getent group cport >/dev/null || echo \
		"install-udev: there is no group cport: groupadd --system" \
		"cport, and its members may open /dev/cport (60-cport.rules)")

install-lib:
	$(MAKE) -C lib install
	$(MAKE) -C aio install
	$(if $(DESTDIR),,$(LDCONFIG))

install-tools:
	$(MAKE) -C tools/cportstat install

install-dkms:
	$(MAKE) -C kmod install-dkms

uninstall: uninstall-module uninstall-lib uninstall-tools

uninstall-module: uninstall-udev
	$(MAKE) -C kmod uninstall KVER=$(KVER)
	$(if $(DESTDIR),,$(DEPMOD) -a $(KVER))

uninstall-udev:
	$(MAKE) -C kmod uninstall-udev

uninstall-lib:
	$(MAKE) -C lib uninstall
	$(MAKE) -C aio uninstall
	$(if $(DESTDIR),,$(LDCONFIG))

uninstall-tools:
	$(MAKE) -C tools/cportstat uninstall

uninstall-dkms:
	$(MAKE) -C kmod uninstall-dkms

clean:
	$(foreach part,kmod lib aio $(SELFTESTS_DIR) tools/bench tools/fio \
		examples tools/soak tools/fuzz tools/cportstat man,\
		$(if $(call has-target,$(part),clean),\
		$(MAKE) -C $(part) clean KVER=$(KVER) KDIR=$(KDIR)$(newline)))
	rm -rf $(BUILD)

distclean: clean
	rm -rf .cache

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' Makefile

define newline


endef

.PHONY: all deps deps-check build-tools build-kmod build-lib build-selftests build-bench \
	build-examples stage check vm-run vm-shell demo bench fio-engine \
	checkpatch clean distclean help check-debug check-kcsan \
	check-licenses check-version check-packages $(INSTALL_GOALS) \
	check-debug-inject lane-payload bench-fio build-soak soak textpatch-loop test-times \
	build-fuzz fuzz fuzz-replay $(LANES:%=lane-kernel-%) \
	$(LANES:%=lane-module-%)
