/*
 * place.c — the place itself: an integrated care board, an acute trust, a
 * community trust, the council's adult social care, voluntary groups, three
 * localities of four integrated neighbourhood teams each, GP practices (about
 * one per 7,000 people, at least one per neighbourhood), their sites, staff
 * of every profession with their roles and contact details, and the services
 * they run, described so that the service directory can be seeded from them.
 * Half the neighbourhoods (every other one) join the integrated care
 * programme, each with its MDT (a CareTeam, mdt_teams). Single-threaded;
 * the place is kept in g->place.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "synth/synth_int.h"

const char *const synth_locality_name[SYNTH_LOCALITIES] = {"Kithbury", "Ashvale", "Northmoor"};
const char *const synth_neighbourhood_name[SYNTH_NEIGHBOURHOODS] = {
    "Kithbury Central", "Kithbury East", "Riverside", "Old Town",  "Ashvale",  "Ashvale Fields",
    "Hollins",          "Brookmead",     "Northmoor", "Moorgate", "Fellside", "Cotterill"};

/* staff roles: code, display (Kith's staff-role code system) */
enum { R_GP, R_PN, R_DN, R_MATRON, R_PHYSIO, R_OT, R_SW, R_CC, R_DC, R_LW, R_TL, R_NROLES };
static const char *const ROLE_CODE[R_NROLES] = {"gp", "practice-nurse", "district-nurse", "community-matron",
                                                "physiotherapist", "occupational-therapist", "social-worker",
                                                "care-coordinator", "discharge-coordinator", "link-worker",
                                                "team-lead"};
static const char *const ROLE_NAME[R_NROLES] = {"General practitioner", "Practice nurse", "District nurse",
                                                "Community matron", "Physiotherapist", "Occupational therapist",
                                                "Social worker", "Care coordinator", "Discharge coordinator",
                                                "Social prescribing link worker", "Team lead"};

static long phone_seq;

/* A phone number in the range Ofcom keeps for drama (01632 960000-960999). */
static void phone(char out[16]) {
    snprintf(out, 16, "01632 960%03ld", phone_seq++ % 1000);
}

static void organization(synth_gen *g, const char *id, const char *ods, const char *type, const char *type_display,
                         const char *name, const char *part_of, const char *town) {
    char tel[16];
    phone(tel);
    buf *b = &g->b;
    buf_printf(b, "{\"resourceType\":\"Organization\",\"id\":\"%s\",", id);
    if(ods) buf_printf(b, "\"identifier\":[{\"system\":\"" ODS_SYS "\",\"value\":\"%s\"}],", ods);
    buf_printf(b,
               "\"active\":true,\"type\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
               "organization-type\",\"code\":\"%s\",\"display\":\"%s\"}]}],\"name\":\"%s\","
               "\"telecom\":[{\"system\":\"phone\",\"value\":\"%s\",\"use\":\"work\"}],"
               "\"address\":[{\"use\":\"work\",\"city\":\"%s\",\"district\":\"Kithshire\",\"country\":\"GB\"}]",
               type, type_display, name, tel, town);
    if(part_of) buf_printf(b, ",\"partOf\":{\"reference\":\"Organization/%s\"}", part_of);
    buf_putc(b, '}');
    synth_emit(g, "Organization");
}

static void location(synth_gen *g, const char *id, const char *name, const char *type, const char *type_display,
                     const char *org, const char *line, const char *town, const char *postcode) {
    char tel[16];
    phone(tel);
    buf_printf(&g->b, "{\"resourceType\":\"Location\",\"id\":\"%s\",\"status\":\"active\",\"name\":\"%s\",\"mode\":"
               "\"instance\",\"type\":[{", id, name);
    if(type)
        buf_printf(&g->b, "\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-RoleCode\","
                   "\"code\":\"%s\",\"display\":\"%s\"}]", type, type_display);
    else
        buf_printf(&g->b, "\"text\":\"%s\"", type_display);
    buf_printf(&g->b, "}],\"telecom\":[{\"system\":\"phone\",\"value\":\"%s\"}],"
               "\"address\":{\"use\":\"work\",\"line\":[\"%s\"],\"city\":\"%s\",\"postalCode\":\"%s\",\"country\":\"GB\"},"
               "\"managingOrganization\":{\"reference\":\"Organization/%s\"}}",
               tel, line, town, postcode, org);
    synth_emit(g, "Location");
}

