/*
 * bareloop.c - the benchmark baseline: read a capture the way rstscope does
 * (src/capture.c: fopen, a 1 MiB stdio buffer set with setvbuf,
 * pcap_fopen_offline_with_tstamp_precision(NANO), pcap_next_ex) and do
 * nothing with the packets but touch them: sum the captured lengths and
 * one byte of each (the TCP flags byte of an untagged Ethernet/IPv4 frame
 * when captured) so the compiler cannot drop the loop.  Whatever rstscope
 * spends beyond this is decoding, tracking and reporting.
 *
 *   bareloop FILE       prints: packets N bytes B sum S seconds T
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

#define READ_BUFFER (1 << 20)           /* same as RS_READ_BUFFER in include/config.h */

int main(int argc, char **argv)
{
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        struct pcap_pkthdr *h;
        const u_char *d;
        uint64_t n = 0, bytes = 0, sum = 0;
        struct timespec t0, t1;
        char *buf;
        FILE *fp;
        pcap_t *pc;
        int rc;

        if (argc != 2) {
                fprintf(stderr, "usage: bareloop FILE\n");
                return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        fp = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
        if (!fp) {
                perror(argv[1]);
                return 3;
        }
        buf = malloc(READ_BUFFER);
        if (buf)
                setvbuf(fp, buf, _IOFBF, READ_BUFFER);
        pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
        if (!pc) {
                fprintf(stderr, "%s: %s\n", argv[1], ebuf);
                return 3;
        }
        while ((rc = pcap_next_ex(pc, &h, &d)) == 1) {
                n++;
                bytes += h->caplen;
                sum += h->caplen > 47 ? d[47] : h->caplen ? d[h->caplen - 1] : 0;
        }
        if (rc == PCAP_ERROR)
                fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(pc));
        pcap_close(pc);         /* closes fp */
        free(buf);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("packets %llu bytes %llu sum %llu seconds %.3f\n", (unsigned long long)n,
               (unsigned long long)bytes, (unsigned long long)sum,
               (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        return rc == PCAP_ERROR ? 4 : 0;
}
