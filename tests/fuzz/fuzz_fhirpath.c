/*
 * fuzz_fhirpath.c — libFuzzer target for the FHIRPath engine. The input is
 * an expression (its first byte picks evaluation options); every input is
 * parsed and, when it parses, evaluated against a small fixed Patient with
 * contained resources, primitive extensions and references, so the lexer,
 * parser, evaluator and function library all see hostile input. Any crash,
 * leak, sanitizer report or hang is a bug; syntax and evaluation errors are
 * fine.
 */
#include <stdlib.h>
#include <string.h>

#include "fhir/fhirpath.h"
#include "json/json.h"

static const char RESOURCE[] =
    "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,"
    "\"name\":[{\"use\":\"official\",\"family\":\"Chalmers\",\"given\":[\"Peter\",\"James\"]},"
    "{\"use\":\"usual\",\"given\":[\"Jim\"],\"_given\":[{\"id\":\"g1\"}]}],"
    "\"birthDate\":\"1974-12-25\",\"_birthDate\":{\"extension\":[{\"url\":\"http://x/t\","
    "\"valueDateTime\":\"1974-12-25T14:35:45-05:00\"}]},"
    "\"telecom\":[{\"system\":\"phone\",\"value\":\"123\",\"rank\":1}],"
    "\"managingOrganization\":{\"reference\":\"Organization/o1\"},"
    "\"contained\":[{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{},"
    "\"valueQuantity\":{\"value\":1.50,\"code\":\"mg\"}}],"
    "\"generalPractitioner\":[{\"reference\":\"#o\"}]}";

static json_value *resource;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if(size < 1 || size > 4096) return 0;
    if(!resource && json_parse(RESOURCE, sizeof RESOURCE - 1, &resource, NULL, 0)) abort();
    char *src = malloc(size);
    memcpy(src, data + 1, size - 1);
    src[size - 1] = '\0';
    fhirpath_env env = {0};
    env.strict = data[0] & 1;
    env.resolve_stubs = data[0] & 2;
    env.as_filters = data[0] & 4;
    fhirpath_expr *e = NULL;
    size_t pos;
    char err[256];
    if(fhirpath_parse(src, &e, &pos, err, sizeof err) == KITH_OK) {
        fhirpath_result *r = NULL;
        if(fhirpath_eval(e, resource, &env, &r, err, sizeof err) == KITH_OK) {
            buf b = BUF_INIT;
            fhirpath_result_write(&b, r);
            buf_free(&b);
        }
        fhirpath_result_free(r);
        fhirpath_free(e);
    }
    free(src);
    return 0;
}
