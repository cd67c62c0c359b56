# tui/build.mk - the host program vqscope.  Every tui/*.c except main.c
# goes into libvqhost.a (the curses-free core and the views), which unit
# tests and fuzz harnesses link too; main.c adds the command dispatcher.

VQHOST_SRCS := $(filter-out tui/main.c,$(wildcard tui/*.c))
VQHOST_OBJS := $(VQHOST_SRCS:%.c=$(O)/%.o)
LIBVQHOST := $(if $(VQHOST_SRCS),$(O)/tui/libvqhost.a)
VQSCOPE := $(O)/vqscope
HOST_PKGS := json-c ncursesw
EXTRA_CFLAGS_tui := $(call PKG_CFLAGS,$(HOST_PKGS)) -DVQ_BUILD_DIR='"$(abspath $(O))"' \
	-DVQ_DATA_DIR='"$(PREFIX)/share/vqscope"'
HOST_LIBS := $(call PKG_LIBS,$(HOST_PKGS)) -lz -lm -lpthread

ifneq ($(VQHOST_SRCS),)
$(LIBVQHOST): $(VQHOST_OBJS)
	$(call msg,AR,$@)rm -f $@ && ar rcs $@ $^
ALL_TARGETS += $(LIBVQHOST)
endif

ifneq ($(wildcard tui/main.c),)
$(VQSCOPE): $(O)/tui/main.o $(LIBVQHOST) $(LIBVQPROTO)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(HOST_LIBS)
ALL_TARGETS += $(VQSCOPE)
INSTALL_BIN += $(VQSCOPE)
endif

FORMAT_SOURCES += $(wildcard tui/*.[ch])
