/* synthetic.h - a recording whose every line and slice is known, shared by
 * tests/unit/test_commands.c and the golden files (tests/golden/): one
 * queue "blk0.requests" of 8 entries, overlapping commands (two lanes),
 * two lost records breaking an ADD/USED pair, a USED without ADD, frames
 * and a log write, and a producer restart leaving a command in flight. */
#ifndef VQ_TEST_SYNTHETIC_H
#define VQ_TEST_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "vqproto.h"

/* Write it to path (overwriting).  log_ns: the log write's duration.
 * close_extra_*: loss and violations the recorder saw after its last
 * events (only in the CLOSE chunk).  0, or -1 with err. */
int synthetic_session(const char *path, uint64_t log_ns, uint64_t close_extra_lost,
		      uint64_t close_extra_violations, char *err, size_t errlen);

/* A session of 24 frames on the same queue: commands with polls and
 * barriers, a log write per frame, one frame stalled by its log and one
 * by a slow command. */
int synthetic_frames(const char *path, char *err, size_t errlen);

/* A long session for the replay: `frames` frames (numbered from 1) of
 * LONG_COMMANDS_PER_FRAME commands on one queue, 2 + 4 x that events each. */
#define LONG_COMMANDS_PER_FRAME 60
int synthetic_long(const char *path, uint64_t frames, char *errbuf, size_t errlen);

/* The same with 4 spins and 8 fences per poll: FENCE-PER-SPIN, a finding
 * of the whole-session checks. */
int synthetic_fenced(const char *path, uint64_t frames, char *errbuf, size_t errlen);

/* One queue whose table comes first, as vqscope record writes it when
 * it starts: taken after the 17 events that follow (a QUEUE, then four
 * commands ending at 1.108 ms), which it then read from the guest's ring.
 * The table says avail 4, used 4. */
int synthetic_table_first(const char *path, char *err, size_t errlen);

/* A virtio-net session: "net0.rx", a receive queue of 8 buffers all
 * posted before tracing, and "net0.tx".  Pings fill rx buffers posted
 * before tracing, a burst fills all 8 and the queue starves for 300 ms,
 * one buffer fills after 700 ms, and a second USED of it is an anomaly. */
int synthetic_receive(const char *path, char *err, size_t errlen);

#endif /* VQ_TEST_SYNTHETIC_H */