/* A member of staff: Practitioner and PractitionerRole; id is the Practitioner id. */
static void staff(synth_gen *g, synth_rng *r, const char *id, int role, const char *org, const char *loc) {
    int sex = (int)synth_rng_below(r, 2);
    int born = 1960 + (int)synth_rng_below(r, 38);
    const char *given = synth_given_name(sex, born, 0, (uint32_t)synth_rng_next(r));
    const char *family = synth_family_name(0, (uint32_t)synth_rng_next(r));
    char tel[16];
    phone(tel);
    char email[96];
    snprintf(email, sizeof email, "%s.%s%s@kith.example.org", given, family, id + 3);
    for(char *p = email; *p; p++)
        if(*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        else if(*p == '\'') *p = '-';
    buf_printf(&g->b,
               "{\"resourceType\":\"Practitioner\",\"id\":\"%s\",\"active\":true,\"name\":[{\"use\":\"official\","
               "\"family\":\"%s\",\"given\":[\"%s\"],\"prefix\":[\"%s\"]}],\"telecom\":[{\"system\":\"email\","
               "\"value\":\"%s\",\"use\":\"work\"},{\"system\":\"phone\",\"value\":\"%s\",\"use\":\"work\"}],"
               "\"gender\":\"%s\"}",
               id, family, given, role == R_GP ? "Dr" : sex ? "Mr" : "Ms", email, tel, sex ? "male" : "female");
    synth_emit(g, "Practitioner");
    buf_printf(&g->b,
               "{\"resourceType\":\"PractitionerRole\",\"id\":\"role-%s\",\"active\":true,\"practitioner\":{"
               "\"reference\":\"Practitioner/%s\",\"display\":\"%s %s\"},\"organization\":{\"reference\":"
               "\"Organization/%s\"},\"code\":[{\"coding\":[{\"system\":\"" KITH_SYS "CodeSystem/staff-role\","
               "\"code\":\"%s\",\"display\":\"%s\"}],\"text\":\"%s\"}],",
               id + 3, id, given, family, org, ROLE_CODE[role], ROLE_NAME[role], ROLE_NAME[role]);
    if(loc) buf_printf(&g->b, "\"location\":[{\"reference\":\"Location/%s\"}],", loc);
    buf_printf(&g->b,
               "\"telecom\":[{\"system\":\"phone\",\"value\":\"%s\",\"use\":\"work\"},{\"system\":\"email\","
               "\"value\":\"%s\",\"use\":\"work\"}],\"availableTime\":[{\"daysOfWeek\":[\"mon\",\"tue\",\"wed\","
               "\"thu\",\"fri\"],\"availableStartTime\":\"08:30:00\",\"availableEndTime\":\"17:00:00\"}]}",
               tel, email);
    synth_emit(g, "PractitionerRole");
}

typedef struct service_def {
    const char *id, *org, *loc, *name, *category, *what, *who, *how, *method;
    int appointment;
    const char *hours; /* "08:00:00-20:00:00" or NULL for 24 hours */
    const char *sector; /* Kith's sector code */
    const char *needs;  /* space-separated codes of Kith's need code system */
    int urgent_hours, routine_days; /* response targets, in working hours and days */
    int min_age, max_age;           /* who it is for (max 0: no upper limit) */
    const char *districts;          /* postcode districts covered (NULL: the whole place) */
} service_def;

/* Kith's directory extensions on a service: response targets by priority,
 * a duty contact that is always reachable, the ages and districts it serves. */
static void service_extensions(buf *b, const service_def *s, const char *tel) {
    buf_printf(b, "\"extension\":[");
    const char *pri[2] = {"urgent", "routine"};
    int amount[2] = {s->urgent_hours, s->routine_days};
    const char *unit[2] = {"h", "d"}, *word[2] = {"hours", "days"};
    for(int i = 0; i < 2; i++)
        buf_printf(b,
                   "{\"url\":\"" KITH_SYS "StructureDefinition/response-target\",\"extension\":[{\"url\":\"priority\","
                   "\"valueCode\":\"%s\"},{\"url\":\"target\",\"valueDuration\":{\"value\":%d,\"unit\":\"working %s\","
                   "\"system\":\"http://unitsofmeasure.org\",\"code\":\"%s\"}}]},",
                   pri[i], amount[i], word[i], unit[i]);
    buf_printf(b,
               "{\"url\":\"" KITH_SYS "StructureDefinition/duty-contact\",\"extension\":[{\"url\":\"name\","
               "\"valueString\":\"Duty desk, %s\"},{\"url\":\"telecom\",\"valueContactPoint\":{\"system\":\"phone\","
               "\"value\":\"%s\",\"use\":\"work\"}},{\"url\":\"telecom\",\"valueContactPoint\":{\"system\":"
               "\"email\",\"value\":\"%s.duty@kith.example.org\",\"use\":\"work\"}}]},"
               "{\"url\":\"" KITH_SYS "StructureDefinition/age-range\",\"valueRange\":{\"low\":{\"value\":%d,"
               "\"unit\":\"years\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"a\"}",
               s->name, tel, s->id + 3, s->min_age);
    if(s->max_age)
        buf_printf(b, ",\"high\":{\"value\":%d,\"unit\":\"years\",\"system\":\"http://unitsofmeasure.org\","
                      "\"code\":\"a\"}", s->max_age);
    buf_puts(b, "}}");
    for(const char *p = s->districts; p && *p;) {
        size_t n = strcspn(p, " ");
        buf_printf(b, ",{\"url\":\"" KITH_SYS "StructureDefinition/postcode-district\",\"valueString\":\"%.*s\"}",
                   (int)n, p);
        p += n;
        while(*p == ' ') p++;
    }
    buf_puts(b, "],");
}

/* The codes of a space-separated list as a CodeableConcept array of one system. */
static void service_codes(buf *b, const char *key, const char *system, const char *codes) {
    buf_printf(b, "\"%s\":[", key);
    bool first = true;
    for(const char *p = codes; *p;) {
        size_t n = strcspn(p, " ");
        buf_printf(b, "%s{\"coding\":[{\"system\":\"%s\",\"code\":\"%.*s\"}]}", first ? "" : ",", system, (int)n, p);
        first = false;
        p += n;
        while(*p == ' ') p++;
    }
    buf_puts(b, "],");
}

static void service(synth_gen *g, const service_def *s) {
    char tel[16];
    phone(tel);
    buf *b = &g->b;
    buf_printf(b,
               "{\"resourceType\":\"HealthcareService\",\"id\":\"%s\",",
               s->id);
    service_extensions(b, s, tel);
    buf_printf(b,
               "\"active\":true,\"providedBy\":{\"reference\":\"Organization/%s\"},\"category\":[{\"coding\":[{"
               "\"system\":\"" KITH_SYS "CodeSystem/sector\",\"code\":\"%s\"}],\"text\":\"%s\"}],"
               "\"type\":[{\"text\":\"%s\"}],",
               s->org, s->sector, s->category, s->name);
    service_codes(b, "characteristic", KITH_SYS "CodeSystem/need", s->needs);
    if(s->loc) buf_printf(b, "\"location\":[{\"reference\":\"Location/%s\"}],", s->loc);
    buf_printf(b,
               "\"name\":\"%s\",\"comment\":\"%s\",\"extraDetails\":\"**Who it is for:** %s\\n\\n**How to refer:** "
               "%s\",\"telecom\":[{\"system\":\"phone\",\"value\":\"%s\",\"use\":\"work\"},{\"system\":\"email\","
               "\"value\":\"%s@kith.example.org\",\"use\":\"work\"}],\"eligibility\":[{\"comment\":\"%s\"}],"
               "\"referralMethod\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
               "service-referral-method\",\"code\":\"%s\"}]}],\"appointmentRequired\":%s,",
               s->name, s->what, s->who, s->how, tel, s->id, s->who, s->method, s->appointment ? "true" : "false");
    if(s->hours)
        buf_printf(b,
                   "\"availableTime\":[{\"daysOfWeek\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
                   "\"availableStartTime\":\"%.8s\",\"availableEndTime\":\"%.8s\"}]}",
                   s->hours, s->hours + 9);
    else
        buf_puts(b, "\"availableTime\":[{\"allDay\":true}]}");
    synth_emit(g, "HealthcareService");
}

static const service_def SERVICES[] = {
    {"hs-urgent-community-response", "org-community", "loc-hub-1", "Urgent community response",
     "Community health", "Sees people at home within two hours when their health or ability to cope suddenly gets worse, to avoid a hospital admission.",
     "Adults at risk of admission within 48 hours: falls without serious injury, sudden loss of mobility, carer breakdown.",
     "Phone the single point of access; open to GPs, paramedics, social workers and families.", "phone", 0, NULL,
     "community-health", "urgent-care falls mobility", 2, 1, 18, 0, NULL},
    {"hs-district-nursing", "org-community", "loc-hub-1", "District nursing", "Community health",
     "Nursing care at home: wound care, continence, catheters, injections, end of life care.",
     "Housebound adults registered with a Kithshire practice.", "Electronic referral from the practice or hospital team.",
     "elec", 1, "08:00:00-20:00:00",
     "community-health", "wound-care end-of-life long-term-conditions", 4, 2, 18, 0, NULL},
    {"hs-community-matron", "org-community", "loc-hub-1", "Community matron case management", "Community health",
     "Case management for people with several long-term conditions and frequent admissions.",
     "Adults with complex needs, usually moderate or severe frailty, two or more emergency admissions in a year.",
     "Referral by the GP or the neighbourhood MDT.", "elec", 1, "08:30:00-17:00:00",
     "community-health", "long-term-conditions", 8, 5, 18, 0, NULL},
    {"hs-falls", "org-community", "loc-hub-2", "Falls prevention service", "Community health",
     "Assessment of falls risk, strength and balance classes, home hazard checks.",
     "Adults 65 and over who have fallen or fear falling.", "Any professional, or self-referral by phone.",
     "phone", 1, "09:00:00-17:00:00",
     "community-health", "falls mobility", 8, 10, 65, 0, NULL},
    {"hs-community-therapy", "org-community", "loc-hub-3", "Community therapy (physiotherapy and occupational therapy)",
     "Community health", "Rehabilitation at home after illness or a hospital stay; equipment and adaptations.",
     "Adults whose mobility or daily living has got worse.", "Electronic referral from any health or care professional.",
     "elec", 1, "08:30:00-17:00:00",
     "community-health", "rehabilitation mobility discharge-pathway-2", 4, 5, 18, 0, NULL},
    {"hs-memory", "org-community", "loc-hub-2", "Memory assessment service", "Mental health",
     "Diagnosis of dementia and post-diagnostic support.", "Adults with memory problems, after GP blood tests.",
     "GP referral letter or electronic referral.", "elec", 1, "09:00:00-17:00:00",
     "mental-health", "memory", 16, 20, 18, 0, NULL},
    {"hs-frailty-sdec", "org-acute", "loc-hospital", "Acute frailty unit (same day emergency care)", "Hospital",
     "Same-day comprehensive geriatric assessment to avoid an overnight stay.",
     "Older people with frailty and an acute illness.", "Phone the frailty consultant of the day.", "phone", 0,
     "08:00:00-20:00:00",
     "hospital", "urgent-care", 1, 1, 65, 0, NULL},
    {"hs-discharge-hub", "org-acute", "loc-hospital", "Integrated discharge hub", "Hospital",
     "Plans discharge from hospital on pathways 0-3 with community and social care.",
     "Inpatients who will need support after discharge.", "Ward staff refer on the electronic discharge form.",
     "elec", 0, "08:00:00-20:00:00",
     "hospital", "discharge", 4, 1, 18, 0, NULL},
    {"hs-reablement", "la-" LA_CODE, "loc-council", "Reablement (short-term support at home)", "Adult social care",
     "Up to six weeks of free support at home to regain independence after illness or a hospital stay.",
     "Adults who can regain skills with help; no charge.", "Referral through adult social care front door or the discharge hub.",
     "phone", 0, "07:00:00-22:00:00",
     "social-care", "personal-care rehabilitation discharge-pathway-1", 4, 2, 18, 0, NULL},
    {"hs-asc-front-door", "la-" LA_CODE, "loc-council", "Adult social care front door", "Adult social care",
     "Advice, information and Care Act assessments of care and support needs, and carers' assessments.",
     "Adults with care and support needs and their carers.", "Phone or online form; professionals use the secure email.",
     "phone", 0, "08:30:00-17:00:00",
     "social-care", "personal-care carer-support discharge-pathway-3", 4, 5, 18, 0, NULL},
    {"hs-social-prescribing", "org-int-1", NULL, "Social prescribing", "Voluntary and community",
     "Link workers help people find community groups, benefits advice and activities.",
     "Adults who are lonely, isolated or have non-medical needs affecting their health.",
     "Any practice staff or self-referral.", "elec", 1, "09:00:00-17:00:00",
     "voluntary", "loneliness benefits-advice", 16, 10, 18, 0, "KH1 KH2"},
    {"hs-good-neighbours", "org-vcs-1", NULL, "Good Neighbours befriending", "Voluntary and community",
     "Volunteer visits, phone friendship, lifts to appointments and shopping help.", "Older people living alone.",
     "Phone or email the coordinator; self-referral welcome.", "phone", 0, "09:00:00-16:00:00",
     "voluntary", "loneliness", 8, 5, 60, 0, NULL},
    {"hs-carers-hub", "org-vcs-2", NULL, "Carers hub", "Voluntary and community",
     "Support, breaks and advice for unpaid carers.", "Anyone caring for a relative or friend.",
     "Self-referral or any professional.", "phone", 0, "09:00:00-17:00:00",
     "voluntary", "carer-support", 8, 5, 0, 0, NULL},
    {"hs-dementia-support", "org-vcs-3", NULL, "Dementia support service", "Voluntary and community",
     "Dementia advisers, memory cafes and carer groups.", "People with dementia and their families.",
     "Self-referral or memory service referral.", "phone", 0, "09:00:00-17:00:00",
     "voluntary", "memory carer-support", 8, 5, 18, 0, NULL},
};

/* One member of an MDT: a Practitioner with their profession, their organisation
 * (the sector they come from) and, for the chair and coordinator, that role too. */
static void mdt_member(buf *b, bool first, const char *id, int role, const char *org, const char *lead) {
    buf_printf(b,
               "%s{\"role\":[{\"coding\":[{\"system\":\"" KITH_SYS "CodeSystem/staff-role\",\"code\":\"%s\","
               "\"display\":\"%s\"}],\"text\":\"%s\"}",
               first ? "" : ",", ROLE_CODE[role], ROLE_NAME[role], ROLE_NAME[role]);
    if(lead)
        buf_printf(b, ",{\"coding\":[{\"system\":\"" KITH_SYS "CodeSystem/mdt-role\",\"code\":\"%s\"}],\"text\":\"MDT %s\"}",
                   lead, lead);
    buf_printf(b, "],\"member\":{\"reference\":\"Practitioner/%s\"},\"onBehalfOf\":{\"reference\":\"Organization/%s\"}}",
               id, org);
}

/* One MDT (docs/mdt.md) per neighbourhood in the integrated care programme: a
 * CareTeam of its team, chaired by the GP of its first practice, with a GP from
 * each of its practices, community nursing and therapy, social work, its care
 * coordinator and link worker, and a voluntary group. It draws no random
 * numbers, so the rest of the place is the same with or without it.
 * team_first: the staff number before the neighbourhood teams' (10 each, in
 * the order of TEAM in synth_place_build). */
static void mdt_teams(synth_gen *g, long team_first) {
    static const struct {
        int offset, role;
        const char *org, *lead; /* org NULL: the neighbourhood team */
    } MEMBERS[] = {{9, R_CC, NULL, "coordinator"},        {1, R_DN, "org-community", NULL},
                   {4, R_MATRON, "org-community", NULL},  {5, R_PHYSIO, "org-community", NULL},
                   {6, R_OT, "org-community", NULL},      {7, R_SW, "la-" LA_CODE, NULL},
                   {10, R_LW, NULL, NULL}};
    synth_place *p = &g->place;
    char team[24], id[24];
    for(int n = 0; n < SYNTH_NEIGHBOURHOODS; n++) {
        if(!p->int_site[n]) continue;
        snprintf(team, sizeof team, "org-int-%d", n + 1);
        buf_printf(&g->b,
                   "{\"resourceType\":\"CareTeam\",\"id\":\"mdt-int-%d\",\"status\":\"active\",\"category\":[{\"coding\":"
                   "[{\"system\":\"" KITH_SYS "CodeSystem/care-team-category\",\"code\":\"mdt\",\"display\":"
                   "\"Neighbourhood multidisciplinary team\"}]}],\"name\":\"%s neighbourhood MDT\","
                   "\"managingOrganization\":[{\"reference\":\"Organization/%s\"}],\"participant\":[",
                   n + 1, synth_neighbourhood_name[n], team);
        bool first = true;
        for(long i = 0; i < p->npractices; i++) {
            if(p->practices[i].neighbourhood != n) continue;
            mdt_member(&g->b, first, p->practices[i].gp[0], R_GP, p->practices[i].id, first ? "chair" : NULL);
            first = false;
        }
        for(size_t k = 0; k < sizeof MEMBERS / sizeof *MEMBERS; k++) {
            snprintf(id, sizeof id, "pr-%ld", team_first + n * 10L + MEMBERS[k].offset);
            mdt_member(&g->b, first, id, MEMBERS[k].role, MEMBERS[k].org ? MEMBERS[k].org : team, MEMBERS[k].lead);
            first = false;
        }
        buf_puts(&g->b, ",{\"role\":[{\"text\":\"Voluntary sector\"}],\"member\":{\"reference\":"
                        "\"Organization/org-vcs-1\",\"display\":\"Kithshire Good Neighbours\"}}]}");
        synth_emit(g, "CareTeam");
    }
}

kith_rc synth_place_build(synth_gen *g) {
    synth_place *p = &g->place;
    synth_rng r;
    synth_rng_seed(&r, g->cfg->seed, 0xB1ACEull);
    phone_seq = 0;
    long np = lround((double)g->cfg->people / 7000.0);
    if(np < SYNTH_NEIGHBOURHOODS) np = SYNTH_NEIGHBOURHOODS;
    p->npractices = np;
    p->practices = xcalloc((size_t)np, sizeof *p->practices);
    for(int n = 0; n < SYNTH_NEIGHBOURHOODS; n++) {
        p->int_site[n] = n % 2 == 0;
        p->decile_mean[n] = 1.5 + 7.0 * synth_rng_uniform(&r); /* some deprived, some affluent */
    }
    organization(g, "org-icb", "ZQ1", "govt", "Government", "NHS Kithshire Integrated Care Board", NULL, "Kithbury");
    organization(g, "org-acute", "ZA1", "prov", "Healthcare Provider", "Kithbury Hospitals NHS Foundation Trust",
                 NULL, "Kithbury");
    organization(g, "org-community", "ZC1", "prov", "Healthcare Provider", "Kithshire Community Health NHS Trust",
                 NULL, "Ashvale");
    organization(g, "la-" LA_CODE, NULL, "govt", "Government", "Kithshire Council Adult Social Care", NULL,
                 "Kithbury");
    static const char *const VCS[] = {"Kithshire Good Neighbours", "Kithshire Carers Hub",
                                      "Kithshire Dementia Friends", "Northmoor Men's Shed"};
    char id[32], name[128], loc[40], pc[32], line[64];
    for(int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "org-vcs-%d", i + 1);
        organization(g, id, NULL, "cg", "Community Group", VCS[i], NULL, synth_locality_name[i % 3]);
    }
    for(int l = 0; l < SYNTH_LOCALITIES; l++) {
        snprintf(id, sizeof id, "org-locality-%d", l + 1);
        snprintf(name, sizeof name, "%s locality", synth_locality_name[l]);
        organization(g, id, NULL, "team", "Organizational team", name, "org-icb", synth_locality_name[l]);
        snprintf(loc, sizeof loc, "loc-hub-%d", l + 1);
        snprintf(name, sizeof name, "%s Community Health Hub", synth_locality_name[l]);
        snprintf(pc, sizeof pc, "KH%d 1HB", l * 4 + 1);
        location(g, loc, name, "COMM", "Community Location", "org-community", "1 Health Hub Way",
                 synth_locality_name[l], pc);
    }
    location(g, "loc-hospital", "Kithbury General Hospital", "HOSP", "Hospital", "org-acute", "Infirmary Road",
             "Kithbury", "KH1 4GH");
    location(g, "loc-ed", "Kithbury General Hospital Emergency Department", "ER", "Emergency room", "org-acute",
             "Infirmary Road", "Kithbury", "KH1 4GH");
    location(g, "loc-council", "Kithshire Council, Civic Centre", NULL, "Council offices", "la-" LA_CODE,
             "Civic Centre, Market Square", "Kithbury", "KH1 1CC");
    for(int n = 0; n < SYNTH_NEIGHBOURHOODS; n++) {
        snprintf(id, sizeof id, "org-int-%d", n + 1);
        snprintf(name, sizeof name, "%s integrated neighbourhood team", synth_neighbourhood_name[n]);
        char parent[32];
        snprintf(parent, sizeof parent, "org-locality-%d", n / 4 + 1);
        organization(g, id, NULL, "team", "Organizational team", name, parent, synth_locality_name[n / 4]);
    }
    long staff_seq = 0;
    char sid[24];
    for(long i = 0; i < np; i++) {
        synth_practice *pr = &p->practices[i];
        pr->neighbourhood = (int)(i % SYNTH_NEIGHBOURHOODS);
        snprintf(pr->ods, sizeof pr->ods, "Z%05ld", (i + 1) % 100000);
        snprintf(pr->id, sizeof pr->id, "gp-%s", pr->ods);
        const char *town = synth_locality_name[pr->neighbourhood / 4];
        snprintf(name, sizeof name, "%s Surgery", synth_street((uint32_t)synth_rng_next(&r)));
        char parent[32];
        snprintf(parent, sizeof parent, "org-int-%d", pr->neighbourhood + 1);
        organization(g, pr->id, pr->ods, "prov", "Healthcare Provider", name, parent, town);
        snprintf(loc, sizeof loc, "loc-%s", pr->ods);
        snprintf(pc, sizeof pc, "KH%d %u%c%c", pr->neighbourhood + 1, 1 + synth_rng_below(&r, 9),
                 'A' + (char)synth_rng_below(&r, 26), 'A' + (char)synth_rng_below(&r, 26));
        snprintf(line, sizeof line, "%u %s", 1 + synth_rng_below(&r, 120), synth_street((uint32_t)synth_rng_next(&r)));
        location(g, loc, name, "PC", "primary care clinic", pr->id, line, town, pc);
        for(int k = 0; k < 4; k++) {
            snprintf(pr->gp[k], sizeof pr->gp[k], "pr-%ld", ++staff_seq);
            staff(g, &r, pr->gp[k], R_GP, pr->id, loc);
        }
        snprintf(pr->nurse, sizeof pr->nurse, "pr-%ld", ++staff_seq);
        staff(g, &r, pr->nurse, R_PN, pr->id, loc);
        if(g->stopped) return KITH_EIO;
    }
    /* neighbourhood teams: community nursing and therapy, social work, coordination */
    long team_first = staff_seq; /* the MDTs (mdt_teams) name these staff */
    static const int TEAM[] = {R_DN, R_DN, R_DN, R_MATRON, R_PHYSIO, R_OT, R_SW, R_SW, R_CC, R_LW};
    static const char *const TEAM_ORG[] = {"org-community", "org-community", "org-community", "org-community",
                                           "org-community", "org-community", "la-" LA_CODE,  "la-" LA_CODE,
                                           NULL,            NULL};
    for(int n = 0; n < SYNTH_NEIGHBOURHOODS; n++) {
        char team[32], hub[32];
        snprintf(team, sizeof team, "org-int-%d", n + 1);
        snprintf(hub, sizeof hub, "loc-hub-%d", n / 4 + 1);
        for(size_t k = 0; k < sizeof TEAM / sizeof *TEAM; k++) {
            snprintf(sid, sizeof sid, "pr-%ld", ++staff_seq);
            staff(g, &r, sid, TEAM[k], TEAM_ORG[k] ? TEAM_ORG[k] : team, hub);
        }
    }
    for(int k = 0; k < 4; k++) {
        snprintf(sid, sizeof sid, "pr-%ld", ++staff_seq);
        staff(g, &r, sid, R_DC, "org-acute", "loc-hospital");
    }
    /* team leads: escalations of overdue referrals reach them */
    for(int n = 0; n < SYNTH_NEIGHBOURHOODS; n++) {
        char team[32], hub[32];
        snprintf(team, sizeof team, "org-int-%d", n + 1);
        snprintf(hub, sizeof hub, "loc-hub-%d", n / 4 + 1);
        snprintf(sid, sizeof sid, "pr-%ld", ++staff_seq);
        staff(g, &r, sid, R_TL, team, hub);
    }
    static const char *const LEAD_ORG[] = {("la-" LA_CODE), "org-community", "org-acute"};
    static const char *const LEAD_LOC[] = {"loc-council", "loc-hub-1", "loc-hospital"};
    for(int k = 0; k < 3; k++) {
        snprintf(sid, sizeof sid, "pr-%ld", ++staff_seq);
        staff(g, &r, sid, R_TL, LEAD_ORG[k], LEAD_LOC[k]);
    }
    for(size_t i = 0; i < sizeof SERVICES / sizeof *SERVICES; i++) service(g, &SERVICES[i]);
    mdt_teams(g, team_first);
    return g->stopped ? KITH_EIO : KITH_OK;
}

void synth_place_free(synth_place *p) {
    free(p->practices);
    p->practices = NULL;
}
