/*
 * tables.c — the generator's reference data, written for Kith.
 *
 * Sources (figures rounded; see docs/synthetic-place.md):
 *  - age structure: ONS mid-2021 population estimates for England, 5-year bands;
 *  - ethnicity: Census 2021, England, the 2001 NHS ethnic categories (A-S);
 *  - the 35 condition deficits of the electronic Frailty Index (Clegg et al.,
 *    Age and Ageing 2016), one SNOMED CT concept each, chosen from the eFI
 *    code lists published by the University of Manchester GM-SDE project
 *    (github UoM-Data-Science-Platforms/gm-sde, clinical-code-sets efi-*);
 *    prevalences at 70 are rounded from QOF registers and published
 *    eFI deficit frequencies, then tuned so that people aged 65 and over fall
 *    into the eFI categories in about the proportions Clegg et al. report;
 *  - names: common given names by decade of birth and common surnames in
 *    England and Wales (ONS baby names, surname frequency lists), as plain
 *    facts; streets are made up.
 * Medicines are named in words (generic name and form) and coded in Kith's
 * own synthetic code system, not dm+d.
 */
#include <string.h>

#include "synth/synth_int.h"

const double synth_age_share[19] = {
    5.4, 6.0, 6.1, 5.7, 6.0, 6.6, 6.9, 6.7, 6.4, 6.4, 6.9, 6.8, 5.9, 5.0, 5.0, 3.7, 2.5, 1.5, 0.9,
};

/* A White British, B White Irish, C other White, D-G Mixed, H Indian, J Pakistani,
 * K Bangladeshi, L other Asian, M Black Caribbean, N Black African, P other Black,
 * R Chinese, S any other, Z not stated. */
const char *const synth_ethnic_code[17] = {"A", "B", "C", "D", "E", "F", "G", "H", "J",
                                           "K", "L", "M", "N", "P", "R", "S", "Z"};
const char *const synth_ethnic_display[17] = {
    "British, Mixed British",
    "Irish",
    "Any other White background",
    "White and Black Caribbean",
    "White and Black African",
    "White and Asian",
    "Any other mixed background",
    "Indian or British Indian",
    "Pakistani or British Pakistani",
    "Bangladeshi or British Bangladeshi",
    "Any other Asian background",
    "Caribbean",
    "African",
    "Any other Black background",
    "Chinese",
    "Any other ethnic group",
    "Not stated",
};
const double synth_ethnic_share[17] = {73.5, 0.9, 6.4, 0.5, 0.3, 0.6, 0.5, 3.3, 2.7,
                                       1.1,  1.6, 1.1, 2.5, 0.5, 0.7, 1.6, 2.3};

int synth_ethnic_group(int e) {
    if(e >= 7 && e <= 10) return 1;
    if(e >= 11 && e <= 13) return 2;
    if(e == 14) return 3;
    return 0;
}

