/*
 * fuzz_search.c — libFuzzer target for FHIR search parameter parsing and
 * the SQL it becomes. The input is a query string; its first byte picks the
 * resource type and strict or lenient handling. Each input is parsed and,
 * when it parses, run against a small SQLite store (opened once), so the
 * SQL builder and cursor decoding are exercised too. Any crash, leak or
 * sanitizer report is a bug; errors are fine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhir/search.h"
#include "http/http.h"
#include "store/store.h"

static store *st;
static store_conn *conn;

static const char *const TYPES[] = {"Patient", "Observation", "Encounter", "Condition", "ServiceRequest",
                                    "Task", "CarePlan", "Bundle"};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if(size < 1 || size > 4096) return 0;
    if(!st) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/kith-fuzz-search-%d.db", (int)getpid());
        unlink(path);
        if(store_open(path, NULL, &st, NULL, 0)) abort();
        conn = store_conn_for_thread(st);
    }
    const char *type = TYPES[data[0] % 8];
    bool strict = data[0] & 0x80;
    char *q = malloc(size);
    memcpy(q, data + 1, size - 1);
    q[size - 1] = '\0';
    http_param *params = NULL;
    size_t n = 0;
    http_parse_query(q, &params, &n);
    fhir_issues is = FHIR_ISSUES_INIT;
    fhir_search *s = NULL;
    if(fhir_search_parse(type, params, n, strict, "http://localhost", &s, &is) == KITH_OK) {
        buf out = BUF_INIT;
        fhir_search_bundle(conn, s, "http://localhost", &out, &is);
        buf_free(&out);
        fhir_search_free(s);
    }
    fhir_issues_free(&is);
    http_params_free(params, n);
    free(q);
    return 0;
}
