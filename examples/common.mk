# SPDX-License-Identifier: MIT
#
# Build rules shared by examples/Makefile and tools/bench/Makefile: programs
# of one .c file each, linked statically so that they run as they are in
# the VM. The including Makefile sets TOP, PROGS and SCRIPTS (installed into
# the guest along with the programs) before it includes this file, then
# gives each program its prerequisites and $(LINK) as the recipe:
#
#   $(PROGS): %: %.c my-header.h
#	$(LINK)
#
# LINK links the first prerequisite with $(LDLIBS). LIBCPORT is libcport.a,
# built when missing.

CFLAGS   ?= -O2 -g
# Kept apart from CFLAGS/LDFLAGS so that "make CFLAGS=..." cannot drop them.
MY_CFLAGS  := -Wall -Wextra -I$(TOP)/include
MY_LDFLAGS := -static
LIBCPORT ?= $(TOP)/lib/libcport.a
LINK      = $(CC) $(MY_CFLAGS) $(CFLAGS) -o $@ $< $(MY_LDFLAGS) $(LDFLAGS) \
	    $(LDLIBS)

all: $(PROGS)

$(LIBCPORT):
	$(MAKE) -C $(dir $(LIBCPORT))

install-guest: all
	@test -n "$(GUEST_DIR)" || \
		{ echo "usage: make install-guest GUEST_DIR=dir" >&2; exit 1; }
	install -d $(GUEST_DIR)/bin
	install -m 0755 $(PROGS) $(SCRIPTS) $(GUEST_DIR)/bin/

clean:
	rm -f $(PROGS)

.PHONY: all install-guest clean
