// The RTP half of the PBX call load generator (bench/lib/pbx-call-load.mjs) in C: a Node sender costs ~10 us per
// packet, so at 1,000 calls (100,000 packets/s each way) the JS worker, not the daemon, ran out of core. One UDP
// socket per phone, bound once; a 5 ms timerfd tick (CLOCK_MONOTONIC) sends every due 20 ms G.711 packet
// (RFC 3551 4.5.14: 160 octets) with sendmmsg, catching up at most 3 per stream (the rest count as late); epoll
// wakes it for received packets, read with recvmmsg until the socket is empty.
// Commands, one per line on stdin (ids are small integers, payloads hex):
//   B id ip ssrc payload320hex expected8hex  bind a socket on ip:0 -> "P id port"
//   R id                                     zero the counts (a call starts)
//   G id address port                        begin sending to address:port (marker on the first packet)
//   S id                                     stop sending
//   F req id graceMs                         stop, wait graceMs, -> "C req sent received late stray firstIndex gaps"
//   Q                                        print per-stream JSON and exit (also on EOF, SIGTERM, SIGINT)
// usage: rtp_phones (built by bench/lib/pbx-call-load.mjs with gcc -O2)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { PAYLOAD = 160, SIZE = 12 + PAYLOAD, PACKET_MS = 20, TICK_MS = 5, RECV_BATCH = 32, CATCH_UP = 3 };
#define KEY_STDIN 0xffffffffu
#define KEY_TIMER 0xfffffffeu
#define KEY_SIGNAL 0xfffffffdu

typedef struct {
  int fd;
  int slot; // index in the active list, -1 when not sending
  uint8_t packet[SIZE];
  uint8_t expected[4];
  uint16_t seq;
  uint32_t ts;
  struct sockaddr_in to;
  double next_at;
  long sent, received, late, stray, gaps;
  int first_index;
  int last_seq; // -1 before the first packet received
} side_t;

typedef struct {
  double at;
  long req;
  uint32_t id;
} report_t;

static side_t *sides;
static uint32_t nsides;
static uint32_t *active;
static uint32_t nactive;
static report_t *reports;
static size_t nreports, capreports;
static int ep;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static side_t *side_of(uint32_t id) {
  if (id >= 1u << 20) return NULL;
  if (id >= nsides) {
    uint32_t n = nsides ? nsides : 1024;
    while (n <= id) n *= 2;
    side_t *grown = realloc(sides, n * sizeof *sides);
    uint32_t *act = realloc(active, n * sizeof *active);
    if (!grown || !act) exit(3);
    memset(grown + nsides, 0, (n - nsides) * sizeof *sides);
    for (uint32_t i = nsides; i < n; i++) {
      grown[i].fd = -1;
      grown[i].slot = -1;
    }
    sides = grown;
    active = act;
    nsides = n;
  }
  return &sides[id];
}

static void activate(uint32_t id) {
  side_t *s = &sides[id];
  if (s->slot >= 0) return;
  s->slot = (int)nactive;
  active[nactive++] = id;
}

static void deactivate(uint32_t id) {
  side_t *s = &sides[id];
  if (s->slot < 0) return;
  uint32_t last = active[--nactive];
  if (last != id) {
    active[s->slot] = last;
    sides[last].slot = s->slot;
  }
  s->slot = -1;
}

