// SPDX-License-Identifier: MIT
/*
 * Example 5: async/await style, a stackless coroutine per connection.
 *
 * Each connection's protocol handler reads like blocking code:
 *
 *	read the request;  wait the time it asks for;  write the reply;
 *
 * but every step is an operation on the port, and the handler returns to
 * the loop while it is in flight. What the handler keeps across steps lives
 * in its struct conn, not on a stack: the position is an explicit state,
 * and the CO_* macros below turn "submit, then resume here with the result"
 * into one line, the way a compiler lowers await. Written out, the handler
 * is one switch (c->state) whose cases are the code after each await.
 *
 * A child process is the client: three connections (socketpairs), one
 * request each, then it reads the three replies. The server is one thread:
 * the three handlers are suspended at once, and each is resumed by the
 * completion it waits for, in whatever order they come.
 *
 * Copyright (C) 2026 The cport authors
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cport.h>

#include "common.h"

#define NR_CONNS	3
#define WAIT_S		5ULL	/* longest wait for a CQE, in seconds */

/* What client i asks for: a reply after this many ms. */
static const int think_ms[NR_CONNS] = { 200, 50, 120 };

enum conn_state {
	ST_START,	/* not started */
	ST_READ,	/* awaiting the request's READ */
	ST_THINK,	/* awaiting the timer */
	ST_WRITE,	/* awaiting the reply's WRITE */
	ST_DONE,	/* finished, successfully or not */
};

static const char *const state_name[] = {
	"START", "READ", "THINK", "WRITE", "DONE",
};

struct conn {
	enum conn_state state;
	int id;
	int fd;			/* server end of the socketpair */
	int32_t res;		/* result of the op awaited last */
	char req[32];
	char reply[64];
	int ms;			/* what the request asked for */
	char trace[8];		/* states resumed in, as letters */
	int ok;
};

/*
 * The coroutine macros. CO_AWAIT(c, st) records where to resume and
 * returns to the loop; the loop calls the handler again with c->res set,
 * and the switch jumps straight to "case st:", just past the await.
 */
