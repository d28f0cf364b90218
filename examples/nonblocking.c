// SPDX-License-Identifier: MIT
/*
 * Example 2: non-blocking I/O, polled.
 *
 * The read end of the pipe is O_NONBLOCK: read() never sleeps, it fails
 * with EAGAIN when there is nothing to read. The program keeps control of
 * its thread: it tries the read, and between two attempts it does a slice
 * of its own work (here: counting primes). Nobody tells it when the data
 * comes; it finds out at its next attempt. The price is the attempts that
 * find nothing, and the delay between the data's arrival and the next try.
 *
 * The child writes only once the parent has seen its first EAGAIN, so the
 * program shows an EAGAIN every time, not only when it is fast enough.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>

#include "common.h"

#define DELAY_MS	150
#define NAP_MS		20
#define SLICE		3000	/* numbers tested for primality per slice */
#define MAX_TRIES	500	/* 500 * NAP_MS: 10 s, the longest we try */
#define MESSAGE		"data at last"

/* The control pipe: the parent writes "go" into [1], the child reads [0]. */
static int ctl[2];

/* The child: waits for "go", then writes; status 0 when it did. */
static int child(int wfd)
{
	char go;

	close(ctl[1]);
	if (read(ctl[0], &go, 1) != 1)
		return 1;
	ex_say("child", "told to go: sleeping %d ms, then writing", DELAY_MS);
	usleep(DELAY_MS * 1000);
	ex_say("child", "write(\"%s\") and exit", MESSAGE);
	if (write(wfd, MESSAGE, strlen(MESSAGE)) != (ssize_t)strlen(MESSAGE))
		return 1;
	return 0;
}

/* One slice of the program's own work: primes in [from, from + SLICE). */
static unsigned int count_primes(unsigned int from)
{
	unsigned int n, d, found = 0;

	for (n = from < 2 ? 2 : from; n < from + SLICE; n++) {
		for (d = 2; d * d <= n; d++)
			if (n % d == 0)
				break;
		if (d * d > n)
			found++;
	}
	return found;
}

int main(void)
{
	unsigned int next = 0, primes = 0, slices = 0, eagains = 0, tries;
	int p[2], status, got_data = 0, got_eof = 0;
	char buf[64];
	ssize_t n;
	pid_t pid;

	ex_start();
	if (pipe(p) || pipe(ctl)) {
		perror("pipe");
		return 1;
	}
	pid = ex_fork_child(p, child);
	if (pid < 0)
		return 1;
	close(ctl[0]);
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	ex_say("parent", "pipe read end set O_NONBLOCK: read() will never sleep");

	for (tries = 1; !got_eof && tries <= MAX_TRIES; tries++) {
		n = read(p[0], buf, sizeof(buf) - 1);
		if (n < 0 && errno == EAGAIN) {
			unsigned int found = count_primes(next);

			eagains++;
			primes += found;
			next += SLICE;
			slices++;
			if (eagains <= 3 || eagains % 5 == 0)
				ex_say("parent", "try %u: read() -> -1 EAGAIN; other work: "
				       "%u primes below %u", tries, primes, next);
			if (eagains == 1) {
				ex_say("parent", "telling the child to write");
				if (write(ctl[1], "g", 1) != 1)
					perror("write");
			}
			/* A real program would have more work; we nap. */
			usleep(NAP_MS * 1000);
			continue;
		}
		if (n < 0) {
			perror("read");
			return 1;
		}
		if (n == 0) {
			ex_say("parent", "try %u: read() -> 0: end of file, the "
			       "child is gone", tries);
			got_eof = 1;
			continue;
		}
		buf[n] = '\0';
		ex_say("parent", "try %u: read() -> %zd bytes \"%s\"", tries, n,
		       buf);
		EX_CHECK(!strcmp(buf, MESSAGE), "got \"%s\"", buf);
		EX_CHECK(eagains >= 1, "data before any EAGAIN");
		got_data++;
	}
	close(ctl[1]);

	EX_CHECK(eagains >= 1, "no read() said EAGAIN");
	EX_CHECK(got_data == 1, "message read %d times", got_data);
	EX_CHECK(got_eof, "no end of file within %u tries", MAX_TRIES);
	/* Each EAGAIN was followed by a slice of work: 2..SLICE has 430. */
	EX_CHECK(slices == eagains && primes >= 430,
		 "%u slices for %u EAGAINs, %u primes", slices, eagains, primes);
	ex_say("parent", "%u attempts found nothing; between them %u slices of "
	       "work counted %u primes", eagains, slices, primes);

	waitpid(pid, &status, 0);
	EX_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "child status %#x", status);
	close(p[0]);
	return ex_finish("nonblocking");
}