/* key, SNOMED CT code, display, p70, slope/decade, frailty loading, medicines */
const synth_condition synth_conditions[SYNTH_NCONDITIONS] = {
    {"activity-limitation", "21134002", "Disability", 0.036, 0.80, 1.00, "", 0},
    {"anaemia", "271737000", "Anemia", 0.072, 0.50, 0.60, "?Ferrous fumarate 322mg tablets", 1},
    {"arthritis", "396275006", "Osteoarthritis", 0.360, 0.45, 0.50, "Paracetamol 500mg tablets|?Naproxen 500mg tablets", 1},
    {"atrial-fibrillation", "49436004", "Atrial fibrillation", 0.072, 0.75, 0.45, "Apixaban 5mg tablets|Bisoprolol 2.5mg tablets", 1},
    {"chd", "414545008", "Ischemic heart disease", 0.120, 0.50, 0.50, "Atorvastatin 40mg tablets|Aspirin 75mg dispersible tablets|?Bisoprolol 2.5mg tablets", 1},
    {"ckd", "433144002", "Chronic kidney disease stage 3", 0.096, 0.85, 0.50, "", 1},
    {"diabetes", "44054006", "Diabetes mellitus type 2", 0.180, 0.25, 0.40, "Metformin 500mg tablets|?Gliclazide 80mg tablets|Atorvastatin 20mg tablets", 1},
    {"dizziness", "404640003", "Dizziness", 0.060, 0.50, 0.70, "", 0},
    {"dyspnoea", "267036007", "Dyspnea", 0.060, 0.50, 0.80, "", 0},
    {"falls", "161898004", "Falls", 0.060, 0.80, 1.00, "", 0},
    {"foot-problems", "201037000", "Corns and callus", 0.072, 0.50, 0.50, "", 0},
    {"fragility-fracture", "5913000", "Fracture of neck of femur", 0.030, 0.80, 0.80, "Alendronic acid 70mg tablets|Colecalciferol and calcium carbonate chewable tablets", 1},
    {"hearing-loss", "15188001", "Hearing loss", 0.216, 0.70, 0.30, "", 1},
    {"heart-failure", "84114007", "Heart failure", 0.036, 0.85, 0.70, "Furosemide 40mg tablets|Ramipril 5mg capsules|Bisoprolol 2.5mg tablets", 1},
    {"heart-valve-disease", "60573004", "Aortic valve stenosis", 0.024, 0.90, 0.40, "", 1},
    {"housebound", "160689007", "Housebound", 0.014, 1.10, 1.30, "", 0},
    {"hypertension", "59621000", "Essential hypertension", 0.540, 0.45, 0.30, "Amlodipine 5mg tablets|?Ramipril 5mg capsules", 1},
    {"hypotension", "271594007", "Syncope", 0.036, 0.60, 0.70, "", 0},
    {"cognitive-problems", "52448006", "Dementia", 0.024, 1.20, 1.00, "Donepezil 5mg tablets", 1},
    {"mobility-problems", "8510008", "Reduced mobility", 0.048, 0.90, 1.20, "", 0},
    {"osteoporosis", "64859006", "Osteoporosis", 0.072, 0.60, 0.50, "Alendronic acid 70mg tablets|Colecalciferol and calcium carbonate chewable tablets", 1},
    {"parkinsons", "49049000", "Parkinson's disease", 0.010, 0.70, 0.60, "Co-careldopa 25mg/100mg tablets", 1},
    {"peptic-ulcer", "13200003", "Peptic ulcer", 0.048, 0.30, 0.40, "Omeprazole 20mg gastro-resistant capsules", 1},
    {"pvd", "400047006", "Peripheral vascular disease", 0.036, 0.60, 0.50, "Clopidogrel 75mg tablets|Atorvastatin 40mg tablets", 1},
    {"respiratory-disease", "13645005", "Chronic obstructive lung disease", 0.120, 0.40, 0.60, "Salbutamol 100micrograms/dose inhaler|Tiotropium 2.5micrograms/dose inhaler", 1},
    {"skin-ulcer", "19429009", "Chronic ulcer of skin", 0.024, 0.80, 0.90, "", 1},
    {"sleep-disturbance", "193462001", "Insomnia", 0.072, 0.30, 0.50, "?Zopiclone 3.75mg tablets", 1},
    {"social-vulnerability", "105529008", "Lives alone", 0.240, 0.55, 0.40, "", 0},
    {"stroke-tia", "230690007", "Cerebrovascular accident", 0.060, 0.75, 0.60, "Clopidogrel 75mg tablets|Atorvastatin 80mg tablets", 1},
    {"thyroid-disorders", "40930008", "Hypothyroidism", 0.084, 0.30, 0.30, "Levothyroxine 50microgram tablets", 1},
    {"urinary-incontinence", "165232002", "Urinary incontinence", 0.072, 0.70, 0.90, "?Solifenacin 5mg tablets", 0},
    {"urinary-system-disease", "266569009", "Benign prostatic hyperplasia", 0.096, 0.60, 0.30, "Tamsulosin 400microgram modified-release capsules", 1},
    {"vision-problems", "193570009", "Cataract", 0.180, 0.70, 0.40, "", 1},
    {"weight-loss", "89362005", "Weight loss", 0.024, 0.80, 1.00, "", 0},
    {"care-requirement", "184156005", "Has a caregiver", 0.024, 1.10, 1.30, "", 0},
};

