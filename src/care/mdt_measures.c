/*
 * mdt_measures.c — how well an MDT works (CareTeam/{id}/$mdt-measures):
 * meetings held, cases discussed and per hour of meeting, days from case
 * finding to discussion, actions done on time, repeat discussions, and the
 * emergency admissions and deaths of the people discussed in the 90 days
 * after their discussion against the 90 days before. The answer is a FHIR
 * MeasureReport (type summary); docs/mdt.md defines each group.
 *
 * Discussions are the Encounters of type mdt-discussion whose service
 * provider is the MDT's neighbourhood team, whether Kith recorded them at a
 * meeting or another system (or the synthetic place) wrote them; what only
 * Kith's meetings know (time spent, case finding, actions) comes from the
 * MDT's Appointments. Measures are analytics: they are read as a
 * secondary-use viewer (everyone but people who opted out of secondary use)
 * and answer only counts, never who.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "care/mdt_int.h"
#include "fhir/access.h"

#define MAX_DISCUSSIONS 100000
#define FOLLOW_UP (90 * (int64_t)DAY_SECONDS)

typedef struct talk {
    char pid[72];
    int64_t at;
    bool at_meeting;
} talk;

typedef struct tally {
    long planned, held, cases_at_meetings;
    int64_t seconds;
    double *days; /* case finding to discussion, per discussion at a meeting */
    size_t ndays;
    long actions[MDT_ACTION_STATES], nactions;
    talk *talks;
    size_t ntalks;
    long repeats, people;
    mdt_followup f;
} tally;

/* When each person on a meeting's case list was found (the entry's date), by Patient id. */
static int64_t found_at(store_conn *c, const json_value *list, const char *pid) {
    json_value *es = json_get(list, "entry");
    for(size_t i = 0; i < json_array_len(es); i++) {
        json_value *e = json_array_at(es, i);
        char t[64], tid[72], who[72];
        if(!care_ref_split(care_ref_of(json_get(e, "item")), t, tid) || strcmp(t, "CareTeam") != 0) continue;
        json_value *team = care_read(c, "CareTeam", tid, NULL);
        bool same = team && mdt_case_patient(team, who) && strcmp(who, pid) == 0;
        json_free(team);
        int64_t at;
        if(same && care_time(json_string(json_get(e, "date")), &at)) return at;
    }
    return 0;
}

/* One meeting: its time, its discussions and the actions agreed at it. */
static void meeting_tally(store_conn *c, const char *aid, int64_t now, tally *t) {
    mdt_meeting mt;
    http_response sink = {0};
    bool ok = mdt_meeting_open(c, aid, &sink, &mt);
    http_response_free(&sink);
    if(!ok || !mdt_meeting_live(mt.appt)) {
        mdt_meeting_free(&mt);
        return;
    }
    t->planned++;
    char q[160], **ids;
    size_t n;
    snprintf(q, sizeof q, "appointment=Appointment/%s", aid);
    if(!care_find(c, "Encounter", q, 1000, &ids, &n)) {
        if(n) {
            t->held++;
            t->seconds += mt.end - mt.start;
            t->cases_at_meetings += (long)n;
        }
        t->days = xrealloc(t->days, (t->ndays + n + 1) * sizeof *t->days);
        for(size_t i = 0; i < n; i++) {
            json_value *e = care_read(c, "Encounter", ids[i], NULL);
            char pid[72];
            int64_t found = e && mdt_case_patient(e, pid) ? found_at(c, mt.list, pid) : 0;
            int64_t at = mdt_enc_start(e);
            if(found && at >= found) t->days[t->ndays++] = (double)(at - found) / DAY_SECONDS;
            json_free(e);
        }
        care_ids_free(ids, n);
    }
    snprintf(q, sizeof q, "based-on=Appointment/%s", aid);
    if(!care_find(c, "Task", q, 1000, &ids, &n)) {
        for(size_t i = 0; i < n; i++) {
            json_value *task = care_read(c, "Task", ids[i], NULL);
            if(!task) continue;
            int64_t due, done;
            mdt_task_times(task, &due, &done);
            t->actions[mdt_action_classify(json_string(json_get(task, "status")), due, done, now)]++;
            t->nactions++;
            json_free(task);
        }
        care_ids_free(ids, n);
    }
    mdt_meeting_free(&mt);
}

