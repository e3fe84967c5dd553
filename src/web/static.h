/*
 * static.h — the staff web interface's files. `kith serve` answers GET / with
 * the app's page (web/index.html) and GET /web/... with the app's scripts and
 * styles; /web/nhsuk/... are the NHS.UK frontend's styles, script and assets
 * (npm nhsuk-frontend). The files hold no personal data: everything about a
 * person comes from /fhir with the session cookie. Each page goes with a
 * strict Content-Security-Policy (scripts and styles only from Kith itself).
 */
#ifndef KITH_WEB_STATIC_H
#define KITH_WEB_STATIC_H
#include <stdbool.h>

#include "fhir/rest.h"
#include "http/http.h"

typedef struct web_files {
    const char *app_dir;   /* the web/ directory, or NULL: no web interface */
    const char *nhsuk_dir; /* nhsuk-frontend's dist/nhsuk directory, or NULL */
    const char *reports_dir; /* the report `kith report --out` published, or NULL */
} web_files;

/* Is path one of the web interface's (/, /web/...)? */
bool web_static_path(const char *path);

/* Answer a request for one of the web interface's files. */
void web_static_handle(const web_files *wf, const http_request *req, http_response *res);

/* Is path the published report's (/reports/...)? */
bool web_reports_path(const char *path);

/* GET /reports/FILE: a file of the report `kith report` published (its
 * page, index.html, and its CSVs), to signed-in staff only: the figures are
 * for the place's areas, with small numbers already hidden. */
void web_reports_handle(fhir_rest *api, const http_request *req, http_response *res);

/* The security headers every page of the web interface carries. */
void web_security_headers(http_response *res);

#endif
