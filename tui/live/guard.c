/* guard.c - SIGBUS from a shrunk mapping as an error, not a crash (see
 * guard.h). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "guard.h"

/* The innermost guard_run of this thread, or NULL. */
static __thread sigjmp_buf *guarded;
static void (*volatile fatal_hook)(void);
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	sigjmp_buf *env = guarded;
	struct sigaction dfl;

	(void)info;
	(void)uctx;
	if (env) {
		guarded = NULL;
		siglongjmp(*env, 1);
	}
	/* Not ours: the default action, once the hook had its say.  The
	 * faulting access runs again on return and ends the process. */
	if (fatal_hook)
		fatal_hook();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

void guard_install(void)
{
	pthread_once(&installed, install);
}

void guard_set_fatal_hook(void (*hook)(void))
{
	fatal_hook = hook;
}

bool guard_run(void (*fn)(void *ctx), void *ctx)
{
	sigjmp_buf env, *outer = guarded;

	guard_install();
	/* savemask: the jump back from the handler unblocks SIGBUS again. */
	if (sigsetjmp(env, 1) != 0) {
		guarded = outer;
		return false;
	}
	guarded = &env;
	fn(ctx);
	guarded = outer;
	return true;
}
