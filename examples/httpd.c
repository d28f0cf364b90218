// SPDX-License-Identifier: MIT
/*
 * httpd: a small static-file HTTP/1.1 server on cport.
 *
 * GET and HEAD of the files under a root directory; keep-alive (HTTP/1.1
 * by default, HTTP/1.0 with "Connection: keep-alive"), Content-Length,
 * 404 for what is not a regular file there, 400/405/501 for the rest.
 * Pipelined requests are served in order.
 *
 * N worker threads, one cport_loop each (a port per thread, no lock
 * shared between them). Every thread has its own multishot
 * CPORT_OP_ACCEPT on the one listening socket; each connection stays on
 * the thread that accepted it. Per connection one op (or one READ -> SEND
 * chain) is in flight at a time, all completions, no readiness:
 *
 *   RECV the request into the connection's buffer; then for a GET
 *   READ the file, at the offset, into the buffer behind the header,
 *   linked to the SEND of header and bytes (one submission, the SEND
 *   starts when the READ is done); READ -> SEND on until the file is
 *   sent; then the next request (already in the buffer, or RECV again).
 *
 * The file's bytes go through the connection's own buffer: a READ
 * (CPORT_OP_READ, at an explicit offset) into it, then a SEND from it.
 *
 * Usage:
 *   httpd [-p PORT] [-w THREADS] [-r ROOT] [-q]   serve until killed
 *   httpd -d                                      demo: serve a file from
 *                     a temporary root and fetch it with a small client in
 *                     this process (keep-alive, HEAD, 404), comparing
 *                     checksums (make demo)
 *
 * Copyright (C) 2026 The cport authors
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include "common.h"
#include "net.h"

#define HTTP_BUF	(64 * 1024)	/* per connection: request, then data */
#define HTTP_REQ_MAX	8192		/* longest request head */
#define LOOP_ENTRIES	512

struct httpd;

struct http_conn {
	struct httpd *h;
	struct cport_loop *loop;
	int fd;
	char req[HTTP_REQ_MAX];		/* request bytes not yet handled */
	unsigned int req_len;
	int keep_alive;
	/* the response in progress */
	int file;			/* -1: none */
	uint64_t file_off, file_size;
	unsigned int read_want;		/* bytes the READ in flight reads */
	int broken;			/* a READ was short: close after */
	unsigned int out_len, out_off;	/* bytes in out[], bytes sent */
	char out[HTTP_BUF];
};

struct httpd {
	int lfd;
	int root;		/* directory descriptor */
	int quiet;
	unsigned int nthreads;
	unsigned long requests;	/* atomic */
	unsigned long errors;	/* atomic */
};

static void conn_recv(struct http_conn *c);
static void conn_next_request(struct http_conn *c);
static void conn_sent(struct cport_loop *loop, const struct cport_cqe *cqe,
		      void *arg);

static void http_err(struct httpd *h, const char *what, int err)
{
	__atomic_add_fetch(&h->errors, 1, __ATOMIC_RELAXED);
	if (!h->quiet)
		fprintf(stderr, "httpd: %s: %s\n", what, strerror(-err));
}

static struct cport_sqe *conn_sqe(struct http_conn *c, cport_loop_cqe_fn cb)
{
	struct cport_sqe *sqe = cport_loop_get_sqe(c->loop, cb, c);

	if (!sqe) {
		/* Sized so that it cannot happen: one op per connection. */
		fprintf(stderr, "httpd: no SQE\n");
		abort();
	}
	return sqe;
}

static void conn_free(struct http_conn *c)
{
	if (c->file >= 0)
		close(c->file);
	/* The CLOSE's CQE needs nothing of c. */
	cport_prep_close(conn_sqe(c, NULL), c->fd);
	free(c);
}

static void conn_send(struct http_conn *c)
{
	cport_prep_send(conn_sqe(c, conn_sent), c->fd, c->out + c->out_off,
			c->out_len - c->out_off, 0);
}

/*
 * The READ of a READ -> SEND chain. The SEND (conn_sent) ends the chain's
 * work: if the READ failed, the SEND completes with -ECANCELED and frees
 * the connection; if it was short (the file shrank), the SEND sent stale
 * bytes: the connection is closed after it.
 */
