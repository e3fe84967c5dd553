/*
 * admin.h — user accounts from the web interface's administration pages:
 *   GET  /auth/users                 the users (never a password hash)
 *   POST /auth/users                 add one: JSON {username, role, organization,
 *                                    practitioner (optional), password (8 or more)}
 *   POST /auth/users/{name}/disable  stop them signing in; their open Tasks go
 *                                    to their team (as `kith user disable`)
 *   POST /auth/users/{name}/enable   let them sign in again
 * Only a signed-in user with the role administrator; a change made with the
 * session cookie needs X-CSRF-Token. Every change is audited.
 */
#ifndef KITH_WEB_ADMIN_H
#define KITH_WEB_ADMIN_H
#include "fhir/rest.h"
#include "store/store.h"

void web_admin_users(fhir_rest *api, store_conn *c, const http_request *req, http_response *res);

#endif
