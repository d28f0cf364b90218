/* SPDX-License-Identifier: MIT */
/*
 * Socket helpers shared by the network examples (echo-server, httpd) and
 * tools/bench/bench-net: a listening socket, a connect, a larger
 * descriptor limit. The socket ops themselves are libcport's
 * (cport_prep_multishot_accept(), cport_prep_recv_multishot(),
 * cport_setup_buf_ring(), ...).
 *
 * Copyright (C) 2026 The cport authors
 */
#ifndef CPORT_EXAMPLES_NET_H
#define CPORT_EXAMPLES_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cport.h>

/* A non-blocking TCP socket listening on 127.0.0.1:@port (0: any). */
static inline int net_listen(unsigned short port, int backlog,
			     struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr->sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) ||
	    getsockname(fd, (struct sockaddr *)addr, &len) ||
	    listen(fd, backlog)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A blocking TCP connection to @addr with TCP_NODELAY; -errno. */
static inline int net_connect(const struct sockaddr_in *addr)
{
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Raise the descriptor limit to @want (root may raise the hard one);
 * returns the limit in effect, at most 1 << 20.
 */
static inline unsigned int net_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (rl.rlim_max < want)
			rl.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			getrlimit(RLIMIT_NOFILE, &rl);
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur < (1 << 20) ? rl.rlim_cur : 1 << 20;
}

#endif /* CPORT_EXAMPLES_NET_H */
