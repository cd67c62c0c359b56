/* test_core_ring_decode.c - vqscope's own decoding of virtqueues from
 * guest RAM (tui/core/ring_decode.c), over crafted images: split and
 * packed indices and event fields, wrap of free-running indices at 2^16
 * and of packed positions at the ring's end, a full ring, chains that
 * loop, point past the table, put readable after writable, indirect tables
 * (and one in another), and what vring_need_event says near the wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/ring_decode.h"
#include "guest_image.h"

#define DESC  0x1000u
#define AVAIL 0x3000u
#define USED  0x4000u
#define TABLE 0x8000u /* indirect tables */

static void desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	memcpy(ram + table + 16 * i, &addr, 8);
	put32(table + 16 * i + 8, len);
	/* split: flags at 12, next at 14; packed: id at 12, flags at 14 */
	put16(table + 16 * i + 12, flags);
	put16(table + 16 * i + 14, next);
}

static void pdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
	memcpy(ram + DESC + 16 * i, &addr, 8);
	put32(DESC + 16 * i + 8, len);
	put16(DESC + 16 * i + 12, id);
	put16(DESC + 16 * i + 14, flags);
}

static struct ring_geometry split_ring(uint16_t size)
{
	memset(ram, 0, sizeof(ram));
	return (struct ring_geometry){.size = size,
				      .event_idx = true,
				      .desc = DESC,
				      .driver_area = AVAIL,
				      .device_area = USED};
}

