/* SPDX-License-Identifier: MIT */
/*
 * bench_socketmap.c: a load generator for Postfix socketmap servers
 * (mtastsd, postfix-mta-sts-resolver's mta-sts-daemon, anything that
 * answers "NAME KEY" netstrings).
 *
 * USAGE
 *	bench_socketmap [options] TARGET
 *
 *	TARGET is [inet:]127.x.y.z:PORT, [inet:][::1]:PORT or unix:PATH.
 *	Only loopback addresses and Unix sockets are accepted: this tool
 *	never sends load to another machine. No name is resolved.
 *
 *	-c, --connections N  connections (default 1, max 20000)
 *	-p, --depth N	     requests in flight per connection (default 1:
 *			     send, wait for the reply, send the next;
 *			     max 1024)
 *	-d, --duration S     stop after S seconds (default 10, max 300)
 *	-n, --requests N     stop after N requests in all (default
 *			     10000000); whichever bound comes first wins
 *	-t, --threads N	     threads, each with its own event loop and an
 *			     equal share of the connections (default 1)
 *	-m, --map NAME	     socketmap name sent before each key (default
 *			     "postfix")
 *	-k, --key KEY	     a key to look up (repeatable)
 *	-f, --keys-file F    keys, one per line ('#' comments and blank
 *			     lines skipped); keys from -k and -f are used in
 *			     turn, in order, shared by all connections: with
 *			     -n equal to the number of keys every key is
 *			     asked exactly once
 *	-T, --timeout S	     a connection waiting longer than S seconds
 *			     for a reply counts a timeout and is closed
 *			     (default 10)
 *	-j, --json	     print one JSON object instead of the summary
 *	-h, --help
 *
 *	Example: bench_socketmap -c 20 -d 10 -k example.test 127.0.0.1:8461
 *
 * WHAT IT MEASURES
 *	All connections are opened (blocking connect, not timed) before
 *	the clock starts. Each request's send time is taken with
 *	CLOCK_MONOTONIC; its latency is the time until the event loop read
 *	its reply (replies come in request order). Latencies go into a
 *	log-linear histogram (64 sub-buckets per power of two, under 1.6%
 *	error), from which p50, p90, p99 and p99.9 are read. Throughput is
 *	replies received divided by the time from the start to the last
 *	reply (or to the deadline). Replies are counted by verb: OK,
 *	NOTFOUND, TEMP, TIMEOUT, PERM, and "malformed" for any other verb.
 *	A reply that is not a valid netstring (or above 100000 bytes) is
 *	counted as malformed and an error, and its connection is closed,
 *	as the stream cannot be resynchronised. A connection closed by the
 *	server also counts as an error; connections are not reopened. The
 *	process's own CPU time is reported too: on a small machine the
 *	load generator competes with the server for the same cores.
 *
 *	Exit status: 0 when every request sent got a well-formed reply,
 *	1 when there were errors, 2 on usage or set-up problems.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "mtasts/netstring.h"

#define CONNS_MAX 20000
#define DEPTH_MAX 1024
#define DURATION_MAX 300
#define THREADS_MAX 64
#define KEYS_MAX 2000000
#define KEY_LEN_MAX 1024
#define KEYS_FILE_MAX (64u << 20)

/* Histogram: values below 64 ns exact, then 64 sub-buckets per octave. */
#define SUB_BITS 6
#define SUB_COUNT (1u << SUB_BITS)
#define OCTAVES 40 /* up to 2^46 ns, about 19 hours */
#define HIST_BUCKETS ((OCTAVES + 1) * SUB_COUNT)

enum verb { V_OK, V_NOTFOUND, V_TEMP, V_TIMEOUT, V_PERM, V_MALFORMED, V_N };

static const char *const verb_names[V_N] = {"OK", "NOTFOUND", "TEMP",
    "TIMEOUT", "PERM", "malformed"};

struct stats {
	uint64_t hist[HIST_BUCKETS];
	uint64_t replies;
	uint64_t verbs[V_N];
	uint64_t lat_sum, lat_min, lat_max;
	uint64_t err_closed;   /* server closed a connection */
	uint64_t err_timeout;  /* no reply within --timeout */
	uint64_t err_framing;  /* reply not a valid netstring */
	uint64_t err_io;       /* socket error */
	uint64_t unanswered;   /* sent, no reply when the run ended */
};