/* Given names by sex and era of birth (before 1950, 1950-1979, 1980 on). */
static const char *const GIVEN[2][3][24] = {
    {{"Margaret", "Jean", "Mary", "Joan", "Patricia", "Dorothy", "Barbara", "Elizabeth", "Sheila", "Irene",
      "Doris", "Joyce", "Betty", "Sylvia", "Pamela", "Kathleen", "Brenda", "Valerie", "Maureen", "Audrey",
      "Eileen", "Edna", "Marjorie", "Evelyn"},
     {"Susan", "Linda", "Christine", "Julie", "Karen", "Jacqueline", "Elaine", "Sandra", "Deborah", "Alison",
      "Helen", "Gillian", "Janet", "Carol", "Lesley", "Angela", "Tracey", "Sarah", "Nicola", "Amanda", "Diane",
      "Wendy", "Anne", "Lorraine"},
     {"Emma", "Sophie", "Jessica", "Olivia", "Amelia", "Charlotte", "Hannah", "Laura", "Rebecca", "Lauren",
      "Chloe", "Emily", "Isla", "Grace", "Lucy", "Megan", "Holly", "Ella", "Mia", "Amy", "Katie", "Ava",
      "Freya", "Poppy"}},
    {{"John", "William", "George", "Robert", "James", "Kenneth", "Ronald", "Peter", "Dennis", "Frederick",
      "Arthur", "Albert", "Thomas", "Harold", "Leslie", "Raymond", "Norman", "Stanley", "Eric", "Alan",
      "Derek", "Roy", "Donald", "Gordon"},
     {"David", "Paul", "Andrew", "Mark", "Stephen", "Michael", "Ian", "Richard", "Gary", "Anthony", "Christopher",
      "Kevin", "Martin", "Neil", "Simon", "Philip", "Steven", "Graham", "Keith", "Colin", "Nigel", "Trevor",
      "Robert", "Jonathan"},
     {"Oliver", "Jack", "Harry", "Thomas", "Daniel", "James", "Joshua", "Matthew", "Samuel", "Luke", "George",
      "Ryan", "Adam", "Liam", "Callum", "Jake", "Noah", "Leo", "Charlie", "Alfie", "Ethan", "Benjamin",
      "Lewis", "Oscar"}},
};
/* Given names for people of South Asian, Black and East Asian heritage. */
static const char *const GIVEN_HERITAGE[2][3][8] = {
    {{"Priya", "Fatima", "Ayesha", "Nasreen", "Sunita", "Zainab", "Shazia", "Anjali"},
     {"Grace", "Blessing", "Abena", "Patience", "Chioma", "Marcia", "Ngozi", "Yvonne"},
     {"Mei", "Li", "Xin", "Hui", "Yan", "Jing", "Ying", "Lan"}},
    {{"Mohammed", "Amir", "Rajesh", "Imran", "Sanjay", "Tariq", "Harpreet", "Arjun"},
     {"Kwame", "Emmanuel", "Chinedu", "Tunde", "Delroy", "Winston", "Kofi", "Samuel"},
     {"Wei", "Jun", "Hao", "Ming", "Chen", "Jian", "Lei", "Tao"}},
};
static const char *const FAMILY[] = {
    "Smith",   "Jones",  "Williams", "Taylor",  "Brown",    "Davies",  "Evans",    "Wilson",  "Thomas",  "Johnson",
    "Roberts", "Robinson", "Thompson", "Wright", "Walker",  "White",   "Edwards",  "Hughes",  "Green",   "Hall",
    "Lewis",   "Harris", "Clarke",   "Jackson", "Wood",     "Turner",  "Martin",   "Cooper",  "Hill",    "Ward",
    "Morris",  "Moore",  "Clark",    "Lee",     "King",     "Baker",   "Harrison", "Morgan",  "Allen",   "James",
    "Scott",   "Phillips", "Watson", "Davis",   "Parker",   "Price",   "Bennett",  "Young",   "Griffiths", "Mitchell",
    "Kelly",   "Cook",   "Carter",   "Richardson", "Bailey", "Collins", "Bell",    "Shaw",    "Murphy",  "Miller",
    "Cox",     "Richards", "Khan",   "Marshall", "Anderson", "Simpson", "Ellis",   "Adams",   "Singh",   "Begum",
    "Wilkinson", "Foster", "Chapman", "Powell", "Webb",    "Rogers",  "Gray",     "Mason",   "Ali",     "Hunt",
    "Hussain", "Campbell", "Matthews", "Owen",  "Palmer",   "Holmes",  "Mills",    "Barnes",  "Knight",  "Lloyd",
    "Butler",  "Russell", "Barker", "Fisher",   "Stevens",  "Jenkins", "Murray",   "Dixon",   "Harvey",  "O'Brien",
};
static const char *const FAMILY_HERITAGE[3][10] = {
    {"Patel", "Khan", "Ahmed", "Begum", "Hussain", "Singh", "Kaur", "Ali", "Shah", "Sharma"},
    {"Okafor", "Mensah", "Adeyemi", "Campbell", "Williams", "Brown", "Osei", "Johnson", "Boateng", "Clarke"},
    {"Wong", "Chen", "Li", "Zhang", "Wang", "Liu", "Cheung", "Lam", "Chan", "Ng"},
};

