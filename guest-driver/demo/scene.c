/* scene.c - draws the spinning wheel into the guest's framebuffer.  The
 * background and rim are drawn once; each frame clears the wheel's
 * inside and redraws the spokes at the frame's angle and the hub.  No
 * floating point: angles are 1/256 turns and sines come from a Q14
 * table. */
#include "demo.h"
#include "scene.h"

/* sin(i * 2 pi / 256) * 16384 for i = 0..64 (a quarter turn). */
static const short quarter_sine[65] = {
    0,	   402,	  804,	 1205,	1606,  2006,  2404,  2801,  3196,  3590,  3981,	 4370,	4756,
    5139,  5520,  5897,	 6270,	6639,  7005,  7366,  7723,  8076,  8423,  8765,	 9102,	9434,
    9760,  10080, 10394, 10702, 11003, 11297, 11585, 11866, 12140, 12406, 12665, 12916, 13160,
    13395, 13623, 13842, 14053, 14256, 14449, 14635, 14811, 14978, 15137, 15286, 15426, 15557,
    15679, 15791, 15893, 15986, 16069, 16143, 16207, 16261, 16305, 16340, 16364, 16379, 16384,
};

static u32 *fb;
static u32 fb_width, fb_height, fb_stride;
static struct scene_geometry geo;
static u32 *span; /* half-width of the rim's inside on each row */

static int sine(u32 angle)
{
	angle &= SCENE_ANGLE_STEPS - 1;
	if (angle < 64)
		return quarter_sine[angle];
	if (angle < 128)
		return quarter_sine[128 - angle];
	if (angle < 192)
		return -quarter_sine[angle - 128];
	return -quarter_sine[256 - angle];
}

static u32 isqrt(u32 v)
{
	u32 r = 0;

	while ((r + 1) * (r + 1) <= v)
		r++;
	return r;
}

static void fill_square(long x, long y, long half, u32 colour)
{
	for (long j = y - half; j <= y + half; j++)
		for (long i = x - half; i <= x + half; i++)
			if (i >= 0 && j >= 0 && i < (long)fb_width && j < (long)fb_height)
				fb[(u32)j * fb_stride + (u32)i] = colour;
}

void scene_init(u32 *pixels, u32 width, u32 height, u32 stride_pixels)
{
	fb = pixels;
	fb_width = width;
	fb_height = height;
	fb_stride = stride_pixels;
	scene_geometry(width, height, &geo);
	span = memory_alloc(sizeof(u32) * (geo.rim_inner + 1), "scene spans");
	for (u32 dy = 0; dy < geo.rim_inner; dy++) {
		/* Pixels with dx^2 + dy^2 < rim_inner^2 are inside the rim. */
		u32 limit = geo.rim_inner * geo.rim_inner - dy * dy - 1;

		span[dy] = isqrt(limit);
	}
	for (u32 y = 0; y < height; y++)
		for (u32 x = 0; x < width; x++) {
			u32 c = scene_static_colour(&geo, x, y);

			fb[y * fb_stride + x] = c == 0xffffffffu ? SCENE_BACKGROUND : c;
		}
}

void scene_draw(u64 frame)
{
	u32 base = (u32)(frame * SCENE_STEPS_PER_FRAME);

	for (u32 dy = 0; dy < geo.rim_inner; dy++) {
		u32 *above = fb + (geo.cy - dy) * fb_stride,
		    *below = fb + (geo.cy + dy) * fb_stride;

		for (u32 x = geo.cx - span[dy]; x <= geo.cx + span[dy]; x++) {
			above[x] = SCENE_BACKGROUND;
			below[x] = SCENE_BACKGROUND;
		}
	}
	for (u32 k = 0; k < SCENE_SPOKES; k++) {
		u32 angle = base + k * (SCENE_ANGLE_STEPS / SCENE_SPOKES);
		long c = sine(angle + 64), s = sine(angle);
		u32 colour = (k & 1) ? SCENE_SPOKE_B : SCENE_SPOKE_A;
		/* Stop where the square brush cannot reach the rim. */
		long end = (long)geo.rim_inner - 2 * (long)geo.spoke_half - 1;

		for (long t = (long)geo.hub_radius; t <= end; t++)
			fill_square((long)geo.cx + c * t / 16384, (long)geo.cy + s * t / 16384,
				    (long)geo.spoke_half, colour);
	}
	for (u32 dy = 0; dy < geo.hub_radius; dy++)
		for (u32 dx = 0; dx < geo.hub_radius; dx++)
			if (dx * dx + dy * dy < geo.hub_radius * geo.hub_radius) {
				fb[(geo.cy + dy) * fb_stride + geo.cx + dx] = SCENE_HUB;
				fb[(geo.cy + dy) * fb_stride + geo.cx - dx] = SCENE_HUB;
				fb[(geo.cy - dy) * fb_stride + geo.cx + dx] = SCENE_HUB;
				fb[(geo.cy - dy) * fb_stride + geo.cx - dx] = SCENE_HUB;
			}
}
