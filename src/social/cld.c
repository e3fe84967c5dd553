/*
 * cld.c — Adult Social Care Client Level Data (Release 1) rows to FHIR.
 *
 * Three steps, each usable alone: cld_split turns one CSV record into
 * fields; cld_header_parse finds the known columns by name; cld_row_map
 * checks a row against the CLD rules (dates, NHS number, the defined lists)
 * and builds the Patient and event resources as json_value trees. The
 * defined lists and the field table below are the single source of truth
 * for column names, code systems and extension URLs.
 *
 * No I/O and no mutable globals: every function is thread-safe. Trees and
 * field blocks returned are owned by the caller, as each comment says.
 */
#include "social/cld.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/nhs_number.h"

#define MAX_LA_CODE 20   /* ONS codes are 9 characters; old numeric codes 3 */
#define MAX_VALUE 1024   /* any one value after trimming */
#define MAX_DECIMAL 18   /* Unit_Cost, Planned_Units_Per_Week */
#define MAX_ID 64        /* FHIR id */

/* ---- the defined lists --------------------------------------------------- */

static const char *const GENDERS[] = {"Male", "Female", "Other", "Unknown", NULL};
static const char *const YES_NO_UNKNOWN[] = {"Yes", "No", "Unknown", NULL};
static const char *const YES_NO[] = {"Yes", "No", NULL};
static const char *const CLIENT_TYPES[] = {"Service User", "Carer", NULL};
static const char *const EVENT_TYPES[] = {"Request", "Assessment", "Service", "Review", NULL};
static const char *const ETHNIC_CATEGORIES[] = {"A", "B", "C", "D", "E", "F", "G", "H", "J",
                                                "K", "L", "M", "N", "P", "R", "S", "Z", NULL};
static const char *const PRIMARY_SUPPORT_REASONS[] = {
    "Physical Support: Access and mobility only",
    "Physical Support: Personal care support",
    "Sensory Support: Support for visual impairment",
    "Sensory Support: Support for hearing impairment",
    "Sensory Support: Support for dual impairment",
    "Support with Memory and Cognition",
    "Learning Disability Support",
    "Mental Health Support",
    "Social Support: Substance misuse support",
    "Social Support: Asylum seeker support",
    "Social Support: Support for Social Isolation/Other",
    NULL};
static const char *const EVENT_OUTCOMES[] = {
    "Progress to Reablement/ST-Max",
    "Progress to Assessment",
    "Admitted to hospital",
    "Progress to Re-assessment / Unplanned Review",
    "Progress to Support Planning / Services",
    "Progress to End of Life Care",
    "No change in package",
    "Service ended as planned",
    "NFA - Moved to another LA",
    "NFA - 100% NHS funded care",
    "NFA - Self-funded client (Inc. 12wk disregard)",
    "NFA - Support declined",
    "NFA - Information & Advice / Signposting only",
    "NFA - Deceased",
    "NFA - No services offered: Other reason",
    "NFA - Support ended: Other reason",
    "Progress to financial assessment",
    "Provision of service",
    "NFA- Other",
    NULL};
static const char *const ROUTES_OF_ACCESS[] = {
    "Planned Entry (Transition)", "Discharge from Hospital", "Diversion from Hospital Services",
    "Self-Funder with Depleted Funds", "Prison", "Community / Other route", NULL};
static const char *const ASSESSMENT_TYPES[] = {"Short Term Assessment", "Long Term Support Assessment",
                                               "Carer Assessment", NULL};
static const char *const REVIEW_REASONS[] = {"Planned", "Unplanned", NULL};
static const char *const SERVICE_TYPES[] = {
    "Short Term Support: ST-Max",     "Short Term Support: Ongoing Low Level", "Short Term Support: Other Short Term",
    "Long Term Support: Nursing Care", "Long Term Support: Residential Care",   "Long Term Support: Community",
    "Long Term Support: Prison",      NULL};
static const char *const SERVICE_COMPONENTS[] = {
    "Reablement", "Home Support / Home Care", "Direct Payment", "Day Care", "Equipment / Adaptations",
    "Meals", "Telecare", "Short Term Residential Care", "Residential Care: Permanent", "Nursing Care: Permanent",
    "Supported Living", "Shared Lives", "Carer Support", "Other", NULL};
static const char *const DELIVERY_MECHANISMS[] = {"CASSR Managed Personal Budget", "CASSR Commissioned Support",
                                                  "Direct Payment", "Managed Account", NULL};
static const char *const COST_FREQUENCIES[] = {"Hourly",  "Daily",    "Weekly",  "Fortnightly", "4 Weekly",
                                               "Monthly", "Annually", "One-off", NULL};

/* Display names of the NHS Data Dictionary ethnic category codes. */
static const char *const ETHNIC_DISPLAYS[] = {
    "White - British",
    "White - Irish",
    "White - Any other White background",
    "Mixed - White and Black Caribbean",
    "Mixed - White and Black African",
    "Mixed - White and Asian",
    "Mixed - Any other mixed background",
    "Asian or Asian British - Indian",
    "Asian or Asian British - Pakistani",
    "Asian or Asian British - Bangladeshi",
    "Asian or Asian British - Any other Asian background",
    "Black or Black British - Caribbean",
    "Black or Black British - African",
    "Black or Black British - Any other Black background",
    "Other Ethnic Groups - Chinese",
    "Other Ethnic Groups - Any other ethnic group",
    "Not stated",
    NULL};

