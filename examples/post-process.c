// SPDX-License-Identifier: MIT
/*
 * Example 9: a completion posted by another process.
 *
 * The child is forked *before* the port exists, so it does not inherit it.
 * The parent opens a port and passes its fd over a unix socket (SCM_RIGHTS):
 * holding an fd to a port is what allows posting to it. The child then posts
 * completions two ways:
 *
 *   - cport_post_fd(): the CPORT_IOC_POST ioctl on the received fd
 *     (Windows' PostQueuedCompletionStatus);
 *   - a CPORT_OP_POST SQE on a port of its own, aimed at the received fd;
 *     the child gets the POST op's own result on its port.
 *
 * The parent takes them with cport_get_queued_completions(), IOCP's
 * GetQueuedCompletionStatusEx, which may return several at once.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cport.h>

#include "common.h"
#include "fd_pass.h"

#define NR_IOCTL_POSTS	3
#define GAP_MS		80
#define UD_BASE		0xc0de0000ULL
#define UD_VIA_OP	(UD_BASE + 100)
#define UD_CHILD_SQE	0x5e

/* The child: exit status 0 when every post was accepted. */
static int child(int sock)
{
	struct cport_cqe *cqe;
	struct cport_sqe *sqe;
	struct cport own;
	int fd, i, ret;

	ex_say("child", "pid %d, waiting for a port fd on the unix socket",
	       getpid());
	fd = recv_fd(sock);
	if (fd < 0) {
		ex_say("child", "recv_fd failed");
		return 1;
	}
	ex_say("child", "received fd %d over SCM_RIGHTS", fd);

	for (i = 1; i <= NR_IOCTL_POSTS; i++) {
		usleep(GAP_MS * 1000);
		ex_say("child", "cport_post_fd(fd %d, res %d, user_data %#llx)",
		       fd, i * 10, (unsigned long long)(UD_BASE + i));
		ret = cport_post_fd(fd, i * 10, UD_BASE + i);
		if (ret) {
			ex_say("child", "cport_post_fd failed: %s",
			       strerror(-ret));
			return 1;
		}
	}

	ret = cport_queue_init(4, &own, 0);
	if (ret < 0) {
		ex_say("child", "own port: %s", strerror(-ret));
		return 1;
	}
	usleep(GAP_MS * 1000);
	sqe = ex_get_sqe(&own);
	cport_prep_post(sqe, fd, 99, UD_VIA_OP);
	cport_sqe_set_data64(sqe, UD_CHILD_SQE);
	ex_say("child", "CPORT_OP_POST SQE on its own port (fd %d) aimed at fd %d, "
	       "res 99, user_data %#llx", own.ring_fd, fd,
	       (unsigned long long)UD_VIA_OP);
	ret = cport_submit_and_wait(&own, 1);
	if (ret != 1) {
		ex_say("child", "cport_submit_and_wait: %d", ret);
		return 1;
	}
	ret = cport_wait_cqe(&own, &cqe);
	if (ret < 0)
		return 1;
	ex_say("child", "its own port got the POST op's CQE: user_data %#llx res %d",
	       (unsigned long long)cqe->user_data, cqe->res);
	ret = cqe->user_data == UD_CHILD_SQE && cqe->res == 0 ? 0 : 1;
	cport_cqe_seen(&own, cqe);
	cport_queue_exit(&own);
	close(fd);
	ex_say("child", "done, exiting");
	return ret;
}

int main(void)
{
	struct cport_cqe got[8];
	int sv[2], status, n = 0, calls = 0, i, ret;
	struct cport port;
	pid_t pid;

	ex_start();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("socketpair");
		return 1;
	}
	/* Fork first: the child must not inherit the port. */
	pid = ex_fork_child(sv, child);
	if (pid < 0)
		return 1;

	if (ex_port_init(16, &port)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	ex_say("parent", "port open as fd %d; child %d does not have it", port.ring_fd,
	       pid);
	ret = send_fd(sv[0], port.ring_fd);
	ex_say("parent", "sent the port fd over the unix socket (SCM_RIGHTS): %s",
	       ret ? strerror(errno) : "ok");
	EX_CHECK(!ret, "send_fd failed");

	while (n < NR_IOCTL_POSTS + 1 && calls < 20) {
		ex_say("parent", "cport_get_queued_completions(max %zu, 5 s) ...",
		       sizeof(got) / sizeof(got[0]) - n);
		ret = cport_get_queued_completions(&port, got + n,
						   sizeof(got) / sizeof(got[0]) - n,
						   5000000000LL);
		calls++;
		if (ret < 0) {
			EX_CHECK(ret > 0, "cport_get_queued_completions: %s",
				 strerror(-ret));
			break;
		}
		ex_say("parent", "... returned %d completion%s", ret,
		       ret == 1 ? "" : "s");
		for (i = n; i < n + ret; i++)
			ex_say("parent", "  user_data %#llx res %d flags %#x",
			       (unsigned long long)got[i].user_data,
			       got[i].res, got[i].flags);
		n += ret;
	}

	EX_CHECK(n == NR_IOCTL_POSTS + 1, "got %d completions, want %d", n,
		 NR_IOCTL_POSTS + 1);
	for (i = 0; i < n && i < NR_IOCTL_POSTS; i++)
		EX_CHECK(got[i].user_data == UD_BASE + i + 1 &&
			 got[i].res == (i + 1) * 10,
			 "post %d: user_data %#llx res %d", i + 1,
			 (unsigned long long)got[i].user_data, got[i].res);
	if (n == NR_IOCTL_POSTS + 1)
		EX_CHECK(got[n - 1].user_data == UD_VIA_OP &&
			 got[n - 1].res == 99, "POST op: user_data %#llx res %d",
			 (unsigned long long)got[n - 1].user_data,
			 got[n - 1].res);

	/* Closing our end first: a child still waiting for the fd gets EOF. */
	close(sv[0]);
	waitpid(pid, &status, 0);
	EX_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "child status %#x", status);
	ex_say("parent", "child exited with %d; %d completions from another "
	       "process in %d calls", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       n, calls);
	cport_queue_exit(&port);
	return ex_finish("post-process");
}