struct request {
	char *buf;
	size_t len;
};

struct worker;

struct conn {
	struct worker *w;
	struct bufferevent *bev;
	uint64_t *sent_at; /* ring of depth send times */
	unsigned head, inflight;
	int open, queued;
};

struct worker {
	pthread_t tid;
	struct event_base *base;
	struct event *deadline;
	struct event *flush;   /* runs after the iteration's reads */
	struct conn *conns;
	struct conn **flushq; /* connections with replies to follow up */
	int nconns, nflush, live, stopped;
	uint64_t start_ns, end_ns;
	struct stats st;
};

struct target {
	int family;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char text[512];
};

/* Settings and shared state (read-only while the workers run, except
 * the request ticket). */
static struct {
	int conns, depth, duration, threads, json;
	uint64_t requests;
	double timeout;
	const char *map;
	struct request *reqs;
	size_t nreqs;
	struct target target;
	pthread_barrier_t barrier;
	atomic_uint_fast64_t ticket;
} g = {
	.conns = 1,
	.depth = 1,
	.duration = 10,
	.threads = 1,
	.requests = 10000000,
	.timeout = 10.0,
	.map = "postfix",
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench_socketmap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- histogram ------------------------------------------------------ */

static unsigned
bucket_of(uint64_t v)
{
	unsigned e;

	if (v < SUB_COUNT)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* e >= SUB_BITS */
	if (e - SUB_BITS + 1 > OCTAVES)
		return HIST_BUCKETS - 1;
	return (e - SUB_BITS + 1) * SUB_COUNT +
	    (unsigned)((v >> (e - SUB_BITS)) & (SUB_COUNT - 1));
}

/* Middle of bucket b's value range. */
static uint64_t
bucket_value(unsigned b)
{
	unsigned oct = b / SUB_COUNT, sub = b % SUB_COUNT, e;
	uint64_t lo, width;

	if (oct == 0)
		return b;
	e = oct + SUB_BITS - 1;
	width = (uint64_t)1 << (e - SUB_BITS);
	lo = ((uint64_t)1 << e) + (uint64_t)sub * width;
	return lo + width / 2;
}

static void
record(struct stats *st, uint64_t lat)
{
	st->hist[bucket_of(lat)]++;
	st->lat_sum += lat;
	if (st->replies == 0 || lat < st->lat_min)
		st->lat_min = lat;
	if (lat > st->lat_max)
		st->lat_max = lat;
	st->replies++;
}

static uint64_t
percentile(const struct stats *st, double q)
{
	uint64_t want, seen = 0;
	unsigned b;

	if (st->replies == 0)
		return 0;
	want = (uint64_t)(q * (double)st->replies);
	if (want == 0)
		want = 1;
	if (want > st->replies)
		want = st->replies;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += st->hist[b];
		if (seen >= want) {
			uint64_t v = bucket_value(b);

			if (v > st->lat_max)
				v = st->lat_max;
			if (v < st->lat_min)
				v = st->lat_min;
			return v;
		}
	}
	return st->lat_max;
}

static void
merge(struct stats *into, const struct stats *from)
{
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++)
		into->hist[i] += from->hist[i];
	for (i = 0; i < V_N; i++)
		into->verbs[i] += from->verbs[i];
	if (from->replies > 0 &&
	    (into->replies == 0 || from->lat_min < into->lat_min))
		into->lat_min = from->lat_min;
	if (from->lat_max > into->lat_max)
		into->lat_max = from->lat_max;
	into->replies += from->replies;
	into->lat_sum += from->lat_sum;
	into->err_closed += from->err_closed;
	into->err_timeout += from->err_timeout;
	into->err_framing += from->err_framing;
	into->err_io += from->err_io;
	into->unanswered += from->unanswered;
}

/* ---- the connections ------------------------------------------------ */

static enum verb
classify(const char *p, size_t n)
{
	const char *sp = memchr(p, ' ', n);
	size_t vl = sp ? (size_t)(sp - p) : n;
	int i;

	for (i = 0; i < V_MALFORMED; i++)
		if (strlen(verb_names[i]) == vl &&
		    memcmp(verb_names[i], p, vl) == 0)
			return (enum verb)i;
	return V_MALFORMED;
}