static void conn_read_done(struct cport_loop *loop,
			   const struct cport_cqe *cqe, void *arg)
{
	struct http_conn *c = arg;

	(void)loop;
	if (cqe->res < 0) {
		http_err(c->h, "READ", cqe->res);
		return;
	}
	if ((unsigned int)cqe->res != c->read_want) {
		http_err(c->h, "READ: the file is shorter than it was", -EIO);
		c->broken = 1;
	}
	c->file_off += c->read_want;
	c->out_len += c->read_want;
}

/*
 * Read the next piece of the file behind what out[] holds, and send
 * out[] with it: a READ linked to a SEND (CPORT_SQE_F_LINK), so the SEND
 * starts as soon as the READ is done, without a trip through this thread.
 * The size is known from fstat(): a short READ is an error.
 */
static void conn_read_file(struct http_conn *c)
{
	uint64_t left = c->file_size - c->file_off;
	unsigned int room = sizeof(c->out) - c->out_len;
	struct cport_sqe *sqe;

	c->read_want = left < room ? left : room;
	sqe = conn_sqe(c, conn_read_done);
	cport_prep_read(sqe, c->file, c->out + c->out_len, c->read_want,
			c->file_off);
	sqe->flags |= CPORT_SQE_F_LINK;
	cport_prep_send(conn_sqe(c, conn_sent), c->fd, c->out + c->out_off,
			c->out_len + c->read_want - c->out_off, 0);
}

static void conn_sent(struct cport_loop *loop, const struct cport_cqe *cqe,
		      void *arg)
{
	struct http_conn *c = arg;

	(void)loop;
	if (cqe->res <= 0 || c->broken) {
		if (cqe->res != -EPIPE && cqe->res != -ECONNRESET &&
		    cqe->res != -ECANCELED && !c->broken)
			http_err(c->h, "SEND", cqe->res ? cqe->res : -EIO);
		conn_free(c);
		return;
	}
	c->out_off += cqe->res;
	if (c->out_off < c->out_len) {
		conn_send(c);
		return;
	}
	c->out_off = c->out_len = 0;
	if (c->file >= 0 && c->file_off < c->file_size) {
		conn_read_file(c);
		return;
	}
	if (c->file >= 0) {
		close(c->file);
		c->file = -1;
	}
	if (!c->keep_alive) {
		conn_free(c);
		return;
	}
	conn_next_request(c);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	default:  return "Not Implemented";
	}
}

/* A response without a file: status line, headers, a short body. */
static void conn_respond_error(struct http_conn *c, int status, int head)
{
	char body[64];
	int blen;

	blen = snprintf(body, sizeof(body), "%d %s\n", status,
			status_text(status));
	c->out_len = snprintf(c->out, sizeof(c->out),
			      "HTTP/1.1 %d %s\r\nServer: cport-httpd\r\n"
			      "Content-Type: text/plain\r\n"
			      "Content-Length: %d\r\n%s\r\n%s", status,
			      status_text(status), blen,
			      c->keep_alive ? "" : "Connection: close\r\n",
			      head ? "" : body);
	c->out_off = 0;
	conn_send(c);
}

/* Does the header block @hdr (lines after the request line) say @want? */
static int has_header(const char *hdr, const char *name, const char *want)
{
	size_t nlen = strlen(name);
	const char *p = hdr;

	while (p && *p) {
		if (!strncasecmp(p, name, nlen) && p[nlen] == ':') {
			const char *v = p + nlen + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			if (!strncasecmp(v, want, strlen(want)))
				return 1;
		}
		p = strstr(p, "\r\n");
		if (p)
			p += 2;
	}
	return 0;
}