/* How each field is checked. */
typedef enum check { TEXT, DATE, NHS, LIST, DECIMAL, LA, POSTCODE, ODS } check;

static const struct field_def {
    const char *name;
    bool required;
    check kind;
    const char *const *list; /* kind LIST: the defined values */
} FIELDS[CLD_NFIELDS] = {
    [CLD_LA_CODE] = {"LA_Code", true, LA, NULL},
    [CLD_LA_PERSON_UNIQUE_IDENTIFIER] = {"LA_Person_Unique_Identifier", true, TEXT, NULL},
    [CLD_NHS_NUMBER] = {"NHS_Number", false, NHS, NULL},
    [CLD_GIVEN_NAME] = {"Given_Name", false, TEXT, NULL},
    [CLD_FAMILY_NAME] = {"Family_Name", false, TEXT, NULL},
    [CLD_DATE_OF_BIRTH] = {"Date_of_Birth", false, DATE, NULL},
    [CLD_GENDER] = {"Gender", false, LIST, GENDERS},
    [CLD_ETHNICITY] = {"Ethnicity", false, LIST, ETHNIC_CATEGORIES},
    [CLD_POSTCODE] = {"Postcode", false, POSTCODE, NULL},
    [CLD_GP_PRACTICE_CODE] = {"GP_Practice_Code", false, ODS, NULL},
    [CLD_DATE_OF_DEATH] = {"Date_of_Death", false, DATE, NULL},
    [CLD_CLIENT_TYPE] = {"Client_Type", false, LIST, CLIENT_TYPES},
    [CLD_PRIMARY_SUPPORT_REASON] = {"Primary_Support_Reason", false, LIST, PRIMARY_SUPPORT_REASONS},
    [CLD_ACCOMMODATION_STATUS] = {"Accommodation_Status", false, TEXT, NULL},
    [CLD_HAS_UNPAID_CARER] = {"Has_Unpaid_Carer", false, LIST, YES_NO_UNKNOWN},
    [CLD_CLIENT_FUNDING_STATUS] = {"Client_Funding_Status", false, TEXT, NULL},
    [CLD_EVENT_TYPE] = {"Event_Type", true, LIST, EVENT_TYPES},
    [CLD_EVENT_REFERENCE] = {"Event_Reference", true, TEXT, NULL},
    [CLD_EVENT_START_DATE] = {"Event_Start_Date", true, DATE, NULL},
    [CLD_EVENT_END_DATE] = {"Event_End_Date", false, DATE, NULL},
    [CLD_EVENT_OUTCOME] = {"Event_Outcome", false, LIST, EVENT_OUTCOMES},
    [CLD_REQUEST_ROUTE_OF_ACCESS] = {"Request_Route_of_Access", false, LIST, ROUTES_OF_ACCESS},
    [CLD_ASSESSMENT_TYPE] = {"Assessment_Type", false, LIST, ASSESSMENT_TYPES},
    [CLD_ELIGIBLE_NEEDS_IDENTIFIED] = {"Eligible_Needs_Identified", false, LIST, YES_NO},
    [CLD_REVIEW_REASON] = {"Review_Reason", false, LIST, REVIEW_REASONS},
    [CLD_SERVICE_TYPE] = {"Service_Type", false, LIST, SERVICE_TYPES},
    [CLD_SERVICE_COMPONENT] = {"Service_Component", false, LIST, SERVICE_COMPONENTS},
    [CLD_DELIVERY_MECHANISM] = {"Delivery_Mechanism", false, LIST, DELIVERY_MECHANISMS},
    [CLD_UNIT_COST] = {"Unit_Cost", false, DECIMAL, NULL},
    [CLD_COST_FREQUENCY_UNIT_TYPE] = {"Cost_Frequency_Unit_Type", false, LIST, COST_FREQUENCIES},
    [CLD_PLANNED_UNITS_PER_WEEK] = {"Planned_Units_Per_Week", false, DECIMAL, NULL},
};

const char *cld_field_name(cld_field f) {
    assert(f >= 0 && f < CLD_NFIELDS);
    return FIELDS[f].name;
}

