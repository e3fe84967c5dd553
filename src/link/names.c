/*
 * names.c — the other ways English given names are written: diminutives and
 * short forms a person gives at a council's front desk ("Bill" for William,
 * "Peggy" for Margaret) that no string distance would connect.
 *
 * Kith's own list, compiled from common British usage; one line per formal
 * name, its variants after it. A variant may belong to several names
 * ("Chris": Christopher and Christine): two names are variants when they
 * share a line. Matching is case-insensitive on letters only. Read-only
 * data: thread-safe.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "link/linkage.h"

static const char *const GROUPS[] = {
    "ALEXANDER ALEX ALEC SANDY",  "ALEXANDRA ALEX ALEXA SANDRA SANDY", "ALFRED ALF ALFIE FRED FREDDIE",
    "ALBERT BERT BERTIE AL",      "ANDREW ANDY DREW",               "ANTHONY TONY ANTON",
    "ARTHUR ART ARTIE",           "BARBARA BARB BARBS BABS",        "BENJAMIN BEN BENNY BENJI",
    "CATHERINE CATH CATHY KATE KATIE KATHY KAY", "KATHERINE KATH KATHY KATE KATIE KAY KIT",
    "KATHLEEN KATH KATHY KATE KAY", "CHARLES CHARLIE CHAS CHUCK", "CHARLOTTE CHARLIE LOTTIE LOTTE",
    "CHRISTINE CHRIS CHRISSIE TINA", "CHRISTOPHER CHRIS KIT TOPHER", "DANIEL DAN DANNY",
    "DAVID DAVE DAVY DAI",        "DEBORAH DEBBIE DEB DEBRA",       "DENNIS DEN DENNY",
    "DEREK DEL DEZ",              "DONALD DON DONNIE",              "DOROTHY DOT DOTTIE DOLLY",
    "EDWARD ED EDDIE TED TEDDY NED", "EDMUND ED EDDIE TED NED",      "ELIZABETH LIZ LIZZIE BETH BETTY BETSY ELSIE LIBBY ELIZA",
    "ELEANOR ELLIE NELL NELLIE NORA", "EMILY EM EMMIE MILLY",        "FREDERICK FRED FREDDIE FREDDY",
    "GEORGE GEORDIE",             "GILLIAN GILL JILL GILLY",        "GORDON GORDIE",
    "HAROLD HARRY HAL",           "HENRY HARRY HAL HANK",           "HELEN NELL NELLIE",
    "JACQUELINE JACKIE JACQUI",   "JAMES JIM JIMMY JAMIE",          "JANET JAN",
    "JENNIFER JENNY JEN JENNIE",  "JESSICA JESS JESSIE",            "JOHN JACK JOHNNY JON",
    "JONATHAN JON JONNY",         "JOSEPH JOE JOEY",                "JOSEPHINE JO JOSIE",
    "JOANNE JO JOANNA",           "JUDITH JUDY JUDE",               "KENNETH KEN KENNY",
    "LAWRENCE LAURIE LARRY",      "LESLIE LES",                     "MARGARET MAGGIE MEG PEGGY PEG MADGE MAISIE MARGE GRETA",
    "MARJORIE MARGE MARGIE",      "MATTHEW MATT MATTY",             "MICHAEL MIKE MICK MICKY MIKEY",
    "MOHAMMED MO MOHAMED MUHAMMAD MOHAMMAD", "NICHOLAS NICK NICKY", "NICOLA NICKY NIKKI",
    "PAMELA PAM",                 "PATRICIA PAT PATSY TRISH TRICIA","PATRICK PAT PADDY",
    "PETER PETE",                 "PHILIP PHIL PIP",                "RAYMOND RAY",
    "REBECCA BECKY BECCA BEX",    "RICHARD RICH RICHIE DICK RICK RICKY", "ROBERT BOB BOBBY ROB ROBBIE BERT",
    "RONALD RON RONNIE",          "SAMUEL SAM SAMMY",               "SAMANTHA SAM SAMMY",
    "SARAH SALLY SADIE",          "STANLEY STAN",                   "STEPHEN STEVE STEVIE",
    "STEVEN STEVE STEVIE",        "SUSAN SUE SUSIE SUZY",           "SYLVIA SYL SYLVIE",
    "THOMAS TOM TOMMY",           "TIMOTHY TIM TIMMY",              "VALERIE VAL",
    "VICTORIA VICKY VIC TORI",    "WILLIAM BILL BILLY WILL WILLIE WILLY LIAM", "WINIFRED WIN WINNIE",
    "ZACHARY ZAC ZACK",           "ABIGAIL ABBY ABBIE GAIL",        "AMELIA MILLIE AMY",
    "ANNE ANNIE NAN NANCY",       "CAROLINE CAROL CARRIE CARO",     "FRANCES FRAN FRANNIE",
    "FRANCIS FRANK FRANKIE",      "GERALD GERRY JERRY",             "GERALDINE GERRY",
    "IRENE RENE",                 "LEONARD LEN LENNY LEO",          "NORMAN NORM",
    "ROSEMARY ROSE ROSIE",        "TERENCE TERRY",                  "THEODORE THEO TED TEDDY",
    "VINCENT VINCE VINNY",        "WALTER WALT WALLY",
};

/* Copy the letters of s, upper-cased, into out (cap bytes). */
static void letters(const char *s, char *out, size_t cap) {
    size_t n = 0;
    for(; s && *s && n + 1 < cap; s++)
        if(isalpha((unsigned char)*s)) out[n++] = (char)toupper((unsigned char)*s);
    out[n] = '\0';
}

/* True when word (upper case, len bytes) is one of the space-separated words
 * of line. */
static bool line_has(const char *line, const char *word, size_t len) {
    for(const char *p = line; *p;) {
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if(n == len && memcmp(p, word, len) == 0) return true;
        if(!e) break;
        p = e + 1;
    }
    return false;
}

void link_name_groups(const char *name, uint64_t groups[2]) {
    char x[48];
    letters(name, x, sizeof x);
    size_t n = strlen(x);
    groups[0] = groups[1] = 0;
    _Static_assert(sizeof GROUPS / sizeof *GROUPS <= 128, "two 64-bit masks hold the groups");
    for(size_t i = 0; n && i < sizeof GROUPS / sizeof *GROUPS; i++)
        if(line_has(GROUPS[i], x, n)) groups[i / 64] |= 1ull << (i % 64);
}

int link_given_variants(const char *a, const char *b) {
    uint64_t x[2], y[2];
    link_name_groups(a, x);
    link_name_groups(b, y);
    return (x[0] & y[0]) || (x[1] & y[1]);
}
