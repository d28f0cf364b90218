// SPDX-License-Identifier: MIT
/*
 * Example 3: a select() loop over several descriptors.
 *
 * Three children each write a few lines into a pipe of their own, each at
 * its own pace, then exit. One thread serves them all: select() sleeps
 * until at least one of the pipes is readable and says which ones, the
 * loop reads those (a read() that select() announced does not block), and
 * a pipe at end of file leaves the set. The loop is the classic server
 * shape; its cost is that each call hands the kernel the whole set again.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <sys/select.h>
#include <sys/wait.h>

#include "common.h"

#define NR_CHILDREN	3
#define NR_LINES	3
#define MAX_CALLS	200

struct source {
	int fd;		/* read end, -1 once at end of file */
	pid_t pid;
	char buf[256];	/* bytes received, not yet a whole line */
	size_t len;
	int lines;	/* whole lines received */
	int bad;	/* lines that were not the expected ones */
};

static struct source src[NR_CHILDREN];
static int child_index;

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
static void take_lines(struct source *s, int idx)
{
	char *nl, want[64];

	while ((nl = memchr(s->buf, '\n', s->len))) {
		*nl = '\0';
		snprintf(want, sizeof(want), "child %d line %d", idx, s->lines);
		ex_say("loop", "  fd %d: \"%s\"", s->fd, s->buf);
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

/* Read what select() said is there. */
static void serve(struct source *s, int idx)
{
	ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);

	if (n < 0) {
		if (errno == EINTR)
			return;
		perror("read");
		s->bad++;
		n = 0;
	}
	if (n == 0) {
		ex_say("loop", "  fd %d: end of file, child %d is done; the fd "
		       "leaves the set", s->fd, idx);
		EX_CHECK(s->len == 0, "fd %d: %zu bytes without a newline",
			 s->fd, s->len);
		close(s->fd);
		s->fd = -1;
		return;
	}
	s->len += n;
	take_lines(s, idx);
}

int main(void)
{
	int i, open_fds = NR_CHILDREN, calls = 0, idle = 0, multi = 0, status;
	char ready_list[64];

	ex_start();
	for (i = 0; i < NR_CHILDREN; i++) {
		int p[2];

		if (pipe(p)) {
			perror("pipe");
			return 1;
		}
		child_index = i;
		src[i].pid = ex_fork_child(p, child);
		if (src[i].pid < 0)
			return 1;
		src[i].fd = p[0];
		ex_say("parent", "child %d (pid %d) writes into fd %d, a line "
		       "every %d ms", i, src[i].pid, p[0], (i + 1) * 40);
	}

	while (open_fds && calls < MAX_CALLS) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100 * 1000 };
		int maxfd = -1, r, nready = 0;
		size_t off = 0;
		fd_set rfds;

		/* select() forgets: the set is built again for every call. */
		FD_ZERO(&rfds);
		for (i = 0; i < NR_CHILDREN; i++) {
			if (src[i].fd < 0)
				continue;
			FD_SET(src[i].fd, &rfds);
			if (src[i].fd > maxfd)
				maxfd = src[i].fd;
		}
		r = select(maxfd + 1, &rfds, NULL, NULL, &tv);
		calls++;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("select");
			return 1;
		}
		if (r == 0) {
			idle++;
			ex_say("loop", "select() timed out: nothing ready");
			continue;
		}
		ready_list[0] = '\0';
		for (i = 0; i < NR_CHILDREN; i++)
			if (src[i].fd >= 0 && FD_ISSET(src[i].fd, &rfds)) {
				off += snprintf(ready_list + off,
						sizeof(ready_list) - off, " %d",
						src[i].fd);
				nready++;
			}
		EX_CHECK(nready == r, "select() said %d, %d fds in the set", r,
			 nready);
		if (nready > 1)
			multi++;
		ex_say("loop", "select() -> %d ready of %d watched: fd%s", r,
		       open_fds, ready_list);
		for (i = 0; i < NR_CHILDREN; i++)
			if (src[i].fd >= 0 && FD_ISSET(src[i].fd, &rfds)) {
				serve(&src[i], i);
				if (src[i].fd < 0)
					open_fds--;
			}
	}

	EX_CHECK(!open_fds, "%d pipes still open after %d calls", open_fds,
		 calls);
	for (i = 0; i < NR_CHILDREN; i++) {
		EX_CHECK(src[i].lines == NR_LINES && !src[i].bad,
			 "child %d: %d lines, %d bad", i, src[i].lines,
			 src[i].bad);
		waitpid(src[i].pid, &status, 0);
		EX_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "child %d status %#x", i, status);
	}
	ex_say("parent", "one thread served %d pipes: %d lines in %d select() "
	       "calls (%d with several fds ready, %d timeouts)", NR_CHILDREN,
	       NR_CHILDREN * NR_LINES, calls, multi, idle);
	return ex_finish("select-loop");
}
