/* A tiny misbehaving HTTP/1.1 server on 127.0.0.1 for the S3 store tests: one thread
 * per connection, keep-alive, a handler per test that may answer, stall, truncate or
 * reset. Real sockets, so the store is exercised through real libcurl. */
#ifndef LM_TEST_FAKES3_H
#define LM_TEST_FAKES3_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct fakes3_req {
	char method[16];
	char path[4096];        /* raw (still encoded) path, without the query */
	char query[8192];       /* raw query string after '?', "" if none */
	char range[128];
	char if_match[256];
	char authz[2048];
	char host[256];
	char content_sha[128];
	char token[1024];
	char *body;             /* request body (PUT), malloc'd, NUL-terminated */
	size_t body_len;
	int conn_no;            /* which connection (1-based, in accept order) */
	int req_no;             /* which request on the server (1-based) */
};

struct fakes3;
/* Answer one request on fd. Set *close_conn to drop the connection afterwards. */
typedef void (*fakes3_handler)(struct fakes3 *s, int fd, const struct fakes3_req *r,
			       bool *close_conn);

#define FAKES3_MAX_CONNS 512

struct fakes3 {
	int lfd;
	int port;
	char url[64];           /* "http://127.0.0.1:PORT" */
	fakes3_handler handler;
	void *ud;
	pthread_t acceptor;
	atomic_bool stop;
	atomic_int nreq;
	atomic_int nconn;
	pthread_mutex_t mu;     /* for handlers' own state */
	pthread_mutex_t fdmu;   /* guards fds[] */
	pthread_t threads[FAKES3_MAX_CONNS];
	bool started[FAKES3_MAX_CONNS];
	int fds[FAKES3_MAX_CONNS];
};

int fakes3_start(struct fakes3 *s, fakes3_handler h, void *ud);
void fakes3_stop(struct fakes3 *s);

/* Write helpers for handlers; they ignore EPIPE (the client may be gone). */
void fakes3_write(int fd, const void *p, size_t n);
void fakes3_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Arrange for the connection to end with an RST (SO_LINGER 0); the handler must also
 * set *close_conn. */
void fakes3_reset(int fd);
/* Find name=value in a raw query string; value copied raw (still encoded). */
bool fakes3_query_get(const char *query, const char *name, char *out, size_t outsz);

#endif
