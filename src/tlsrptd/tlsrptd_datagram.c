/* SPDX-License-Identifier: MIT */
/*
 * tlsrptd_datagram.c: the libtlsrpt datagram receiver (Unix datagram
 * socket, protocol version 1).
 *
 * The kernel queues few datagrams per Unix datagram socket (sysctl
 * net.unix.max_dgram_qlen: 10 in a fresh network namespace, 512 on many
 * hosts) and libtlsrpt sends without blocking, so any pause of the
 * reader (a database commit) loses events. A dedicated thread therefore
 * does nothing but recvmmsg(2) into a memory buffer (bounded, double
 * buffered); the event loop swaps buffers every POLL_US (a timer, so
 * the receiver never pays for waking it) and parses and counts outside
 * the lock. Parsed datagrams are kept in a small cache keyed by their
 * bytes: Postfix sends identical datagrams for every delivery with the
 * same outcome under the same policy.
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mtasts/tlsrpt_datagram.h"
#include "tlsrptd_collect.h"
#include "util/alloc.h"

#define VLEN 32 /* datagrams per recvmmsg call */
#define BUFSZ (MTASTS_TLSRPT_DATAGRAM_MAX + 1)
#define QUEUE_CAP (32u * 1024 * 1024) /* bytes per queue buffer */
#define REC_HDR 8                     /* u32 length, u32 flags */
#define POLL_US 2000                  /* the loop takes the queue this often */

#define CACHE_SLOTS 256		/* parsed datagrams kept for reuse */
#define CACHE_BYTES 4096	/* only datagrams up to this size */
#define CACHE_SESSIONS 64	/* ... giving at most this many sessions */

struct cache_ent {
	uint64_t hash;
	size_t len;
	struct mtasts_tlsrpt_datagram *dg;	/* NULL: empty */
	char bytes[CACHE_BYTES];
};

struct tlsrptd_dgram {
	struct tlsrptd_collect *k;
	int fd;
	struct event *ev; /* the loop's poll timer */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t th;
	bool th_started;
	atomic_bool stop;
	pthread_mutex_t mu;
	char *fill; /* receiver appends here (under mu) */
	size_t fill_len;
	char *spare;          /* the loop parses here */
	uint64_t queue_drops; /* under mu */
	uint64_t drops_seen;  /* loop side */
	/* receiver thread's buffers */
	struct mmsghdr msgs[VLEN];
	struct iovec iov[VLEN];
	char *bufs;
	/* loop side: recent datagrams and their parse */
	struct cache_ent cache[CACHE_SLOTS];
};