/* Handle the request head req[0..len) (NUL-terminated at the blank line). */
static void conn_handle(struct http_conn *c, char *req)
{
	char method[16], path[1024], version[16];
	const char *hdr = strstr(req, "\r\n");
	struct stat st;
	int head, fd;

	__atomic_add_fetch(&c->h->requests, 1, __ATOMIC_RELAXED);
	hdr = hdr ? hdr + 2 : "";
	if (sscanf(req, "%15s %1023s %15s", method, path, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		c->keep_alive = 0;
		conn_respond_error(c, 400, 0);
		return;
	}
	if (!strcmp(version, "HTTP/1.0"))
		c->keep_alive = has_header(hdr, "Connection", "keep-alive");
	else
		c->keep_alive = !has_header(hdr, "Connection", "close");
	head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		conn_respond_error(c, 501, 0);
		return;
	}
	/* Only plain paths under the root: no "..", no query. */
	if (path[0] != '/' || strstr(path, "..")) {
		conn_respond_error(c, 400, head);
		return;
	}
	if (strchr(path, '?'))
		*strchr(path, '?') = 0;
	fd = openat(c->h->root, path[1] ? path + 1 : "index.html",
		    O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		conn_respond_error(c, 404, head);
		return;
	}
	c->out_len = snprintf(c->out, sizeof(c->out),
			      "HTTP/1.1 200 OK\r\nServer: cport-httpd\r\n"
			      "Content-Type: application/octet-stream\r\n"
			      "Content-Length: %llu\r\n%s\r\n",
			      (unsigned long long)st.st_size,
			      c->keep_alive ? "" : "Connection: close\r\n");
	c->out_off = 0;
	if (head || !st.st_size) {
		close(fd);
		conn_send(c);
		return;
	}
	c->file = fd;
	c->file_off = 0;
	c->file_size = st.st_size;
	conn_read_file(c);
}

/* Serve the next complete request in req[], or RECV more. */
static void conn_next_request(struct http_conn *c)
{
	char *end;
	unsigned int used;

	c->req[c->req_len] = 0;
	end = strstr(c->req, "\r\n\r\n");
	if (!end) {
		if (c->req_len >= sizeof(c->req) - 1) {
			c->keep_alive = 0;
			c->req_len = 0;
			conn_respond_error(c, 400, 0);
			return;
		}
		conn_recv(c);
		return;
	}
	end[2] = 0;
	used = end + 4 - c->req;
	conn_handle(c, c->req);
	/* What follows belongs to the next (pipelined) request. */
	memmove(c->req, c->req + used, c->req_len - used);
	c->req_len -= used;
}

static void conn_received(struct cport_loop *loop,
			  const struct cport_cqe *cqe, void *arg)
{
	struct http_conn *c = arg;

	(void)loop;
	if (cqe->res <= 0) {
		/* 0: the client closed; it may do so between requests. */
		if (cqe->res < 0 && cqe->res != -ECONNRESET)
			http_err(c->h, "RECV", cqe->res);
		conn_free(c);
		return;
	}
	c->req_len += cqe->res;
	conn_next_request(c);
}

static void conn_recv(struct http_conn *c)
{
	cport_prep_recv(conn_sqe(c, conn_received), c->fd,
			c->req + c->req_len, sizeof(c->req) - 1 - c->req_len,
			0);
}

static void on_accept(struct cport_loop *loop, const struct cport_cqe *cqe,
		      void *arg);

static void arm_accept(struct cport_loop *loop, struct httpd *h)
{
	struct cport_sqe *sqe = cport_loop_get_sqe(loop, on_accept, h);

	if (sqe)
		cport_prep_multishot_accept(sqe, h->lfd, SOCK_CLOEXEC);
}

static void on_accept(struct cport_loop *loop, const struct cport_cqe *cqe,
		      void *arg)
{
	struct httpd *h = arg;
	struct http_conn *c;
	int one = 1;

	if (!(cqe->flags & CPORT_CQE_F_MORE)) {
		if (cqe->res != -ECANCELED) {
			if (cqe->res < 0)
				http_err(h, "ACCEPT ended", cqe->res);
			arm_accept(loop, h);
		}
	}
	if (cqe->res < 0)
		return;
	setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = malloc(sizeof(*c));
	if (!c) {
		close(cqe->res);
		return;
	}
	c->h = h;
	c->loop = loop;
	c->fd = cqe->res;
	c->req_len = 0;
	c->file = -1;
	c->keep_alive = 1;
	c->out_len = c->out_off = 0;
	c->broken = 0;
	conn_recv(c);
}

