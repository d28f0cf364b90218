// SPDX-License-Identifier: MIT
/*
 * Example 6: a reactor on the port, with cport_loop_add_fd().
 *
 * The job of example 3 again, three children each writing lines into a
 * pipe, but the shape of a reactor: each pipe is registered once with a
 * handler, and the loop calls the handler when the pipe is *ready*. The
 * handler does the reading itself, with non-blocking read()s until EAGAIN:
 * readiness is reported once per wake-up (edge-triggered), so a handler
 * that left data behind would not be called for it again. Underneath, each
 * registration is one multishot CPORT_OP_POLL_ADD: no set is passed to the
 * kernel on every wait, as select() does, and the port stays free for
 * completions of other work at the same time.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include <cport.h>

#include "common.h"

#define NR_CHILDREN	3
#define NR_LINES	3
#define WATCHDOG_NS	10000000000ULL	/* the longest the demo waits */

struct source {
	int idx;
	int fd;		/* read end, O_NONBLOCK; -1 once at end of file */
	pid_t pid;
	char buf[256];	/* bytes received, not yet a whole line */
	size_t len;
	int lines;	/* whole lines received */
	int bad;	/* lines that were not the expected ones */
	int calls;	/* handler calls */
	int eagain;	/* reads that ended a handler call with EAGAIN */
};

static struct source src[NR_CHILDREN];
static int child_index, open_fds, watchdog_fired;

/* Child i: NR_LINES lines, one every (i + 1) * 40 ms. */
static int child(int wfd)
{
	int i = child_index, j;
	char line[64];

	for (j = 0; j < NR_LINES; j++) {
		int len;

		usleep((i + 1) * 40 * 1000);
		len = snprintf(line, sizeof(line), "child %d line %d\n", i, j);
		if (write(wfd, line, len) != len)
			return 1;
	}
	return 0;
}

/* Split what came from @s into lines and check each. */
static void take_lines(struct source *s)
{
	char *nl, want[64];

	while ((nl = memchr(s->buf, '\n', s->len))) {
		*nl = '\0';
		snprintf(want, sizeof(want), "child %d line %d", s->idx,
			 s->lines);
		ex_say("handler", "  fd %d: \"%s\"", s->fd, s->buf);
		if (strcmp(s->buf, want)) {
			printf("FAIL: fd %d: \"%s\", want \"%s\"\n", s->fd,
			       s->buf, want);
			s->bad++;
		}
		s->lines++;
		s->len -= nl + 1 - s->buf;
		memmove(s->buf, nl + 1, s->len);
	}
}

/* The fd is at end of file: unregister it; the last one stops the loop. */
static void source_done(struct cport_loop *loop, struct source *s)
{
	int ret = cport_loop_del_fd(loop, s->fd);

	ex_say("handler", "  fd %d: end of file; cport_loop_del_fd() -> %d",
	       s->fd, ret);
	EX_CHECK(ret == 0, "cport_loop_del_fd(%d): %s", s->fd, strerror(-ret));
	EX_CHECK(s->len == 0, "fd %d: %zu bytes without a newline", s->fd,
		 s->len);
	close(s->fd);
	s->fd = -1;
	if (--open_fds == 0) {
		ex_say("handler", "  no pipe left: cport_loop_stop()");
		cport_loop_stop(loop);
	}
}

/* The handler: called by the loop when @fd is ready. */
static void on_ready(struct cport_loop *loop, int fd, uint32_t events,
		     void *arg)
{
	struct source *s = arg;

	s->calls++;
	ex_say("handler", "fd %d ready:%s%s%s", fd,
	       events & EPOLLIN ? " EPOLLIN" : "",
	       events & EPOLLHUP ? " EPOLLHUP" : "",
	       events & EPOLLERR ? " EPOLLERR" : "");
	EX_CHECK(fd == s->fd, "handler of fd %d called for fd %d", s->fd, fd);
	for (;;) {
		ssize_t n = read(fd, s->buf + s->len,
				 sizeof(s->buf) - 1 - s->len);

		if (n > 0) {
			s->len += n;
			take_lines(s);
			continue;
		}
		if (n == 0) {
			source_done(loop, s);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* Drained: wait for the next readiness. */
			s->eagain++;
			return;
		}
		perror("read");
		s->bad++;
		source_done(loop, s);
		return;
	}
}

/* A loop timer: if the pipes are not done by now, give up. */
static void on_watchdog(struct cport_loop *loop, void *arg)
{
	(void)arg;
	printf("FAIL: %d pipes still open after %llu s\n", open_fds,
	       WATCHDOG_NS / 1000000000ULL);
	watchdog_fired = 1;
	cport_loop_stop(loop);
}

int main(void)
{
	struct cport_loop *loop;
	int i, ret, status;
	uint64_t watchdog;

	ex_start();
	ret = cport_loop_new(&loop, 16, 0);
	if (ret < 0) {
		printf("cport_loop_new: %s (is cport.ko loaded?)\n",
		       strerror(-ret));
		return 1;
	}
	if (!(cport_loop_port(loop)->features & CPORT_FEAT_POLL)) {
		cport_loop_free(loop);
		return ex_skip("reactor", "the module has no CPORT_FEAT_POLL");
	}

	for (i = 0; i < NR_CHILDREN; i++) {
		int p[2];

		if (pipe(p)) {
			perror("pipe");
			return 1;
		}
		child_index = i;
		src[i].idx = i;
		src[i].pid = ex_fork_child(p, child);
		if (src[i].pid < 0)
			return 1;
		src[i].fd = p[0];
		fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
		ret = cport_loop_add_fd(loop, p[0], EPOLLIN, on_ready, &src[i]);
		ex_say("main", "child %d (pid %d) writes into fd %d, a line "
		       "every %d ms; cport_loop_add_fd() -> %d", i, src[i].pid,
		       p[0], (i + 1) * 40, ret);
		EX_CHECK(ret == 0, "cport_loop_add_fd: %s", strerror(-ret));
		if (!ret)
			open_fds++;
	}

	ret = cport_loop_add_timer(loop, WATCHDOG_NS, 0, on_watchdog, NULL,
				   &watchdog);
	EX_CHECK(ret == 0, "cport_loop_add_timer: %s", strerror(-ret));
	/* Runs the handlers until the last one stops the loop. */
	ret = cport_loop_run(loop);
	ex_say("main", "cport_loop_run() -> %d", ret);
	EX_CHECK(ret == 0, "cport_loop_run: %s", strerror(-ret));
	EX_CHECK(!watchdog_fired, "the watchdog stopped the loop");
	if (!watchdog_fired) {
		ret = cport_loop_cancel_timer(loop, watchdog);
		EX_CHECK(ret == 0, "cport_loop_cancel_timer: %s",
			 strerror(-ret));
	}

	for (i = 0; i < NR_CHILDREN; i++) {
		EX_CHECK(src[i].lines == NR_LINES && !src[i].bad,
			 "child %d: %d lines, %d bad", i, src[i].lines,
			 src[i].bad);
		EX_CHECK(src[i].fd < 0, "child %d: no end of file", i);
		if (src[i].fd >= 0)
			close(src[i].fd);
		waitpid(src[i].pid, &status, 0);
		EX_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "child %d status %#x", i, status);
		ex_say("main", "fd of child %d: %d handler calls, %d ended on "
		       "EAGAIN", i, src[i].calls, src[i].eagain);
	}
	cport_loop_free(loop);
	return ex_finish("reactor");
}