static void
conn_close(struct conn *c)
{
	struct worker *w = c->w;

	if (!c->open)
		return;
	w->st.unanswered += c->inflight;
	c->inflight = 0;
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->open = 0;
	if (--w->live == 0 && !w->stopped) {
		w->end_ns = now_ns();
		event_base_loopbreak(w->base);
	}
}

/* Write bytes, directly when nothing is queued; 0 or -1 (closed). */
static int
conn_send(struct conn *c, struct evbuffer *out, const char *p, size_t n)
{
	if (evbuffer_get_length(out) == 0) {
		ssize_t w = send(bufferevent_getfd(c->bev), p, n,
		    MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			c->w->st.err_io++;
			conn_close(c);
			return -1;
		}
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
	}
	if (n > 0 && evbuffer_add(out, p, n) != 0) {
		c->w->st.err_io++;
		conn_close(c);
		return -1;
	}
	return 0;
}

/*
 * Send up to depth - inflight requests, while the budget lasts. The
 * requests are gathered and written straight to the socket when the
 * bufferevent has nothing queued (the usual case: a few dozen bytes fit
 * at once); only a short write leaves the rest to the bufferevent. This
 * saves the write-event round trip through the loop for every request,
 * which would otherwise make the load generator cost more CPU than many
 * servers it measures.
 */
static void
conn_fill(struct conn *c, uint64_t t)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char batch[4096];
	size_t blen = 0;

	while (c->inflight < (unsigned)g.depth && !c->w->stopped) {
		uint64_t k = atomic_fetch_add(&g.ticket, 1);
		const struct request *r;
		unsigned slot;

		if (k >= g.requests)
			break;
		r = &g.reqs[k % g.nreqs];
		slot = (c->head + c->inflight) % (unsigned)g.depth;
		c->sent_at[slot] = t;
		c->inflight++;
		if (blen + r->len <= sizeof(batch)) {
			memcpy(batch + blen, r->buf, r->len);
			blen += r->len;
			continue;
		}
		if (conn_send(c, out, batch, blen) != 0)
			return;
		blen = 0;
		if (r->len <= sizeof(batch)) {
			memcpy(batch, r->buf, r->len);
			blen = r->len;
		} else if (conn_send(c, out, r->buf, r->len) != 0) {
			return;
		}
	}
	if (blen > 0 && conn_send(c, out, batch, blen) != 0)
		return;
	if (c->inflight == 0) /* budget spent, all answered */
		conn_close(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in), off = 0;
	const char *buf;
	uint64_t t = now_ns();
	int rc = MTASTS_OK;

	if (len == 0)
		return;
	buf = (const char *)evbuffer_pullup(in, -1);
	if (buf == NULL) {
		w->st.err_io++;
		conn_close(c);
		return;
	}
	while (off < len) {
		const char *p;
		size_t plen, used;

		rc = mtasts_netstring_decode(buf + off, len - off,
		    MTASTS_SOCKETMAP_MAX, &p, &plen, &used);
		if (rc != MTASTS_OK)
			break;
		off += used;
		if (c->inflight == 0) {
			rc = MTASTS_ESYNTAX; /* a reply nobody asked for */
			break;
		}
		record(&w->st, t - c->sent_at[c->head]);
		c->head = (c->head + 1) % (unsigned)g.depth;
		c->inflight--;
		w->st.verbs[classify(p, plen)]++;
	}
	evbuffer_drain(in, off);
	if (rc != MTASTS_OK && rc != MTASTS_EAGAIN) {
		w->st.err_framing++;
		w->st.verbs[V_MALFORMED]++;
		conn_close(c);
		return;
	}
	if (!c->queued) {
		c->queued = 1;
		w->flushq[w->nflush++] = c;
		if (w->nflush == 1)
			event_active(w->flush, EV_TIMEOUT, 0);
	}
}

