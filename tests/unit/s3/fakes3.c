/* fakes3.c — see fakes3.h. Test-only code: plain sockets and threads. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fakes3.h"

struct conn {
	struct fakes3 *s;
	int fd;
	int no;
};

void fakes3_write(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

void fakes3_printf(int fd, const char *fmt, ...)
{
	char buf[16384];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		fakes3_write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void fakes3_reset(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

bool fakes3_query_get(const char *q, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);

		if (len > nl && !strncmp(q, name, nl) && q[nl] == '=') {
			size_t vl = len - nl - 1;

			if (vl >= outsz)
				vl = outsz - 1;
			memcpy(out, q + nl + 1, vl);
			out[vl] = '\0';
			return true;
		}
		if (len == nl && !strncmp(q, name, nl)) {
			out[0] = '\0';
			return true;
		}
		q = amp ? amp + 1 : NULL;
	}
	return false;
}

static void copy_hdr(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* Read one request; 0 ok, -1 closed/error. buf keeps leftover bytes between calls. */
static int read_req(int fd, char *buf, size_t cap, size_t *have, struct fakes3_req *r)
{
	char *end;
	size_t hlen, clen = 0;
	char *line, *next;

	memset(r, 0, sizeof(*r));
	for (;;) {
		buf[*have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (*have + 1 >= cap)
			return -1;
		{
			ssize_t n = recv(fd, buf + *have, cap - 1 - *have, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			*have += (size_t)n;
		}
	}
	hlen = (size_t)(end - buf) + 4;
	*end = '\0';
	line = buf;
	next = strstr(line, "\r\n");
	if (next)
		*next = '\0';
	{
		char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL, *qm;

		if (!sp1 || !sp2)
			return -1;
		copy_hdr(r->method, sizeof(r->method), line, (size_t)(sp1 - line));
		*sp2 = '\0';
		qm = strchr(sp1 + 1, '?');
		if (qm) {
			copy_hdr(r->path, sizeof(r->path), sp1 + 1, (size_t)(qm - sp1 - 1));
			copy_hdr(r->query, sizeof(r->query), qm + 1, strlen(qm + 1));
		} else {
			copy_hdr(r->path, sizeof(r->path), sp1 + 1, strlen(sp1 + 1));
		}
	}
	while (next) {
		char *colon, *v;

		line = next + 2;
		next = strstr(line, "\r\n");
		if (next)
			*next = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ')
			v++;
		if (!strcasecmp(line, "range"))
			copy_hdr(r->range, sizeof(r->range), v, strlen(v));
		else if (!strcasecmp(line, "if-match"))
			copy_hdr(r->if_match, sizeof(r->if_match), v, strlen(v));
		else if (!strcasecmp(line, "authorization"))
			copy_hdr(r->authz, sizeof(r->authz), v, strlen(v));
		else if (!strcasecmp(line, "host"))
			copy_hdr(r->host, sizeof(r->host), v, strlen(v));
		else if (!strcasecmp(line, "x-amz-content-sha256"))
			copy_hdr(r->content_sha, sizeof(r->content_sha), v, strlen(v));
		else if (!strcasecmp(line, "x-amz-security-token"))
			copy_hdr(r->token, sizeof(r->token), v, strlen(v));
		else if (!strcasecmp(line, "content-length"))
			clen = (size_t)strtoull(v, NULL, 10);
	}
	/* Body (PUT). */
	if (clen > (1u << 20))
		return -1;
	r->body = calloc(1, clen + 1);
	if (!r->body)
		return -1;
	{
		size_t extra = *have - hlen, take = extra < clen ? extra : clen;

		memcpy(r->body, buf + hlen, take);
		r->body_len = take;
		memmove(buf, buf + hlen + take, *have - hlen - take);
		*have -= hlen + take;
	}
	while (r->body_len < clen) {
		ssize_t n = recv(fd, r->body + r->body_len, clen - r->body_len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(r->body);
			r->body = NULL;
			return -1;
		}
		r->body_len += (size_t)n;
	}
	return 0;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct fakes3 *s = c->s;
	size_t cap = 1 << 16, have = 0;
	char *buf = malloc(cap);

	while (buf && !atomic_load(&s->stop)) {
		struct fakes3_req r;
		bool close_conn = false;

		if (read_req(c->fd, buf, cap, &have, &r) != 0)
			break;
		r.conn_no = c->no;
		r.req_no = atomic_fetch_add(&s->nreq, 1) + 1;
		s->handler(s, c->fd, &r, &close_conn);
		free(r.body);
		if (close_conn)
			break;
	}
	free(buf);
	pthread_mutex_lock(&s->fdmu);
	close(c->fd);
	s->fds[c->no - 1] = -1;
	pthread_mutex_unlock(&s->fdmu);
	free(c);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct fakes3 *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		struct conn *c;
		int fd, no, one = 1;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		no = atomic_fetch_add(&s->nconn, 1);
		if (no >= FAKES3_MAX_CONNS) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = malloc(sizeof(*c));
		c->s = s;
		c->fd = fd;
		c->no = no + 1;
		pthread_mutex_lock(&s->fdmu);
		s->fds[no] = fd;
		pthread_mutex_unlock(&s->fdmu);
		if (pthread_create(&s->threads[no], NULL, conn_main, c) != 0) {
			close(fd);
			s->fds[no] = -1;
			free(c);
		} else {
			s->started[no] = true;
		}
	}
	return NULL;
}

int fakes3_start(struct fakes3 *s, fakes3_handler h, void *ud)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < FAKES3_MAX_CONNS; i++)
		s->fds[i] = -1;
	s->handler = h;
	s->ud = ud;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->fdmu, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -1;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 128) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0) {
		close(s->lfd);
		return -1;
	}
	s->port = ntohs(a.sin_port);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	return pthread_create(&s->acceptor, NULL, accept_main, s) == 0 ? 0 : -1;
}

void fakes3_stop(struct fakes3 *s)
{
	int n;

	atomic_store(&s->stop, true);
	pthread_join(s->acceptor, NULL);
	n = atomic_load(&s->nconn);
	if (n > FAKES3_MAX_CONNS)
		n = FAKES3_MAX_CONNS;
	pthread_mutex_lock(&s->fdmu);
	for (int i = 0; i < n; i++)
		if (s->fds[i] >= 0)
			shutdown(s->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&s->fdmu);
	for (int i = 0; i < n; i++)
		if (s->started[i])
			pthread_join(s->threads[i], NULL);
	close(s->lfd);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->fdmu);
}
