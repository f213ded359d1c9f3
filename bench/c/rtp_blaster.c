// RTP load for the relay benchmark: sends 172-octet PCMU RTP packets (one SSRC per target port, sequence numbers
// and timestamps advancing) round robin to UDP ports on one host, 64 per sendmmsg(2) call, at up to `rate` packets
// per second (0: as fast as it can) for `ms` milliseconds, then prints how many it sent. Built by
// bench/media-engine.bench.mjs with gcc -O2; a C sender costs a fraction of a Node one per packet, so the engine,
// not its load, is what saturates.
// usage: rtp_blaster HOST MS RATE PORT...
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 64, SIZE = 172 };

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: rtp_blaster HOST MS RATE PORT...\n");
    return 2;
  }
  const char *host = argv[1];
  double duration = atof(argv[2]);
  double rate = atof(argv[3]);
  int ports = argc - 4;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in me = {0};
  me.sin_family = AF_INET;
  if (s < 0 || inet_pton(AF_INET, host, &me.sin_addr) != 1 || bind(s, (struct sockaddr *)&me, sizeof me) != 0) {
    perror("rtp_blaster");
    return 1;
  }
  struct sockaddr_in *dst = calloc(ports, sizeof *dst);
  unsigned *seq = calloc(ports, sizeof *seq);
  for (int i = 0; i < ports; i++) {
    dst[i] = me;
    dst[i].sin_port = htons(atoi(argv[4 + i]));
  }
  static unsigned char pkt[BATCH][SIZE];
  static struct iovec iov[BATCH];
  static struct mmsghdr msg[BATCH];
  long sent = 0;
  int next = 0;
  double start = now_ms();
  for (;;) {
    double t = now_ms();
    if (t - start >= duration) break;
    if (rate > 0 && sent >= (t - start) * rate / 1000.0) {
      usleep(100);
      continue;
    }
    for (int k = 0; k < BATCH; k++) {
      int i = next;
      next = (next + 1) % ports;
      unsigned char *p = pkt[k];
      unsigned sq = seq[i]++, ts = sq * 160, ssrc = 0x1000 + i;
      memset(p + 12, 0xff, SIZE - 12); // mu-law silence
      p[0] = 0x80, p[1] = 0;
      p[2] = sq >> 8, p[3] = sq;
      p[4] = ts >> 24, p[5] = ts >> 16, p[6] = ts >> 8, p[7] = ts;
      p[8] = ssrc >> 24, p[9] = ssrc >> 16, p[10] = ssrc >> 8, p[11] = ssrc;
      iov[k].iov_base = p;
      iov[k].iov_len = SIZE;
      msg[k].msg_hdr = (struct msghdr){.msg_name = &dst[i], .msg_namelen = sizeof dst[i], .msg_iov = &iov[k], .msg_iovlen = 1};
    }
    int r = sendmmsg(s, msg, BATCH, 0);
    if (r > 0) sent += r;
  }
  printf("%ld\n", sent);
  return 0;
}
