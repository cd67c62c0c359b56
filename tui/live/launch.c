/* launch.c - start QEMU with a trace region, shared guest RAM and a QMP
 * socket in a private directory, and stop it again.  See launch.h for the
 * command line.
 */
#include "launch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"
#include "vqtrace.h"

#define MIB	 ((uint64_t)1024 * 1024)
#define ARGS_MAX 256

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool readable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

int launch_find_demo_kernel(char *out, size_t outlen, char *err, size_t errlen)
{
	char tried[4][PATH_MAX];
	char exe[PATH_MAX];
	size_t n = 0;
	const char *env = getenv("VQSCOPE_DEMO_KERNEL");
	ssize_t len;

	if (env && *env) {
		if (!readable_file(env)) {
			qmp_errorf(err, errlen, "VQSCOPE_DEMO_KERNEL=%s: not a readable file", env);
			return -1;
		}
		qmp_errorf(out, outlen, "%s", env);
		return 0;
	}
#ifdef VQ_BUILD_DIR
	qmp_errorf(tried[n++], PATH_MAX, "%s", VQ_BUILD_DIR "/guest-driver/demo/vqdemo.elf");
#endif
#ifdef VQ_DATA_DIR
	qmp_errorf(tried[n++], PATH_MAX, "%s", VQ_DATA_DIR "/vqdemo.elf");
#endif
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			qmp_errorf(tried[n++], PATH_MAX, "%s/../share/vqscope/vqdemo.elf", exe);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (readable_file(tried[i])) {
			char real[PATH_MAX];
			qmp_errorf(out, outlen, "%s", realpath(tried[i], real) ? real : tried[i]);
			return 0;
		}
	}
	qmp_errorf(err, errlen,
		   "no demo guest kernel (vqdemo.elf): looked at $VQSCOPE_DEMO_KERNEL "
		   "(unset)%s%s%s%s%s%s; "
		   "build it with make, or give --kernel",
		   n > 0 ? ", " : "", n > 0 ? tried[0] : "", n > 1 ? ", " : "",
		   n > 1 ? tried[1] : "", n > 2 ? ", " : "", n > 2 ? tried[2] : "");
	return -1;
}

/* ---- argument vector ------------------------------------------------------ */

struct argv_builder {
	char *argv[ARGS_MAX + 1];
	size_t argc;
	bool failed;
};

static void add_arg(struct argv_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_arg(struct argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (b->failed)
		return;
	if (b->argc >= ARGS_MAX) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		b->failed = true;
		return;
	}
	b->argv[b->argc++] = s;
	b->argv[b->argc] = NULL;
}

static void free_args(struct argv_builder *b)
{
	for (size_t i = 0; i < b->argc; i++)
		free(b->argv[i]);
	b->argc = 0;
}

/* QEMU option values separate keys with ',': a literal comma is ",,". */
static char *opt_escape(const char *s)
{
	size_t n = strlen(s), commas = 0;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		commas += s[i] == ',';
	out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	p = out;
	for (size_t i = 0; i < n; i++) {
		*p++ = s[i];
		if (s[i] == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}

/* Resolve the QEMU binary through PATH before fork (execv in the child
 * is then all it does). */
static int find_binary(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/')) {
		qmp_errorf(out, outlen, "%s", name);
		return access(name, X_OK) == 0 ? 0 : -1;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		int n = snprintf(out, outlen, "%.*s/%s", (int)len, len ? path : ".", name);
		if (n > 0 && (size_t)n < outlen && access(out, X_OK) == 0)
			return 0;
		path += len + (end ? 1 : 0);
	}
	return -1;
}

/* The last non-empty line of QEMU's log, sanitized. */
static void last_log_line(const char *log_path, char *out, size_t outlen)
{
	char buf[1024];
	ssize_t n = 0;
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);

	out[0] = '\0';
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size > 0) {
		off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
		n = pread(fd, buf, sizeof(buf) - 1, from);
	}
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	char *line = strrchr(buf, '\n');
	qmp_sanitize(out, outlen, line ? line + 1 : buf);
}

static void describe_status(int status, bool demo, char *buf, size_t len)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;

	if (WIFEXITED(status) && demo && code > 1 && (code & 1))
		qmp_errorf(buf, len,
			   "QEMU exited with status %d (the demo guest failed with isa-debug-exit "
			   "code %d)",
			   code, code >> 1);
	else if (WIFEXITED(status))
		qmp_errorf(buf, len, "QEMU exited with status %d", code);
	else if (WIFSIGNALED(status))
		qmp_errorf(buf, len, "QEMU was killed by signal %d (%s)", WTERMSIG(status),
			   strsignal(WTERMSIG(status)));
	else
		qmp_errorf(buf, len, "QEMU ended with wait status 0x%x", status);
}