static int unhex(const char *h, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(h + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return 0;
}

// Marks the next packets with the stream's own count in the payload's last two octets, so the receiver can tell
// which packets went missing at the start; RTP sequence and timestamp advance per packet (RFC 3550 5.1).
static void prepare(side_t *s, struct mmsghdr *m, struct iovec *iov, uint8_t (*buf)[SIZE], int n) {
  for (int k = 0; k < n; k++) {
    uint8_t *p = s->packet;
    s->seq++;
    s->ts += PAYLOAD;
    p[2] = s->seq >> 8;
    p[3] = s->seq & 0xff;
    p[4] = s->ts >> 24;
    p[5] = (s->ts >> 16) & 0xff;
    p[6] = (s->ts >> 8) & 0xff;
    p[7] = s->ts & 0xff;
    long c = s->sent + k;
    p[10 + PAYLOAD] = (c >> 8) & 0xff;
    p[11 + PAYLOAD] = c & 0xff;
    memcpy(buf[k], p, SIZE);
    p[1] = 0; // PT 0 (PCMU); the marker only on the first packet (RFC 3551 4.1)
    iov[k].iov_base = buf[k];
    iov[k].iov_len = SIZE;
    memset(&m[k].msg_hdr, 0, sizeof m[k].msg_hdr);
    m[k].msg_hdr.msg_iov = &iov[k];
    m[k].msg_hdr.msg_iovlen = 1;
    m[k].msg_hdr.msg_name = &s->to;
    m[k].msg_hdr.msg_namelen = sizeof s->to;
  }
}

static void tick(void) {
  static struct mmsghdr m[CATCH_UP];
  static struct iovec iov[CATCH_UP];
  static uint8_t buf[CATCH_UP][SIZE];
  double now = now_ms();
  for (uint32_t i = 0; i < nactive; i++) {
    side_t *s = &sides[active[i]];
    int n = 0;
    while (s->next_at <= now && n < CATCH_UP) {
      n++;
      s->next_at += PACKET_MS;
    }
    while (s->next_at <= now) {
      s->late++;
      s->next_at += PACKET_MS;
    }
    if (n == 0) continue;
    prepare(s, m, iov, buf, n);
    int done = sendmmsg(s->fd, m, n, MSG_DONTWAIT);
    // A full socket buffer drops the packet here, as a network would: it counts as sent, and lost.
    s->sent += n;
    (void)done;
  }
}

static void receive(uint32_t id) {
  static struct mmsghdr m[RECV_BATCH];
  static struct iovec iov[RECV_BATCH];
  static uint8_t buf[RECV_BATCH][SIZE + 16];
  side_t *s = &sides[id];
  for (;;) {
    for (int k = 0; k < RECV_BATCH; k++) {
      iov[k].iov_base = buf[k];
      iov[k].iov_len = sizeof buf[k];
      memset(&m[k].msg_hdr, 0, sizeof m[k].msg_hdr);
      m[k].msg_hdr.msg_iov = &iov[k];
      m[k].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(s->fd, m, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    for (int k = 0; k < n; k++) {
      const uint8_t *p = buf[k];
      // Only the peer's tone counts: ringback or announcements the PBX plays are other audio; a relay passes the
      // peer's payload through unchanged, so its first octets identify it.
      if (m[k].msg_len != SIZE || memcmp(p + 12, s->expected, 4) != 0) {
        s->stray++;
        continue;
      }
      int seq = (p[2] << 8) | p[3];
      if (s->received++ == 0) s->first_index = (p[10 + PAYLOAD] << 8) | p[11 + PAYLOAD];
      else {
        int gap = (seq - s->last_seq - 1) & 0xffff;
        if (gap > 0 && gap < 0x8000) s->gaps += gap; // a jump forward; a reordered (older) packet is not a gap
      }
      s->last_seq = seq;
    }
    if (n < RECV_BATCH) return;
  }
}

static void dump_and_exit(void) {
  for (uint32_t i = 0; i < nsides; i++) {
    side_t *s = &sides[i];
    if (s->fd < 0 || (s->sent == 0 && s->received == 0)) continue;
    printf("{\"id\":%u,\"sent\":%ld,\"received\":%ld,\"late\":%ld,\"stray\":%ld,\"firstIndex\":%d,\"gaps\":%ld}\n", i,
           s->sent, s->received, s->late, s->stray, s->first_index, s->gaps);
  }
  fflush(stdout);
  exit(0);
}

static void due_reports(void) {
  double now = now_ms();
  size_t keep = 0;
  for (size_t i = 0; i < nreports; i++) {
    report_t r = reports[i];
    if (r.at > now) {
      reports[keep++] = r;
      continue;
    }
    side_t *s = &sides[r.id];
    // What already sits in the socket arrived in time; a generator behind on reading must not count it lost.
    receive(r.id);
    printf("C %ld %ld %ld %ld %ld %d %ld\n", r.req, s->sent, s->received, s->late, s->stray, s->first_index, s->gaps);
  }
  if (keep != nreports) fflush(stdout);
  nreports = keep;
}

static void command(char *line) {
  char op = line[0];
  char *rest = line + 1;
  unsigned id;
  switch (op) {
  case 'B': {
    char ip[64], pay[2 * PAYLOAD + 8], exp[16];
    unsigned ssrc;
    if (sscanf(rest, "%u %63s %u %327s %15s", &id, ip, &ssrc, pay, exp) != 5) break;
    side_t *s = side_of(id);
    if (!s || s->fd >= 0) break;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      perror("rtp_phones bind");
      exit(4);
    }
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    s->fd = fd;
    s->slot = -1;
    s->last_seq = -1;
    s->first_index = -1;
    memset(s->packet, 0, SIZE);
    s->packet[0] = 0x80; // V=2, no padding, no extension, no CSRC (RFC 3550 5.1)
    s->packet[8] = ssrc >> 24;
    s->packet[9] = (ssrc >> 16) & 0xff;
    s->packet[10] = (ssrc >> 8) & 0xff;
    s->packet[11] = ssrc & 0xff;
    s->seq = ssrc & 0xffff;
    s->ts = ssrc >> 3;
    if (unhex(pay, s->packet + 12, PAYLOAD) || unhex(exp, s->expected, 4)) exit(5);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = id};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("P %u %u\n", id, ntohs(a.sin_port));
    fflush(stdout);
    break;
  }
  case 'R': {
    if (sscanf(rest, "%u", &id) != 1 || id >= nsides || sides[id].fd < 0) break;
    side_t *s = &sides[id];
    s->sent = s->received = s->late = s->stray = s->gaps = 0;
    s->first_index = -1;
    s->last_seq = -1;
    break;
  }
  case 'G': {
    char addr[64];
    unsigned port;
    if (sscanf(rest, "%u %63s %u", &id, addr, &port) != 3 || id >= nsides || sides[id].fd < 0) break;
    side_t *s = &sides[id];
    memset(&s->to, 0, sizeof s->to);
    s->to.sin_family = AF_INET;
    s->to.sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &s->to.sin_addr) != 1) break;
    s->next_at = now_ms();
    s->packet[1] = 0x80; // marker: the start of a talkspurt (RFC 3551 4.1)
    activate(id);
    break;
  }
  case 'S':
    if (sscanf(rest, "%u", &id) == 1 && id < nsides) deactivate(id);
    break;
  case 'F': {
    long req;
    double grace;
    if (sscanf(rest, "%ld %u %lf", &req, &id, &grace) != 3 || id >= nsides) break;
    deactivate(id);
    if (nreports == capreports) {
      capreports = capreports ? capreports * 2 : 1024;
      reports = realloc(reports, capreports * sizeof *reports);
      if (!reports) exit(3);
    }
    reports[nreports++] = (report_t){.at = now_ms() + grace, .req = req, .id = id};
    break;
  }
  case 'Q':
    dump_and_exit();
  }
}