static void *
receiver(void *arg)
{
	struct tlsrptd_dgram *d = arg;

	/* Best effort (needs CAP_SYS_NICE): the receiver must get the CPU
	 * within milliseconds whatever else the host runs. It only blocks
	 * in recvmmsg and copies, so real-time priority 1 cannot starve
	 * anything; without the capability, a lower nice value, else
	 * nothing. */
	{
		struct sched_param sp = {.sched_priority = 1};

		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
			(void)setpriority(PRIO_PROCESS,
					  (id_t)syscall(SYS_gettid), -10);
	}
	for (;;) {
		/* Once asked to stop, take what the socket still holds
		 * without waiting, then leave. */
		bool stopping = atomic_load(&d->stop);
		int n;

		for (int i = 0; i < VLEN; i++) {
			d->iov[i].iov_base = d->bufs + (size_t)i * BUFSZ;
			d->iov[i].iov_len = BUFSZ;
			memset(&d->msgs[i].msg_hdr, 0,
			       sizeof(d->msgs[i].msg_hdr));
			d->msgs[i].msg_hdr.msg_iov = &d->iov[i];
			d->msgs[i].msg_hdr.msg_iovlen = 1;
		}
		/* Blocks for the first, then takes what is queued. */
		n = recvmmsg(d->fd, d->msgs, VLEN,
			     stopping ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
		if (n <= 0) {
			if (stopping)
				break;
			continue; /* timeout (SO_RCVTIMEO), EINTR */
		}
		pthread_mutex_lock(&d->mu);
		for (int i = 0; i < n; i++) {
			uint32_t len = d->msgs[i].msg_len;
			uint32_t flags = (uint32_t)d->msgs[i].msg_hdr.msg_flags;

			if (len > BUFSZ)
				len = BUFSZ;
			if (d->fill_len + REC_HDR + len > QUEUE_CAP) {
				d->queue_drops++;
				continue;
			}
			memcpy(d->fill + d->fill_len, &len, 4);
			memcpy(d->fill + d->fill_len + 4, &flags, 4);
			memcpy(d->fill + d->fill_len + REC_HDR,
			       d->iov[i].iov_base, len);
			d->fill_len += REC_HDR + len;
		}
		pthread_mutex_unlock(&d->mu);
	}
	return NULL;
}

static uint64_t
fnv64(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void
handle(struct tlsrptd_dgram *d, const char *buf, size_t len, uint32_t flags,
       int64_t now)
{
	struct mtasts_tlsrpt_datagram *dg = NULL;
	const struct mtasts_tlsrpt_session *s;
	struct mtasts_tlsrpt_session copy[CACHE_SESSIONS];
	const char *reason = NULL;
	struct cache_ent *ce = NULL;
	size_t n;

	tlsrptd__collect_statsp(d->k)->datagrams++;
	if ((flags & MSG_TRUNC) != 0 || len >= BUFSZ) {
		tlsrptd__collect_reject(d->k, "datagram", "too-big");
		return;
	}
	/* Postfix sends byte-identical datagrams for every delivery with
	 * the same outcome under the same policy: reuse the parse. */
	if (len <= CACHE_BYTES) {
		uint64_t h = fnv64(buf, len);

		ce = &d->cache[h % CACHE_SLOTS];
		if (ce->dg != NULL && ce->hash == h && ce->len == len &&
		    memcmp(ce->bytes, buf, len) == 0) {
			n = mtasts_tlsrpt_datagram_sessions(ce->dg, &s);
			memcpy(copy, s, n * sizeof(*s));
			for (size_t i = 0; i < n; i++)
				copy[i].time = now;
			tlsrptd__collect_add(d->k, copy, n);
			return;
		}
		ce->hash = h;
	}
	if (mtasts_tlsrpt_datagram_parse(buf, len, now, &dg, &reason, NULL) !=
	    MTASTS_OK) {
		tlsrptd__collect_reject(d->k, "datagram",
					reason != NULL ? reason : "invalid");
		return;
	}
	n = mtasts_tlsrpt_datagram_sessions(dg, &s);
	tlsrptd__collect_add(d->k, s, n);
	if (ce != NULL && n <= CACHE_SESSIONS) {
		mtasts_tlsrpt_datagram_free(ce->dg);
		ce->dg = dg;
		ce->len = len;
		memcpy(ce->bytes, buf, len);
		return;
	}
	mtasts_tlsrpt_datagram_free(dg);
}

void
tlsrptd__dgram_drain(struct tlsrptd_dgram *d)
{
	for (int round = 0; round < 4; round++) {
		char *buf;
		size_t len, off = 0;
		uint64_t drops;
		int64_t now = (int64_t)time(NULL);

		pthread_mutex_lock(&d->mu);
		buf = d->fill;
		len = d->fill_len;
		d->fill = d->spare;
		d->fill_len = 0;
		d->spare = buf;
		drops = d->queue_drops;
		pthread_mutex_unlock(&d->mu);
		if (drops > d->drops_seen) {
			tlsrptd_counters_reject(tlsrptd__collect_store(d->k),
						"datagram", "queue-full",
						drops - d->drops_seen);
			tlsrptd__collect_log(
			    d->k, LOG_WARNING,
			    "datagram queue full: %llu "
			    "datagrams dropped",
			    (unsigned long long)(drops - d->drops_seen));
			d->drops_seen = drops;
		}
		if (len == 0)
			return;
		while (off + REC_HDR <= len) {
			uint32_t rl, fl;

			memcpy(&rl, buf + off, 4);
			memcpy(&fl, buf + off + 4, 4);
			handle(d, buf + off + REC_HDR, rl, fl, now);
			off += REC_HDR + rl;
		}
	}
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tlsrptd__dgram_drain(arg);
}

struct tlsrptd_dgram *
tlsrptd__dgram_new(struct tlsrptd_collect *k, struct event_base *base,
		   const char *path, unsigned mode, const char *group,
		   int rcvbuf, struct mtasts_error *err)
{
	struct tlsrptd_dgram *d;
	struct sockaddr_un sa;
	struct stat st;
	struct timeval rto = {0, 200000};
	struct timeval poll_tv = {0, POLL_US};
	int got = 0;
	socklen_t gl = sizeof(got);

	if (strlen(path) >= sizeof(sa.sun_path)) {
		mtasts_error_set(err, MTASTS_EINVAL, "socket path too long: %s",
				 path);
		return NULL;
	}
	d = mtasts__calloc(1, sizeof(*d));
	if (d == NULL) {
		mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
		return NULL;
	}
	d->k = k;
	d->fd = -1;
	pthread_mutex_init(&d->mu, NULL);
	atomic_init(&d->stop, false);
	d->bufs = mtasts__malloc((size_t)VLEN * BUFSZ);
	d->fill = mtasts__malloc(QUEUE_CAP);
	d->spare = mtasts__malloc(QUEUE_CAP);
	if (d->bufs == NULL || d->fill == NULL || d->spare == NULL) {
		mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
		tlsrptd__dgram_free(d);
		return NULL;
	}
	d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		goto io;
	if (rcvbuf <= 0)
		rcvbuf = 16 * 1024 * 1024;
	if (setsockopt(d->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) != 0)
		(void)setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				 sizeof(rcvbuf));
	(void)setsockopt(d->fd, SOL_SOCKET, SO_RCVTIMEO, &rto, sizeof(rto));
	/* A stale socket from an earlier run is replaced; anything else
	 * at the path is left alone. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto io;
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (group != NULL && group[0] != '\0') {
		struct group *gr = getgrnam(group);

		if (gr == NULL)
			tlsrptd__collect_log(k, LOG_WARNING, "datagram socket "
			    "%s: group %s does not exist; only its owner and "
			    "group can write (set datagram_socket_group)",
			    path, group);
		else if (chown(path, (uid_t)-1, gr->gr_gid) != 0)
			goto io;
	}
	if (chmod(path, mode != 0 ? mode : 0666) != 0)
		goto io;
	d->ev = event_new(base, -1, EV_PERSIST, on_poll, d);
	if (d->ev == NULL || event_add(d->ev, &poll_tv) != 0) {
		mtasts_error_set(err, MTASTS_ENOMEM, "event_new failed");
		tlsrptd__dgram_free(d);
		return NULL;
	}
	if (pthread_create(&d->th, NULL, receiver, d) != 0)
		goto io;
	d->th_started = true;
	getsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
	tlsrptd__collect_log(k, LOG_INFO,
			     "datagram socket %s: receive buffer %d bytes",
			     path, got);
	return d;
io:
	mtasts_error_set(err, MTASTS_EIO, "datagram socket %s: %s", path,
			 strerror(errno));
	tlsrptd__dgram_free(d);
	return NULL;
}

void
tlsrptd__dgram_free(struct tlsrptd_dgram *d)
{
	if (d == NULL)
		return;
	if (d->th_started) {
		atomic_store(&d->stop, true);
		pthread_join(d->th, NULL);
		/* whatever the thread took in before it stopped */
		tlsrptd__dgram_drain(d);
	}
	if (d->ev != NULL)
		event_free(d->ev);
	if (d->fd >= 0) {
		close(d->fd);
		if (d->path[0] != '\0')
			unlink(d->path);
	}
	pthread_mutex_destroy(&d->mu);
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		mtasts_tlsrpt_datagram_free(d->cache[i].dg);
	mtasts__free(d->bufs);
	mtasts__free(d->fill);
	mtasts__free(d->spare);
	mtasts__free(d);
}