/* Remove everything in dir (no subdirectories are made there), then dir. */
static int remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0)
			rc = -1;
	}
	closedir(d);
	if (rmdir(dir) != 0)
		rc = -1;
	return rc;
}

static int make_private_dir(struct launch *l, char *err, size_t errlen)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	/* The socket path must fit in sun_path (108 bytes). */
	if (!base || base[0] != '/' || stat(base, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    access(base, W_OK) != 0 || strlen(base) > 60)
		base = "/tmp";
	qmp_errorf(l->dir, sizeof(l->dir), "%s/vqscope.XXXXXX", base);
	if (!mkdtemp(l->dir)) {
		qmp_errorf(err, errlen, "cannot create a directory in %s: %s", base,
			   strerror(errno));
		l->dir[0] = '\0';
		return -1;
	}
	chmod(l->dir, 0700);
	qmp_errorf(l->qmp_path, sizeof(l->qmp_path), "%s/qmp.sock", l->dir);
	qmp_errorf(l->qmp2_path, sizeof(l->qmp2_path), "%s/qmp2.sock", l->dir);
	qmp_errorf(l->serial_path, sizeof(l->serial_path), "%s/serial.log", l->dir);
	qmp_errorf(l->log_path, sizeof(l->log_path), "%s/qemu.log", l->dir);
	qmp_errorf(l->region_path, sizeof(l->region_path), "%s/trace.region", l->dir);
	qmp_errorf(l->ram_path, sizeof(l->ram_path), "%s/guest.ram", l->dir);
	return 0;
}

static int check_opts(const struct launch_opts *o, uint64_t *region, uint64_t *ram, char *err,
		      size_t errlen)
{
	const char *accel = o->accel ? o->accel : "tcg";

	if (strcmp(accel, "tcg") != 0 && strcmp(accel, "kvm") != 0) {
		qmp_errorf(err, errlen, "--accel %s: use tcg or kvm", accel);
		return -1;
	}
	if (strcmp(accel, "kvm") == 0 && access("/dev/kvm", R_OK | W_OK) != 0) {
		qmp_errorf(err, errlen, "--accel kvm: /dev/kvm: %s (use --accel tcg)",
			   strerror(errno));
		return -1;
	}
	*region = o->region_size ? o->region_size : VQT_REGION_DEFAULT;
	*ram = o->ram_size ? o->ram_size : LAUNCH_RAM_DEFAULT;
	/* A PCI BAR is a power of two. */
	if (*region < VQT_REGION_MIN || *region > VQT_REGION_MAX || (*region & (*region - 1))) {
		qmp_errorf(err, errlen,
			   "trace region size %" PRIu64
			   ": use a power of two from %u KiB to %u MiB",
			   *region, VQT_REGION_MIN / 1024, VQT_REGION_MAX / (1024 * 1024));
		return -1;
	}
	if (*ram < 16 * MIB || *ram % MIB || *ram > 1024 * 1024 * MIB) {
		qmp_errorf(err, errlen,
			   "guest RAM size %" PRIu64 ": use whole MiB from 16 MiB to 1 TiB", *ram);
		return -1;
	}
	if (o->nextra > ARGS_MAX - 48) {
		qmp_errorf(err, errlen, "too many extra QEMU arguments (%zu)", o->nextra);
		return -1;
	}
	return 0;
}