#define CO_BEGIN(c)		switch ((c)->state) { case ST_START:
#define CO_AWAIT(c, st)							\
	do {								\
		(c)->state = (st);					\
		ex_say("co", "conn %d: await %s", (c)->id, #st + 3);	\
		return;							\
	case st:							\
		ex_say("co", "conn %d: resumed in %s, res=%d", (c)->id,	\
		       #st + 3, (c)->res);				\
		(c)->trace[strlen((c)->trace)] = #st[3];		\
	} while (0)
#define CO_END(c)		(c)->state = ST_DONE; case ST_DONE:; }

static struct cport port;
static int suspended, max_suspended;

/* The protocol handler: runs until its next await, or to its end. */
static void conn_run(struct conn *c)
{
	struct cport_sqe *sqe;

	CO_BEGIN(c);

	sqe = ex_get_sqe(&port);
	cport_prep_read(sqe, c->fd, c->req, sizeof(c->req) - 1,
			CPORT_POS_CURRENT);
	cport_sqe_set_data(sqe, c);
	CO_AWAIT(c, ST_READ);
	if (c->res <= 0 || sscanf(c->req, "wait %d", &c->ms) != 1) {
		printf("FAIL: conn %d: bad request (res %d)\n", c->id, c->res);
		goto out;
	}
	c->req[c->res] = '\0';
	ex_say("co", "conn %d: request \"%s\"", c->id, c->req);

	sqe = ex_get_sqe(&port);
	cport_prep_timeout(sqe, c->ms * 1000000ULL, 0);
	cport_sqe_set_data(sqe, c);
	CO_AWAIT(c, ST_THINK);
	if (c->res != 1) {
		printf("FAIL: conn %d: timer res %d\n", c->id, c->res);
		goto out;
	}

	snprintf(c->reply, sizeof(c->reply), "conn %d waited %d ms", c->id,
		 c->ms);
	sqe = ex_get_sqe(&port);
	cport_prep_write(sqe, c->fd, c->reply, strlen(c->reply),
			 CPORT_POS_CURRENT);
	cport_sqe_set_data(sqe, c);
	CO_AWAIT(c, ST_WRITE);
	if (c->res != (int32_t)strlen(c->reply)) {
		printf("FAIL: conn %d: write res %d\n", c->id, c->res);
		goto out;
	}
	c->ok = 1;
out:
	ex_say("co", "conn %d: handler ends (%s)", c->id,
	       c->ok ? "reply sent" : "failed");
	CO_END(c);
}

/* The client: one request per connection, then the replies. */
static int client_fds[NR_CONNS];

static int client(int unused)
{
	char buf[64], want[64];
	int i, bad = 0;
	ssize_t n;

	(void)unused;
	for (i = 0; i < NR_CONNS; i++) {
		int len = snprintf(buf, sizeof(buf), "wait %d", think_ms[i]);

		ex_say("client", "conn %d: send \"%s\"", i, buf);
		if (write(client_fds[i], buf, len) != len)
			return 1;
	}
	for (i = 0; i < NR_CONNS; i++) {
		n = read(client_fds[i], buf, sizeof(buf) - 1);
		if (n < 0)
			return 1;
		buf[n] = '\0';
		snprintf(want, sizeof(want), "conn %d waited %d ms", i,
			 think_ms[i]);
		ex_say("client", "conn %d: reply \"%s\"", i, buf);
		bad += strcmp(buf, want) != 0;
	}
	return bad ? 1 : 0;
}

int main(void)
{
	struct conn conns[NR_CONNS];
	int i, sv[2], status, ret, running = NR_CONNS;
	struct cport_cqe *cqe;
	pid_t pid;

	ex_start();
	memset(conns, 0, sizeof(conns));
	for (i = 0; i < NR_CONNS; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			perror("socketpair");
			return 1;
		}
		/*
		 * Non-blocking, as a server's sockets are: the port's READ
		 * then tries it at once and, if nothing is there, waits for
		 * readiness. A blocking socket is refused (EOPNOTSUPP) on
		 * kernels whose unix sockets cannot be tried without
		 * blocking otherwise.
		 */
		fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
		conns[i].id = i;
		conns[i].fd = sv[0];
		client_fds[i] = sv[1];
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		for (i = 0; i < NR_CONNS; i++)
			close(conns[i].fd);
		_exit(client(0));
	}
	for (i = 0; i < NR_CONNS; i++)
		close(client_fds[i]);

	if (ex_port_init(16, &port)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	/* Start every handler: each runs to its first await. */
	for (i = 0; i < NR_CONNS; i++) {
		conn_run(&conns[i]);
		suspended++;
	}
	max_suspended = suspended;

	while (running) {
		struct conn *c;

		/* Submit what the handlers queued, wait for one completion. */
		ret = cport_submit_and_wait_timeout(&port, 1,
						    WAIT_S * 1000000000ULL);
		if (ret < 0 && ret != -ETIME) {
			EX_CHECK(0, "cport_submit_and_wait_timeout: %s",
				 strerror(-ret));
			break;
		}
		ret = cport_peek_cqe(&port, &cqe);
		if (ret) {
			EX_CHECK(0, "no completion within %llu s", WAIT_S);
			break;
		}
		c = cport_cqe_get_data(cqe);
		c->res = cqe->res;
		cport_cqe_seen(&port, cqe);
		conn_run(c);
		if (c->state == ST_DONE) {
			running--;
			suspended--;
		}
	}

	for (i = 0; i < NR_CONNS; i++) {
		EX_CHECK(conns[i].ok && !strcmp(conns[i].trace, "RTW"),
			 "conn %d: ok %d, resumed in \"%s\", want \"RTW\"",
			 i, conns[i].ok, conns[i].trace);
		EX_CHECK(conns[i].state == ST_DONE, "conn %d ends in %s", i,
			 state_name[conns[i].state]);
	}
	EX_CHECK(max_suspended == NR_CONNS, "%d handlers suspended at once",
		 max_suspended);
	/* A client still waiting for a reply that never came gets EOF. */
	for (i = 0; i < NR_CONNS; i++)
		close(conns[i].fd);
	waitpid(pid, &status, 0);
	EX_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "client status %#x (a wrong reply?)", status);
	ex_say("main", "one thread ran %d handlers, all suspended at once; each "
	       "went READ -> THINK -> WRITE", NR_CONNS);
	cport_queue_exit(&port);
	return ex_finish("async-await");
}
