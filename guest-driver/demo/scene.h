/* scene.h - the demo guest's picture: a spinning wheel (amber rim, eight
 * red and cyan spokes, white hub) on a dark blue background.  The
 * geometry and colours are shared with the host-side test that checks a
 * QMP screendump (tests/guest/check_trace.c), so both agree on what the
 * screen must show. */
#ifndef DEMO_SCENE_H
#define DEMO_SCENE_H

#include "vqtrace.h"

/* Colours as 0x00RRGGBB, which is B8G8R8X8 in little-endian memory. */
#define SCENE_BACKGROUND 0x1e2a44u
#define SCENE_RIM	 0xf0c020u
#define SCENE_HUB	 0xf8f8f8u
#define SCENE_SPOKE_A	 0xe04040u
#define SCENE_SPOKE_B	 0x40c0e0u

#define SCENE_SPOKES	      8u
#define SCENE_ANGLE_STEPS     256u /* a full turn */
#define SCENE_STEPS_PER_FRAME 3u   /* rotation per frame */

struct scene_geometry {
	vq_u32 cx, cy;	  /* centre */
	vq_u32 radius;	  /* outer edge of the rim */
	vq_u32 rim_inner; /* inner edge of the rim */
	vq_u32 hub_radius;
	vq_u32 spoke_half; /* half the spoke thickness */
};

static inline void scene_geometry(vq_u32 width, vq_u32 height, struct scene_geometry *g)
{
	vq_u32 shorter = width < height ? width : height;

	g->cx = width / 2;
	g->cy = height / 2;
	g->radius = shorter * 3 / 8;
	g->rim_inner = g->radius - (g->radius / 16 + 2);
	g->hub_radius = g->radius / 6 + 1;
	g->spoke_half = g->radius / 40 + 1;
}

/* The colour of a pixel that does not depend on the rotation: rim, hub
 * or background outside the wheel; 0xffffffff for pixels inside the rim
 * and outside the hub (spoke or background, depending on the frame). */
static inline vq_u32 scene_static_colour(const struct scene_geometry *g, vq_u32 x, vq_u32 y)
{
	long dx = (long)x - (long)g->cx, dy = (long)y - (long)g->cy;
	long d2 = dx * dx + dy * dy;

	if (d2 >= (long)g->radius * (long)g->radius)
		return SCENE_BACKGROUND;
	if (d2 >= (long)g->rim_inner * (long)g->rim_inner)
		return SCENE_RIM;
	if (d2 < (long)g->hub_radius * (long)g->hub_radius)
		return SCENE_HUB;
	return 0xffffffffu;
}

#ifdef DEMO_H
/* Guest side (scene.c). */
void scene_init(vq_u32 *pixels, vq_u32 width, vq_u32 height, vq_u32 stride_pixels);
void scene_draw(vq_u64 frame);
#endif

#endif /* DEMO_SCENE_H */
