/*
 * id.c — random UUIDs from the kernel's random source (getrandom(2)).
 */
#include "base/id.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

void id_new_uuid(char out[ID_UUID_LEN]) {
    uint8_t b[16];
    if(getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* Only when the kernel has no random source at all: fall back to a
         * clock-derived value rather than fail the write. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for(int i = 0; i < 16; i++) b[i] = (uint8_t)((ts.tv_nsec >> (i % 8)) ^ (ts.tv_sec >> i) ^ (i * 37));
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, ID_UUID_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
