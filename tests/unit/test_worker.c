/* The worker thread helper: every piece of work handed over is done once,
 * in order, its result published under the lock; stop joins the thread and
 * wins over work not yet claimed; a worker never started stops cleanly. */
#include <string.h>

#include "helpers_core.h"
#include "worker_int.h"

typedef struct job {
	ssync_worker w;
	int queued, claimed, done, cur, result;
	int log[64];
} job;

static int job_claim(void *p)
{
	job *j = p;

	if (j->claimed == j->queued)
		return 0;
	j->cur = j->claimed++;
	return 1;
}

static void job_work(void *p)
{
	job *j = p;

	j->result = j->cur * j->cur; /* outside the lock */
}

static void job_done(void *p)
{
	job *j = p;

	j->log[j->done++] = j->result;
}

static void test_worker__does_each_piece_once_in_order(void **state)
{
	job j;
	int i;

	(void)state;
	memset(&j, 0, sizeof(j));
	assert_int_equal(ssync_worker__init(&j.w, job_claim, job_work, job_done, &j), 0);
	assert_int_equal(ssync_worker__start(&j.w), 0);
	assert_int_equal(ssync_worker__start(&j.w), 0); /* once */
	for (i = 0; i < 40; i++) {
		ssync_worker__lock(&j.w);
		j.queued++;
		ssync_worker__wake(&j.w);
		if (i % 3 == 0) /* sometimes wait for it, sometimes queue ahead */
			while (j.done < j.queued)
				ssync_worker__wait(&j.w);
		ssync_worker__unlock(&j.w);
	}
	ssync_worker__lock(&j.w);
	while (j.done < j.queued)
		ssync_worker__wait(&j.w);
	ssync_worker__unlock(&j.w);
	ssync_worker__destroy(&j.w);
	assert_int_equal(j.done, 40);
	for (i = 0; i < 40; i++)
		assert_int_equal(j.log[i], i * i);
}

static void test_worker__stop_wins_over_unclaimed_work(void **state)
{
	job j;

	(void)state;
	memset(&j, 0, sizeof(j));
	assert_int_equal(ssync_worker__init(&j.w, job_claim, job_work, job_done, &j), 0);
	assert_int_equal(ssync_worker__start(&j.w), 0);
	ssync_worker__lock(&j.w);
	j.w.quit = 1; /* as destroy does, before any work was queued */
	j.queued = 5;
	ssync_worker__wake(&j.w);
	ssync_worker__unlock(&j.w);
	ssync_worker__destroy(&j.w); /* joins */
	assert_int_equal(j.done, 0);
	assert_int_equal(j.w.started, 0);
}

static void test_worker__never_started(void **state)
{
	job j;
	ssync_worker zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	ssync_worker__destroy(&zero); /* a zeroed worker: nothing to do */
	memset(&j, 0, sizeof(j));
	assert_int_equal(ssync_worker__init(&j.w, job_claim, job_work, job_done, &j), 0);
	ssync_worker__destroy(&j.w);
	ssync_worker__destroy(&j.w); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker__does_each_piece_once_in_order),
		cmocka_unit_test(test_worker__stop_wins_over_unclaimed_work),
		cmocka_unit_test(test_worker__never_started),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
