/* tracer_pingloop.c - the virtio-net workload of bench/tracer-net.sh, run
 * inside the Linux test guest: COUNT ICMP echo requests to ADDRESS, each
 * sent when the previous reply came back (a ping flood one packet deep, so
 * every round trip is one tx buffer, one rx buffer and their interrupts),
 * each timed with CLOCK_MONOTONIC.
 *
 *   tracer_pingloop ADDRESS COUNT
 *
 * Prints one line of key=value pairs: pings, lost (no reply within a
 * second), total_ns (the whole loop) and the round trips' min, median and
 * p90 in ns.  Linked statically so it runs in the busybox initramfs; needs
 * a raw socket (root).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loop_timing.h"

/* The Internet checksum (RFC 1071) of an ICMP message. */
static uint16_t checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Wait up to a second for the echo reply with this id and sequence. */
static int await_reply(int fd, uint16_t id, uint16_t seq)
{
	uint64_t deadline = now_ns() + 1000000000ull;
	uint8_t buf[1500];

	for (;;) {
		uint64_t now = now_ns();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		const struct icmphdr *icmp;
		const struct iphdr *ip;
		ssize_t n;

		if (now >= deadline)
			return -1;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < (ssize_t)sizeof(struct iphdr))
			continue;
		ip = (const struct iphdr *)buf;
		if (n < (ssize_t)(ip->ihl * 4u + sizeof(*icmp)))
			continue;
		icmp = (const struct icmphdr *)(buf + ip->ihl * 4u);
		if (icmp->type == ICMP_ECHOREPLY && ntohs(icmp->un.echo.id) == id &&
		    ntohs(icmp->un.echo.sequence) == seq)
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	uint16_t id = (uint16_t)getpid();
	uint64_t *rtt, start, total;
	unsigned long count, done = 0, lost = 0;
	char *end;
	int fd;

	if (argc != 3 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 ||
	    (count = strtoul(argv[2], &end, 10)) == 0 || *end != 0) {
		fprintf(stderr, "usage: tracer_pingloop ADDRESS COUNT\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	rtt = calloc(count, sizeof(*rtt));
	if (fd < 0 || !rtt) {
		fprintf(stderr, "tracer_pingloop: raw ICMP socket: %s\n", strerror(errno));
		return 1;
	}
	start = now_ns();
	for (unsigned long i = 0; i < count; i++) {
		struct {
			struct icmphdr h;
			uint8_t payload[56];
		} msg;
		uint64_t t0;

		memset(&msg, 0, sizeof(msg));
		msg.h.type = ICMP_ECHO;
		msg.h.un.echo.id = htons(id);
		msg.h.un.echo.sequence = htons((uint16_t)i);
		msg.h.checksum = checksum(&msg, sizeof(msg));
		t0 = now_ns();
		if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			fprintf(stderr, "tracer_pingloop: sendto: %s\n", strerror(errno));
			return 1;
		}
		if (await_reply(fd, id, (uint16_t)i) != 0) {
			lost++;
			continue;
		}
		rtt[done++] = now_ns() - t0;
	}
	total = now_ns() - start;
	if (done == 0) {
		fprintf(stderr, "tracer_pingloop: no replies from %s\n", argv[1]);
		return 1;
	}
	qsort(rtt, done, sizeof(*rtt), cmp_u64);
	printf("pings=%lu lost=%lu total_ns=%llu min_ns=%llu median_ns=%llu p90_ns=%llu\n", done,
	       lost, (unsigned long long)total, (unsigned long long)rtt[0],
	       (unsigned long long)rtt[done / 2], (unsigned long long)rtt[done * 9 / 10]);
	free(rtt);
	close(fd);
	return 0;
}
