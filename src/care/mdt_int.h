/*
 * mdt_int.h — what the files of the MDT operations share (mdt.c: the MDT,
 * its parameters, who may act, case finding; mdt_meeting.c: planning and
 * recording a meeting; mdt_report.c: agenda, minutes and the person's
 * summary as FHIR, Markdown or HTML; mdt_measures.c: the measures). Not for
 * other modules.
 */
#ifndef KITH_CARE_MDT_INT_H
#define KITH_CARE_MDT_INT_H
#include "care/care_int.h"
#include "care/mdt.h"

/* Code systems, extensions and identifiers (all Kith's own, documented in docs/mdt.md). */
#define MDT_TEAM_CS CARE_CS "care-team-category" /* mdt (the team), mdt-case (one person's MDT care) */
#define MDT_ROLE_CS CARE_CS "mdt-role"           /* chair, coordinator, member */
#define MDT_LIST_CS CARE_CS "mdt-list"           /* case-list */
#define MDT_ENTRY_CS CARE_CS "mdt-case"          /* new, review */
#define MDT_STATE_CS CARE_CS "mdt-action-state"
#define MDT_REFERRAL_CS CARE_CS "referral-category" /* mdt: refer for MDT discussion */
#define MDT_ENC_CS CARE_CS "encounter-type"         /* emergency-admission, mdt-discussion */
#define MDT_RISK_CS CARE_CS "risk-method"           /* efi, emergency-admission-12m */
#define MDT_EFI_CS CARE_CS "efi-category"
#define MDT_CASE_ID CARE_SYS "Id/mdt-case" /* the case CareTeam of (MDT, person): "mdt-id/patient-id" */
#define MDT_ADMIT_METHOD_CS "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland"
#define MDT_IMP "http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP"
#define MDT_MAX_MEETINGS 500
#define DAY_SECONDS 86400

/* An MDT: a CareTeam of category mdt, managed by a neighbourhood team. */
typedef struct mdt {
    char id[72];
    json_value *team; /* the CareTeam (owned) */
    int64_t version;
    char org[72]; /* the managing Organization (the neighbourhood team) */
    char name[160];
} mdt;

/* Read CareTeam/id as an MDT; on failure replies (404 unknown, 422 not an
 * MDT) and returns false. Free with mdt_free either way. */
bool mdt_load(store_conn *c, const char *id, http_response *res, mdt *m);
void mdt_free(mdt *m);
/* Is Practitioner/practitioner the MDT's chair or coordinator? */
bool mdt_leads(const json_value *team, const char *practitioner);
/* May the caller run the meeting (the chair or coordinator; systems and the
 * CLI by their scopes)? Replies 403 and returns false if not. */
bool mdt_may_lead(const mdt *m, http_response *res, const char *doing);
/* The MDT's GP practices (Organizations partOf its neighbourhood team, and
 * any named by the mdt-practice extension), sorted; caller frees with care_ids_free. */
size_t mdt_practices(store_conn *c, const mdt *m, char ***ids);
/* Sort ids and drop repeats (freeing them); the new count. */
size_t mdt_sort_ids(char **ids, size_t n);
/* Is id among ids (sorted)? */
bool mdt_sorted_has(char *const *ids, size_t n, const char *id);
/* Is the Patient registered with one of practices (sorted)? */
bool mdt_registered(const json_value *patient, char *const *practices, size_t n);
/* May the caller reach everyone registered with the MDT's practices (a chair
 * or coordinator with role mdt-chair or gp whose organisation is the
 * neighbourhood team or one of its practices)? */
bool mdt_reach(const mdt *m, char *const *practices, size_t n);
/* Widen the caller's view to the people the caller's queries reach (on) or
 * put it back (off). False (with 503 replied) if the store refused. */
bool mdt_widen(store_conn *c, bool on, http_response *res);

/* The parameters of an operation: a Parameters body (optional) and the query. */
typedef struct mdt_params {
    json_value *body; /* owned; NULL without a body */
    const http_request *req;
} mdt_params;
/* Replies 400 and returns false for a body that is not a Parameters
 * resource, or a parameter not in known (NULL-terminated). */
bool mdt_params_open(const http_request *req, http_response *res, const char *const *known, mdt_params *p);
void mdt_params_close(mdt_params *p);
/* The k-th parameter `name` among params (a Parameters' parameter or a part array), borrowed. */
json_value *mdt_param_in(const json_value *params, const char *name, size_t k);
/* A parameter's value[x] as text: strings, codes and dates as they are,
 * numbers as written, booleans, a Reference's reference. Borrowed; NULL if none. */
const char *mdt_value_text(const json_value *param);
/* The first `name` as text, from the body or else the query; NULL if absent. */
const char *mdt_param_text(const mdt_params *p, const char *name);