static void *worker(void *arg)
{
	struct httpd *h = arg;
	struct cport_loop *loop;
	int ret;

	ret = cport_loop_new(&loop, LOOP_ENTRIES, 0);
	if (ret < 0) {
		http_err(h, "cport_loop_new", ret);
		return NULL;
	}
	arm_accept(loop, h);
	ret = cport_loop_run(loop);
	if (ret < 0)
		http_err(h, "cport_loop_run", ret);
	cport_loop_free(loop);
	return NULL;
}

/* 0 with the threads started, or -errno; -EOPNOTSUPP: no socket ops. */
static int httpd_start(struct httpd *h)
{
	struct cport port;
	pthread_t t;
	unsigned int i;
	int ret;

	ret = cport_queue_init(4, &port, 0);
	if (ret < 0)
		return ret;
	ret = port.features & CPORT_FEAT_NET ? 0 : -EOPNOTSUPP;
	cport_queue_exit(&port);
	if (ret)
		return ret;
	net_nofile(65536);
	for (i = 0; i < h->nthreads; i++) {
		if (pthread_create(&t, NULL, worker, h))
			return -EAGAIN;
		pthread_detach(t);
	}
	return 0;
}

#ifndef HTTPD_NO_MAIN

#define DEMO_FILE_SIZE	(200 * 1024 + 123)

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t crc = ~0U;
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320U & -(crc & 1));
	}
	return ~crc;
}

/*
 * One response on @fd: status, Content-Length and the body (not for
 * HEAD) into @body (up to @max bytes). Returns the status, -1 on error.
 * Bytes read past the response (the next pipelined one) are kept for the
 * next call.
 */
static char demo_carry[4096];
static size_t demo_carry_len;

