/*
 * fuzz_json_span.c — libFuzzer target for the tree-free JSON reader
 * (src/json/span.c) that bulk extracts use on millions of records. Any
 * input: json_span_check must not crash, and on what it accepts the lookups
 * must not read outside the text. Differential check against json-c: where
 * json-c parses an object whose member "resourceType", "id" or "status" is a
 * string, the span reader must find the same text (inputs with a repeated
 * key are left out: the two readers may keep different ones). It found a
 * crash in json_parse itself (a repeated key before values of other kinds),
 * now a unit test in test_json.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

static const char *const KEYS[] = {"resourceType", "id", "status"};

static size_t count(const char *s, size_t n, const char *needle) {
    size_t k = 0, m = strlen(needle);
    for(size_t i = 0; i + m <= n; i++) k += memcmp(s + i, needle, m) == 0;
    return k;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if(size > 65536) return 0;
    char *text = malloc(size ? size : 1); /* exactly the input: ASan sees any read past it */
    memcpy(text, data, size);
    json_span doc;
    if(json_span_check(text, size, &doc)) {
        char out[256];
        json_span v;
        for(size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) {
            if(json_span_get(doc, KEYS[i], &v)) {
                json_span_text(v, out, sizeof out);
                json_span_is(v, "Patient");
                json_span_true(v);
            }
        }
        for(size_t i = 0; i < 4 && json_span_at(doc, i, &v); i++) json_span_text(v, out, sizeof out);
        json_value *tree = NULL;
        if(json_parse(text, size, &tree, NULL, 0) == KITH_OK) {
            for(size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) {
                char quoted[32];
                snprintf(quoted, sizeof quoted, "\"%s\"", KEYS[i]);
                const char *want = json_string(json_get(tree, KEYS[i]));
                if(!want || strlen(want) >= sizeof out || strchr(want, '\\') || count(text, size, quoted) != 1) continue;
                if(!json_span_get(doc, KEYS[i], &v)) abort(); /* the readers disagree */
                /* (a string with \u0000 is cut there by json-c: compare when it decodes here at all) */
                if(json_span_text(v, out, sizeof out) && strcmp(out, want) != 0) abort();
            }
        }
        json_free(tree);
    }
    free(text);
    return 0;
}
