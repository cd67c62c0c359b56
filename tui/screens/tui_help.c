/* tui_help.c - the help screen (?) and the one-line key hint at the
 * bottom of every screen. */
#include "tui_app.h"

static const char *const help_live[] = {
    "Screens   1 overview 2 ring 3 frames 4 events 5 latency 6 findings   Tab cycles",
    "Anywhere  q quit  ? help  arrows or j/k select  / filter  Ctrl-L repaint",
    "          space  freeze the display (the VM keeps running); again: live",
    "          p      pause the VM (QMP stop, virsh suspend)  c  continue it",
    "          s      step mode: the guest waits before each event; then s or n",
    "                 lets one event through          S  leave step mode",
    "          n / N  one event forward / back in the history (frozen or paused):",
    "                 the ring view shows the queue just after that event",
    "          g      go to a frame number, or a time like 12.5s",
    "          r      start / stop recording to vqscope-DATE-TIME.vqt  + / - refresh",
    "Overview  < > sort column  Enter ring view of the queue  Latency  up/down: queue",
    "Ring      arrows or h/j/k/l select a head (packed: buffer id)  f next in flight",
    "          cells: . free  a available  D in the device  U used, not reaped",
    "          every number names its source: trace events, guest RAM, QMP (its age)",
    "          packed positions: a available U used, not taken > next; AVAIL/USED bit",
    "Frames    up/down scroll   bars: D device  p polling  - other  L log  ! stall",
    "Events    up/down next match   f queue  t type (notifications first)  / text  x clear",
    "Findings  up/down select   Enter  ring view of its queue when first seen",
    "          the worst finding still so is in the status line (doctor's codes)",
};

static const char *const help_replay[] = {
    "Screens   1 overview 2 ring 3 frames 4 events 5 latency 6 findings   Tab cycles",
    "Anywhere  q quit  ? help  arrows or j/k select  / filter  Ctrl-L repaint",
    "          space  play / pause (at the recording's own pace times the speed)",
    "          every screen shows the session just after the event at the cursor",
    "          n / N  one event forward / back (s steps forward too)",
    "          g      go to a frame number, or a time like 12.5s",
    "                 going back plays the file again (from a checkpoint once one is left)",
    "          + / -  or ] / [  speed x2 / x0.5",
    "Overview  < >    sort column      Enter  ring view of the selected queue",
    "Ring      arrows or h/j/k/l select a head (packed: buffer id)  f next in flight",
    "          cells: . free  a available  D in the device  (used is live only)",
    "Frames    up/down scroll   bars: D device  p polling  - other  L log  ! stall",
    "Events    up/down next match   f queue  t type (notifications first)  / text  x clear",
    "Latency   up/down pick the queue",
    "Findings  up/down select   Enter  ring view of its queue when first seen",
    "          the worst finding still so is in the status line (doctor's codes)",
};

void tui_help_draw(struct tui *t, int top, int rows)
{
	const char *const *text = t->replay ? help_replay : help_live;
	size_t n = t->replay ? sizeof(help_replay) / sizeof(help_replay[0])
			     : sizeof(help_live) / sizeof(help_live[0]);
	int y = top;

	tui_put(y++, 0, -1, tui_attr(t, STYLE_BOLD), "vqscope keys (any key closes this)");
	for (size_t i = 0; i < n && y < top + rows; i++)
		tui_put(y++, 0, -1, A_NORMAL, text[i]);
}

const char *tui_help_hint(const struct tui *t)
{
	/* At most 79 columns: the bar must fit 80x24. */
	if (t->help)
		return " any key: back";
	if (t->replay)
		return " q:quit ?:help 1-6:screens space:play/pause n/N:step g:go to +/-:speed";
	if (t->step)
		return " q:quit ?:help 1-6:screens s/n:one event S:leave step c:continue";
	return " q:quit ?:help 1-6:screens space:freeze p:pause c:cont s:step r:rec +/-:rate";
}