/*
 * Follow up on every connection that got replies in this loop iteration.
 * The flush event has a lower priority than the sockets, so it runs after
 * all their read callbacks: the server gets the next requests in one
 * burst, as from a busy client, instead of one wake-up per reply.
 */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t t = now_ns();
	int i, n = w->nflush;

	(void)fd;
	(void)what;
	w->nflush = 0;
	for (i = 0; i < n; i++) {
		struct conn *c = w->flushq[i];

		c->queued = 0;
		if (c->open)
			conn_fill(c, t);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		c->w->st.err_timeout++;
	else if (what & BEV_EVENT_EOF)
		c->w->st.err_closed++;
	else if (what & BEV_EVENT_ERROR)
		c->w->st.err_io++;
	conn_close(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	w->stopped = 1;
	w->end_ns = now_ns();
	event_base_loopbreak(w->base);
}

static int
connect_one(void)
{
	int fd = socket(g.target.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&g.target.ss, g.target.sslen) != 0)
		die("connect to %s: %s", g.target.text, strerror(errno));
	if (g.target.family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (evutil_make_socket_nonblocking(fd) != 0)
		die("fcntl: %s", strerror(errno));
	return fd;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct timeval dl = {g.duration, 0};
	struct timeval rto;
	uint64_t t;
	int i;

	rto.tv_sec = (time_t)g.timeout;
	rto.tv_usec = (suseconds_t)((g.timeout - (double)rto.tv_sec) * 1e6);
	pthread_barrier_wait(&g.barrier); /* everybody connected */
	w->start_ns = now_ns();
	w->end_ns = w->start_ns;
	if (event_add(w->deadline, &dl) != 0)
		die("event_add failed");
	t = now_ns();
	for (i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		bufferevent_set_timeouts(c->bev, &rto, NULL);
		if (bufferevent_enable(c->bev, EV_READ) != 0)
			die("bufferevent_enable failed");
		conn_fill(c, t);
	}
	if (w->live > 0)
		event_base_dispatch(w->base);
	/* Whatever is still open was cut off by the deadline. */
	for (i = 0; i < w->nconns; i++)
		if (w->conns[i].open)
			w->st.unanswered += w->conns[i].inflight;
	return NULL;
}

static void
worker_setup(struct worker *w, int nconns)
{
	int i;

	w->base = event_base_new();
	if (w->base == NULL)
		die("event_base_new failed");
	if (event_base_priority_init(w->base, 2) != 0)
		die("event_base_priority_init failed");
	w->deadline = evtimer_new(w->base, on_deadline, w);
	w->flush = event_new(w->base, -1, 0, on_flush, w);
	w->conns = calloc((size_t)nconns, sizeof(*w->conns));
	w->flushq = calloc((size_t)nconns, sizeof(*w->flushq));
	if (w->deadline == NULL || w->flush == NULL || w->conns == NULL ||
	    w->flushq == NULL)
		die("out of memory");
	if (event_priority_set(w->flush, 1) != 0 ||
	    event_priority_set(w->deadline, 0) != 0)
		die("event_priority_set failed");
	w->nconns = nconns;
	for (i = 0; i < nconns; i++) {
		struct conn *c = &w->conns[i];
		int fd = connect_one();

		c->w = w;
		c->sent_at = calloc((size_t)g.depth, sizeof(uint64_t));
		c->bev = bufferevent_socket_new(w->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->sent_at == NULL || c->bev == NULL)
			die("out of memory");
		if (bufferevent_priority_set(c->bev, 0) != 0)
			die("bufferevent_priority_set failed");
		bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
		c->open = 1;
		w->live++;
	}
}

static void
worker_cleanup(struct worker *w)
{
	int i;

	for (i = 0; i < w->nconns; i++) {
		if (w->conns[i].bev != NULL)
			bufferevent_free(w->conns[i].bev);
		free(w->conns[i].sent_at);
	}
	free(w->conns);
	free(w->flushq);
	event_free(w->flush);
	event_free(w->deadline);
	event_base_free(w->base);
}

/* ---- set-up --------------------------------------------------------- */

static int
ipv4_loopback(const struct in_addr *a)
{
	return (ntohl(a->s_addr) >> 24) == 127;
}

static void
parse_target(const char *arg, struct target *t)
{
	char host[256];
	const char *port, *h = arg;
	size_t hl;
	struct addrinfo hints, *res = NULL;
	int rc, ok = 0;

	memset(t, 0, sizeof(*t));
	if ((size_t)snprintf(t->text, sizeof(t->text), "%s", arg) >=
	    sizeof(t->text))
		die("target too long");
	if (strncmp(arg, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&t->ss;
		size_t pl = strlen(arg + 5);

		if (pl == 0 || pl >= sizeof(sun->sun_path))
			die("bad unix socket path: %s", arg + 5);
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, arg + 5, pl + 1);
		t->family = AF_UNIX;
		t->sslen = (socklen_t)sizeof(*sun);
		return;
	}
	if (strncmp(h, "inet:", 5) == 0)
		h += 5;
	if (h[0] == '[') {
		const char *end = strchr(h, ']');

		if (end == NULL || end[1] != ':')
			die("bad target %s (want [::1]:PORT)", arg);
		h++;
		hl = (size_t)(end - h);
		port = end + 2;
	} else {
		const char *colon = strrchr(h, ':');

		if (colon == NULL)
			die("bad target %s (want HOST:PORT or unix:PATH)",
			    arg);
		hl = (size_t)(colon - h);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host) || *port == '\0')
		die("bad target %s", arg);
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || res == NULL)
		die("target %s: %s (numeric loopback addresses only)", arg,
		    gai_strerror(rc));
	if (res->ai_family == AF_INET) {
		const struct sockaddr_in *sin =
		    (const struct sockaddr_in *)res->ai_addr;

		ok = ipv4_loopback(&sin->sin_addr);
	} else if (res->ai_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)res->ai_addr;

		ok = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			struct in_addr a;

			memcpy(&a, &s6->sin6_addr.s6_addr[12], 4);
			ok = ipv4_loopback(&a);
		}
	}
	if (!ok) {
		freeaddrinfo(res);
		die("refusing non-loopback target %s (only 127.0.0.0/8, ::1 "
		    "and unix: sockets)", arg);
	}
	memcpy(&t->ss, res->ai_addr, res->ai_addrlen);
	t->sslen = (socklen_t)res->ai_addrlen;
	t->family = res->ai_family;
	freeaddrinfo(res);
}