static int talk_order(const void *a, const void *b) {
    const talk *x = a, *y = b;
    int c = strcmp(x->pid, y->pid);
    return c ? c : x->at < y->at ? -1 : x->at > y->at;
}

/* Every discussion at the team in [from, to), then repeats and outcomes per person. */
static void discussions_tally(store_conn *c, const mdt *m, int64_t from, int64_t to, int64_t now, tally *t) {
    char q[300], f[32], u[32], **ids;
    size_t n;
    care_instant(from, f);
    care_instant(to, u);
    snprintf(q, sizeof q, "type=" MDT_ENC_CS "|mdt-discussion&service-provider=Organization/%s&date=ge%s&date=lt%s",
             m->org, f, u);
    if(care_find(c, "Encounter", q, MAX_DISCUSSIONS, &ids, &n)) return;
    t->talks = xcalloc(n + 1, sizeof *t->talks);
    for(size_t i = 0; i < n; i++) {
        json_value *e = care_read(c, "Encounter", ids[i], NULL);
        talk *x = &t->talks[t->ntalks];
        x->at = mdt_enc_start(e);
        x->at_meeting = json_array_len(json_get(e, "appointment")) > 0;
        if(e && mdt_case_patient(e, x->pid) && x->at >= from && x->at < to) t->ntalks++;
        json_free(e);
    }
    care_ids_free(ids, n);
    if(t->ntalks > 1) qsort(t->talks, t->ntalks, sizeof *t->talks, talk_order);
    for(size_t i = 0; i < t->ntalks; i++) {
        talk *x = &t->talks[i];
        if(i && strcmp(t->talks[i - 1].pid, x->pid) == 0) {
            t->repeats++; /* discussed earlier in the period */
            continue;
        }
        t->people++;
        char before[32], **earlier, eq[400];
        size_t ne;
        care_instant(x->at, before);
        snprintf(eq, sizeof eq,
                 "patient=Patient/%s&type=" MDT_ENC_CS "|mdt-discussion&service-provider=Organization/%s"
                 "&date=lt%s",
                 x->pid, m->org, before);
        if(!care_find(c, "Encounter", eq, 1000, &earlier, &ne)) {
            for(size_t k = 0; k < ne; k++) {
                json_value *e = care_read(c, "Encounter", earlier[k], NULL);
                int64_t s = mdt_enc_start(e);
                json_free(e);
                if(s && s < x->at) {
                    t->repeats++;
                    break;
                }
            }
            care_ids_free(earlier, ne);
        }
        int64_t adm[256], death = 0;
        size_t na = mdt_admissions(c, x->pid, x->at - FOLLOW_UP, adm, 256);
        json_value *pat = care_read(c, "Patient", x->pid, NULL);
        if(!care_time(json_string(json_get(pat, "deceasedDateTime")), &death)) death = 0;
        json_free(pat);
        mdt_followup_add(&t->f, x->at, adm, na, death, now);
    }
}

/* ---- the MeasureReport ------------------------------------------------------------- */

typedef struct population {
    const char *code;
    long count;
} population;