static void build_args(const struct launch_opts *o, const struct launch *l, const char *qemu,
		       uint64_t region, uint64_t ram, struct argv_builder *b)
{
	char *dir = opt_escape(l->dir);
	bool kvm = o->accel && strcmp(o->accel, "kvm") == 0;

	if (!dir) {
		b->failed = true;
		return;
	}
	add_arg(b, "%s", qemu);
	add_arg(b, "-M");
	add_arg(b, "q35");
	add_arg(b, "-accel");
	add_arg(b, "%s", kvm ? "kvm" : "tcg");
	if (kvm) {
		add_arg(b, "-cpu");
		add_arg(b, "host");
	}
	add_arg(b, "-m");
	add_arg(b, "%" PRIu64 "M", ram / MIB);
	add_arg(b, "-nodefaults");
	add_arg(b, "-no-user-config");
	add_arg(b, "-no-reboot");
	add_arg(b, "-object");
	add_arg(b, "memory-backend-file,id=ram,size=%" PRIu64 ",mem-path=%s/guest.ram,share=on",
		ram, dir);
	add_arg(b, "-machine");
	add_arg(b, "memory-backend=ram");
	add_arg(b, "-object");
	add_arg(b,
		"memory-backend-file,id=vqtrace,size=%" PRIu64 ",mem-path=%s/trace.region,share=on",
		region, dir);
	add_arg(b, "-device");
	add_arg(b, "ivshmem-plain,memdev=vqtrace");
	add_arg(b, "-qmp");
	add_arg(b, "unix:%s/qmp.sock,server=on,wait=off", dir);
	/* A second one, for `vqscope record` (or doctor) beside the view:
	 * QEMU serves one client per QMP socket. */
	add_arg(b, "-qmp");
	add_arg(b, "unix:%s/qmp2.sock,server=on,wait=off", dir);
	add_arg(b, "-serial");
	add_arg(b, "file:%s/serial.log", dir);
	if (o->start_paused)
		add_arg(b, "-S");
	if (!o->show_display) {
		add_arg(b, "-display");
		add_arg(b, "none");
	}
	if (!o->kernel) {
		/* As scripts/run-demo-guest.sh: the demo drives virtio-gpu and
		 * reports failures through isa-debug-exit (docs/guest.md). */
		add_arg(b, "-vga");
		add_arg(b, "none");
		add_arg(b, "-device");
		add_arg(b, "virtio-gpu-pci,xres=640,yres=480,packed=on");
		add_arg(b, "-device");
		add_arg(b, "isa-debug-exit,iobase=0xf4,iosize=4");
	}
	if (l->kernel[0]) {
		add_arg(b, "-kernel");
		add_arg(b, "%s", l->kernel);
		if (o->append) {
			add_arg(b, "-append");
			add_arg(b, "%s", o->append);
		}
	}
	for (size_t i = 0; i < o->nextra; i++)
		add_arg(b, "%s", o->extra_args[i]);
	free(dir);
}

/* In the child: only async-signal-safe calls until execv. */
static void exec_child(const struct argv_builder *b, const char *log_path, int report_fd,
		       pid_t parent)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int e;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (log >= 0) {
		dup2(log, STDOUT_FILENO);
		dup2(log, STDERR_FILENO);
	}
	execv(b->argv[0], b->argv);
	e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

bool launch_poll(struct launch *l)
{
	int status;
	pid_t r;

	if (l->pid <= 0)
		return false;
	r = waitpid(l->pid, &status, WNOHANG);
	if (r == l->pid || (r < 0 && errno == ECHILD)) {
		l->wait_status = r == l->pid ? status : -1;
		l->pid = 0;
		return false;
	}
	return true;
}

void launch_exit_text(const struct launch *l, char *buf, size_t len)
{
	if (l->pid > 0)
		qmp_errorf(buf, len, "QEMU is running");
	else if (l->wait_status == -1)
		qmp_errorf(buf, len, "QEMU ended (status unknown)");
	else
		describe_status(l->wait_status, l->demo, buf, len);
}

/* Connect to QMP once and let go again: proves QEMU got through machine
 * setup.  On failure err has QEMU's exit and last message if it died. */
static int confirm_qmp(struct launch *l, char *err, size_t errlen)
{
	char why[512], how[96], line[400];
	struct qmp *q = qmp_connect(l->qmp_path, LAUNCH_START_TIMEOUT_MS, why, sizeof(why));

	if (q) {
		qmp_close(q);
		return 0;
	}
	for (int waited = 0; waited < 1000 && launch_poll(l); waited += 20)
		sleep_ms(20);
	if (l->pid > 0) {
		qmp_errorf(err, errlen, "QEMU started but %s", why);
		return -1;
	}
	describe_status(l->wait_status, l->demo, how, sizeof(how));
	last_log_line(l->log_path, line, sizeof(line));
	qmp_errorf(err, errlen, "%s%s%s", how, line[0] ? ": " : "", line);
	return -1;
}

