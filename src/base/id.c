/*
 * id.c — random UUIDs from the kernel's random source (getrandom(2)), and
 * name-based ones (SHA-1 through OpenSSL's EVP interface).
 */
#include "base/id.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void format_uuid(const uint8_t b[16], char out[ID_UUID_LEN]) {
    snprintf(out, ID_UUID_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

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
    format_uuid(b, out);
}

void id_name_uuid(const unsigned char ns[16], const char *name, char out[ID_UUID_LEN]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(ctx, ns, 16) == 1 &&
             EVP_DigestUpdate(ctx, name, strlen(name)) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
    EVP_MD_CTX_free(ctx);
    if(!ok) abort(); /* only out of memory: treated as xmalloc treats it */
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    format_uuid(md, out);
}

bool id_is_uuid(const char *s) {
    for(int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if(dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    }
    return s[36] == '\0';
}
