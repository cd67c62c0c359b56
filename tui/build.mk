# tui/build.mk - the host program vqscope, in four layers, each its own
# archive (see DEVELOPERS.md):
#
#   tui/core/     libvqcore.a     model, report, views' data: no I/O, no curses,
#                                 no json-c (its unit tests link neither)
#   tui/live/     libvqlive.a     QMP (a socket or libvirt), discovery, sources,
#                                 the monitor thread
#   tui/screens/  libvqscreens.a  the ncurses view (the only user of curses)
#   tui/cmd/      libvqcmd.a      the commands; main.c makes the program
#
# Headers are included with their layer: "core/model.h", "live/source.h".

VQCORE_SRCS := $(wildcard tui/core/*.c)
VQLIVE_SRCS := $(wildcard tui/live/*.c)
VQSCREENS_SRCS := $(wildcard tui/screens/*.c)
VQCMD_SRCS := $(filter-out tui/cmd/main.c,$(wildcard tui/cmd/*.c))

LIBVQCORE := $(O)/tui/libvqcore.a
LIBVQLIVE := $(O)/tui/libvqlive.a
LIBVQSCREENS := $(O)/tui/libvqscreens.a
LIBVQCMD := $(O)/tui/libvqcmd.a
# Everything below the program, in link order.
LIBVQHOST := $(LIBVQCMD) $(LIBVQSCREENS) $(LIBVQLIVE) $(LIBVQCORE)
VQSCOPE := $(O)/vqscope

EXTRA_CFLAGS_tui/core := -Itui
EXTRA_CFLAGS_tui/live := -Itui $(call PKG_CFLAGS,json-c libvirt libxml-2.0) \
	-DVQ_BUILD_DIR='"$(abspath $(O))"' \
	-DVQ_DATA_DIR='"$(PREFIX)/share/vqscope"'
EXTRA_CFLAGS_tui/screens := -Itui $(call PKG_CFLAGS,ncursesw json-c)
EXTRA_CFLAGS_tui/cmd := -Itui $(call PKG_CFLAGS,json-c libmicrohttpd)
# What linking each layer needs from the system.
VQCORE_LIBS := -lm
VQLIVE_LIBS := $(call PKG_LIBS,json-c libvirt libvirt-qemu libxml-2.0) -lz -lpthread \
	$(VQCORE_LIBS)
HOST_LIBS := $(call PKG_LIBS,ncursesw libmicrohttpd) $(VQLIVE_LIBS)

define vq_archive
$(1): $(2:%.c=$(O)/%.o)
	$$(call msg,AR,$$@)rm -f $$@ && ar rcs $$@ $$^
endef
$(eval $(call vq_archive,$(LIBVQCORE),$(VQCORE_SRCS)))
$(eval $(call vq_archive,$(LIBVQLIVE),$(VQLIVE_SRCS)))
$(eval $(call vq_archive,$(LIBVQSCREENS),$(VQSCREENS_SRCS)))
$(eval $(call vq_archive,$(LIBVQCMD),$(VQCMD_SRCS)))

$(VQSCOPE): $(O)/tui/cmd/main.o $(LIBVQHOST) $(LIBVQPROTO)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(HOST_LIBS)

ALL_TARGETS += $(LIBVQHOST) $(VQSCOPE)
INSTALL_BIN += $(VQSCOPE)
FORMAT_SOURCES += $(wildcard tui/*/*.[ch])