static void read_commands(void) {
  static char buf[1 << 16];
  static size_t used;
  for (;;) {
    ssize_t n = read(0, buf + used, sizeof buf - used - 1);
    if (n == 0) dump_and_exit();
    if (n < 0) return; // EAGAIN: the rest comes later
    used += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < used; i++)
      if (buf[i] == '\n') {
        buf[i] = 0;
        command(buf + start);
        start = i + 1;
      }
    memmove(buf, buf + start, used - start);
    used -= start;
    if (used == sizeof buf - 1) used = 0; // a line longer than the buffer is bad input: dropped
  }
}

int main(void) {
  ep = epoll_create1(EPOLL_CLOEXEC);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = KEY_STDIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec it = {.it_interval = {0, TICK_MS * 1000000L}, .it_value = {0, TICK_MS * 1000000L}};
  timerfd_settime(tfd, 0, &it, NULL);
  ev.data.u32 = KEY_TIMER;
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigprocmask(SIG_BLOCK, &sigs, NULL);
  int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
  ev.data.u32 = KEY_SIGNAL;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; i++) {
      uint32_t key = evs[i].data.u32;
      if (key == KEY_STDIN) read_commands();
      else if (key == KEY_SIGNAL) dump_and_exit();
      else if (key == KEY_TIMER) {
        uint64_t expirations;
        if (read(tfd, &expirations, sizeof expirations) < 0) continue;
        tick();
        due_reports();
      } else receive(key);
    }
  }
}
