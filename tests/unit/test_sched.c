/* The daemon's scheduler (core/sched.c) on an injected clock: times are
 * plain numbers, dice are pinned, nothing sleeps. */
#include <stdint.h>
#include <string.h>

#include "helpers_core.h"
#include "schoolsync/sched.h"

#define RMAX 0xffffffffu
#define RMID 0x80000000u

/* interval 60 s, debounce 2 s, backoff 1 s .. 16 s, interval jitter +-10 % */
static const ssync_sched_cfg CFG = { 60, 2, 1, 16, 0.1 };

typedef struct world { ssync_sched_slot list, r[4]; size_t n; } world;

static const ssync_sched_slot *at(const void *set, size_t i)
{
	return &((const world *)set)->r[i];
}

static long next(world *w, int need_list, uint64_t now, uint64_t *wake)
{
	return ssync_sched_next(&w->list, need_list, w, w->n, at, now, wake);
}

static void test_sched__ms_rounds_and_clamps(void **state)
{
	(void)state;
	assert_int_equal(ssync_sched_ms(1.2344), 1234);
	assert_int_equal(ssync_sched_ms(1.2346), 1235);
	assert_int_equal(ssync_sched_ms(0), 0);
	assert_int_equal(ssync_sched_ms(-3), 0);
	assert_int_equal(ssync_sched_ms(0.0 / 0.0), 0);
}

static void test_sched__backoff_grows_capped_then_success_resets(void **state)
{
	ssync_sched_slot s;
	uint64_t now = 1000000, prev_delay = 0;
	unsigned int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	/* failing with the highest dice: 1, 2, 4, 8, 16, 16 ... s */
	for (i = 1; i <= 7; i++) {
		uint64_t want = (i < 5 ? 1000u << (i - 1) : 16000u);
		ssync_sched_started(&s);
		assert_true(s.running);
		ssync_sched_failed(&s, &CFG, now, RMAX);
		assert_false(s.running);
		assert_int_equal(s.failures, i);
		/* equal jitter: in [d/2, d]; with RMAX just under d */
		assert_true(s.next_due - now <= want && s.next_due - now >= want - 1);
		assert_true(s.next_due - now >= prev_delay);
		prev_delay = s.next_due - now;
		now = s.next_due;
	}
	/* the lowest dice give half the delay */
	ssync_sched_failed(&s, &CFG, now, 0);
	assert_int_equal(s.next_due - now, 8000);
	/* a success: no failures, no backoff, next round one interval on */
	ssync_sched_started(&s);
	ssync_sched_succeeded(&s, &CFG, now, 0);
	assert_int_equal(s.failures, 0);
	assert_true(s.backoff_s == 0);
	assert_int_equal(s.next_due - now, 54000); /* 60 s - 10 % */
	ssync_sched_succeeded(&s, &CFG, now, RMAX);
	assert_true(s.next_due - now <= 66000 && s.next_due - now > 65990);
	ssync_sched_succeeded(&s, &CFG, now, RMID);
	assert_int_equal(s.next_due - now, 60000);
}

static void test_sched__writes_during_a_round_run_again(void **state)
{
	ssync_sched_slot s;

	(void)state;
	memset(&s, 0, sizeof(s));
	ssync_sched_started(&s);
	/* writes settle while it runs: not "now" (it runs), but dirty */
	assert_int_equal(ssync_sched_settled(&s), 0);
	assert_true(s.dirty);
	assert_false(s.want_now);
	ssync_sched_succeeded(&s, &CFG, 5000, RMID);
	assert_true(s.want_now); /* so the writes are sealed and pushed at once */
	/* the next round takes the wish and the writes */
	ssync_sched_started(&s);
	assert_false(s.want_now);
	assert_false(s.dirty);
	ssync_sched_succeeded(&s, &CFG, 6000, RMID);
	assert_false(s.want_now);
}

static void test_sched__writes_wait_for_a_failing_remote(void **state)
{
	ssync_sched_slot s;

	(void)state;
	memset(&s, 0, sizeof(s));
	ssync_sched_started(&s);
	ssync_sched_failed(&s, &CFG, 0, 0);
	/* a backing-off remote is not hurried by local writes */
	assert_int_equal(ssync_sched_settled(&s), 0);
	assert_false(s.want_now);
	assert_true(s.dirty);
	/* a failure keeps a wish made while it ran (sync-now must get a round
	 * that started after the request) */
	ssync_sched_started(&s);
	s.want_now = 1;
	ssync_sched_failed(&s, &CFG, 100, 0);
	assert_true(s.want_now);
}