static void
add_key(const char *key, size_t klen)
{
	size_t ml = strlen(g.map), pl = ml + 1 + klen, cap = pl + 16;
	char *payload, *buf;
	const char *n, *k;
	size_t nl, kl;

	if (klen == 0)
		return;
	if (klen > KEY_LEN_MAX)
		die("key too long (%zu bytes)", klen);
	if (g.nreqs >= KEYS_MAX)
		die("too many keys (max %d)", KEYS_MAX);
	payload = malloc(pl);
	buf = malloc(cap);
	if (payload == NULL || buf == NULL)
		die("out of memory");
	memcpy(payload, g.map, ml);
	payload[ml] = ' ';
	memcpy(payload + ml + 1, key, klen);
	if (mtasts_socketmap_split(payload, pl, &n, &nl, &k, &kl) !=
	    MTASTS_OK)
		die("bad key \"%.*s\" (no spaces or control characters)",
		    (int)klen, key);
	if ((g.nreqs & (g.nreqs - 1)) == 0) { /* grow at powers of two */
		size_t ncap = g.nreqs ? g.nreqs * 2 : 16;
		struct request *r = realloc(g.reqs, ncap * sizeof(*r));

		if (r == NULL)
			die("out of memory");
		g.reqs = r;
	}
	g.reqs[g.nreqs].len = mtasts_netstring_encode(buf, cap, payload, pl);
	if (g.reqs[g.nreqs].len == 0)
		die("cannot encode key");
	g.reqs[g.nreqs].buf = buf;
	g.nreqs++;
	free(payload);
}

static void
load_keys_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[KEY_LEN_MAX + 64];
	size_t total = 0;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line), s = 0;

		total += n;
		if (total > KEYS_FILE_MAX)
			die("%s: larger than %u bytes", path, KEYS_FILE_MAX);
		if (n > 0 && line[n - 1] != '\n' && !feof(f))
			die("%s: line too long", path);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
				    line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		while (s < n && (line[s] == ' ' || line[s] == '\t'))
			s++;
		if (s == n || line[s] == '#')
			continue;
		add_key(line + s, n - s);
	}
	fclose(f);
}

static long
num_arg(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("%s: want a number from %ld to %ld, got \"%s\"", opt, lo,
		    hi, s);
	return v;
}

static void
usage(FILE *f)
{
	fputs("usage: bench_socketmap [-c conns] [-p depth] [-d seconds] "
	      "[-n requests]\n"
	      "         [-t threads] [-m map] [-T timeout] [--json]\n"
	      "         (-k key ... | -f keys-file) TARGET\n"
	      "TARGET: 127.x.y.z:PORT, [::1]:PORT or unix:PATH (loopback "
	      "only)\n",
	    f);
}