static int demo_response(int fd, int head, char *body, size_t max,
			 size_t *body_len)
{
	char hdr[4096], *end, *cl;
	size_t have = demo_carry_len, len, got, hlen;
	ssize_t n;
	int status;

	memcpy(hdr, demo_carry, have);
	demo_carry_len = 0;
	for (;;) {
		hdr[have] = 0;
		end = strstr(hdr, "\r\n\r\n");
		if (end)
			break;
		n = read(fd, hdr + have, sizeof(hdr) - 1 - have);
		if (n <= 0)
			return -1;
		have += n;
	}
	hlen = end + 4 - hdr;
	if (sscanf(hdr, "HTTP/1.1 %d", &status) != 1)
		return -1;
	cl = strcasestr(hdr, "Content-Length:");
	if (!cl)
		return -1;
	len = strtoul(cl + 15, NULL, 10);
	*body_len = len;
	if (head)
		len = 0;	/* no body, whatever Content-Length says */
	if (len > max)
		return -1;
	got = have - hlen;
	if (got > len) {
		/* The next response began in this read. */
		demo_carry_len = got - len;
		memcpy(demo_carry, hdr + hlen + len, demo_carry_len);
		got = len;
	}
	if (got)
		memcpy(body, hdr + hlen, got);
	while (got < len) {
		n = read(fd, body + got, len - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return status;
}

static int demo(struct httpd *h, const struct sockaddr_in *addr,
		const char *dir)
{
	static unsigned char file[DEMO_FILE_SIZE], body[DEMO_FILE_SIZE + 64];
	const char *reqs =
		"GET /file.bin HTTP/1.1\r\nHost: demo\r\n\r\n"
		"HEAD /file.bin HTTP/1.1\r\nHost: demo\r\n\r\n";
	char path[256];
	size_t i, blen;
	int fd, status, round;
	uint32_t want, got;

	for (i = 0; i < sizeof(file); i++)
		file[i] = (unsigned char)(i * 7 + (i >> 9));
	snprintf(path, sizeof(path), "%s/file.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, file, sizeof(file)) != sizeof(file))
		return 1;
	close(fd);
	want = crc32(file, sizeof(file));
	ex_say("main", "%s: %zu bytes, crc32 %08x", path, sizeof(file), want);

	fd = net_connect(addr);
	EX_CHECK(fd >= 0, "connect: %s", strerror(-fd));
	if (fd < 0)
		return 1;
	/* Two GETs on one connection (keep-alive), then HEAD and a 404. */
	for (round = 0; round < 2; round++) {
		if (write(fd, reqs, strstr(reqs, "HEAD") - reqs) < 0)
			return 1;
		memset(body, 0, sizeof(body));
		status = demo_response(fd, 0, (char *)body, sizeof(body),
				       &blen);
		got = crc32(body, blen);
		ex_say("client", "GET /file.bin -> %d, %zu bytes, crc32 %08x "
		       "(connection %s)", status, blen, got,
		       round ? "kept alive" : "new");
		EX_CHECK(status == 200 && blen == sizeof(file) && got == want,
			 "GET: status %d, %zu bytes, crc32 %08x", status, blen,
			 got);
	}
	/* Pipelined: HEAD and a missing file in one write. */
	const char *two = "HEAD /file.bin HTTP/1.1\r\nHost: demo\r\n\r\n"
			  "GET /missing HTTP/1.1\r\nHost: demo\r\n\r\n";
	if (write(fd, two, strlen(two)) < 0)
		return 1;
	status = demo_response(fd, 1, NULL, 0, &blen);
	ex_say("client", "HEAD /file.bin -> %d, Content-Length %zu", status,
	       blen);
	EX_CHECK(status == 200 && blen == sizeof(file), "HEAD: %d %zu",
		 status, blen);
	status = demo_response(fd, 0, (char *)body, sizeof(body), &blen);
	ex_say("client", "GET /missing -> %d (pipelined behind the HEAD)",
	       status);
	EX_CHECK(status == 404, "404 expected, got %d", status);
	close(fd);
	ex_say("main", "%lu requests served, %lu errors", h->requests,
	       h->errors);
	EX_CHECK(h->requests == 4, "%lu requests", h->requests);
	EX_CHECK(!h->errors, "%lu errors", h->errors);
	return 0;
}

int main(int argc, char **argv)
{
	static struct httpd h = { .nthreads = 2 };
	const char *root = ".";
	struct sockaddr_in addr;
	unsigned short port = 0;
	char dir[] = "/tmp/httpd-demo.XXXXXX";
	int c, demo_mode = 0, ret;

	while ((c = getopt(argc, argv, "p:w:r:qdh")) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'w':
			h.nthreads = atoi(optarg);
			break;
		case 'r':
			root = optarg;
			break;
		case 'q':
			h.quiet = 1;
			break;
		case 'd':
			demo_mode = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-p PORT] [-w THREADS] "
				"[-r ROOT] [-q] [-d]\n", argv[0]);
			return 2;
		}
	}
	if (!h.nthreads)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	ex_start();
	if (demo_mode) {
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		root = dir;
	}
	h.root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h.root < 0) {
		perror(root);
		return 1;
	}
	h.lfd = net_listen(port, 4096, &addr);
	if (h.lfd < 0) {
		printf("httpd: listen: %s\n", strerror(-h.lfd));
		return 1;
	}
	ret = httpd_start(&h);
	if (ret == -EOPNOTSUPP)
		return ex_skip("httpd", "the module has no CPORT_FEAT_NET "
			       "(socket ops)");
	if (ret == -ENOENT || ret == -ENODEV)
		return ex_skip("httpd", "%s: %s", CPORT_DEVICE_PATH,
			       strerror(-ret));
	if (ret < 0) {
		printf("httpd: %s\n", strerror(-ret));
		return 1;
	}
	ex_say("main", "%u threads, a cport_loop each, serving %s on "
	       "http://127.0.0.1:%u/", h.nthreads, root,
	       ntohs(addr.sin_port));
	if (!demo_mode) {
		for (;;)
			pause();
	}
	demo(&h, &addr, dir);
	/* The threads end with the process (exit closes their ports). */
	return ex_finish("httpd");
}
#endif /* HTTPD_NO_MAIN */
