/*
 * static.c — the web interface's files (see static.h).
 */
#include "web/static.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "web/signin.h"

typedef struct mime_type {
    const char *ext, *type;
} mime_type;

static const mime_type MIME[] = {
    {".html", "text/html; charset=utf-8"},        {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},   {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},                    {".png", "image/png"},
    {".ico", "image/x-icon"},                     {".woff2", "font/woff2"},
    {".woff", "font/woff"},                       {".json", "application/json; charset=utf-8"},
    {".webmanifest", "application/manifest+json"}, {".map", "application/json; charset=utf-8"},
};

static const char *mime_for(const char *path) {
    const char *dot = strrchr(path, '.');
    if(!dot || strchr(dot, '/')) return NULL;
    for(size_t i = 0; i < sizeof MIME / sizeof MIME[0]; i++)
        if(strcmp(dot, MIME[i].ext) == 0) return MIME[i].type;
    return NULL;
}

bool web_static_path(const char *path) {
    return strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 || strncmp(path, "/web/", 5) == 0 ||
           strcmp(path, "/favicon.ico") == 0;
}

/* A path below a directory: letters, digits, '-', '_', '.', '/', and no
 * segment that starts with '.' (so no "..", no hidden files). */
static bool safe_relative(const char *rel) {
    if(!*rel || strlen(rel) > 200) return false;
    bool segment_start = true;
    for(const char *p = rel; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.' || c == '/';
        if(!ok || (segment_start && (c == '.' || c == '/'))) return false;
        segment_start = c == '/';
    }
    return !segment_start;
}

void web_security_headers(http_response *res) {
    http_response_header(res, "Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                         "form-action 'self'; frame-ancestors 'none'");
    http_response_header(res, "Referrer-Policy", "no-referrer");
    http_response_header(res, "X-Frame-Options", "DENY");
}

static void not_found(http_response *res, const char *what) {
    res->status = 404;
    res->content_type = "text/plain; charset=utf-8";
    buf_printf(&res->body, "%s\n", what);
}

void web_static_handle(const web_files *wf, const http_request *req, http_response *res) {
    res->route = "web";
    if(strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        res->status = 405;
        res->content_type = "text/plain; charset=utf-8";
        buf_puts(&res->body, "the web interface's files are read with GET\n");
        http_response_header(res, "Allow", "GET, HEAD");
        return;
    }
    if(!wf || !wf->app_dir) {
        not_found(res, "this kith serve has no web interface (kith serve --web DIR)");
        return;
    }
    const char *dir = wf->app_dir, *rel = "index.html";
    if(strcmp(req->path, "/favicon.ico") == 0) {
        rel = "favicon.svg";
    } else if(strncmp(req->path, "/web/nhsuk/", 11) == 0) {
        dir = wf->nhsuk_dir;
        rel = req->path + 11;
    } else if(strncmp(req->path, "/web/", 5) == 0) {
        rel = req->path + 5;
    }
    const char *type = mime_for(rel);
    if(!dir || !safe_relative(rel) || !type) {
        not_found(res, "no such page");
        return;
    }
    char path[1024];
    if(snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path ||
       http_response_file(res, path, type) != KITH_OK) {
        not_found(res, "no such page");
        return;
    }
    /* the app changes with each release: revalidate rather than keep stale copies */
    http_response_header(res, "Cache-Control", "no-cache");
    web_security_headers(res);
}

/* The files of a published report that staff may fetch. */
static const char *const REPORT_FILES[] = {
    "index.html", "indicators.csv", "risk_pyramid.csv", "tasks.csv", "delay_reasons.csv", "social_care_requests.csv",
    NULL,
};

bool web_reports_path(const char *path) {
    return strcmp(path, "/reports") == 0 || strncmp(path, "/reports/", 9) == 0;
}

void web_reports_handle(fhir_rest *api, const http_request *req, http_response *res) {
    res->route = "web.reports";
    if(strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        web_reply_error(res, 405, "the report is read with GET");
        http_response_header(res, "Allow", "GET, HEAD");
        return;
    }
    store_conn *c = store_conn_for_thread(api->st);
    auth_principal who;
    if(!c || web_authenticate(api, c, req, &who) != KITH_OK) {
        web_reply_error(res, 401, "sign in to see the report");
        return;
    }
    const web_files *wf = api->web;
    if(!wf || !wf->reports_dir) {
        web_reply_error(res, 404, "no report has been published here (kith report --out DIR, then kith serve --reports DIR)");
        return;
    }
    const char *file = req->path[8] == '/' && req->path[9] ? req->path + 9 : "index.html";
    const char *type = NULL;
    for(int i = 0; REPORT_FILES[i]; i++)
        if(strcmp(file, REPORT_FILES[i]) == 0) type = i == 0 ? "text/html; charset=utf-8" : "text/csv; charset=utf-8";
    char path[1024];
    if(!type || snprintf(path, sizeof path, "%s/%s", wf->reports_dir, file) >= (int)sizeof path ||
       http_response_file(res, path, type) != KITH_OK) {
        web_reply_error(res, 404, "the report has no such file");
        return;
    }
    http_response_header(res, "Cache-Control", "private, no-cache");
    struct stat sb; /* when the report was published */
    char date[64];
    struct tm tm;
    if(stat(path, &sb) == 0 && gmtime_r(&sb.st_mtime, &tm) &&
       strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0)
        http_response_header(res, "Last-Modified", date);
    /* the report's page carries its own styles and no scripts */
    http_response_header(res, "Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'");
}
