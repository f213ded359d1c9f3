/*
 * Reference harness around libspandsp's public G.722 / G.711 API, used by the Switchyard codec tests and benchmark.
 *   spandsp_codec g722-enc FRAME   16 kHz int16 LE on stdin -> G.722 octets on stdout, FRAME samples per call
 *   spandsp_codec g722-dec FRAME   G.722 octets on stdin -> int16 LE on stdout, FRAME octets per call
 *   spandsp_codec g722-enc8 FRAME / g722-dec8 FRAME   the same in spandsp's 8 kHz mode (G722_SAMPLE_RATE_8000:
 *                                  8 kHz PCM as the lower sub-band, no QMF)
 *   spandsp_codec bench ITER       prints "name ns_per_sample" lines, timed inside C over ITER passes of 1 s of audio
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <spandsp.h>

static uint8_t *read_all(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    *len = n;
    return buf;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static volatile unsigned sink;

static int bench(int iter)
{
    enum { N = 16000 };
    int16_t pcm[N];
    int16_t back[N];
    uint8_t code[N];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1664525u + 1013904223u;
        pcm[i] = (int16_t) (6000.0 * __builtin_sin(i * 0.07) + (int) ((seed >> 20) & 2047) - 1024);
    }
    g722_encode_state_t *enc = g722_encode_init(NULL, 64000, 0);
    g722_decode_state_t *dec = g722_decode_init(NULL, 64000, 0);
    g711_state_t *ulaw = g711_init(NULL, G711_ULAW);
    g711_state_t *alaw = g711_init(NULL, G711_ALAW);
    double t0 = now_ns();
    for (int k = 0; k < iter; k++) g722_encode(enc, code, pcm, N);
    double t1 = now_ns();
    for (int k = 0; k < iter; k++) g722_decode(dec, back, code, N / 2);
    double t2 = now_ns();
    sink += code[7] + back[9];
    printf("g722-enc %.3f\n", (t1 - t0) / ((double) iter * N));
    printf("g722-dec %.3f\n", (t2 - t1) / ((double) iter * N));
    int iter711 = iter * 8;
    t0 = now_ns();
    for (int k = 0; k < iter711; k++) g711_encode(ulaw, code, pcm, N);
    t1 = now_ns();
    for (int k = 0; k < iter711; k++) g711_decode(ulaw, back, code, N);
    t2 = now_ns();
    sink += code[3] + back[5];
    printf("ulaw-enc %.3f\n", (t1 - t0) / ((double) iter711 * N));
    printf("ulaw-dec %.3f\n", (t2 - t1) / ((double) iter711 * N));
    t0 = now_ns();
    for (int k = 0; k < iter711; k++) g711_encode(alaw, code, pcm, N);
    t1 = now_ns();
    for (int k = 0; k < iter711; k++) g711_decode(alaw, back, code, N);
    t2 = now_ns();
    sink += code[3] + back[5];
    printf("alaw-enc %.3f\n", (t1 - t0) / ((double) iter711 * N));
    printf("alaw-dec %.3f\n", (t2 - t1) / ((double) iter711 * N));
    g722_encode_free(enc);
    g722_decode_free(dec);
    /* 8 kHz mode: N samples of 8 kHz PCM per pass (the same signal, read as 8 kHz) */
    enc = g722_encode_init(NULL, 64000, G722_SAMPLE_RATE_8000);
    dec = g722_decode_init(NULL, 64000, G722_SAMPLE_RATE_8000);
    t0 = now_ns();
    for (int k = 0; k < iter; k++) g722_encode(enc, code, pcm, N);
    t1 = now_ns();
    for (int k = 0; k < iter; k++) g722_decode(dec, back, code, N);
    t2 = now_ns();
    sink += code[7] + back[9];
    printf("g722-enc8 %.3f\n", (t1 - t0) / ((double) iter * N));
    printf("g722-dec8 %.3f\n", (t2 - t1) / ((double) iter * N));
    g722_encode_free(enc);
    g722_decode_free(dec);
    g711_free(ulaw);
    g711_free(alaw);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s g722-enc|g722-dec FRAME | bench ITER\n", argv[0]);
        return 2;
    }
    int arg = atoi(argv[2]);
    if (arg <= 0) return 2;
    if (strcmp(argv[1], "bench") == 0) return bench(arg);
    size_t len;
    uint8_t *in = read_all(&len);
    int options = 0;
    if (strcmp(argv[1], "g722-enc8") == 0 || strcmp(argv[1], "g722-dec8") == 0) {
        options = G722_SAMPLE_RATE_8000;
        argv[1][8] = '\0'; /* same code paths below */
    }
    if (strcmp(argv[1], "g722-enc") == 0) {
        size_t samples = len / 2;
        int16_t *pcm = malloc(samples * 2 + 2);
        for (size_t i = 0; i < samples; i++) pcm[i] = (int16_t) (in[2 * i] | (in[2 * i + 1] << 8));
        uint8_t *out = malloc(samples + 1);
        g722_encode_state_t *s = g722_encode_init(NULL, 64000, options);
        size_t n = 0;
        for (size_t i = 0; i < samples; i += (size_t) arg) {
            size_t m = samples - i < (size_t) arg ? samples - i : (size_t) arg;
            n += (size_t) g722_encode(s, out + n, pcm + i, (int) m);
        }
        fwrite(out, 1, n, stdout);
        g722_encode_free(s);
        return 0;
    }
    if (strcmp(argv[1], "g722-dec") == 0) {
        int16_t *pcm = malloc(len * 4 + 2);
        g722_decode_state_t *s = g722_decode_init(NULL, 64000, options);
        size_t n = 0;
        for (size_t i = 0; i < len; i += (size_t) arg) {
            size_t m = len - i < (size_t) arg ? len - i : (size_t) arg;
            n += (size_t) g722_decode(s, pcm + n, in + i, (int) m);
        }
        uint8_t *out = malloc(n * 2 + 1);
        for (size_t i = 0; i < n; i++) {
            out[2 * i] = (uint8_t) (pcm[i] & 0xff);
            out[2 * i + 1] = (uint8_t) ((pcm[i] >> 8) & 0xff);
        }
        fwrite(out, 1, n * 2, stdout);
        g722_decode_free(s);
        return 0;
    }
    return 2;
}
