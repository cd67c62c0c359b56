/* guard.h - reading mapped files that can shrink under us.
 *
 * The trace region and guest RAM are files that QEMU (or whoever else)
 * may truncate while vqscope has them mapped; touching a page past the new
 * end raises SIGBUS.  guard_run() runs a piece of code that reads such a
 * mapping and turns that SIGBUS into a false return (sigsetjmp in the
 * caller, siglongjmp from the handler), so the caller can say what
 * happened and stop using the mapping.  A SIGBUS outside guard_run() is a
 * real crash: the handler runs the fatal hook (the interactive view puts
 * the terminal back) and lets the signal kill the process as before.
 *
 * The handler is per process; the guarded state is per thread (only the
 * thread that reads the region and guest RAM uses it).
 */
#ifndef VQ_GUARD_H
#define VQ_GUARD_H

#include <stdbool.h>

/* Install the SIGBUS handler (also done by the first guard_run). */
void guard_install(void);
/* Called from the handler before a SIGBUS outside guard_run() kills the
 * process; async-signal-safe code only.  NULL: none. */
void guard_set_fatal_hook(void (*hook)(void));
/* Run fn(ctx); false when a SIGBUS interrupted it (fn did not finish). */
bool guard_run(void (*fn)(void *ctx), void *ctx);

#endif /* VQ_GUARD_H */