static void test_sched__next_prefers_wanted_then_most_overdue(void **state)
{
	world w;
	uint64_t wake;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.n = 3;
	w.list.next_due = 500000; /* listed; next refresh later */
	w.r[0].next_due = 1000;
	w.r[1].next_due = 900;
	w.r[2].next_due = 5000;
	/* at 2000: r0 and r1 overdue, r1 more so */
	assert_int_equal(next(&w, 1, 2000, &wake), 1);
	assert_int_equal(wake, 2000);
	/* a wanted remote goes first, even one due far in the future */
	w.r[2].want_now = 1;
	assert_int_equal(next(&w, 1, 2000, &wake), 2);
	/* two wanted: the earlier due one */
	w.r[0].want_now = 1;
	assert_int_equal(next(&w, 1, 2000, &wake), 0);
	/* a running slot is never picked */
	w.r[0].running = 1;
	assert_int_equal(next(&w, 1, 2000, &wake), 2);
	/* nothing due: idle, wake at the earliest future due time */
	memset(&w.r, 0, sizeof(w.r));
	w.r[0].next_due = 7000;
	w.r[1].next_due = 3000;
	w.r[2].next_due = 9000;
	assert_int_equal(next(&w, 1, 2000, &wake), SSYNC_SCHED_IDLE);
	assert_int_equal(wake, 3000);
	/* the list refresh can be the earliest */
	w.list.next_due = 2500;
	assert_int_equal(next(&w, 1, 2000, &wake), SSYNC_SCHED_IDLE);
	assert_int_equal(wake, 2500);
	/* ... unless it is not asked for */
	assert_int_equal(next(&w, 0, 2000, &wake), SSYNC_SCHED_IDLE);
	assert_int_equal(wake, 3000);
	/* no remotes, no list: nothing scheduled at all */
	w.n = 0;
	assert_int_equal(next(&w, 0, 2000, &wake), SSYNC_SCHED_IDLE);
	assert_true(wake == UINT64_MAX);
}

static void test_sched__list_refresh_first_and_backs_off(void **state)
{
	world w;
	uint64_t wake;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.n = 1;
	w.list.want_now = 1; /* remotes not known yet */
	w.r[0].want_now = 1;
	/* the list goes before a wanted remote */
	assert_int_equal(next(&w, 1, 0, &wake), SSYNC_SCHED_LIST);
	ssync_sched_started(&w.list);
	/* while it runs, the remote could go (the caller runs one at a time) */
	assert_int_equal(next(&w, 1, 0, &wake), 0);
	ssync_sched_failed(&w.list, &CFG, 100, 0);
	assert_int_equal(w.list.next_due, 600);
	/* backing off: the remote runs meanwhile, then wake for the list */
	assert_int_equal(next(&w, 1, 200, &wake), 0);
	w.r[0].want_now = 0;
	w.r[0].next_due = 100000;
	assert_int_equal(next(&w, 1, 200, &wake), SSYNC_SCHED_IDLE);
	assert_int_equal(wake, 600);
	assert_int_equal(next(&w, 1, 600, &wake), SSYNC_SCHED_LIST);
	/* listed: the next refresh exactly one interval later, no jitter */
	ssync_sched_listed(&w.list, &CFG, 600);
	assert_int_equal(w.list.failures, 0);
	assert_int_equal(w.list.next_due, 60600);
	/* sync-now wants a refresh first, backoff or not */
	ssync_sched_failed(&w.list, &CFG, 700, RMAX);
	w.list.want_now = 1;
	assert_int_equal(next(&w, 1, 701, &wake), SSYNC_SCHED_LIST);
}

static void test_sched__debounce_trails_but_is_bounded(void **state)
{
	uint64_t burst = 0, fire = 0, t;

	(void)state;
	/* one write at 10 s: fire 2 s later */
	assert_int_equal(ssync_sched_debounce_at(&burst, 10000, 2), 12000);
	assert_int_equal(burst, 10000);
	/* a write every second keeps pushing it, up to 6 periods (12 s) after
	 * the first write of the burst */
	for (t = 11000; t <= 40000; t += 1000) {
		fire = ssync_sched_debounce_at(&burst, t, 2);
		assert_true(fire <= 22000);
		assert_true(fire >= t || fire == 22000);
	}
	assert_int_equal(fire, 22000);
	/* after it fired (the caller resets the burst) a new burst starts */
	burst = 0;
	assert_int_equal(ssync_sched_debounce_at(&burst, 50000, 2), 52000);
	/* debounce 0: at once */
	burst = 0;
	assert_int_equal(ssync_sched_debounce_at(&burst, 50000, 0), 50000);
}