const char *synth_given_name(int sex, int birth_year, int group, uint32_t r) {
    if(group > 0 && (r & 1)) return GIVEN_HERITAGE[sex][group - 1][(r >> 1) % 8];
    int era = birth_year < 1950 ? 0 : birth_year < 1980 ? 1 : 2;
    return GIVEN[sex][era][(r >> 1) % 24];
}

const char *synth_family_name(int group, uint32_t r) {
    if(group > 0 && (r % 5) != 0) return FAMILY_HERITAGE[group - 1][(r / 5) % 10];
    return FAMILY[r % (sizeof FAMILY / sizeof *FAMILY)];
}

const char *synth_nickname(const char *given) {
    static const char *const PAIRS[][2] = {
        {"William", "Bill"},   {"Robert", "Bob"},      {"Margaret", "Peggy"}, {"Elizabeth", "Liz"},
        {"James", "Jim"},      {"Thomas", "Tom"},      {"Richard", "Dick"},   {"Patricia", "Pat"},
        {"Kathleen", "Kath"},  {"Dorothy", "Dot"},     {"Frederick", "Fred"}, {"Albert", "Bert"},
        {"Christopher", "Chris"}, {"Michael", "Mike"}, {"Anthony", "Tony"},   {"Stephen", "Steve"},
        {"Kenneth", "Ken"},    {"Ronald", "Ron"},      {"Leslie", "Les"},     {"Raymond", "Ray"},
        {"Jacqueline", "Jackie"}, {"Deborah", "Debbie"}, {"Susan", "Sue"},   {"Christine", "Chris"},
        {"Samuel", "Sam"},     {"Daniel", "Dan"},      {"Matthew", "Matt"},   {"Rebecca", "Becky"},
        {"Jessica", "Jess"},   {"Charlotte", "Charlie"}, {"Barbara", "Barbs"}, {"Valerie", "Val"},
        {"Sylvia", "Syl"},     {"Pamela", "Pam"},      {"Gillian", "Gill"},   {"Philip", "Phil"},
        {"Jonathan", "Jon"},   {"Benjamin", "Ben"},    {"Nicola", "Nicky"},   {"Alexander", "Alex"},
        {"Mohammed", "Mo"},    {"Edward", "Ted"},      {"Gordon", "Gordie"},  {"Derek", "Del"},
    };
    for(size_t i = 0; i < sizeof PAIRS / sizeof *PAIRS; i++)
        if(strcmp(PAIRS[i][0], given) == 0) return PAIRS[i][1];
    return NULL;
}

const char *synth_street(uint32_t r) {
    static const char *const STEM[] = {"Church", "Mill", "Station", "Victoria", "Park", "Queens", "Manor",
                                       "School", "Chapel", "Green", "Orchard", "Meadow", "Kings", "Albert",
                                       "Windmill", "Beech", "Willow", "Oak", "Elm", "Rectory", "Castle",
                                       "Bridge", "Brook", "Highfield", "Grange", "Springfield", "York",
                                       "Nelson", "Garden", "Chestnut"};
    static const char *const KIND[] = {"Road", "Street", "Lane", "Close", "Avenue", "Drive", "Way", "Gardens",
                                       "Crescent", "Terrace"};
    static char names[30][10][32];
    static int built;
    if(!built) { /* the generator is single-threaded */
        for(int i = 0; i < 30; i++)
            for(int k = 0; k < 10; k++) {
                size_t n = strlen(STEM[i]);
                memcpy(names[i][k], STEM[i], n);
                names[i][k][n] = ' ';
                strcpy(names[i][k] + n + 1, KIND[k]);
            }
        built = 1;
    }
    return names[r % 30][(r / 30) % 10];
}
