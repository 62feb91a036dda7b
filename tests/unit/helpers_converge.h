#ifndef SSYNC_HELPERS_CONVERGE_H
#define SSYNC_HELPERS_CONVERGE_H

/* The convergence property test's world (helpers_converge.c). */

/* What managed schedules did: re-enrolments, forks, root rotations, and
 * replicas that met a fork or void entries (E_FORK / E_VOID rows). */
typedef struct events { long long reenrolled, forked, rotated, met, gen_entries, gen_listed; } events;

/* First checkpoints a node loaded, over every schedule run: judged without
 * a replay / replayed. */
extern long long converge_first_kept, converge_first_rebuilt;

/* One random schedule of @p n nodes from @p seed; fails the test (cmocka) if
 * the replicas end different. @p managed: a district with checkpoints from
 * step @p ck_start; totals are added to the out arguments. */
int converge_run_schedule(unsigned int seed, int n, int managed, int ck_start, long long *conflicts_out,
	long long *delivered_out, long long *held_out, events *ev);

#endif
