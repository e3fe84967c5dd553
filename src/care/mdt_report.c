/*
 * mdt_report.c — what an MDT meeting hands people to read: the agenda
 * (Appointment/{id}/$agenda: actions from earlier meetings first, with
 * their state, then the cases in order with time-boxes and planned times),
 * the minutes (Appointment/{id}/$minutes) and one person's discussion
 * (Composition/{id}/$document). Each comes as FHIR JSON, or with
 * format=markdown or format=html as a document to read, print or paste.
 *
 * Everything is read through the caller's access policy: a case about
 * someone the reader does not care for is shown as such, without name or
 * reasons. HTML is built from escaped text only (a Composition's narrative
 * is reduced to its text first), so nothing stored can run as script.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/mem.h"
#include "care/mdt_int.h"
#include "fhir/access.h"

/* ---- documents: Markdown or HTML ------------------------------------------------ */

enum { FMT_JSON, FMT_MARKDOWN, FMT_HTML };

typedef struct doc {
    buf *b;
    bool html, in_list;
} doc;

static void doc_text(doc *d, const char *s) {
    for(const char *p = s; *p; p++) {
        if(d->html) {
            if(*p == '&')
                buf_puts(d->b, "&amp;");
            else if(*p == '<')
                buf_puts(d->b, "&lt;");
            else if(*p == '>')
                buf_puts(d->b, "&gt;");
            else if(*p == '"')
                buf_puts(d->b, "&quot;");
            else
                buf_putc(d->b, *p);
        } else {
            if(strchr("\\`*_[]<>#|", *p)) buf_putc(d->b, '\\');
            buf_putc(d->b, *p == '\n' ? ' ' : *p);
        }
    }
}

static void doc_end_list(doc *d) {
    if(!d->in_list) return;
    buf_puts(d->b, d->html ? "</ul>\n" : "\n");
    d->in_list = false;
}

static void doc_vput(doc *d, int kind, const char *fmt, va_list ap) {
    char text[2048];
    vsnprintf(text, sizeof text, fmt, ap);
    if(kind == 'i') {
        if(!d->in_list) buf_puts(d->b, d->html ? "<ul>\n" : "");
        d->in_list = true;
        buf_puts(d->b, d->html ? "<li>" : "- ");
        doc_text(d, text);
        buf_puts(d->b, d->html ? "</li>\n" : "\n");
        return;
    }
    doc_end_list(d);
    if(kind == 'p' || kind == 'l') {
        buf_puts(d->b, d->html ? (kind == 'l' ? "<p><strong>" : "<p>") : kind == 'l' ? "**" : "");
        doc_text(d, text);
        buf_puts(d->b, d->html ? (kind == 'l' ? "</strong></p>\n" : "</p>\n") : kind == 'l' ? "**\n\n" : "\n\n");
    } else { /* a heading, level kind - '0' */
        int level = kind - '0';
        if(d->html)
            buf_printf(d->b, "<h%d>", level);
        else
            for(int i = 0; i < level; i++) buf_putc(d->b, '#');
        if(!d->html) buf_putc(d->b, ' ');
        doc_text(d, text);
        if(d->html)
            buf_printf(d->b, "</h%d>\n", level);
        else
            buf_puts(d->b, "\n\n");
    }
}

