/*
 * subscription.h — FHIR R4 Subscriptions: rest-hook notifications (and a
 * websocket channel for the web interface) when a written resource meets a
 * Subscription's criteria. Notifications carry no personal data: the
 * subscriber reads what changed with its own token.
 */
#ifndef KITH_CARE_SUBSCRIPTION_H
#define KITH_CARE_SUBSCRIPTION_H
#include "base/buf.h"
#include "base/rc.h"
#include "fhir/outcome.h"
#include "json/json.h"
#include "store/store.h"

typedef struct care_subs care_subs;

/* Load the active Subscriptions from st and start delivering. NULL on failure. */
care_subs *care_subs_start(store *st);
/* Stop delivering (waits for the delivery thread) and free. NULL is fine. */
void care_subs_stop(care_subs *s);
/* Check a Subscription about to be written (res, changed in place: a valid
 * "requested" Subscription becomes "active"). KITH_EINVALID with issues. */
kith_rc care_subs_prepare(json_value *res, fhir_issues *issues);
/* A resource type/id was written (created, updated, patched or deleted):
 * queue notifications for the Subscriptions it may meet. Cheap; never blocks
 * on delivery. s NULL does nothing. */
void care_subs_written(care_subs *s, const char *type, const char *id);
/* The same for a write made through another process sharing the database
 * (store_watch): a Subscription is loaded here too; for any other write only
 * websocket Subscriptions are checked, as the process that made the write
 * sends the rest-hook notifications itself. */
void care_subs_written_elsewhere(care_subs *s, const char *type, const char *id);
/* Append Prometheus counters (notifications sent and failed, writes dropped
 * because the queue was full) to out, for /metrics. s NULL appends nothing. */
void care_subs_metrics(care_subs *s, buf *out);

#endif