static void split_indices_and_entries(void **state)
{
	struct ring_geometry g = split_ring(8);
	struct ring_indices ix;
	uint16_t head;
	uint32_t id, len;
	(void)state;

	put16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	put16(AVAIL + 2, 65535);
	put16(AVAIL + 4 + 2 * 6, 5);	 /* ring[65534 & 7] */
	put16(AVAIL + 4 + 2 * 8, 65533); /* used_event after ring[8] */
	put16(USED, VRING_USED_F_NO_NOTIFY);
	put16(USED + 2, 1);
	put32(USED + 4 + 8 * 0, 3); /* ring[65536 & 7]: index 0 after the wrap */
	put32(USED + 4 + 8 * 0 + 4, 24);
	put16(USED + 4 + 8 * 8, 65534); /* avail_event after ring[8] */
	assert_true(ring_read_indices(&mem, &g, &ix));
	assert_int_equal(ix.avail_flags, 1);
	assert_int_equal(ix.avail_idx, 65535);
	assert_int_equal(ix.used_event, 65533);
	assert_int_equal(ix.used_flags, 1);
	assert_int_equal(ix.used_idx, 1);
	assert_int_equal(ix.avail_event, 65534);
	assert_true(split_avail_entry(&mem, &g, 65534, &head));
	assert_int_equal(head, 5);
	assert_true(split_used_entry(&mem, &g, (uint16_t)65536u, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, 24);
	/* Rings that run past the end of guest RAM. */
	g.device_area = RAM - 8;
	assert_false(ring_read_indices(&mem, &g, &ix));
}

static void split_chains(void **state)
{
	struct ring_geometry g = split_ring(8);
	struct chain_walk w;
	(void)state;

	/* 2 -> 3 -> 5: 48 readable, then 24 + 100 writable. */
	desc(DESC, 2, 0x10000, 48, VRING_DESC_F_NEXT, 3);
	desc(DESC, 3, 0x10100, 24, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 5);
	desc(DESC, 5, 0x10200, 100, VRING_DESC_F_WRITE, 0);
	assert_true(chain_walk_split(&mem, &g, 2, false, &w));
	assert_int_equal(w.problem, CHAIN_OK);
	assert_int_equal(w.ndesc, 3);
	assert_int_equal(w.readable_bytes, 48);
	assert_int_equal(w.writable_bytes, 124);
	assert_int_equal(w.kept[2].index, 5);

	/* A loop: 5 goes back to 3. */
	desc(DESC, 5, 0x10200, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	assert_true(chain_walk_split(&mem, &g, 2, false, &w));
	assert_int_equal(w.problem, CHAIN_LOOP);
	assert_int_equal(w.bad_index, 5);
	assert_int_equal(w.bad_value, 3);
	assert_non_null(strstr(w.note, "descriptor 5: next 3 leads back"));
	assert_int_equal(w.ndesc, 3);

	/* next past the table. */
	desc(DESC, 5, 0x10200, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 8);
	assert_true(chain_walk_split(&mem, &g, 2, false, &w));
	assert_int_equal(w.problem, CHAIN_NEXT_OUT_OF_RANGE);
	assert_int_equal(w.bad_value, 8);
	assert_non_null(strstr(w.note, "next 8 is outside the table of 8"));

	/* Readable after writable. */
	desc(DESC, 5, 0x10200, 100, 0, 0);
	assert_true(chain_walk_split(&mem, &g, 2, false, &w));
	assert_int_equal(w.problem, CHAIN_WRITE_BEFORE_READ);
	assert_int_equal(w.bad_index, 5);

	/* A full ring: 0 -> 1 -> ... -> 7. */
	for (unsigned i = 0; i < 8; i++)
		desc(DESC, i, 0x10000 + 16 * i, 1, i < 7 ? VRING_DESC_F_NEXT : 0,
		     (uint16_t)(i + 1));
	assert_true(chain_walk_split(&mem, &g, 0, false, &w));
	assert_int_equal(w.problem, CHAIN_OK);
	assert_int_equal(w.ndesc, 8);
	/* ... and every descriptor chained in a circle: a loop, bounded. */
	desc(DESC, 7, 0x10070, 1, VRING_DESC_F_NEXT, 0);
	assert_true(chain_walk_split(&mem, &g, 0, false, &w));
	assert_int_equal(w.problem, CHAIN_LOOP);
	assert_int_equal(w.ndesc, 8);

	/* Head out of range; a table outside guest RAM. */
	assert_true(chain_walk_split(&mem, &g, 8, false, &w));
	assert_int_equal(w.problem, CHAIN_HEAD_OUT_OF_RANGE);
	g.desc = RAM - 16;
	assert_false(chain_walk_split(&mem, &g, 1, false, &w));
	assert_int_equal(w.problem, CHAIN_UNREADABLE);
}

static void split_indirect_tables(void **state)
{
	struct ring_geometry g = split_ring(8);
	struct chain_walk w;
	(void)state;

	/* head 1 -> an indirect table of 3: 0 -> 2 -> 1. */
	desc(DESC, 1, TABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	desc(TABLE, 0, 0x11000, 40, VRING_DESC_F_NEXT, 2);
	desc(TABLE, 2, 0x11100, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(TABLE, 1, 0x11200, 16, VRING_DESC_F_WRITE, 0);
	assert_true(chain_walk_split(&mem, &g, 1, true, &w));
	assert_int_equal(w.problem, CHAIN_OK);
	assert_true(w.indirect);
	assert_int_equal(w.ndesc, 3);
	assert_int_equal(w.readable_bytes, 40);
	assert_int_equal(w.writable_bytes, 24);
	assert_true(w.kept[1].in_indirect);
	assert_int_equal(w.kept[1].index, 2);

	/* Without VIRTIO_F_INDIRECT_DESC the device must not see one. */
	assert_true(chain_walk_split(&mem, &g, 1, false, &w));
	assert_int_equal(w.problem, CHAIN_INDIRECT_NOT_OFFERED);

	/* An indirect table inside an indirect table. */
	desc(TABLE, 2, TABLE + 0x100, 32, VRING_DESC_F_INDIRECT, 0);
	assert_true(chain_walk_split(&mem, &g, 1, true, &w));
	assert_int_equal(w.problem, CHAIN_INDIRECT_NESTED);
	assert_non_null(strstr(w.note, "indirect descriptor 2 (of head 1) is itself indirect"));

	/* A length that is not a multiple of 16. */
	desc(DESC, 1, TABLE, 40, VRING_DESC_F_INDIRECT, 0);
	assert_true(chain_walk_split(&mem, &g, 1, true, &w));
	assert_int_equal(w.problem, CHAIN_INDIRECT_LEN);
	assert_int_equal(w.bad_value, 40);

	/* INDIRECT and NEXT together. */
	desc(DESC, 1, TABLE, 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 2);
	assert_true(chain_walk_split(&mem, &g, 1, true, &w));
	assert_int_equal(w.problem, CHAIN_INDIRECT_WITH_NEXT);

	/* A loop inside the table. */
	desc(DESC, 1, TABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	desc(TABLE, 2, 0x11100, 8, VRING_DESC_F_NEXT, 0);
	assert_true(chain_walk_split(&mem, &g, 1, true, &w));
	assert_int_equal(w.problem, CHAIN_LOOP);
}

static void packed_ring(void **state)
{
	struct ring_geometry g = split_ring(6); /* packed sizes need not be powers of two */
	struct ring_indices ix;
	struct chain_walk w;
	(void)state;

	g.packed = true;
	put16(AVAIL, (uint16_t)(3 | 1u << 15)); /* driver: off 3, wrap 1 */
	put16(AVAIL + 2, RING_EVENT_FLAGS_DESC);
	put16(USED, 5);
	put16(USED + 2, RING_EVENT_FLAGS_ENABLE);
	assert_true(ring_read_indices(&mem, &g, &ix));
	assert_int_equal(ix.driver_off_wrap, 3 | 1u << 15);
	assert_int_equal(ix.driver_flags, RING_EVENT_FLAGS_DESC);
	assert_int_equal(ix.device_off_wrap, 5);

	/* A chain of three from position 4 crossing the ring's end (4, 5, 0),
	 * made available with wrap counter 1 for 4 and 5 and 0 after the
	 * wrap (2.8.1). */
	pdesc(4, 0x12000, 16, 9, VRING_PACKED_F_AVAIL | VRING_DESC_F_NEXT);
	pdesc(5, 0x12100, 8, 9, VRING_PACKED_F_AVAIL | VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
	pdesc(0, 0x12200, 64, 9, VRING_PACKED_F_USED | VRING_DESC_F_WRITE);
	assert_true(chain_walk_packed(&mem, &g, 4, false, &w));
	assert_int_equal(w.problem, CHAIN_OK);
	assert_int_equal(w.ndesc, 3);
	assert_int_equal(w.id, 9);
	assert_int_equal(w.writable_bytes, 72);
	assert_int_equal(w.kept[2].index, 0);
	assert_int_equal(packed_slot_state(VRING_PACKED_F_AVAIL, 1), PACKED_AVAIL);
	assert_int_equal(packed_slot_state(VRING_PACKED_F_USED, 0), PACKED_AVAIL);
	assert_int_equal(packed_slot_state(VRING_PACKED_F_AVAIL | VRING_PACKED_F_USED, 1),
			 PACKED_USED);
	assert_int_equal(packed_slot_state(0, 0), PACKED_USED);
	assert_int_equal(packed_slot_state(VRING_PACKED_F_AVAIL, 0), PACKED_NOT_OURS);

	/* NEXT on every descriptor: bounded by the ring, named. */
	for (unsigned i = 0; i < 6; i++)
		pdesc(i, 0x13000, 1, 1, VRING_DESC_F_NEXT);
	assert_true(chain_walk_packed(&mem, &g, 2, false, &w));
	assert_int_equal(w.problem, CHAIN_TOO_LONG);
	assert_int_equal(w.ndesc, 6);

	/* An indirect table in a packed ring: packed descriptors, in order,
	 * no next (2.8.7). */
	pdesc(1, TABLE, 2 * 16, 4, VRING_DESC_F_INDIRECT | VRING_PACKED_F_AVAIL);
	desc(TABLE, 0, 0x14000, 10, 0, 0);		    /* flags at 14 */
	desc(TABLE, 1, 0x14100, 20, 0, VRING_DESC_F_WRITE); /* flags at 14 */
	assert_true(chain_walk_packed(&mem, &g, 1, true, &w));
	assert_int_equal(w.problem, CHAIN_OK);
	assert_int_equal(w.ndesc, 2);
	assert_int_equal(w.writable_bytes, 20);
}

static void notification_decisions(void **state)
{
	(void)state;
	/* vring_need_event near the u16 wrap: moving 65534 -> 2 passes an
	 * event index of 65535 and of 1, not of 2. */
	assert_true(ring_need_event(65535, 2, 65534));
	assert_true(ring_need_event(1, 2, 65534));
	assert_false(ring_need_event(2, 2, 65534));
	assert_false(ring_need_event(100, 5, 4));
	assert_true(ring_need_event(4, 5, 4));

	/* Packed (size 6): ENABLE always, DISABLE never, DESC by position. */
	assert_true(packed_need_event(RING_EVENT_FLAGS_ENABLE, 0, 1, 2, 6));
	assert_false(packed_need_event(RING_EVENT_FLAGS_DISABLE, 0, 1, 2, 6));
	/* From 4 (wrap 0) to 1 (wrap 1): crossed 4 and 5 of lap 0, 0 of lap 1. */
	uint16_t old = 4, new = (uint16_t)(1 | 1u << 15);
	assert_true(packed_need_event(RING_EVENT_FLAGS_DESC, 5, old, new, 6));
	assert_true(
	    packed_need_event(RING_EVENT_FLAGS_DESC, (uint16_t)(0 | 1u << 15), old, new, 6));
	assert_false(
	    packed_need_event(RING_EVENT_FLAGS_DESC, (uint16_t)(1 | 1u << 15), old, new, 6));
	assert_false(packed_need_event(RING_EVENT_FLAGS_DESC, 3, old, new, 6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(split_indices_and_entries), cmocka_unit_test(split_chains),
	    cmocka_unit_test(split_indirect_tables),	 cmocka_unit_test(packed_ring),
	    cmocka_unit_test(notification_decisions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