static void group(buf *b, size_t *k, const char *code, const char *display, const char *text, const population *pops,
                  size_t np, double score, const char *unit, const char *ucum) {
    buf_printf(b, "%s{\"code\":{\"coding\":[{\"system\":\"" CARE_CS "mdt-measure\",\"code\":\"%s\",\"display\":",
               (*k)++ ? "," : "", code);
    care_json_string(b, display);
    buf_puts(b, "}],\"text\":");
    care_json_string(b, text);
    buf_puts(b, "},\"population\":[");
    for(size_t i = 0; i < np; i++)
        buf_printf(b,
                   "%s{\"code\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/measure-population\","
                   "\"code\":\"%s\"}]},\"count\":%ld}",
                   i ? "," : "", pops[i].code, pops[i].count);
    buf_puts(b, "]");
    if(score >= 0)
        buf_printf(b,
                   ",\"measureScore\":{\"value\":%.2f,\"unit\":\"%s\",\"system\":\"http://unitsofmeasure.org\","
                   "\"code\":\"%s\"}",
                   score, unit, ucum);
    buf_puts(b, "}");
}

static void report(buf *b, const mdt *m, int64_t from, int64_t to, tally *t) {
    char f[32], u[32], now[32];
    care_instant(from, f);
    care_instant(to, u);
    care_instant(care_now(), now);
    buf_printf(b,
               "{\"resourceType\":\"MeasureReport\",\"status\":\"complete\",\"type\":\"summary\",\"measure\":"
               "\"" CARE_SYS "Measure/mdt-measures\",\"subject\":{\"reference\":\"CareTeam/%s\",\"display\":",
               m->id);
    care_json_string(b, m->name);
    buf_printf(b,
               "},\"date\":\"%s\",\"reporter\":{\"reference\":\"Organization/%s\"},\"period\":{\"start\":\"%s\","
               "\"end\":\"%s\"},\"group\":[",
               now, m->org, f, u);
    size_t k = 0;
    long *a = t->actions;
    long due = a[MDT_ACTION_DONE_ON_TIME] + a[MDT_ACTION_DONE_LATE] + a[MDT_ACTION_OVERDUE];
    group(b, &k, "meetings", "Meetings held",
          "Meetings planned in the period (initial population) and held, with at least one case recorded (numerator)",
          (population[]){{"initial-population", t->planned}, {"numerator", t->held}}, 2, (double)t->held, "meetings",
          "{meetings}");
    group(b, &k, "cases-discussed", "Cases discussed",
          "Discussions of people at the neighbourhood team's MDT (initial population), those recorded at Kith "
          "meetings (numerator), and the people discussed (measure population)",
          (population[]){{"initial-population", (long)t->ntalks},
                         {"numerator", t->cases_at_meetings},
                         {"measure-population", t->people}},
          3, (double)t->ntalks, "cases", "{cases}");
    group(b, &k, "cases-per-hour", "Cases discussed per hour of meeting",
          "Cases discussed at meetings held (numerator) over the minutes those meetings lasted (denominator)",
          (population[]){{"numerator", t->cases_at_meetings}, {"denominator", (long)(t->seconds / 60)}}, 2,
          mdt_per_hour(t->cases_at_meetings, t->seconds), "cases per hour", "/h");
    long ndays = (long)t->ndays;
    group(b, &k, "days-to-discussion", "Days from case finding to discussion (median)",
          "Discussions at meetings of people put on a case list (measure population): the median days from the "
          "day they were found to the meeting",
          (population[]){{"measure-population", ndays}}, 1, mdt_median(t->days, t->ndays), "days", "d");
    group(b, &k, "actions-on-time", "Actions done on time",
          "Actions agreed at meetings in the period (initial population); done by their due date (numerator) of "
          "those done or past due (denominator); not yet due or closed without being done (denominator exclusion)",
          (population[]){{"initial-population", t->nactions},
                         {"numerator", a[MDT_ACTION_DONE_ON_TIME]},
                         {"denominator", due},
                         {"denominator-exclusion", a[MDT_ACTION_OPEN] + a[MDT_ACTION_CLOSED]}},
          4, mdt_percent(a[MDT_ACTION_DONE_ON_TIME], due), "%", "%");
    group(b, &k, "repeat-discussions", "Repeat discussions",
          "Discussions of someone the team had discussed before (numerator) of all discussions (denominator)",
          (population[]){{"numerator", t->repeats}, {"denominator", (long)t->ntalks}}, 2,
          mdt_percent(t->repeats, (long)t->ntalks), "%", "%");
    double per100 = t->f.people ? 100.0 / (double)t->f.people : -1;
    group(b, &k, "admissions-before", "Emergency admissions in the 90 days before discussion, per 100 people",
          "People discussed whose 90 days after their (first) discussion in the period have passed (measure "
          "population) and their emergency admissions in the 90 days before it (numerator)",
          (population[]){{"measure-population", t->f.people}, {"numerator", t->f.before}}, 2,
          per100 < 0 ? -1 : (double)t->f.before * per100, "per 100 people", "{admissions}/100");
    group(b, &k, "admissions-after", "Emergency admissions in the 90 days after discussion, per 100 people",
          "The same people (measure population) and their emergency admissions in the 90 days after (numerator)",
          (population[]){{"measure-population", t->f.people}, {"numerator", t->f.after}}, 2,
          per100 < 0 ? -1 : (double)t->f.after * per100, "per 100 people", "{admissions}/100");
    group(b, &k, "deaths-after", "Deaths in the 90 days after discussion",
          "The same people (denominator) and those who died in the 90 days after (numerator)",
          (population[]){{"numerator", t->f.deaths}, {"denominator", t->f.people}}, 2,
          mdt_percent(t->f.deaths, t->f.people), "%", "%");
    buf_puts(b, "]}");
}