int launch_qemu(const struct launch_opts *o, struct launch *out, char *err, size_t errlen)
{
	struct argv_builder b = {.argc = 0};
	char qemu[PATH_MAX];
	const char *qemu_name;
	uint64_t region, ram;
	int pipefd[2], child_errno = 0;
	struct timespec start, now;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->wait_status = -1;
	out->keep_dir = o->keep_dir;
	out->demo = !o->kernel;
	if (check_opts(o, &region, &ram, err, errlen) != 0)
		return -1;
	if (!o->kernel) {
		if (launch_find_demo_kernel(out->kernel, sizeof(out->kernel), err, errlen) != 0)
			return -1;
	} else if (o->kernel[0]) {
		if (!readable_file(o->kernel)) {
			qmp_errorf(err, errlen, "kernel %s: not a readable file", o->kernel);
			return -1;
		}
		qmp_errorf(out->kernel, sizeof(out->kernel), "%s", o->kernel);
	}
	qemu_name = o->qemu ? o->qemu : getenv("VQSCOPE_QEMU");
	if (!qemu_name || !*qemu_name)
		qemu_name = "qemu-system-x86_64";
	if (find_binary(qemu_name, qemu, sizeof(qemu)) != 0) {
		qmp_errorf(err, errlen,
			   "cannot find %s (install qemu-system-x86, or set VQSCOPE_QEMU)",
			   qemu_name);
		return -1;
	}
	if (make_private_dir(out, err, errlen) != 0)
		return -1;
	build_args(o, out, qemu, region, ram, &b);
	if (b.failed || pipe2(pipefd, O_CLOEXEC) != 0) {
		qmp_errorf(err, errlen, "cannot build QEMU's command line: %s",
			   b.failed ? "too long or out of memory" : strerror(errno));
		free_args(&b);
		remove_dir(out->dir);
		return -1;
	}
	pid_t parent = getpid();
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		exec_child(&b, out->log_path, pipefd[1], parent);
	}
	free_args(&b);
	close(pipefd[1]);
	if (pid < 0) {
		qmp_errorf(err, errlen, "fork: %s", strerror(errno));
		close(pipefd[0]);
		remove_dir(out->dir);
		return -1;
	}
	out->pid = pid;
	/* The pipe closes on exec; a value in it means exec failed. */
	if (read(pipefd[0], &child_errno, sizeof(child_errno)) == (ssize_t)sizeof(child_errno)) {
		close(pipefd[0]);
		launch_stop(out);
		qmp_errorf(err, errlen, "cannot run %s: %s", qemu, strerror(child_errno));
		return -1;
	}
	close(pipefd[0]);

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct stat st;
		long elapsed;

		if (stat(out->qmp_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			/* The socket exists before QEMU has made its devices; its
			 * greeting comes once the machine is complete. */
			if (confirm_qmp(out, err, errlen) == 0)
				return 0;
			launch_stop(out);
			return -1;
		}
		if (!launch_poll(out)) {
			char how[96], line[400];
			describe_status(out->wait_status, out->demo, how, sizeof(how));
			last_log_line(out->log_path, line, sizeof(line));
			qmp_errorf(err, errlen, "%s%s%s", how, line[0] ? ": " : "", line);
			launch_stop(out);
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed > LAUNCH_START_TIMEOUT_MS) {
			qmp_errorf(err, errlen, "QEMU did not create %s within %d ms",
				   out->qmp_path, LAUNCH_START_TIMEOUT_MS);
			launch_stop(out);
			return -1;
		}
		sleep_ms(20);
	}
}

void launch_last_serial_line(const struct launch *l, char *buf, size_t len)
{
	if (!l->dir[0]) {
		qmp_errorf(buf, len, "%s", "");
		return;
	}
	last_log_line(l->serial_path, buf, len);
}

int launch_stop(struct launch *l)
{
	int rc = 0;

	if (l->pid > 0 && launch_poll(l)) {
		kill(l->pid, SIGTERM);
		for (int waited = 0; waited < LAUNCH_STOP_TIMEOUT_MS && launch_poll(l);
		     waited += 20)
			sleep_ms(20);
		if (l->pid > 0) {
			kill(l->pid, SIGKILL);
			for (int waited = 0; waited < LAUNCH_STOP_TIMEOUT_MS && launch_poll(l);
			     waited += 20)
				sleep_ms(20);
			if (l->pid > 0)
				rc = -1; /* unkillable (stuck in the kernel): leave it */
		}
	}
	if (l->dir[0] && !l->keep_dir && l->pid <= 0) {
		if (remove_dir(l->dir) != 0)
			rc = -1;
		l->dir[0] = '\0';
	}
	return rc;
}