/* The words for a Reference: its display, or the name of what it points at. */
void mdt_ref_words(store_conn *c, const json_value *ref, char out[200]);
/* Is the meeting still on, or held (not cancelled, entered in error or a no-show)? */
bool mdt_meeting_live(const json_value *appt);
/* A case CareTeam's Patient id into pid; false if it has none. */
bool mdt_case_patient(const json_value *team, char pid[72]);
/* "Ada Smith, 84" (age at now; with ", NHS 999 000 0018" when nhs). */
void mdt_person_words(const json_value *patient, int64_t now, bool nhs, char out[200]);
/* Age in whole years at now from birthDate; -1 if unknown. */
int mdt_age(const json_value *patient, int64_t now);
/* A time for people, in UK civil time: "Thursday 3 December 2026, 13:00" (day only without time). */
void mdt_when_words(int64_t t, bool time, char out[64]);
/* A List entry's time-box in minutes; -1 when it has none. */
int mdt_entry_box(const json_value *entry);
/* Set a List entry's time-box (minutes). */
void mdt_entry_set_box(json_value *entry, int minutes);
/* Does the Encounter count as an emergency admission (Kith's type, or a UK admission method 2x)? */
bool mdt_emergency_admission(const json_value *enc);
/* Emergency admissions of Patient pid that began at or after since (seconds; at most max), start times into out. */
size_t mdt_admissions(store_conn *c, const char *pid, int64_t since, int64_t *out, size_t max);
/* The start of the Encounter (period.start), or 0. */
int64_t mdt_enc_start(const json_value *enc);

/* A meeting: an Appointment whose supportingInformation names the MDT and its case list. */
typedef struct mdt_meeting {
    char id[72];
    json_value *appt; /* owned */
    int64_t version;
    int64_t start, end;
    mdt m;
    char list_id[72];
    json_value *list; /* the case list (owned), NULL if it has none or the caller cannot see it */
    int64_t list_version;
} mdt_meeting;
/* Read Appointment/id as an MDT meeting; replies 404/422 and returns false on failure. */
bool mdt_meeting_open(store_conn *c, const char *id, http_response *res, mdt_meeting *mt);
void mdt_meeting_free(mdt_meeting *mt);

/* An action from an earlier meeting. */
typedef struct mdt_action {
    char id[72];
    json_value *task; /* owned */
    mdt_action_state state;
    int64_t due, done;
    bool previous; /* agreed at the previous meeting (else an open one from before) */
} mdt_action;
/* Due date and completion time of an action Task (0 when not known). */
void mdt_task_times(const json_value *task, int64_t *due, int64_t *done);
/* The actions to review at meeting mt: every action agreed at the previous
 * meeting of the MDT, then the ones still open from earlier meetings;
 * overdue first, then open, then done, each by due date. Caller frees with
 * mdt_actions_free. */
size_t mdt_previous_actions(store_conn *c, const mdt_meeting *mt, int64_t now, mdt_action **out);
void mdt_actions_free(mdt_action *a, size_t n);

/* End the operation's transaction: commit when rc is KITH_OK; else (or if
 * the commit fails) roll back and reply with issues. True when committed. */
bool mdt_commit(store_conn *c, kith_rc rc, http_response *res, const fhir_issues *is);
/* The answer of a write: a Bundle (collection) of the resources written
 * (JSON texts) and an OperationOutcome, with status and Location. */
void mdt_reply_written(http_response *res, const http_request *req, int status, const char *location_type,
                       const record_result *results, size_t n, const fhir_issues *is);

/* The case list List/ref (a reference) of MDT m (its mdt extension names
 * it); id gets its id. Replies (400, 404, 422) and returns NULL if not. Caller frees. */
json_value *mdt_list_load(store_conn *c, const mdt *m, const char *ref, int64_t *version, char id[72],
                          http_response *res);
/* When Patient pid was last discussed by MDT m's team (an Encounter mdt-discussion; 0: never). */
int64_t mdt_last_discussed(store_conn *c, const mdt *m, const char *pid);

/* The operations, by file. */
void mdt_find_cases(store_conn *c, const http_request *req, http_response *res, const char *id);
void mdt_add_case(store_conn *c, const http_request *req, http_response *res, const char *id);
void mdt_plan_meeting(store_conn *c, const http_request *req, http_response *res, const char *id);
void mdt_attendance(store_conn *c, const http_request *req, http_response *res, const char *id);
void mdt_record_case(store_conn *c, const http_request *req, http_response *res, const char *id);
void mdt_agenda(store_conn *c, const http_request *req, http_response *res, const char *id);
void mdt_minutes(store_conn *c, const http_request *req, http_response *res, const char *id);
void mdt_document(store_conn *c, const http_request *req, http_response *res, const char *id);
void mdt_measures(store_conn *c, const http_request *req, http_response *res, const char *id);

/* Write (or refresh) the case CareTeam of Patient pid at MDT m: proposed
 * with the MDT's leaders, or active with all its members (accepted); why
 * (may be NULL: keep) becomes its reasonCode. In the caller's transaction. */
kith_rc mdt_case_team_put(store_conn *c, const mdt *m, const char *pid, const char *person, const char *why,
                          bool accepted, record_result *out, fhir_issues *is);

#endif
