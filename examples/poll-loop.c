// SPDX-License-Identifier: MIT
/*
 * Example 2: non-blocking I/O with a readiness loop.
 *
 * The read end of the pipe is O_NONBLOCK: read() never sleeps, it fails with
 * EAGAIN when there is nothing. The program asks poll() *whether* it could
 * read, does other work on each timeout, and reads once poll() says the pipe
 * is readable. Readiness, not completion: the read itself is still ours to
 * do.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>

#include "common.h"

#define DELAY_MS	250
#define TICK_MS		60
#define MESSAGE		"ready now"

/* The child: exit status 0 when it wrote the message. */
static int child(int wfd)
{
	usleep(DELAY_MS * 1000);
	ex_say("child", "write(\"%s\")", MESSAGE);
	if (write(wfd, MESSAGE, strlen(MESSAGE)) != (ssize_t)strlen(MESSAGE))
		return 1;
	usleep(TICK_MS * 1000);
	ex_say("child", "close() the write end");
	return 0;
}

static const char *revents_str(short re, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", re & POLLIN ? "POLLIN " : "",
		 re & POLLHUP ? "POLLHUP " : "", re & POLLERR ? "POLLERR " : "",
		 re ? "" : "(none)");
	return buf;
}

int main(void)
{
	int p[2], status, ticks = 0, got_data = 0, got_eof = 0, err;
	char buf[64], rs[48];
	struct pollfd pfd;
	ssize_t n;
	pid_t pid;

	ex_start();
	if (pipe(p)) {
		perror("pipe");
		return 1;
	}
	pid = ex_fork_child(p, child);
	if (pid < 0)
		return 1;
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	ex_say("parent", "pipe read end set O_NONBLOCK, child will write in %d ms",
	       DELAY_MS);

	n = read(p[0], buf, sizeof(buf));
	err = n < 0 ? errno : 0;
	ex_say("parent", "read() -> %zd %s: nothing there, and we did not sleep",
	       n, err == EAGAIN ? "EAGAIN" : "(unexpected)");
	EX_CHECK(err == EAGAIN, "first read should be EAGAIN");

	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (!got_eof && ticks < 100) {
		int r = poll(&pfd, 1, TICK_MS);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		if (r == 0) {
			ticks++;
			ex_say("parent", "poll() timed out: not ready, doing other work (tick %d)",
			       ticks);
			continue;
		}
		ex_say("parent", "poll() -> revents %s",
		       revents_str(pfd.revents, rs, sizeof(rs)));
		n = read(p[0], buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			ex_say("parent", "read() -> %zd bytes \"%s\"", n, buf);
			EX_CHECK(!strcmp(buf, MESSAGE), "got \"%s\"", buf);
			got_data = 1;
			n = read(p[0], buf, sizeof(buf));
			err = n < 0 ? errno : 0;
			ex_say("parent", "read() again -> %zd %s: drained, back to poll()",
			       n, err == EAGAIN ? "EAGAIN" : "(unexpected)");
			EX_CHECK(err == EAGAIN, "drained pipe should say EAGAIN");
		} else if (n == 0) {
			ex_say("parent", "read() -> 0: end of file, loop ends");
			got_eof = 1;
		} else if (errno != EAGAIN) {
			perror("read");
			return 1;
		}
	}
	EX_CHECK(ticks >= 1, "poll() never timed out before the data came");
	EX_CHECK(got_data, "no data read");
	EX_CHECK(got_eof, "no end of file seen");
	ex_say("parent", "%d timeouts of %d ms were spent doing other work",
	       ticks, TICK_MS);

	waitpid(pid, &status, 0);
	EX_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "child status %#x", status);
	close(p[0]);
	return ex_finish("poll-loop");
}
