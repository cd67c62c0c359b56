/* launch.h - start a QEMU set up for vqscope, and stop it again.
 *
 * `vqscope run` uses this: a private 0700 directory (under
 * $XDG_RUNTIME_DIR, else /tmp) holds the QMP socket, the trace region,
 * the guest RAM file, the serial log and QEMU's own output.  The command
 * line is
 *
 *   qemu-system-x86_64 -M q35 -accel tcg|kvm [-cpu host] -m RAM
 *     -nodefaults -no-user-config -no-reboot
 *     -object memory-backend-file,id=ram,size=RAM,mem-path=DIR/guest.ram,share=on
 *     -machine memory-backend=ram
 *     -object memory-backend-file,id=vqtrace,size=REGION,mem-path=DIR/trace.region,share=on
 *     -device ivshmem-plain,memdev=vqtrace
 *     -qmp unix:DIR/qmp.sock,server=on,wait=off -serial file:DIR/serial.log
 *     -S                                   (with start_paused)
 *     -display none                        (unless show_display)
 *     -vga none -device virtio-gpu-pci,xres=640,yres=480
 *     -device isa-debug-exit,iobase=0xf4,iosize=4   (the bundled demo guest)
 *     -kernel KERNEL [-append ...] [extra args...]
 *
 * This is the command line of scripts/run-demo-guest.sh.  QEMU runs in
 * its own process group (a Ctrl-C in the terminal reaches
 * vqscope, which then stops QEMU in order) and gets SIGTERM if vqscope
 * dies.  The pid is reaped only by launch_poll()/launch_stop(): do not
 * waitpid() on it elsewhere.
 */
#ifndef VQ_LAUNCH_H
#define VQ_LAUNCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LAUNCH_RAM_DEFAULT	((uint64_t)128 * 1024 * 1024)
#define LAUNCH_START_TIMEOUT_MS 10000 /* for QEMU to create its QMP socket */
#define LAUNCH_STOP_TIMEOUT_MS	5000  /* after SIGTERM, before SIGKILL */

struct launch_opts {
	const char *accel;	 /* "tcg" (also when NULL) or "kvm" */
	const char *kernel;	 /* NULL: the bundled demo guest; "": no -kernel */
	const char *append;	 /* kernel command line, or NULL */
	const char **extra_args; /* added at the end of the command line, as given */
	size_t nextra;
	uint64_t region_size; /* trace region bytes; 0: VQT_REGION_DEFAULT (4 MiB) */
	uint64_t ram_size;    /* guest RAM bytes; 0: LAUNCH_RAM_DEFAULT */
	bool show_display;    /* a QEMU window instead of -display none */
	const char *qemu;     /* binary; NULL: $VQSCOPE_QEMU, else qemu-system-x86_64 */
	bool keep_dir;	      /* leave the directory behind on stop (debugging) */
	bool start_paused;    /* -S: the guest waits for a QMP cont, so that a
			       * viewer attaches before its first instruction */
};

struct launch {
	pid_t pid;	 /* QEMU's pid; 0 once reaped */
	int wait_status; /* from waitpid once reaped, else -1 */
	bool keep_dir;
	bool demo;		    /* running the bundled demo guest */
	char dir[PATH_MAX];	    /* the private directory */
	char qmp_path[108];	    /* DIR/qmp.sock */
	char qmp2_path[108];	    /* DIR/qmp2.sock: a second one, for record beside the view */
	char serial_path[PATH_MAX]; /* DIR/serial.log: the guest's serial port */
	char log_path[PATH_MAX];    /* DIR/qemu.log: QEMU's stdout and stderr */
	char region_path[PATH_MAX]; /* DIR/trace.region */
	char ram_path[PATH_MAX];    /* DIR/guest.ram */
	char kernel[PATH_MAX];	    /* the kernel given to QEMU, or "" */
};

/* Create the directory, start QEMU and wait (LAUNCH_START_TIMEOUT_MS) for
 * its QMP socket.  On failure nothing is left running or on disk, and err
 * says why, with QEMU's own last message when it exited ("QEMU exited with
 * status 1: qemu-system-x86_64: -accel kvm: ...").  0 or -1. */
int launch_qemu(const struct launch_opts *o, struct launch *out, char *err, size_t errlen);

/* True while QEMU runs; reaps it (filling wait_status) once it exited. */
bool launch_poll(struct launch *l);

/* How QEMU ended, in words ("QEMU exited with status 0", "QEMU was
 * killed by signal 9", "QEMU exited with status 5 (the demo guest failed
 * with isa-debug-exit code 2)"), or "QEMU is running". */
void launch_exit_text(const struct launch *l, char *buf, size_t len);

/* The last line the guest wrote to its serial port (sanitized), or "":
 * the demo guest's "vqdemo: error: ..." when it failed.  Call before
 * launch_stop, which removes the file. */
void launch_last_serial_line(const struct launch *l, char *buf, size_t len);

/* Stop QEMU if it still runs (SIGTERM, which QEMU handles as a clean
 * shutdown; SIGKILL after LAUNCH_STOP_TIMEOUT_MS), reap it, and remove
 * the directory unless keep_dir.  To quit through QMP instead, call
 * qmp_quit() on the session's connection first.  Safe to call twice.
 * 0, or -1 when something could not be cleaned up. */
int launch_stop(struct launch *l);

/* Find the bundled demo guest kernel: $VQSCOPE_DEMO_KERNEL, then
 * VQ_BUILD_DIR/guest-driver/demo/vqdemo.elf, VQ_DATA_DIR/vqdemo.elf and
 * ../share/vqscope/vqdemo.elf next to the executable.  0, or -1 with err
 * listing every place looked at. */
int launch_find_demo_kernel(char *out, size_t outlen, char *err, size_t errlen);

#endif /* VQ_LAUNCH_H */