static void test_sched__reload_takes_effect_now(void **state)
{
	ssync_sched_cfg shorter = { 10, 2, 1, 4, 0.1 };
	ssync_sched_slot s;

	(void)state;
	memset(&s, 0, sizeof(s));
	/* due in 60 s under the old interval; the new one is 10 s */
	s.next_due = 100000 + 60000;
	ssync_sched_reloaded(&s, &shorter, 100000, RMID);
	assert_int_equal(s.next_due, 110000);
	/* already due sooner than the new interval: left alone */
	s.next_due = 105000;
	ssync_sched_reloaded(&s, &shorter, 100000, RMID);
	assert_int_equal(s.next_due, 105000);
	/* backing off for 16 s; the new cap is 4 s: redrawn under it */
	s.failures = 5;
	s.next_due = 100000 + 16000;
	ssync_sched_reloaded(&s, &shorter, 100000, RMAX);
	assert_true(s.next_due - 100000 <= 4000 && s.next_due - 100000 >= 2000);
}

static void test_sched__due_in_for_status(void **state)
{
	ssync_sched_slot s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.next_due = 5000;
	assert_true(ssync_sched_due_in_s(&s, 3500) == 1.5);
	assert_true(ssync_sched_due_in_s(&s, 5000) == 0);
	assert_true(ssync_sched_due_in_s(&s, 9000) == 0);
	s.want_now = 1;
	assert_true(ssync_sched_due_in_s(&s, 3500) == 0);
}

static void test_sched__stop_never_extends_the_deadline(void **state)
{
	(void)state;
	/* started at 1 s, deadline 300 s; at 11 s asked to stop within 5 s */
	assert_int_equal(ssync_sched_stop_in(1000, 300, 11000, 5), 5000);
	/* asked to stop within 600 s: the deadline (290 s left) still wins */
	assert_int_equal(ssync_sched_stop_in(1000, 300, 11000, 600), 290000);
	/* past the deadline already: now */
	assert_int_equal(ssync_sched_stop_in(1000, 2, 9000, 5), 0);
	/* stop at once */
	assert_int_equal(ssync_sched_stop_in(1000, 300, 11000, 0), 0);
}

/* A remote that is down for a while, driven through the scheduler on a
 * simulated clock, the way daemon/rounds.c drives it. */
static void test_sched__outage_then_recovery_on_a_simulated_clock(void **state)
{
	world w;
	uint64_t now = 0, wake;
	int attempts = 0, down_until = 40000;
	uint64_t last = 0, gaps[16];
	int ngaps = 0;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.n = 1;
	w.list.next_due = UINT64_MAX / 2;
	while (now < 200000) {
		long pick = next(&w, 1, now, &wake);
		if (pick == 0) {
			ssync_sched_started(&w.r[0]);
			if (attempts && ngaps < 16)
				gaps[ngaps++] = now - last;
			last = now;
			attempts++;
			now += 100; /* a round takes 0.1 s */
			if (now < (uint64_t)down_until)
				ssync_sched_failed(&w.r[0], &CFG, now, RMID);
			else
				ssync_sched_succeeded(&w.r[0], &CFG, now, RMID);
			continue;
		}
		assert_true(wake > now);
		now = wake;
	}
	/* retries at 0.75, 1.5, 3, 6, 12, 12 ... s (dice in the middle: 3/4 d) */
	assert_int_equal(gaps[0], 100 + 750);
	assert_int_equal(gaps[1], 100 + 1500);
	assert_int_equal(gaps[2], 100 + 3000);
	assert_int_equal(gaps[3], 100 + 6000);
	assert_int_equal(gaps[4], 100 + 12000);
	assert_int_equal(gaps[5], 100 + 12000);
	/* back up at 40 s: then one round per interval (60 s) */
	assert_int_equal(w.r[0].failures, 0);
	assert_int_equal(gaps[ngaps - 1], 100 + 60000);
	assert_true(attempts < 14);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched__ms_rounds_and_clamps),
		cmocka_unit_test(test_sched__backoff_grows_capped_then_success_resets),
		cmocka_unit_test(test_sched__writes_during_a_round_run_again),
		cmocka_unit_test(test_sched__writes_wait_for_a_failing_remote),
		cmocka_unit_test(test_sched__next_prefers_wanted_then_most_overdue),
		cmocka_unit_test(test_sched__list_refresh_first_and_backs_off),
		cmocka_unit_test(test_sched__debounce_trails_but_is_bounded),
		cmocka_unit_test(test_sched__reload_takes_effect_now),
		cmocka_unit_test(test_sched__due_in_for_status),
		cmocka_unit_test(test_sched__stop_never_extends_the_deadline),
		cmocka_unit_test(test_sched__outage_then_recovery_on_a_simulated_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
