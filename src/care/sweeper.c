/*
 * sweeper.c — the server's escalation sweep: every few minutes, overdue
 * referrals are escalated (care_escalate) on a thread of its own.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "base/mem.h"
#include "care/care.h"

struct care_sweeper {
    store *st;
    int interval;
    bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
};

static void *sweep(void *arg) {
    care_sweeper *s = arg;
    pthread_mutex_lock(&s->mu);
    while(!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->interval;
        while(!s->stopping && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0) {
        }
        if(s->stopping) break;
        pthread_mutex_unlock(&s->mu);
        store_conn *c = store_conn_for_thread(s->st);
        long n = 0;
        kith_rc rc = c ? care_escalate(c, care_now(), &n) : KITH_ESTORE;
        if(rc)
            log_event(LOG_WARN, "escalation sweep failed", "\"error\":\"%s\"", kith_rc_name(rc));
        else if(n)
            log_event(LOG_INFO, "overdue referrals escalated", "\"tasks\":%ld", n);
        store_conn_return(s->st); /* back to the pool until the next sweep */
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    store_thread_release(s->st);
    return NULL;
}

care_sweeper *care_sweeper_start(store *st, int interval_seconds) {
    if(interval_seconds <= 0) return NULL;
    care_sweeper *s = xcalloc(1, sizeof *s);
    s->st = st;
    s->interval = interval_seconds;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if(pthread_create(&s->thread, NULL, sweep, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void care_sweeper_stop(care_sweeper *s) {
    if(!s) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