static void
raise_fd_limit(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= (rlim_t)need)
		return;
	rl.rlim_cur = rl.rlim_max < (rlim_t)need ? rl.rlim_max : (rlim_t)need;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need)
		die("need %d file descriptors, the limit is %llu", need,
		    (unsigned long long)rl.rlim_cur);
}

/* ---- output --------------------------------------------------------- */

static double
cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double
ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void
report(const struct stats *st, double secs, double cpu, uint64_t sent)
{
	uint64_t errors = st->err_closed + st->err_timeout + st->err_framing +
	    st->err_io;
	double rate = secs > 0 ? (double)st->replies / secs : 0;
	double mean = st->replies ? (double)st->lat_sum /
	    (double)st->replies : 0;
	int i;

	if (g.json) {
		json_t *o = json_object(), *v = json_object(), *e;
		char *s;

		for (i = 0; i < V_N; i++)
			json_object_set_new(v, verb_names[i],
			    json_integer((json_int_t)st->verbs[i]));
		e = json_pack("{s:I,s:I,s:I,s:I,s:I}", "closed",
		    (json_int_t)st->err_closed, "timeout",
		    (json_int_t)st->err_timeout, "framing",
		    (json_int_t)st->err_framing, "io", (json_int_t)st->err_io,
		    "unanswered", (json_int_t)st->unanswered);
		json_object_set_new(o, "target", json_string(g.target.text));
		json_object_set_new(o, "map", json_string(g.map));
		json_object_set_new(o, "keys",
		    json_integer((json_int_t)g.nreqs));
		json_object_set_new(o, "connections", json_integer(g.conns));
		json_object_set_new(o, "depth", json_integer(g.depth));
		json_object_set_new(o, "threads", json_integer(g.threads));
		json_object_set_new(o, "duration_limit_s",
		    json_integer(g.duration));
		json_object_set_new(o, "request_limit",
		    json_integer((json_int_t)g.requests));
		json_object_set_new(o, "elapsed_s", json_real(secs));
		json_object_set_new(o, "sent", json_integer((json_int_t)sent));
		json_object_set_new(o, "replies",
		    json_integer((json_int_t)st->replies));
		json_object_set_new(o, "replies_per_s", json_real(rate));
		json_object_set_new(o, "latency_ms",
		    json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "min",
			ms(st->lat_min), "mean", mean / 1e6, "p50",
			ms(percentile(st, 0.50)), "p90",
			ms(percentile(st, 0.90)), "p99",
			ms(percentile(st, 0.99)), "p99.9",
			ms(percentile(st, 0.999)), "max", ms(st->lat_max)));
		json_object_set_new(o, "verbs", v);
		json_object_set_new(o, "errors",
		    json_integer((json_int_t)errors));
		json_object_set_new(o, "error_detail", e);
		json_object_set_new(o, "client_cpu_s", json_real(cpu));
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_REAL_PRECISION(9));
		if (s == NULL)
			die("json_dumps failed");
		puts(s);
		free(s);
		json_decref(o);
		return;
	}
	printf("target        %s (map \"%s\", %zu keys)\n", g.target.text,
	    g.map, g.nreqs);
	printf("load          %d connections, depth %d, %d thread%s\n",
	    g.conns, g.depth, g.threads, g.threads == 1 ? "" : "s");
	printf("bounds        %d s, %" PRIu64 " requests\n", g.duration,
	    g.requests);
	printf("elapsed       %.3f s (client CPU %.2f s)\n", secs, cpu);
	printf("sent/replies  %" PRIu64 " / %" PRIu64 "\n", sent, st->replies);
	printf("throughput    %.0f replies/s\n", rate);
	printf("latency ms    min %.3f  mean %.3f  p50 %.3f  p90 %.3f  "
	       "p99 %.3f  p99.9 %.3f  max %.3f\n",
	    ms(st->lat_min), mean / 1e6, ms(percentile(st, 0.50)),
	    ms(percentile(st, 0.90)), ms(percentile(st, 0.99)),
	    ms(percentile(st, 0.999)), ms(st->lat_max));
	printf("verbs        ");
	for (i = 0; i < V_N; i++)
		printf(" %s %" PRIu64, verb_names[i], st->verbs[i]);
	printf("\n");
	printf("errors        %" PRIu64 " (closed %" PRIu64 ", timeout %" PRIu64
	       ", framing %" PRIu64 ", io %" PRIu64 "); unanswered at end %"
	       PRIu64 "\n",
	    errors, st->err_closed, st->err_timeout, st->err_framing,
	    st->err_io, st->unanswered);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"connections", required_argument, NULL, 'c'},
	    {"depth", required_argument, NULL, 'p'},
	    {"duration", required_argument, NULL, 'd'},
	    {"requests", required_argument, NULL, 'n'},
	    {"threads", required_argument, NULL, 't'},
	    {"map", required_argument, NULL, 'm'},
	    {"key", required_argument, NULL, 'k'},
	    {"keys-file", required_argument, NULL, 'f'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char **keys = NULL, **files = NULL;
	int nkeys = 0, nfiles = 0, opt, i;
	struct worker *ws;
	struct stats *total;
	uint64_t start = UINT64_MAX, end = 0, sent;
	double cpu0;

	keys = calloc((size_t)argc, sizeof(*keys));
	files = calloc((size_t)argc, sizeof(*files));
	if (keys == NULL || files == NULL)
		die("out of memory");
	while ((opt = getopt_long(argc, argv, "c:p:d:n:t:m:k:f:T:jh", longopts,
		    NULL)) != -1) {
		switch (opt) {
		case 'c':
			g.conns = (int)num_arg("-c", optarg, 1, CONNS_MAX);
			break;
		case 'p':
			g.depth = (int)num_arg("-p", optarg, 1, DEPTH_MAX);
			break;
		case 'd':
			g.duration = (int)num_arg("-d", optarg, 1,
			    DURATION_MAX);
			break;
		case 'n':
			g.requests = (uint64_t)num_arg("-n", optarg, 1,
			    LONG_MAX);
			break;
		case 't':
			g.threads = (int)num_arg("-t", optarg, 1, THREADS_MAX);
			break;
		case 'm':
			g.map = optarg;
			break;
		case 'k':
			keys[nkeys++] = optarg;
			break;
		case 'f':
			files[nfiles++] = optarg;
			break;
		case 'T':
			g.timeout = (double)num_arg("-T", optarg, 1, 3600);
			break;
		case 'j':
			g.json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	parse_target(argv[optind], &g.target);
	for (i = 0; i < nkeys; i++)
		add_key(keys[i], strlen(keys[i]));
	for (i = 0; i < nfiles; i++)
		load_keys_file(files[i]);
	free(keys);
	free(files);
	if (g.nreqs == 0)
		die("no keys (use -k KEY or -f FILE)");
	if (g.threads > g.conns)
		g.threads = g.conns;
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(g.conns + 64);

	ws = calloc((size_t)g.threads, sizeof(*ws));
	total = calloc(1, sizeof(*total));
	if (ws == NULL || total == NULL)
		die("out of memory");
	for (i = 0; i < g.threads; i++)
		worker_setup(&ws[i], g.conns / g.threads +
		    (i < g.conns % g.threads ? 1 : 0));
	if (pthread_barrier_init(&g.barrier, NULL, (unsigned)g.threads) != 0)
		die("pthread_barrier_init failed");
	atomic_init(&g.ticket, 0);
	cpu0 = cpu_seconds();
	for (i = 1; i < g.threads; i++)
		if (pthread_create(&ws[i].tid, NULL, worker_run, &ws[i]) != 0)
			die("pthread_create failed");
	worker_run(&ws[0]);
	for (i = 1; i < g.threads; i++)
		pthread_join(ws[i].tid, NULL);
	for (i = 0; i < g.threads; i++) {
		if (ws[i].start_ns < start)
			start = ws[i].start_ns;
		if (ws[i].end_ns > end)
			end = ws[i].end_ns;
		merge(total, &ws[i].st);
		worker_cleanup(&ws[i]);
	}
	sent = atomic_load(&g.ticket);
	if (sent > g.requests)
		sent = g.requests;
	report(total, end > start ? (double)(end - start) / 1e9 : 0,
	    cpu_seconds() - cpu0, sent);
	i = (total->err_closed + total->err_timeout + total->err_framing +
		total->err_io + total->verbs[V_MALFORMED]) > 0;
	for (size_t k = 0; k < g.nreqs; k++)
		free(g.reqs[k].buf);
	free(g.reqs);
	free(ws);
	free(total);
	return i;
}