/* A heading of level 1-3 ('1'..'3'), a paragraph ('p'), a label ('l': a paragraph in bold) or a list item ('i'). */
static void doc_put(doc *d, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void doc_put(doc *d, int kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    doc_vput(d, kind, fmt, ap);
    va_end(ap);
}

static void doc_begin(doc *d, const char *title) {
    if(!d->html) return;
    buf_puts(d->b, "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>");
    doc_text(d, title);
    buf_puts(d->b, "</title><style>body{font-family:Arial,sans-serif;max-width:50em;margin:2em auto;line-height:1.4}"
                   "h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc}h3{font-size:1.1em}"
                   "</style></head><body>\n");
}

static void doc_finish(doc *d) {
    doc_end_list(d);
    if(d->html) buf_puts(d->b, "</body></html>\n");
}

/* format=json (default), markdown (or text) or html; replies 400 and returns -1 for anything else. */
static int format_of(const http_request *req, http_response *res) {
    for(size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name;
        if(strcmp(n, "format") != 0 && strcmp(n, "_format") != 0 && strcmp(n, "_pretty") != 0) {
            fhir_reply_error(res, 400, "not-supported",
                             "unknown parameter '%s': this operation takes format "
                             "(json, markdown or html)",
                             n);
            return -1;
        }
    }
    const char *f = http_param_get(req, "format");
    if(!f || strcmp(f, "json") == 0) return FMT_JSON;
    if(strcmp(f, "markdown") == 0 || strcmp(f, "text") == 0) return FMT_MARKDOWN;
    if(strcmp(f, "html") == 0) return FMT_HTML;
    fhir_reply_error(res, 400, "value", "format must be json, markdown or html, not '%s'", f);
    return -1;
}

static void reply_doc(http_response *res, bool html, buf *b) {
    res->status = 200;
    res->content_type = html ? "text/html; charset=utf-8" : "text/markdown; charset=utf-8";
    if(html) http_response_header(res, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    buf_reset(&res->body);
    buf_append(&res->body, b->data ? b->data : "", b->len);
}

/* "13:05" in UK civil time. */
static void clock_words(int64_t t, char out[8]) {
    int64_t local = t + workday_uk_offset(t);
    int64_t rest = ((local % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS;
    snprintf(out, 8, "%02d:%02d", (int)(rest / 3600), (int)(rest / 60 % 60));
}

/* ---- actions, in words ---------------------------------------------------------- */

/* "Overdue: due Thursday 19 November 2026" */
static void action_state_words(const mdt_action *a, char out[200]) {
    char due[64] = "", done[64] = "";
    if(a->due) mdt_when_words(a->due, false, due);
    if(a->done) mdt_when_words(a->done, false, done);
    if(a->state == MDT_ACTION_DONE_ON_TIME || a->state == MDT_ACTION_DONE_LATE)
        snprintf(out, 200, "%s%s%s%s%s", mdt_action_words(a->state), done[0] ? ": done " : "", done,
                 due[0] ? ", due " : "", due);
    else
        snprintf(out, 200, "%s%s%s", mdt_action_words(a->state), due[0] ? ": due " : "", due);
}

/* "Arrange a falls assessment; Jo Bloggs; for Ada Smith, 84" */
static void action_words(store_conn *c, const json_value *task, char out[600]) {
    char owner[200];
    mdt_ref_words(c, json_get(task, "owner"), owner);
    const char *what = json_string(json_get(task, "description"));
    const char *whom = json_string(json_get(json_get(task, "for"), "display"));
    snprintf(out, 600, "%s; %s%s%s", what ? what : "(no description)", owner, whom ? "; for " : "", whom ? whom : "");
}

/* ---- the agenda ---------------------------------------------------------------- */

typedef struct item {
    bool action;
    char ref[100]; /* Task/x, Patient/y, or "" when the reader may not see who */
    char display[600];
    const char *flag_system;
    char flag_code[32], flag_text[700];
    int box;    /* minutes */
    int64_t at; /* planned start */
} item;

typedef struct agenda {
    item *v;
    size_t n;
    int block;     /* minutes for the actions */
    size_t hidden; /* cases the reader does not care for */
} agenda;

static item *agenda_add(agenda *a) {
    a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
    item *x = &a->v[a->n++];
    memset(x, 0, sizeof *x);
    return x;
}

/* The agenda of meeting mt as the reader sees it. */
static void agenda_build(store_conn *c, const mdt_meeting *mt, int64_t now, agenda *a) {
    mdt_action *acts;
    size_t na = mdt_previous_actions(c, mt, now, &acts);
    int minutes = (int)((mt->end - mt->start) / 60);
    mdt_action_state *states = xcalloc(na + 1, sizeof *states);
    for(size_t i = 0; i < na; i++) states[i] = acts[i].state;
    a->block = mdt_actions_block(states, na, minutes);
    free(states);
    int64_t at = mt->start;
    int left = a->block;
    for(size_t i = 0; i < na; i++) {
        item *x = agenda_add(a);
        x->action = true;
        snprintf(x->ref, sizeof x->ref, "Task/%s", acts[i].id);
        action_words(c, acts[i].task, x->display);
        x->flag_system = MDT_STATE_CS;
        snprintf(x->flag_code, sizeof x->flag_code, "%s", mdt_action_code(acts[i].state));
        char w[200];
        action_state_words(&acts[i], w);
        snprintf(x->flag_text, sizeof x->flag_text, "%s%s", w, acts[i].previous ? "" : " (from an earlier meeting)");
        int m = mdt_action_minutes(acts[i].state);
        x->box = m < left ? m : left;
        left -= x->box;
        x->at = at;
        at += (int64_t)x->box * 60;
    }
    mdt_actions_free(acts, na);
    at = mt->start + (int64_t)a->block * 60;
    /* who has been discussed at this meeting already */
    char q[160], **enc;
    size_t ne = 0;
    snprintf(q, sizeof q, "appointment=Appointment/%s", mt->id);
    if(care_find(c, "Encounter", q, 1000, &enc, &ne)) enc = NULL, ne = 0;
    char **done = xcalloc(ne + 1, sizeof *done);
    size_t nd = 0;
    for(size_t i = 0; i < ne; i++) {
        json_value *e = care_read(c, "Encounter", enc[i], NULL);
        char pid[72];
        if(e && mdt_case_patient(e, pid)) done[nd++] = xstrdup(pid);
        json_free(e);
    }
    care_ids_free(enc, ne);
    nd = mdt_sort_ids(done, nd);
    json_value *es = json_get(mt->list, "entry");
    for(size_t i = 0; i < json_array_len(es); i++) {
        json_value *e = json_array_at(es, i);
        item *x = agenda_add(a);
        x->box = mdt_entry_box(e);
        if(x->box < 0) x->box = 0;
        x->at = x->box ? at : 0;
        at += (int64_t)x->box * 60;
        x->flag_system = MDT_ENTRY_CS;
        char t[64], tid[72], pid[72];
        json_value *team = NULL, *pat = NULL;
        if(care_ref_split(care_ref_of(json_get(e, "item")), t, tid) && strcmp(t, "CareTeam") == 0)
            team = care_read(c, "CareTeam", tid, NULL);
        if(team && mdt_case_patient(team, pid)) pat = care_read(c, "Patient", pid, NULL);
        bool discussed = pat && mdt_sorted_has(done, nd, pid);
        const char *code = discussed                                                       ? "discussed"
                           : !x->box                                                       ? "deferred"
                           : care_concept_has(json_get(e, "flag"), MDT_ENTRY_CS, "review") ? "review"
                                                                                           : "new";
        snprintf(x->flag_code, sizeof x->flag_code, "%s", code);
        if(!pat) {
            a->hidden++;
            snprintf(x->display, sizeof x->display, "A person you are not involved with");
            snprintf(x->flag_text, sizeof x->flag_text, "%s",
                     !x->box ? "Not reached: carried to the next meeting" : "");
        } else {
            snprintf(x->ref, sizeof x->ref, "Patient/%s", pid);
            mdt_person_words(pat, now, true, x->display);
            buf w = BUF_INIT;
            buf_puts(&w, discussed ? "Discussed. " : !x->box ? "Not reached: carried to the next meeting. " : "");
            json_value *rs = json_get(team, "reasonCode");
            for(size_t k = 0; k < json_array_len(rs); k++) {
                const char *r = json_string(json_get(json_array_at(rs, k), "text"));
                if(r) buf_printf(&w, "%s%s", k ? "; " : "", r);
            }
            snprintf(x->flag_text, sizeof x->flag_text, "%s", buf_str(&w));
            buf_free(&w);
        }
        json_free(team);
        json_free(pat);
    }
    care_ids_free(done, nd);
}

static void agenda_free(agenda *a) {
    free(a->v);
}

static json_value *minutes_duration(int minutes) {
    json_value *d = json_new_object();
    json_set(d, "value", json_new_int(minutes));
    json_set(d, "unit", json_new_string("min"));
    json_set(d, "system", json_new_string("http://unitsofmeasure.org"));
    json_set(d, "code", json_new_string("min"));
    return d;
}

static json_value *agenda_json(const mdt_meeting *mt, const agenda *a) {
    char when[64], title[300], start[32];
    mdt_when_words(mt->start, true, when);
    care_instant(mt->start, start);
    json_value *l = json_new_object();
    json_set(l, "resourceType", json_new_string("List"));
    care_ext_set(l, CARE_EXT "mdt", "valueReference", care_reference("CareTeam", mt->m.id, mt->m.name));
    care_ext_set(l, CARE_EXT "actions-time-box", "valueDuration", minutes_duration(a->block));
    json_set(l, "status", json_new_string("current"));
    json_set(l, "mode", json_new_string("snapshot"));
    snprintf(title, sizeof title, "Agenda: %s, %s", mt->m.name, when);
    json_set(l, "title", json_new_string(title));
    json_set(l, "code", care_concept(MDT_LIST_CS, "agenda", "MDT meeting agenda"));
    json_set(l, "date", json_new_string(start));
    json_set(l, "orderedBy",
             care_concept("http://terminology.hl7.org/CodeSystem/list-order", "user", "Sorted by User"));
    json_value *entries = json_new_array();
    for(size_t i = 0; i < a->n; i++) {
        const item *x = &a->v[i];
        json_value *e = json_new_object();
        care_ext_set(e, CARE_EXT "agenda-section", "valueCode",
                     json_new_string(x->action ? "previous-actions" : "cases"));
        mdt_entry_set_box(e, x->box);
        if(x->at) {
            char at[32];
            care_instant(x->at, at);
            json_value *ext = json_get(e, "extension"), *pe = json_new_object();
            json_set(pe, "url", json_new_string(CARE_EXT "planned-start"));
            json_set(pe, "valueDateTime", json_new_string(at));
            json_append(ext, pe);
        }
        json_value *flag = care_concept(x->flag_system, x->flag_code, NULL);
        if(x->flag_text[0]) json_set(flag, "text", json_new_string(x->flag_text));
        json_set(e, "flag", flag);
        json_value *ref = json_new_object();
        if(x->ref[0]) json_set(ref, "reference", json_new_string(x->ref));
        json_set(ref, "display", json_new_string(x->display));
        json_set(e, "item", ref);
        json_append(entries, e);
    }
    if(a->n)
        json_set(l, "entry", entries);
    else {
        json_free(entries);
        json_set(l, "emptyReason",
                 care_concept("http://terminology.hl7.org/CodeSystem/list-empty-reason", "nilknown", "Nil Known"));
    }
    return l;
}

static void agenda_doc(doc *d, const mdt_meeting *mt, const agenda *a) {
    char when[64], title[300], hm[8];
    mdt_when_words(mt->start, true, when);
    snprintf(title, sizeof title, "Agenda: %s", mt->m.name);
    doc_begin(d, title);
    doc_put(d, '1', "%s", title);
    const char *where = json_string(json_get(mt->appt, "description"));
    if(where && strcmp(where, mt->m.name) == 0) where = NULL;
    doc_put(d, 'p', "%s, %d minutes%s%s", when, (int)((mt->end - mt->start) / 60), where ? ". " : "",
            where ? where : "");
    size_t nact = 0;
    for(size_t i = 0; i < a->n; i++) nact += a->v[i].action;
    doc_put(d, '2', "1. Actions from earlier meetings (%d minutes)", a->block);
    if(!nact) doc_put(d, 'p', "None.");
    for(size_t i = 0; i < a->n; i++)
        if(a->v[i].action) doc_put(d, 'i', "%s: %s", a->v[i].flag_text, a->v[i].display);
    doc_put(d, '2', "2. Cases");
    size_t k = 0;
    for(size_t i = 0; i < a->n; i++) {
        const item *x = &a->v[i];
        if(x->action || !x->box) continue;
        clock_words(x->at, hm);
        doc_put(d, '3', "%s %zu. %s (%d minutes)", hm, ++k, x->display, x->box);
        if(x->flag_text[0]) doc_put(d, 'p', "%s", x->flag_text);
    }
    if(!k) doc_put(d, 'p', "No cases.");
    bool header = false;
    for(size_t i = 0; i < a->n; i++) {
        if(a->v[i].action || a->v[i].box) continue;
        if(!header) doc_put(d, '2', "Not reached: carried to the next meeting");
        header = true;
        doc_put(d, 'i', "%s", a->v[i].display);
    }
    if(a->hidden)
        doc_put(d, 'p', "%zu case%s on the list %s about people you are not involved with: ask the chair.", a->hidden,
                a->hidden == 1 ? "" : "s", a->hidden == 1 ? "is" : "are");
    doc_finish(d);
}

/* The format asked for and the meeting; replies and returns -1 (nothing to free) on failure. */
static int open_meeting(store_conn *c, const http_request *req, http_response *res, const char *id, mdt_meeting *mt) {
    int fmt = format_of(req, res);
    memset(mt, 0, sizeof *mt);
    if(fmt < 0 || mdt_meeting_open(c, id, res, mt)) return fmt;
    mdt_meeting_free(mt);
    return -1;
}

/* GET Appointment/{id}/$agenda */
void mdt_agenda(store_conn *c, const http_request *req, http_response *res, const char *id) {
    mdt_meeting mt;
    int fmt = open_meeting(c, req, res, id, &mt);
    if(fmt < 0) return;
    agenda a = {0};
    agenda_build(c, &mt, care_now(), &a);
    if(fmt == FMT_JSON) {
        json_value *l = agenda_json(&mt, &a);
        char *text = json_to_text(l, NULL);
        res->status = 200;
        res->content_type = "application/fhir+json";
        buf_puts(&res->body, text);
        free(text);
        json_free(l);
    } else {
        buf b = BUF_INIT;
        doc d = {.b = &b, .html = fmt == FMT_HTML};
        agenda_doc(&d, &mt, &a);
        reply_doc(res, d.html, &b);
        buf_free(&b);
    }
    agenda_free(&a);
    mdt_meeting_free(&mt);
}

/* ---- one discussion -------------------------------------------------------------- */

typedef struct blocks {
    doc *d;
    size_t n;
} blocks;

/* The text of an XHTML narrative, block by block (paragraphs, list items), to fn. */
static void div_blocks(const char *div, void (*fn)(void *, const char *, bool), void *ctx) {
    buf cur = BUF_INIT;
    bool item = false;
    for(const char *p = div ? div : ""; *p;) {
        if(*p == '<') {
            const char *end = strchr(p, '>');
            if(!end) break;
            const char *name = p + 1 + (p[1] == '/');
            size_t k = strcspn(name, " />");
            bool block = (k == 1 && strchr("pP", name[0])) || (k == 2 && !strncmp(name, "li", 2)) ||
                         (k == 2 && !strncmp(name, "br", 2)) || (k == 3 && !strncmp(name, "div", 3)) ||
                         (k == 2 && !strncmp(name, "tr", 2)) ||
                         (k == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6');
            if(block) {
                const char *s = buf_str(&cur);
                while(*s == ' ') s++;
                if(*s) fn(ctx, s, item);
                buf_reset(&cur);
                if(p[1] != '/') item = k == 2 && !strncmp(name, "li", 2);
            }
            p = end + 1;
            continue;
        }
        if(*p == '&') {
            static const char *const ENT[][2] = {{"&amp;", "&"}, {"&lt;", "<"},   {"&gt;", ">"},  {"&quot;", "\""},
                                                 {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "}};
            bool hit = false;
            for(size_t i = 0; i < sizeof ENT / sizeof *ENT && !hit; i++) {
                size_t n = strlen(ENT[i][0]);
                if(strncmp(p, ENT[i][0], n) == 0) {
                    buf_puts(&cur, ENT[i][1]);
                    p += n;
                    hit = true;
                }
            }
            if(hit) continue;
        }
        buf_putc(&cur, *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p);
        p++;
    }
    const char *s = buf_str(&cur);
    while(*s == ' ') s++;
    if(*s) fn(ctx, s, item);
    buf_free(&cur);
}

static void put_block(void *ctx, const char *text, bool item) {
    blocks *b = ctx;
    doc_put(b->d, item ? 'i' : 'p', "%s", text);
    b->n++;
}

/* One discussion (a Composition) as a section of a document, headed at level; in
 * minutes (level 3) without who was present, which the minutes say once. */
static void case_doc(doc *d, store_conn *c, const json_value *comp, int level, int64_t now) {
    char t[64], pid[72], person[200] = "";
    json_value *pat = NULL;
    if(care_ref_split(care_ref_of(json_get(comp, "subject")), t, pid)) pat = care_read(c, "Patient", pid, NULL);
    if(pat)
        mdt_person_words(pat, now, true, person);
    else
        snprintf(person, sizeof person, "%s",
                 json_string(json_get(json_get(comp, "subject"), "display"))
                     ? json_string(json_get(json_get(comp, "subject"), "display"))
                     : "(unknown person)");
    json_free(pat);
    doc_put(d, (char)('0' + level), "%s", person);
    json_value *secs = json_get(comp, "section");
    for(size_t i = 0; i < json_array_len(secs); i++) {
        json_value *s = json_array_at(secs, i);
        const char *title = json_string(json_get(s, "title"));
        if(level > 2 && care_concept_has(json_get(s, "code"), CARE_CS "mdt-section", "present")) continue;
        doc_put(d, 'l', "%s", title ? title : "Section");
        if(care_concept_has(json_get(s, "code"), CARE_CS "mdt-section", "actions") &&
           json_array_len(json_get(s, "entry"))) {
            json_value *es = json_get(s, "entry");
            for(size_t k = 0; k < json_array_len(es); k++) {
                char tt[64], tid[72], words[600], state[200];
                if(!care_ref_split(care_ref_of(json_array_at(es, k)), tt, tid)) continue;
                json_value *task = care_read(c, "Task", tid, NULL);
                if(!task) continue;
                mdt_action a = {.task = task};
                mdt_task_times(task, &a.due, &a.done);
                a.state = mdt_action_classify(json_string(json_get(task, "status")), a.due, a.done, now);
                action_words(c, task, words);
                action_state_words(&a, state);
                char *cut = strstr(words, "; for "); /* the person is the heading already */
                if(cut) *cut = '\0';
                doc_put(d, 'i', "%s (%s)", words, state);
                json_free(task);
            }
            continue;
        }
        blocks b = {.d = d};
        div_blocks(json_string(json_get(json_get(s, "text"), "div")), put_block, &b);
        if(!b.n) doc_put(d, 'p', "None.");
    }
}

/* GET Composition/{id}/$document: one discussion, as a FHIR document or to read. */
void mdt_document(store_conn *c, const http_request *req, http_response *res, const char *id) {
    int fmt = format_of(req, res);
    if(fmt < 0) return;
    json_value *comp = care_read(c, "Composition", id, NULL);
    if(!comp) {
        fhir_reply_error(res, 404, "not-found", "Composition/%s is not known", id);
        return;
    }
    char t[64], pid[72];
    if(care_ref_split(care_ref_of(json_get(comp, "subject")), t, pid)) access_note("Composition", id, pid);
    if(fmt != FMT_JSON) {
        buf b = BUF_INIT;
        doc d = {.b = &b, .html = fmt == FMT_HTML};
        const char *title = json_string(json_get(comp, "title"));
        doc_begin(&d, title ? title : "MDT discussion");
        doc_put(&d, '1', "%s", title ? title : "MDT discussion");
        case_doc(&d, c, comp, 2, care_now());
        doc_finish(&d);
        reply_doc(res, d.html, &b);
        buf_free(&b);
        json_free(comp);
        return;
    }
    /* a FHIR document: the Composition first, then what it refers to that the reader may see */
    buf entries = BUF_INIT;
    size_t n = 0;
    char *text = json_to_text(comp, NULL);
    care_bundle_entry(&entries, &n, req, text, strlen(text), NULL);
    free(text);
    const char *refs[64];
    size_t nr = 0;
    refs[nr++] = care_ref_of(json_get(comp, "subject"));
    refs[nr++] = care_ref_of(json_get(comp, "encounter"));
    json_value *secs = json_get(comp, "section");
    for(size_t i = 0; i < json_array_len(secs); i++)
        for(size_t k = 0; k < json_array_len(json_get(json_array_at(secs, i), "entry")) && nr < 64; k++)
            refs[nr++] = care_ref_of(json_array_at(json_get(json_array_at(secs, i), "entry"), k));
    for(size_t i = 0; i < nr; i++) {
        char rt[64], rid[72];
        store_resource r;
        if(!care_ref_split(refs[i], rt, rid) || !access_allows(rt, 'r')) continue;
        if(store_read(c, rt, rid, 0, &r) == KITH_OK && r.body)
            care_bundle_entry(&entries, &n, req, r.body, r.body_len, NULL);
        store_resource_free(&r);
    }
    char uuid[ID_UUID_LEN], now[32];
    id_new_uuid(uuid);
    care_instant(care_now(), now);
    res->status = 200;
    res->content_type = "application/fhir+json";
    buf_reset(&res->body);
    buf_printf(&res->body,
               "{\"resourceType\":\"Bundle\",\"identifier\":{\"system\":\"urn:ietf:rfc:3986\",\"value\":"
               "\"urn:uuid:%s\"},\"type\":\"document\",\"timestamp\":\"%s\",\"entry\":[",
               uuid, now);
    buf_append(&res->body, entries.data ? entries.data : "", entries.len);
    buf_puts(&res->body, "]}");
    buf_free(&entries);
    json_free(comp);
}

/* ---- the minutes ------------------------------------------------------------------ */

/* The Compositions of the discussions at meeting mt the reader may see, in the case list's order. */
static size_t discussions(store_conn *c, const mdt_meeting *mt, json_value ***out) {
    char q[160], **enc;
    size_t ne, n = 0;
    *out = NULL;
    snprintf(q, sizeof q, "appointment=Appointment/%s", mt->id);
    if(care_find(c, "Encounter", q, 1000, &enc, &ne)) return 0;
    *out = xcalloc(ne + 1, sizeof **out);
    for(size_t i = 0; i < ne; i++) {
        char cq[160], **comp;
        size_t nc;
        snprintf(cq, sizeof cq, "encounter=Encounter/%s", enc[i]);
        if(care_find(c, "Composition", cq, 1, &comp, &nc)) continue;
        if(nc && ((*out)[n] = care_read(c, "Composition", comp[0], NULL))) n++;
        care_ids_free(comp, nc);
    }
    care_ids_free(enc, ne);
    /* the list's order */
    json_value *es = json_get(mt->list, "entry");
    size_t placed = 0;
    for(size_t i = 0; i < json_array_len(es) && placed < n; i++) {
        char t[64], tid[72], pid[72], cp[72];
        if(!care_ref_split(care_ref_of(json_get(json_array_at(es, i), "item")), t, tid)) continue;
        json_value *team = care_read(c, "CareTeam", tid, NULL);
        if(team && mdt_case_patient(team, pid))
            for(size_t k = placed; k < n; k++)
                if(mdt_case_patient((*out)[k], cp) && strcmp(cp, pid) == 0) {
                    json_value *x = (*out)[k];
                    (*out)[k] = (*out)[placed];
                    (*out)[placed++] = x;
                    break;
                }
        json_free(team);
    }
    return n;
}

/* The people invited as words, present ones (want 1), absent (0) or not recorded (-1). */
static size_t attendees(store_conn *c, const json_value *appt, int want, doc *d) {
    json_value *ps = json_get(appt, "participant");
    size_t n = 0;
    for(size_t i = 0; i < json_array_len(ps); i++) {
        json_value *p = json_array_at(ps, i), *att = care_ext_get(p, CARE_EXT "attended");
        int is = att ? json_boolean(json_get(att, "valueBoolean")) : -1;
        if(is != want) continue;
        char who[200];
        mdt_ref_words(c, json_get(p, "actor"), who);
        const char *role = json_string(json_get(json_array_at(json_get(p, "type"), 0), "text"));
        doc_put(d, 'i', "%s%s%s%s", who, role ? " (" : "", role ? role : "", role ? ")" : "");
        n++;
    }
    return n;
}

/* GET Appointment/{id}/$minutes */
void mdt_minutes(store_conn *c, const http_request *req, http_response *res, const char *id) {
    mdt_meeting mt;
    int fmt = open_meeting(c, req, res, id, &mt);
    if(fmt < 0) return;
    int64_t now = care_now();
    json_value **comps;
    size_t nc = discussions(c, &mt, &comps);
    if(fmt == FMT_JSON) { /* the meeting, its discussions and their actions */
        buf entries = BUF_INIT;
        size_t n = 0;
        char *text = json_to_text(mt.appt, NULL);
        care_bundle_entry(&entries, &n, req, text, strlen(text), NULL);
        free(text);
        for(size_t i = 0; i < nc; i++) {
            text = json_to_text(comps[i], NULL);
            care_bundle_entry(&entries, &n, req, text, strlen(text), NULL);
            free(text);
        }
        char q[160], **tasks;
        size_t nt;
        snprintf(q, sizeof q, "based-on=Appointment/%s", id);
        if(!care_find(c, "Task", q, 1000, &tasks, &nt)) {
            for(size_t i = 0; i < nt; i++) {
                store_resource r;
                if(store_read(c, "Task", tasks[i], 0, &r) == KITH_OK && r.body)
                    care_bundle_entry(&entries, &n, req, r.body, r.body_len, NULL);
                store_resource_free(&r);
            }
            care_ids_free(tasks, nt);
        }
        care_reply_bundle(res, "collection", &entries, -1);
        buf_free(&entries);
    } else {
        buf b = BUF_INIT;
        doc d = {.b = &b, .html = fmt == FMT_HTML};
        char when[64], title[300];
        mdt_when_words(mt.start, true, when);
        snprintf(title, sizeof title, "%s: minutes of the meeting on %s", mt.m.name, when);
        doc_begin(&d, title);
        doc_put(&d, '1', "%s", title);
        const char *status = json_string(json_get(mt.appt, "status"));
        const char *where = json_string(json_get(mt.appt, "description"));
        if(where && strcmp(where, mt.m.name) != 0) doc_put(&d, 'p', "%s", where);
        doc_put(&d, 'p', "%d minutes; the meeting is %s.", (int)((mt.end - mt.start) / 60),
                status && !strcmp(status, "fulfilled") ? "over"
                : status && !strcmp(status, "booked")  ? "planned"
                : status && !strcmp(status, "arrived") ? "under way"
                : status                               ? status
                                                       : "planned");
        doc_put(&d, '2', "Present");
        if(!attendees(c, mt.appt, 1, &d)) doc_put(&d, 'p', "Attendance not recorded.");
        doc_put(&d, '2', "Apologies");
        if(!attendees(c, mt.appt, 0, &d)) doc_put(&d, 'p', "None recorded.");
        doc_put(&d, '2', "Actions from earlier meetings");
        mdt_action *acts;
        size_t na = mdt_previous_actions(c, &mt, now, &acts);
        for(size_t i = 0; i < na; i++) {
            char words[600], state[200];
            action_words(c, acts[i].task, words);
            action_state_words(&acts[i], state);
            doc_put(&d, 'i', "%s: %s", state, words);
        }
        if(!na) doc_put(&d, 'p', "None.");
        mdt_actions_free(acts, na);
        doc_put(&d, '2', "Cases discussed");
        for(size_t i = 0; i < nc; i++) case_doc(&d, c, comps[i], 3, now);
        if(!nc) doc_put(&d, 'p', "None you are involved with.");
        size_t listed = json_array_len(json_get(mt.list, "entry")), seen = 0;
        json_value *es = json_get(mt.list, "entry");
        for(size_t i = 0; i < listed; i++) {
            char t[64], tid[72];
            json_value *team = care_ref_split(care_ref_of(json_get(json_array_at(es, i), "item")), t, tid)
                                   ? care_read(c, "CareTeam", tid, NULL)
                                   : NULL;
            seen += team != NULL;
            json_free(team);
        }
        if(listed > seen)
            doc_put(&d, 'p', "%zu case%s on the list %s about people you are not involved with.", listed - seen,
                    listed - seen == 1 ? "" : "s", listed - seen == 1 ? "is" : "are");
        doc_finish(&d);
        reply_doc(res, d.html, &b);
        buf_free(&b);
    }
    for(size_t i = 0; i < nc; i++) json_free(comps[i]);
    free(comps);
    mdt_meeting_free(&mt);
}