/* A date or dateTime parameter, or dflt; false when it is not one. */
static bool when_param(const char *v, int64_t dflt, int64_t *out) {
    if(!v) {
        *out = dflt;
        return true;
    }
    return care_time(v, out);
}

/* GET CareTeam/{id}/$mdt-measures?from=&to= */
void mdt_measures(store_conn *c, const http_request *req, http_response *res, const char *id) {
    static const char *const KNOWN[] = {"from", "to", NULL};
    mdt_params p = {0};
    mdt m = {0};
    tally t = {0};
    bool narrowed = false;
    access_request *ar = access_current();
    if(!mdt_params_open(req, res, KNOWN, &p) || !mdt_load(c, id, res, &m)) goto done;
    int64_t now = care_now(), from, to;
    if(!when_param(mdt_param_text(&p, "to"), now, &to) ||
       !when_param(mdt_param_text(&p, "from"), to - 365 * (int64_t)DAY_SECONDS, &from) || from >= to) {
        fhir_reply_error(res, 400, "value", "from and to must be dates (or date-times), from before to");
        goto done;
    }
    if(ar && ar->viewer) { /* analytics: everyone but the opted out, as counts */
        store_viewer sv = {.secondary_use = true, .account = ar->viewer->account};
        if(store_set_viewer(c, &sv)) {
            store_set_viewer(c, ar->viewer);
            fhir_reply_error(res, 503, "transient", "cannot apply the access policy");
            goto done;
        }
        narrowed = true;
    }
    char q[300], f[32], u[32], **ids;
    size_t n;
    care_instant(from, f);
    care_instant(to, u);
    snprintf(q, sizeof q, "supporting-info=CareTeam/%s&date=ge%s&date=lt%s", id, f, u);
    if(!care_find(c, "Appointment", q, MDT_MAX_MEETINGS, &ids, &n)) {
        for(size_t i = 0; i < n; i++) meeting_tally(c, ids[i], now, &t);
        care_ids_free(ids, n);
    }
    discussions_tally(c, &m, from, to, now, &t);
    buf b = BUF_INIT;
    report(&b, &m, from, to, &t);
    res->status = 200;
    res->content_type = "application/fhir+json";
    buf_reset(&res->body);
    buf_append(&res->body, b.data, b.len);
    buf_free(&b);
done:
    if(narrowed) store_set_viewer(c, ar->viewer);
    free(t.days);
    free(t.talks);
    mdt_params_close(&p);
    mdt_free(&m);
}
