// SPDX-License-Identifier: MIT
/*
 * Example 1: blocking I/O.
 *
 * The parent calls read() on an empty pipe; a child writes into it after a
 * delay. The thread that called read() can do nothing else meanwhile: the
 * call returns only when the data is there.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "common.h"

#define DELAY_MS	200
#define MESSAGE		"hello from the child"

/* When the child wrote, in ms since start: shared with the parent. */
static volatile double *t_write;

/* The child: exit status 0 when it wrote the message. */
static int child(int wfd)
{
	ex_say("child", "started, sleeping %d ms before writing", DELAY_MS);
	usleep(DELAY_MS * 1000);
	ex_say("child", "write(\"%s\")", MESSAGE);
	*t_write = ex_ms();
	if (write(wfd, MESSAGE, strlen(MESSAGE)) != (ssize_t)strlen(MESSAGE))
		return 1;
	return 0;
}

int main(void)
{
	char buf[64];
	double t_in, t_out;
	int p[2], status;
	ssize_t n;
	pid_t pid;

	ex_start();
	t_write = mmap(NULL, sizeof(*t_write), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t_write == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (pipe(p)) {
		perror("pipe");
		return 1;
	}
	ex_say("parent", "pipe created (blocking), forking a writer");
	pid = ex_fork_child(p, child);
	if (pid < 0)
		return 1;

	t_in = ex_ms();
	ex_say("parent", "read() ... the thread sleeps until data arrives");
	do {
		n = read(p[0], buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	t_out = ex_ms();
	if (n < 0) {
		perror("read");
		return 1;
	}
	buf[n] = '\0';
	ex_say("parent", "read() returned %zd bytes \"%s\" after blocking %.1f ms",
	       n, buf, t_out - t_in);

	EX_CHECK(n == (ssize_t)strlen(MESSAGE) && !strcmp(buf, MESSAGE),
		 "got \"%s\"", buf);
	/* read() was called before the data existed and returned after. */
	EX_CHECK(t_in < *t_write && *t_write <= t_out,
		 "read() at %.1f ms, write at %.1f ms, return at %.1f ms",
		 t_in, *t_write, t_out);

	n = read(p[0], buf, sizeof(buf));
	ex_say("parent", "read() again returned %zd: end of file, child closed its end", n);
	EX_CHECK(n == 0, "expected EOF, got %zd", n);

	waitpid(pid, &status, 0);
	EX_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "child status %#x", status);
	close(p[0]);
	return ex_finish("blocking-read");
}
