# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# ttak top-level build.
#
#   make                  libttak (static + shared), tutorials, benches,
#                         and ttak.ko when kernel headers are installed
#   make check            every test tier (see README.md)
#   make install PREFIX=  library, headers, libttak.pc and man pages
#   make man              man pages into build/man (tools/packaging/gen-man.sh)
#   make deb              ttak-dkms, libttak0, libttak-dev .debs into build/deb
#                         (tools/packaging/make-deb.sh)
#   make module KDIR=...  the kernel module against a given build tree
#                         (TTAK_TESTS=y: the test modules in kernel/tests/
#                         too; only ttak.ko is ever built without it)
#
# Kbuild drives the kernel side (Kbuild, kernel/Kbuild); this file only
# forwards to it when invoked from the command line.

ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

VERSION    := 0.1.0
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
CC         ?= cc
FLAVOUR    ?= plain
BUILD      ?= build/$(FLAVOUR)
KVER       ?= $(shell uname -r)
KDIR       ?= /lib/modules/$(KVER)/build

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	      -Wmissing-prototypes
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -g -pthread \
	       -Iinclude -Iuser/lib -Ikernel/core
ifeq ($(FLAVOUR),asan)
OPT_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=undefined
else ifeq ($(FLAVOUR),tsan)
OPT_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=thread
else
OPT_CFLAGS := -O2
endif
CFLAGS     ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT_CFLAGS) $(CFLAGS)
LDLIBS     := -pthread

CORE_SRC   := $(wildcard kernel/core/*.c)
LIB_SRC    := $(CORE_SRC) user/lib/platform.c user/lib/epoch_membarrier.c
LIB_OBJ    := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB_PIC    := $(patsubst %.c,$(BUILD)/pic/%.o,$(LIB_SRC))
STATIC_LIB := $(BUILD)/libttak.a
SHARED_LIB := $(BUILD)/libttak.so.$(VERSION)
HEADERS    := $(shell find include/ttak -name '*.h')

.PHONY: all lib tutorials bench bench-build check-bench module \
	modules_install check check-user demo install uninstall clean man deb

all: lib tutorials bench-build
	@if [ -d "$(KDIR)" ]; then $(MAKE) module; \
	else echo "(no kernel headers at $(KDIR): skipping ttak.ko)"; fi

lib: $(STATIC_LIB) $(SHARED_LIB)

$(BUILD)/obj/%.o: %.c $(HEADERS) $(wildcard kernel/core/*.h user/lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/pic/%.o: %.c $(HEADERS) $(wildcard kernel/core/*.h user/lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(STATIC_LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# Only the public API is exported (user/lib/libttak.map; checked against
# the headers by user/tests/check-exports.sh).
LIB_MAP    := user/lib/libttak.map

$(SHARED_LIB): $(LIB_PIC) $(LIB_MAP)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -shared -Wl,-soname,libttak.so.0 \
		-Wl,--version-script=$(LIB_MAP) $(LIB_PIC) -o $@ $(LDLIBS)
	ln -sf libttak.so.$(VERSION) $(BUILD)/libttak.so.0
	ln -sf libttak.so.$(VERSION) $(BUILD)/libttak.so

# every lesson folder with a Makefile (user/tutorials/README.md is the index)
TUTORIALS  := $(patsubst %/Makefile,%,$(sort $(wildcard user/tutorials/*/Makefile)))

tutorials: $(STATIC_LIB)
	@set -e; for d in $(TUTORIALS); do \
		$(MAKE) -C $$d LIBTTAK_CFLAGS="-I$(CURDIR)/include" \
			LIBTTAK_LDFLAGS="$(CURDIR)/$(STATIC_LIB) -pthread"; \
	done

BENCH_MAKE = $(MAKE) -C user/bench TTAK_ROOT=$(CURDIR) BUILD=$(CURDIR)/$(BUILD)

bench-build: $(STATIC_LIB)
	$(BENCH_MAKE) build

# every user-space benchmark with its baseline, side by side (~7 min)
bench: $(STATIC_LIB)
	$(BENCH_MAKE) bench

# seconds-long run of each benchmark, so they cannot rot
check-bench: $(STATIC_LIB)
	$(BENCH_MAKE) smoke

include user/tests/tests.mk

# The main job: lesson 40 in user space, then ttak.ko in a QEMU guest
# driven through debugfs (the host kernel never loads the module).
demo: tutorials
	./user/tutorials/40-arena-memory/lesson40_arena_memory
	tools/testing/vm/run-vm.sh --demo 6.12

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

# every tier, one closing "N passed, N failed" line (tools/testing/check.sh)
check:
	@tools/testing/check.sh

# section 3 from the headers' kernel-doc (the kernel's scripts/kernel-doc,
# extracted from linux-source-6.12 into a cache), section 7 by hand
man: build/man/man7/ttak.7

build/man/man7/ttak.7: $(HEADERS) tools/packaging/gen-man.sh tools/packaging/ttak.7
	tools/packaging/gen-man.sh build/man

# Debian packages from a scratch copy of the tree (debhelper, dh-dkms)
deb:
	tools/packaging/make-deb.sh

install: lib man
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libttak.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libttak.so.0
	ln -sf libttak.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libttak.so
	cd include && find ttak -name '*.h' -exec install -D -m 644 {} \
		$(DESTDIR)$(INCLUDEDIR)/{} \;
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    user/lib/libttak.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libttak.pc
	install -d $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 644 build/man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 build/man/man7/ttak.7 $(DESTDIR)$(MANDIR)/man7/
	@# a system-wide install must be found by the dynamic linker at once
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
	    command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/ttak
	rm -f $(DESTDIR)$(LIBDIR)/libttak.* $(DESTDIR)$(LIBDIR)/pkgconfig/libttak.pc
	rm -f $(DESTDIR)$(MANDIR)/man3/ttak_*.3 $(DESTDIR)$(MANDIR)/man3/tt_*.3 \
	      $(DESTDIR)$(MANDIR)/man7/ttak.7 \
	      $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard build/man/man3/*.3)))

clean:
	rm -rf build
	@for d in $(TUTORIALS); do $(MAKE) -C $$d clean; done
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi

endif
