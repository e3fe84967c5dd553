/*
 * main.c — `kith`: dispatch to subcommands, global --help and --version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char USAGE[] =
    "Usage: kith COMMAND [OPTIONS]\n"
    "\n"
    "Kith is a shared care record and coordination hub for health and social care:\n"
    "a FHIR R4 server over an embedded SQLite database.\n"
    "\n"
    "Commands:\n"
    "  serve      serve the FHIR API and operational endpoints over HTTP\n"
    "  import     load FHIR resources from JSON, Bundle or NDJSON files (.gz too),\n"
    "             or a council's adult social care CLD extract (--format cld)\n"
    "  export     write current resources as NDJSON files, one per resource type\n"
    "  reindex    rebuild the search index from the stored resources\n"
    "  fhirpath   evaluate a FHIRPath expression against a resource (JSON)\n"
    "  view       run a SQL on FHIR ViewDefinition: a flat table as CSV or NDJSON\n"
    "  synth      generate a synthetic English place (people, care, social care)\n"
    "  link       find the same person in records without an NHS number\n"
    "             (probabilistic record linkage); explain and undo links\n"
    "  frailty    score everyone's electronic Frailty Index (eFI) as RiskAssessments\n"
    "  risk       fit and score the emergency admission risk model\n"
    "  report     integration indicators: an HTML report with SPC charts, and CSV\n"
    "  evaluate   estimate what a service changed (matched difference-in-differences)\n"
    "  backup     copy the whole database while Kith keeps serving\n"
    "  restore    replace the database with a backup\n"
    "  user       add, disable and list users; issue a user's bearer token\n"
    "  client     register system clients and issue their tokens\n"
    "  audit      verify the audit log's hash chain; who has looked at a record\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help (and `kith COMMAND --help` for a command)\n"
    "  -V, --version  print the version\n"
    "\n"
    "Settings come from flags, then KITH_* environment variables, then defaults.\n"
    "The database is --db PATH (a SQLite file; default kith.db) or KITH_DB.\n";

int cli_exit_code(kith_rc rc) {
    switch(rc) {
    case KITH_OK: return CLI_EXIT_OK;
    case KITH_EINVAL:
    case KITH_EINVALID:
    case KITH_ECONFLICT:
    case KITH_EEXISTS:
    case KITH_ETOOBIG:
    case KITH_ENOTFOUND:
    case KITH_EGONE:
    case KITH_EFORBIDDEN:
    case KITH_ESTATE: return CLI_EXIT_REJECTED;
    default: return CLI_EXIT_FAILED;
    }
}

const char *cli_setting(const char *flag_value, const char *env_name, const char *dflt) {
    if(flag_value) return flag_value;
    const char *e = getenv(env_name);
    if(e && *e) return e;
    return dflt;
}

int main(int argc, char **argv) {
    if(argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(USAGE, stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if(strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("kith %s\n", KITH_VERSION);
        return CLI_EXIT_OK;
    }
    if(strcmp(argv[1], "serve") == 0) return cli_serve(argc - 1, argv + 1);
    if(strcmp(argv[1], "synth") == 0) return cli_synth(argc - 1, argv + 1);
    if(strcmp(argv[1], "user") == 0) return cli_user(argc - 1, argv + 1);
    if(strcmp(argv[1], "client") == 0) return cli_client(argc - 1, argv + 1);
    if(strcmp(argv[1], "audit") == 0) return cli_audit(argc - 1, argv + 1);
    if(strcmp(argv[1], "link") == 0) return cli_link(argc - 1, argv + 1);
    if(strcmp(argv[1], "frailty") == 0) return cli_frailty(argc - 1, argv + 1);
    if(strcmp(argv[1], "risk") == 0) return cli_risk(argc - 1, argv + 1);
    if(strcmp(argv[1], "evaluate") == 0) return cli_evaluate(argc - 1, argv + 1);
    if(strcmp(argv[1], "backup") == 0) return cli_backup(argc - 1, argv + 1);
    if(strcmp(argv[1], "restore") == 0) return cli_restore(argc - 1, argv + 1);
    if(strcmp(argv[1], "view") == 0) return cli_view(argc - 1, argv + 1);
    if(strcmp(argv[1], "report") == 0) return cli_report(argc - 1, argv + 1);
    if(strcmp(argv[1], "import") == 0) return cli_import(argc - 1, argv + 1);
    if(strcmp(argv[1], "export") == 0) return cli_export(argc - 1, argv + 1);
    if(strcmp(argv[1], "reindex") == 0) return cli_reindex(argc - 1, argv + 1);
    if(strcmp(argv[1], "fhirpath") == 0) return cli_fhirpath(argc - 1, argv + 1);
    fprintf(stderr, "kith: unknown command '%s'\n\n%s", argv[1], USAGE);
    return CLI_EXIT_USAGE;
}