bool cld_field_required(cld_field f) {
    assert(f >= 0 && f < CLD_NFIELDS);
    return FIELDS[f].required;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...) {
    if(!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }
static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }
static bool is_blank(char c) { return c == ' ' || c == '\t'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* ---- CSV ------------------------------------------------------------------ */

kith_rc cld_split(const char *line, size_t len, char ***fields, size_t *n, char *err, size_t errlen) {
    *fields = NULL;
    *n = 0;
    if(len > CLD_MAX_LINE) {
        seterr(err, errlen, "record longer than %d bytes", CLD_MAX_LINE);
        return KITH_ETOOBIG;
    }
    size_t starts[CLD_MAX_FIELDS];
    size_t nf = 0;
    buf text = BUF_INIT; /* the fields, each NUL-terminated */
    kith_rc rc = KITH_OK;
    size_t i = 0;
    for(;;) {
        if(nf == CLD_MAX_FIELDS) {
            seterr(err, errlen, "more than %d fields", CLD_MAX_FIELDS);
            rc = KITH_ETOOBIG;
            goto done;
        }
        starts[nf++] = text.len;
        size_t k = i;
        while(k < len && is_blank(line[k])) k++;
        if(k < len && line[k] == '"') { /* quoted: up to the closing quote */
            i = k + 1;
            for(;;) {
                if(i >= len) {
                    seterr(err, errlen, "field %zu: quoted field has no closing quote", nf);
                    rc = KITH_EINVAL;
                    goto done;
                }
                if(line[i] == '"') {
                    if(i + 1 < len && line[i + 1] == '"') {
                        buf_putc(&text, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                buf_putc(&text, line[i++]);
            }
            while(i < len && is_blank(line[i])) i++;
            if(i < len && line[i] != ',') {
                seterr(err, errlen, "field %zu: unexpected character after the closing quote", nf);
                rc = KITH_EINVAL;
                goto done;
            }
        } else { /* unquoted: up to the next comma, blanks trimmed */
            size_t end = k;
            while(end < len && line[end] != ',') {
                if(line[end] == '"') {
                    seterr(err, errlen, "field %zu: a quote inside an unquoted field (quote the whole field)", nf);
                    rc = KITH_EINVAL;
                    goto done;
                }
                end++;
            }
            size_t last = end;
            while(last > k && is_blank(line[last - 1])) last--;
            buf_append(&text, line + k, last - k);
            i = end;
        }
        buf_putc(&text, '\0');
        if(i >= len) break;
        i++; /* the comma */
    }
    /* One block: the pointer array, then the text. */
    char **out = xmalloc(nf * sizeof *out + text.len);
    char *base = (char *)(out + nf);
    memcpy(base, text.data, text.len);
    for(size_t f = 0; f < nf; f++) out[f] = base + starts[f];
    *fields = out;
    *n = nf;
done:
    buf_free(&text);
    return rc;
}

kith_rc cld_csv_field(buf *b, const char *s) {
    if(!s) s = "";
    size_t len = strlen(s);
    bool quote = len && (is_blank(s[0]) || is_blank(s[len - 1]));
    for(const char *p = s; *p && !quote; p++)
        if(*p == ',' || *p == '"' || *p == '\r' || *p == '\n') quote = true;
    if(!quote) return buf_append(b, s, len);
    kith_rc rc = buf_putc(b, '"');
    for(const char *p = s; *p && !rc; p++) rc = *p == '"' ? buf_puts(b, "\"\"") : buf_putc(b, *p);
    if(!rc) rc = buf_putc(b, '"');
    return rc;
}

/* ---- header --------------------------------------------------------------- */

/* Column names compare case-insensitively, a space matching an underscore. */
static bool name_eq(const char *a, const char *b) {
    for(; *a && *b; a++, b++) {
        char x = *a == ' ' ? '_' : lower(*a), y = *b == ' ' ? '_' : lower(*b);
        if(x != y) return false;
    }
    return *a == *b;
}

kith_rc cld_header_parse(char **fields, size_t n, cld_header *h, char *err, size_t errlen) {
    for(int f = 0; f < CLD_NFIELDS; f++) h->col[f] = -1;
    h->ncols = n;
    for(size_t c = 0; c < n; c++) {
        const char *name = fields[c];
        if(c == 0 && (unsigned char)name[0] == 0xEF && (unsigned char)name[1] == 0xBB &&
           (unsigned char)name[2] == 0xBF)
            name += 3;
        for(int f = 0; f < CLD_NFIELDS; f++) {
            if(!name_eq(name, FIELDS[f].name)) continue;
            if(h->col[f] >= 0) {
                seterr(err, errlen, "column %s appears twice (columns %d and %zu)", FIELDS[f].name, h->col[f] + 1,
                       c + 1);
                return KITH_EINVAL;
            }
            h->col[f] = (int)c;
        }
    }
    buf missing = BUF_INIT;
    for(int f = 0; f < CLD_NFIELDS; f++) {
        if(!FIELDS[f].required || h->col[f] >= 0) continue;
        if(missing.len) buf_puts(&missing, ", ");
        buf_puts(&missing, FIELDS[f].name);
    }
    kith_rc rc = KITH_OK;
    if(missing.len) {
        seterr(err, errlen, "not a CLD file: the header lacks required column%s %s",
               strchr(buf_str(&missing), ',') ? "s" : "", buf_str(&missing));
        rc = KITH_EINVAL;
    }
    buf_free(&missing);
    return rc;
}

/* ---- checking values ------------------------------------------------------ */

/* A row's values, trimmed and normalised; NULL when absent or empty. */
typedef struct row {
    const char *v[CLD_NFIELDS];
    char *own[CLD_NFIELDS]; /* normalised copies, owned */
    nhs_number_policy nhs_policy;
    bool nhs_unverified; /* the NHS number failed its check and was kept under the flag policy */
} row;

static void row_free(row *r) {
    for(int f = 0; f < CLD_NFIELDS; f++) free(r->own[f]);
}

static bool date_valid(const char *s) {
    if(strlen(s) != 10 || s[4] != '-' || s[7] != '-') return false;
    for(int i = 0; i < 10; i++)
        if(i != 4 && i != 7 && !is_digit(s[i])) return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if(y < 1800 || m < 1 || m > 12 || d < 1) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= DAYS[m - 1] + (m == 2 && leap);
}

/* Compare ignoring case and collapsing runs of blanks to one. */
static bool list_eq(const char *a, const char *b) {
    while(*a && *b) {
        if(is_blank(*a) && is_blank(*b)) {
            while(is_blank(*a)) a++;
            while(is_blank(*b)) b++;
            continue;
        }
        if(lower(*a) != lower(*b)) return false;
        a++, b++;
    }
    return *a == *b;
}

/* The defined value s matches, as the list spells it (borrowed), or NULL. */
static const char *list_find(const char *const *list, const char *s) {
    for(size_t i = 0; list[i]; i++)
        if(list_eq(list[i], s)) return list[i];
    return NULL;
}

/* A decimal written as digits with an optional fraction, normalised to the
 * FHIR decimal form (no leading zeros, no bare point). Caller frees, or NULL. */
static char *decimal_normalise(const char *s) {
    size_t len = strlen(s);
    if(len == 0 || len > MAX_DECIMAL) return NULL;
    size_t digits = 0, dots = 0;
    for(const char *p = s; *p; p++) {
        if(is_digit(*p)) digits++;
        else if(*p == '.') dots++;
        else return NULL;
    }
    if(digits == 0 || dots > 1) return NULL;
    while(s[0] == '0' && is_digit(s[1])) s++;
    buf b = BUF_INIT;
    if(s[0] == '.') buf_putc(&b, '0');
    buf_puts(&b, s);
    if(b.data[b.len - 1] == '.') b.data[--b.len] = '\0';
    return buf_take(&b, NULL);
}

/* UK postcode, full ("LS1 4AP") or outward code only ("LS1"); upper case
 * with one space. Caller frees, or NULL. */
static char *postcode_normalise(const char *s) {
    char c[16];
    size_t n = 0;
    for(const char *p = s; *p; p++) {
        if(is_blank(*p)) continue;
        if(n == sizeof c - 1) return NULL;
        c[n++] = upper(*p);
    }
    c[n] = '\0';
    size_t out_len = n;
    if(n >= 5 && is_digit(c[n - 3]) && is_alpha(c[n - 2]) && is_alpha(c[n - 1])) out_len = n - 3;
    /* outward: A9, A99, AA9, AA99, A9A, AA9A */
    size_t i = 0;
    while(i < out_len && i < 2 && is_alpha(c[i])) i++;
    if(i == 0 || i >= out_len || !is_digit(c[i])) return NULL;
    i++;
    if(i < out_len && (is_digit(c[i]) || is_alpha(c[i]))) i++;
    if(i != out_len) return NULL;
    buf b = BUF_INIT;
    buf_append(&b, c, out_len);
    if(out_len < n) buf_printf(&b, " %s", c + out_len);
    return buf_take(&b, NULL);
}

/* Check and normalise one value into r; KITH_EINVAL with a reason if bad. */
static kith_rc check_value(row *r, cld_field f, const char *raw, char *err, size_t errlen) {
    const struct field_def *d = &FIELDS[f];
    const char *name = d->name;
    size_t len = strlen(raw);
    while(len && is_blank(raw[len - 1])) len--;
    while(len && is_blank(*raw)) raw++, len--;
    if(len == 0) return KITH_OK;
    if(len > MAX_VALUE) {
        seterr(err, errlen, "%s: value longer than %d characters", name, MAX_VALUE);
        return KITH_EINVAL;
    }
    char *s = xstrndup(raw, len);
    r->own[f] = s;
    r->v[f] = s;
    switch(d->kind) {
    case TEXT: return KITH_OK;
    case DATE:
        if(date_valid(s)) return KITH_OK;
        seterr(err, errlen, "%s: '%s' is not a date (YYYY-MM-DD, a day that exists)", name, s);
        return KITH_EINVAL;
    case NHS: {
        char digits[11];
        nhs_number_problem p = nhs_number_parse(s, digits);
        switch(nhs_number_policy_action(r->nhs_policy, p)) {
        case NHS_NUMBER_KEEP_FLAGGED:
        case NHS_NUMBER_USE:
            r->nhs_unverified = p != NHS_NUMBER_OK; /* kept as written under the flag policy */
            memcpy(s, digits, 11); /* ten digits were read from s: it only shrinks */
            return KITH_OK;
        case NHS_NUMBER_LEAVE_OUT: r->v[f] = NULL; return KITH_OK;
        case NHS_NUMBER_REFUSE: break;
        }
        seterr(err, errlen, "%s: '%s' is not a valid NHS number: %s", name, s, nhs_number_problem_text(p));
        return KITH_EINVAL;
    }
    case LIST: {
        const char *canon = list_find(d->list, s);
        if(canon) {
            r->v[f] = canon;
            return KITH_OK;
        }
        seterr(err, errlen, "%s: '%s' is not one of the defined values", name, s);
        return KITH_EINVAL;
    }
    case DECIMAL: {
        char *norm = decimal_normalise(s);
        if(!norm) {
            seterr(err, errlen, "%s: '%s' is not a decimal number (such as 23.50)", name, s);
            return KITH_EINVAL;
        }
        free(s);
        r->own[f] = norm;
        r->v[f] = norm;
        return KITH_OK;
    }
    case LA:
        for(const char *p = s; *p; p++) {
            if(!is_digit(*p) && !is_alpha(*p)) {
                seterr(err, errlen, "%s: '%s' is not a local authority code (letters and digits)", name, s);
                return KITH_EINVAL;
            }
        }
        if(len > MAX_LA_CODE) {
            seterr(err, errlen, "%s: '%s' is longer than %d characters", name, s, MAX_LA_CODE);
            return KITH_EINVAL;
        }
        return KITH_OK;
    case POSTCODE: {
        char *norm = postcode_normalise(s);
        if(!norm) {
            seterr(err, errlen, "%s: '%s' is not a UK postcode", name, s);
            return KITH_EINVAL;
        }
        free(s);
        r->own[f] = norm;
        r->v[f] = norm;
        return KITH_OK;
    }
    case ODS:
        if(len < 3 || len > 10) goto bad_ods;
        for(char *p = s; *p; p++) {
            if(!is_digit(*p) && !is_alpha(*p)) goto bad_ods;
            *p = upper(*p);
        }
        return KITH_OK;
    bad_ods:
        seterr(err, errlen, "%s: '%s' is not an ODS organisation code", name, s);
        return KITH_EINVAL;
    }
    return KITH_EINTERNAL;
}

/* Gather and check every value of a row. */
static kith_rc row_load(const cld_header *h, char **fields, size_t n, row *r, char *err, size_t errlen) {
    if(n != h->ncols) {
        seterr(err, errlen, "the row has %zu fields; the header has %zu", n, h->ncols);
        return KITH_EINVAL;
    }
    r->nhs_policy = h->nhs_policy;
    for(int f = 0; f < CLD_NFIELDS; f++) {
        if(h->col[f] < 0) continue;
        kith_rc rc = check_value(r, (cld_field)f, fields[h->col[f]], err, errlen);
        if(rc) return rc;
    }
    for(int f = 0; f < CLD_NFIELDS; f++) {
        if(FIELDS[f].required && !r->v[f]) {
            seterr(err, errlen, "%s: required, but empty", FIELDS[f].name);
            return KITH_EINVAL;
        }
    }
    /* Dates are YYYY-MM-DD, so text order is date order. */
    const char *start = r->v[CLD_EVENT_START_DATE], *end = r->v[CLD_EVENT_END_DATE];
    if(end && strcmp(end, start) < 0) {
        seterr(err, errlen, "Event_End_Date: %s is before Event_Start_Date %s", end, start);
        return KITH_EINVAL;
    }
    const char *born = r->v[CLD_DATE_OF_BIRTH], *died = r->v[CLD_DATE_OF_DEATH];
    if(born && died && strcmp(died, born) < 0) {
        seterr(err, errlen, "Date_of_Death: %s is before Date_of_Birth %s", died, born);
        return KITH_EINVAL;
    }
    return KITH_OK;
}

/* ---- ids ------------------------------------------------------------------ */

/* "<prefix>-<la>-<value>" with characters outside [A-Za-z0-9-.] as '-';
 * when longer than a FHIR id may be, "<prefix>-<la>-h<FNV-1a of value>". */
static void make_id(char out[MAX_ID + 1], const char *prefix, const char *la, const char *value) {
    int n = snprintf(out, MAX_ID + 1, "%s-%s-%s", prefix, la, value);
    if(n > MAX_ID) {
        uint64_t hash = 0xcbf29ce484222325ull;
        for(const unsigned char *p = (const unsigned char *)value; *p; p++) hash = (hash ^ *p) * 0x100000001b3ull;
        snprintf(out, MAX_ID + 1, "%s-%s-h%016llx", prefix, la, (unsigned long long)hash);
        return;
    }
    for(char *p = out; *p; p++)
        if(!is_digit(*p) && !is_alpha(*p) && *p != '-' && *p != '.') *p = '-';
}

/* ---- building FHIR -------------------------------------------------------- */

static void set_str(json_value *o, const char *key, const char *s) { json_set(o, key, json_new_string(s)); }

static json_value *array_of(json_value *v) {
    json_value *a = json_new_array();
    json_append(a, v);
    return a;
}

static json_value *coding(const char *system, const char *code, const char *display) {
    json_value *c = json_new_object();
    set_str(c, "system", system);
    set_str(c, "code", code);
    if(display) set_str(c, "display", display);
    return c;
}

static json_value *text_concept(const char *text) {
    json_value *c = json_new_object();
    set_str(c, "text", text);
    return c;
}

/* The field's own code system: .../CodeSystem/cld-<field in kebab case>. */
static void kebab_url(char *out, size_t len, const char *kind, cld_field f) {
    int k = snprintf(out, len, "%s%s/cld-", CLD_KITH_BASE, kind);
    for(const char *p = FIELDS[f].name; *p && (size_t)k + 1 < len; p++) out[k++] = *p == '_' ? '-' : lower(*p);
    out[k] = '\0';
}

/* A CodeableConcept coding a defined-list value in the field's code system. */
static json_value *list_concept(const row *r, cld_field f) {
    char system[160];
    kebab_url(system, sizeof system, "CodeSystem", f);
    json_value *c = json_new_object();
    json_set(c, "coding", array_of(coding(system, r->v[f], NULL)));
    return c;
}

/* An extension .../StructureDefinition/cld-<field> holding the value: coded
 * for defined lists, as text otherwise. Appended to ext when the row has it. */
static void add_field_extension(json_value *ext, const row *r, cld_field f) {
    if(!r->v[f]) return;
    char url[160];
    kebab_url(url, sizeof url, "StructureDefinition", f);
    json_value *e = json_new_object();
    set_str(e, "url", url);
    json_set(e, "valueCodeableConcept", FIELDS[f].kind == LIST ? list_concept(r, f) : text_concept(r->v[f]));
    json_append(ext, e);
}

static json_value *reference(const char *type, const char *id) {
    char ref[160];
    snprintf(ref, sizeof ref, "%s/%s", type, id);
    json_value *o = json_new_object();
    set_str(o, "reference", ref);
    return o;
}

static json_value *identifier(const char *system, const char *value) {
    json_value *o = json_new_object();
    set_str(o, "system", system);
    set_str(o, "value", value);
    return o;
}

/* A resource with its type, id and the record-source tag. */
static json_value *new_resource(const char *type, const char *id) {
    json_value *res = json_new_object();
    set_str(res, "resourceType", type);
    set_str(res, "id", id);
    json_value *meta = json_new_object();
    json_set(meta, "tag", array_of(coding(CLD_TAG_SYSTEM, CLD_TAG_CODE, NULL)));
    json_set(res, "meta", meta);
    return res;
}

static json_value *period(const row *r) {
    json_value *p = json_new_object();
    set_str(p, "start", r->v[CLD_EVENT_START_DATE]);
    if(r->v[CLD_EVENT_END_DATE]) set_str(p, "end", r->v[CLD_EVENT_END_DATE]);
    return p;
}

/* Set key to arr when it has members, else drop it. */
static void set_nonempty(json_value *o, const char *key, json_value *arr) {
    if(json_array_len(arr)) json_set(o, key, arr);
    else json_free(arr);
}

json_value *cld_organization(const char *la_code) {
    if(!la_code || !*la_code || strlen(la_code) > MAX_LA_CODE) return NULL;
    for(const char *p = la_code; *p; p++)
        if(!is_digit(*p) && !is_alpha(*p)) return NULL;
    char id[MAX_ID + 1], name[96];
    snprintf(id, sizeof id, "la-%s", la_code);
    snprintf(name, sizeof name, "Adult social care (%s)", la_code);
    json_value *org = new_resource("Organization", id);
    json_set(org, "identifier", array_of(identifier(CLD_KITH_BASE "Id/la-code", la_code)));
    json_set(org, "active", json_new_bool(true));
    json_set(org, "type", array_of(text_concept("Local authority adult social care")));
    set_str(org, "name", name);
    return org;
}

static json_value *map_patient(const row *r, const char *id) {
    const char *la = r->v[CLD_LA_CODE];
    json_value *p = new_resource("Patient", id);
    if(r->v[CLD_ETHNICITY]) {
        const char *code = r->v[CLD_ETHNICITY];
        const char *display = NULL;
        for(size_t i = 0; ETHNIC_CATEGORIES[i]; i++)
            if(strcmp(ETHNIC_CATEGORIES[i], code) == 0) display = ETHNIC_DISPLAYS[i];
        json_value *cc = json_new_object();
        json_set(cc, "coding",
                 array_of(coding("https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory", code, display)));
        json_value *e = json_new_object();
        set_str(e, "url", "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory");
        json_set(e, "valueCodeableConcept", cc);
        json_set(p, "extension", array_of(e));
    }
    char system[128];
    snprintf(system, sizeof system, "%sId/la-person/%s", CLD_KITH_BASE, la);
    json_value *ids = array_of(identifier(system, r->v[CLD_LA_PERSON_UNIQUE_IDENTIFIER]));
    if(r->v[CLD_NHS_NUMBER]) /* an unverified number is kept, but not as an NHS number anything links on */
        json_append(ids, identifier(r->nhs_unverified ? NHS_NUMBER_UNVERIFIED_SYSTEM : CLD_NHS_NUMBER_SYSTEM,
                                    r->v[CLD_NHS_NUMBER]));
    json_set(p, "identifier", ids);
    if(r->v[CLD_GIVEN_NAME] || r->v[CLD_FAMILY_NAME]) {
        json_value *name = json_new_object();
        if(r->v[CLD_FAMILY_NAME]) set_str(name, "family", r->v[CLD_FAMILY_NAME]);
        if(r->v[CLD_GIVEN_NAME]) json_set(name, "given", array_of(json_new_string(r->v[CLD_GIVEN_NAME])));
        json_set(p, "name", array_of(name));
    }
    if(r->v[CLD_GENDER]) {
        char g[16];
        snprintf(g, sizeof g, "%s", r->v[CLD_GENDER]);
        g[0] = lower(g[0]);
        set_str(p, "gender", g);
    }
    if(r->v[CLD_DATE_OF_BIRTH]) set_str(p, "birthDate", r->v[CLD_DATE_OF_BIRTH]);
    if(r->v[CLD_DATE_OF_DEATH]) set_str(p, "deceasedDateTime", r->v[CLD_DATE_OF_DEATH]);
    if(r->v[CLD_POSTCODE]) {
        json_value *a = json_new_object();
        set_str(a, "postalCode", r->v[CLD_POSTCODE]);
        json_set(p, "address", array_of(a));
    }
    if(r->v[CLD_GP_PRACTICE_CODE]) {
        json_value *gp = json_new_object();
        json_set(gp, "identifier",
                 identifier("https://fhir.nhs.uk/Id/ods-organization-code", r->v[CLD_GP_PRACTICE_CODE]));
        json_set(p, "generalPractitioner", array_of(gp));
    }
    return p;
}

/* Extensions every event carries: the person's circumstances at the event. */
static json_value *event_extensions(const row *r) {
    json_value *ext = json_new_array();
    add_field_extension(ext, r, CLD_CLIENT_TYPE);
    add_field_extension(ext, r, CLD_ACCOMMODATION_STATUS);
    add_field_extension(ext, r, CLD_HAS_UNPAID_CARER);
    add_field_extension(ext, r, CLD_CLIENT_FUNDING_STATUS);
    add_field_extension(ext, r, CLD_EVENT_OUTCOME);
    return ext;
}

static json_value *event_identifier(const row *r) {
    char system[128];
    snprintf(system, sizeof system, "%sId/cld-event/%s", CLD_KITH_BASE, r->v[CLD_LA_CODE]);
    return array_of(identifier(system, r->v[CLD_EVENT_REFERENCE]));
}

static json_value *reasons(const row *r) {
    json_value *a = json_new_array();
    if(r->v[CLD_PRIMARY_SUPPORT_REASON]) json_append(a, list_concept(r, CLD_PRIMARY_SUPPORT_REASON));
    return a;
}

static json_value *map_request(const row *r, const char *id, const char *patient, const char *org) {
    json_value *sr = new_resource("ServiceRequest", id);
    json_value *ext = event_extensions(r);
    add_field_extension(ext, r, CLD_REQUEST_ROUTE_OF_ACCESS);
    set_nonempty(sr, "extension", ext);
    json_set(sr, "identifier", event_identifier(r));
    bool closed = r->v[CLD_EVENT_END_DATE] || r->v[CLD_EVENT_OUTCOME];
    set_str(sr, "status", closed ? "completed" : "active");
    set_str(sr, "intent", "proposal");
    json_set(sr, "category", array_of(text_concept("Request for adult social care support")));
    json_set(sr, "code", text_concept("Request for support"));
    json_set(sr, "subject", reference("Patient", patient));
    json_set(sr, "occurrencePeriod", period(r));
    set_str(sr, "authoredOn", r->v[CLD_EVENT_START_DATE]);
    json_set(sr, "performer", array_of(reference("Organization", org)));
    set_nonempty(sr, "reasonCode", reasons(r));
    return sr;
}

/* Assessments and reviews: an Encounter with the council. */
static json_value *map_encounter(const row *r, const char *id, const char *patient, const char *org, bool review) {
    json_value *enc = new_resource("Encounter", id);
    json_value *ext = event_extensions(r);
    if(!review && r->v[CLD_ELIGIBLE_NEEDS_IDENTIFIED]) {
        char url[160];
        kebab_url(url, sizeof url, "StructureDefinition", CLD_ELIGIBLE_NEEDS_IDENTIFIED);
        json_value *e = json_new_object();
        set_str(e, "url", url);
        json_set(e, "valueBoolean", json_new_bool(strcmp(r->v[CLD_ELIGIBLE_NEEDS_IDENTIFIED], "Yes") == 0));
        json_append(ext, e);
    }
    set_nonempty(enc, "extension", ext);
    json_set(enc, "identifier", event_identifier(r));
    set_str(enc, "status", r->v[CLD_EVENT_END_DATE] ? "finished" : "in-progress");
    json_set(enc, "class", coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "HH", "home health"));
    cld_field kind = review ? CLD_REVIEW_REASON : CLD_ASSESSMENT_TYPE;
    json_value *type = r->v[kind] ? list_concept(r, kind) : json_new_object();
    const char *text = review ? "Adult social care review" : r->v[kind] ? r->v[kind] : "Adult social care assessment";
    set_str(type, "text", text);
    json_set(enc, "type", array_of(type));
    json_set(enc, "serviceType",
             text_concept(review ? "Adult social care review" : "Adult social care assessment"));
    json_set(enc, "subject", reference("Patient", patient));
    json_set(enc, "period", period(r));
    set_nonempty(enc, "reasonCode", reasons(r));
    json_set(enc, "serviceProvider", reference("Organization", org));
    return enc;
}

static json_value *sub_extension(const char *url, const char *key, json_value *value) {
    json_value *e = json_new_object();
    set_str(e, "url", url);
    json_set(e, key, value);
    return e;
}

static json_value *map_service(const row *r, const char *id, const char *patient, const char *org) {
    json_value *eoc = new_resource("EpisodeOfCare", id);
    json_value *ext = event_extensions(r);
    add_field_extension(ext, r, CLD_PRIMARY_SUPPORT_REASON);
    if(r->v[CLD_UNIT_COST] || r->v[CLD_COST_FREQUENCY_UNIT_TYPE] || r->v[CLD_PLANNED_UNITS_PER_WEEK]) {
        json_value *sub = json_new_array();
        if(r->v[CLD_UNIT_COST]) {
            json_value *money = json_new_object();
            json_set(money, "value", json_new_number_text(r->v[CLD_UNIT_COST]));
            set_str(money, "currency", "GBP");
            json_append(sub, sub_extension("unitCost", "valueMoney", money));
        }
        if(r->v[CLD_COST_FREQUENCY_UNIT_TYPE])
            json_append(sub, sub_extension("costFrequency", "valueCodeableConcept",
                                           list_concept(r, CLD_COST_FREQUENCY_UNIT_TYPE)));
        if(r->v[CLD_PLANNED_UNITS_PER_WEEK])
            json_append(sub, sub_extension("plannedUnitsPerWeek", "valueDecimal",
                                           json_new_number_text(r->v[CLD_PLANNED_UNITS_PER_WEEK])));
        json_value *cost = json_new_object();
        set_str(cost, "url", CLD_KITH_BASE "StructureDefinition/cld-care-package-cost");
        json_set(cost, "extension", sub);
        json_append(ext, cost);
    }
    set_nonempty(eoc, "extension", ext);
    json_set(eoc, "identifier", event_identifier(r));
    set_str(eoc, "status", r->v[CLD_EVENT_END_DATE] ? "finished" : "active");
    json_value *types = json_new_array();
    static const cld_field TYPE_FIELDS[] = {CLD_SERVICE_TYPE, CLD_SERVICE_COMPONENT, CLD_DELIVERY_MECHANISM};
    for(size_t i = 0; i < sizeof TYPE_FIELDS / sizeof *TYPE_FIELDS; i++)
        if(r->v[TYPE_FIELDS[i]]) json_append(types, list_concept(r, TYPE_FIELDS[i]));
    set_nonempty(eoc, "type", types);
    json_set(eoc, "patient", reference("Patient", patient));
    json_set(eoc, "managingOrganization", reference("Organization", org));
    json_set(eoc, "period", period(r));
    return eoc;
}

kith_rc cld_row_map(const cld_header *h, char **fields, size_t n, cld_find_person find, void *ctx, json_value ***out,
                    size_t *nout, char *err, size_t errlen) {
    *out = NULL;
    *nout = 0;
    row r;
    memset(&r, 0, sizeof r);
    kith_rc rc = row_load(h, fields, n, &r, err, errlen);
    if(rc) goto done;
    const char *la = r.v[CLD_LA_CODE];
    char own_id[MAX_ID + 1], event_id[MAX_ID + 1], org_id[MAX_ID + 1], found[MAX_ID + 8] = "";
    make_id(own_id, "cld", la, r.v[CLD_LA_PERSON_UNIQUE_IDENTIFIER]);
    make_id(event_id, "cld", la, r.v[CLD_EVENT_REFERENCE]);
    snprintf(org_id, sizeof org_id, "la-%s", la);
    bool linked = false;
    if(find && r.v[CLD_NHS_NUMBER] && !r.nhs_unverified && find(ctx, r.v[CLD_NHS_NUMBER], found, sizeof found))
        linked = found[0] && strcmp(found, own_id) != 0;
    const char *patient = linked ? found : own_id;
    json_value **res = xcalloc(2, sizeof *res);
    size_t k = 0;
    if(!linked) res[k++] = map_patient(&r, own_id);
    const char *type = r.v[CLD_EVENT_TYPE]; /* canonical spelling from EVENT_TYPES */
    if(strcmp(type, "Request") == 0) res[k++] = map_request(&r, event_id, patient, org_id);
    else if(strcmp(type, "Assessment") == 0) res[k++] = map_encounter(&r, event_id, patient, org_id, false);
    else if(strcmp(type, "Review") == 0) res[k++] = map_encounter(&r, event_id, patient, org_id, true);
    else res[k++] = map_service(&r, event_id, patient, org_id);
    *out = res;
    *nout = k;
done:
    row_free(&r);
    return rc;
}

bool cld_nhs_number_valid(const char *s) { return nhs_number_valid(s); }
