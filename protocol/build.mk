# protocol/build.mk - libvqproto: the host's validating reader of trace
# regions and reader/writer of recordings.

VQPROTO_SRCS := $(wildcard protocol/lib/*.c)
VQPROTO_OBJS := $(VQPROTO_SRCS:%.c=$(O)/%.o)
LIBVQPROTO := $(O)/protocol/libvqproto.a
EXTRA_CFLAGS_protocol/lib := -Wconversion

$(LIBVQPROTO): $(VQPROTO_OBJS)
	$(call msg,AR,$@)rm -f $@ && ar rcs $@ $^

ALL_TARGETS += $(LIBVQPROTO)
FORMAT_SOURCES += $(wildcard protocol/*.h protocol/lib/*.[ch])
