/* The daemon's scheduling decisions, without a clock or dice of their own
 * (schoolsync/sched.h): daemon/rounds.c asks, libuv's timers act. */
#include "schoolsync/backoff.h"
#include "schoolsync/sched.h"

/* A steady stream of writes postpones a round by at most this many debounce periods. */
#define DEBOUNCE_MAX_PERIODS 6

uint64_t ssync_sched_ms(double s)
{
	return s > 0 ? (uint64_t)(s * 1000.0 + 0.5) : 0;
}

void ssync_sched_started(ssync_sched_slot *s)
{
	s->want_now = 0;
	s->dirty = 0;
	s->running = 1;
}

void ssync_sched_succeeded(ssync_sched_slot *s, const ssync_sched_cfg *c, uint64_t now, uint32_t rnd)
{
	s->running = 0;
	s->failures = 0;
	s->backoff_s = 0;
	s->next_due = now + ssync_sched_ms(ssync_backoff_jitter(c->interval_s, c->jitter, rnd));
	if (s->dirty)
		s->want_now = 1; /* written to while this round ran */
}

void ssync_sched_failed(ssync_sched_slot *s, const ssync_sched_cfg *c, uint64_t now, uint32_t rnd)
{
	s->running = 0;
	s->failures++;
	s->backoff_s = ssync_backoff_delay(s->failures, c->backoff_base_s, c->backoff_max_s, rnd);
	s->next_due = now + ssync_sched_ms(s->backoff_s);
}

void ssync_sched_listed(ssync_sched_slot *list, const ssync_sched_cfg *c, uint64_t now)
{
	list->running = 0;
	list->failures = 0;
	list->backoff_s = 0;
	list->want_now = 0;
	list->next_due = now + ssync_sched_ms(c->interval_s);
}

int ssync_sched_settled(ssync_sched_slot *s)
{
	s->dirty = 1;
	if (s->running || s->failures)
		return 0;
	s->want_now = 1;
	return 1;
}

uint64_t ssync_sched_debounce_at(uint64_t *burst_start, uint64_t now, double debounce_s)
{
	uint64_t debounce = ssync_sched_ms(debounce_s), fire = now + debounce;
	uint64_t latest;

	if (!*burst_start)
		*burst_start = now;
	latest = *burst_start + DEBOUNCE_MAX_PERIODS * debounce;
	return fire > latest ? latest : fire;
}

void ssync_sched_reloaded(ssync_sched_slot *s, const ssync_sched_cfg *c, uint64_t now, uint32_t rnd)
{
	uint64_t cap = now + ssync_sched_ms(s->failures ? c->backoff_max_s : c->interval_s * (1 + c->jitter));

	if (s->next_due <= cap)
		return;
	if (s->failures)
		s->next_due = now + ssync_sched_ms(ssync_backoff_delay(s->failures, c->backoff_base_s,
			c->backoff_max_s, rnd));
	else
		s->next_due = now + ssync_sched_ms(ssync_backoff_jitter(c->interval_s, c->jitter, rnd));
}

double ssync_sched_due_in_s(const ssync_sched_slot *s, uint64_t now)
{
	return s->want_now || s->next_due <= now ? 0 : (double)(s->next_due - now) / 1000.0;
}

long ssync_sched_next(const ssync_sched_slot *list, int need_list, const void *set, size_t n,
	ssync_sched_slot_at at, uint64_t now, uint64_t *wake_at)
{
	const ssync_sched_slot *best = NULL;
	long best_i = SSYNC_SCHED_IDLE;
	uint64_t next = UINT64_MAX;
	size_t i;

	if (need_list && list && !list->running) {
		if (list->want_now || list->next_due <= now) {
			*wake_at = now;
			return SSYNC_SCHED_LIST;
		}
		next = list->next_due;
	}
	for (i = 0; i < n; i++) {
		const ssync_sched_slot *s = at(set, i);
		if (s->running)
			continue;
		if (s->want_now) {
			if (!best || !best->want_now || s->next_due < best->next_due) {
				best = s;
				best_i = (long)i;
			}
		} else if (s->next_due <= now) {
			if (!best || (!best->want_now && s->next_due < best->next_due)) {
				best = s;
				best_i = (long)i;
			}
		} else if (s->next_due < next) {
			next = s->next_due;
		}
	}
	*wake_at = best ? now : next;
	return best_i;
}

uint64_t ssync_sched_stop_in(uint64_t started, double deadline_s, uint64_t now, double after_s)
{
	uint64_t deadline_at = started + ssync_sched_ms(deadline_s);
	uint64_t left = deadline_at > now ? deadline_at - now : 0;
	uint64_t after = ssync_sched_ms(after_s);

	return after < left ? after : left;
}
