/* fuzz_decode.c - libFuzzer harness for the decoder: the first byte picks
 * a link type, the next two the wire length slack, the rest is the frame.
 * The frame is copied into an exactly sized buffer so any read past the
 * captured length is caught by AddressSanitizer.  A decoded segment is
 * then fed to a small state machine so its fields are used. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "tcpsm.h"

static const int dlts[] = { 0, 1, 9, 10, 12, 14, 50, 101, 104, 108, 113, 228, 229, 239, 276, 147 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int ready;
        static struct tcpsm sm;
        struct segment seg;
        uint8_t *frame;
        uint32_t caplen, wire;

        if (size < 3)
                return 0;
        if (!ready) {
                struct conn_limits lim = { 1000000000, 1000000000, 1000000000, 1000 };
                if (tcpsm_init(&sm, &lim, -1, NULL, NULL) < 0)
                        return 0;
                ready = 1;
        }
        caplen = (uint32_t)(size - 3);
        wire = caplen + (uint32_t)(data[1] << 8 | data[2]);
        frame = malloc(caplen ? caplen : 1);
        if (!frame)
                return 0;
        memcpy(frame, data + 3, caplen);
        if (decode_frame(dlts[data[0] % (sizeof dlts / sizeof dlts[0])], frame, caplen, wire, &seg) ==
            DEC_TCP) {
                seg.ts = (int64_t)size * 1000;
                tcpsm_on_segment(&sm, &seg);
        }
        free(frame);
        return 0;
}
