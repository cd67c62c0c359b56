/* doc_example_harness.c - drives the C example of docs/guest.md section 7
 * against a simulated device, for test-guest-doc-example.sh, which
 * compiles this file appended to the example exactly as the document
 * shows it (so struct my_vq, trace_start and submit_and_wait come from
 * there).  A thread plays the device: it takes each available head and
 * returns it as used.  The region is a file, checked afterwards with
 * check_trace.
 *
 *   doc_example REGION-FILE REQUESTS
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_SIZE     8
#define REGION_SIZE    (1u << 20)
#define RESPONSE_BYTES 16

static struct my_vq queue;
static int device_stop;

/* The device side of 2.7: consume avail entries in order, publish used
 * elements, release-store used.idx after the element (pairs with the
 * example's acquire fence after it sees used.idx move). */
static void *device(void *arg)
{
	vq_u16 seen = 0, used = 0;

	(void)arg;
	while (!__atomic_load_n(&device_stop, __ATOMIC_RELAXED)) {
		/* Pairs with the example's vq_wmb before its avail.idx store. */
		vq_u16 avail = __atomic_load_n(&queue.avail->idx, __ATOMIC_ACQUIRE);

		for (; seen != avail; seen++, used++) {
			vq_u16 head = queue.avail->ring[seen & (QUEUE_SIZE - 1)];

			queue.used->ring[used & (QUEUE_SIZE - 1)].id = head;
			queue.used->ring[used & (QUEUE_SIZE - 1)].len = RESPONSE_BYTES;
			__atomic_store_n(&queue.used->idx, (vq_u16)(used + 1), __ATOMIC_RELEASE);
		}
		sched_yield();
	}
	return NULL;
}

/* TSC ticks per second, measured against CLOCK_MONOTONIC. */
static vq_u64 tsc_hz(void)
{
	struct timespec a, b, pause = {0, 20000000};
	vq_u64 t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __builtin_ia32_rdtsc();
	nanosleep(&pause, NULL);
	t1 = __builtin_ia32_rdtsc();
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (t1 - t0) * 1000000000ull /
	       (vq_u64)((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
}

int main(int argc, char **argv)
{
	static vq_u16 notify;
	pthread_t thread;
	void *region, *desc;
	long requests;
	int fd;

	if (argc != 3 || (requests = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: doc_example REGION-FILE REQUESTS\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, REGION_SIZE) != 0) {
		perror(argv[1]);
		return 2;
	}
	region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	desc = calloc(QUEUE_SIZE, 16);
	queue.avail = calloc(1, 6 + 2 * QUEUE_SIZE);
	queue.used = calloc(1, 6 + 8 * QUEUE_SIZE);
	if (!desc || !queue.avail || !queue.used)
		return 2;
	queue.notify = &notify;
	queue.size = QUEUE_SIZE;
	queue.index = 0;

	if (trace_start(region, REGION_SIZE, tsc_hz(), &queue, (vq_u64)desc) != 0) {
		fprintf(stderr, "doc_example: trace_start failed\n");
		return 1;
	}
	if (pthread_create(&thread, NULL, device, NULL) != 0)
		return 2;
	for (long i = 0; i < requests; i++) {
		vq_u32 len = submit_and_wait(&queue, (vq_u16)(i % QUEUE_SIZE), 1, 64);

		if (len != RESPONSE_BYTES) {
			fprintf(stderr, "doc_example: request %ld: %u bytes used, expected %u\n", i,
				len, RESPONSE_BYTES);
			return 1;
		}
	}
	__atomic_store_n(&device_stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	printf("doc_example: %ld requests\n", requests);
	munmap(region, REGION_SIZE);
	close(fd);
	return 0;
}
