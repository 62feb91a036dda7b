#!/usr/bin/env bash
# Power cuts. Two writers run on ext4 on a loop device whose disk is served
# by pcdisk (FUSE), which sees every write and cache flush the file system
# sends and so knows what a flush made stable. At a random moment the disk
# is cut: pcdisk writes, at one instant, what a power cut could leave:
#   flushed  only what the last flush made stable (a disk cache that loses
#            everything since);
#   subset   that plus a random subset of the writes since (a cache that
#            wrote some back, in any order);
#   all      every write the disk received (no volatile cache; what a plain
#            copy of a loop device's file gives).
# The copy gets e2fsck and is mounted where the disk was (the homes hold
# absolute paths); then each replica must open, `schoolsync verify` must
# pass, every write its writer recorded as durable must be there, no write
# may be there in part, and a sync with the hub on the same disk must work.
#
# The writers record "durable K" outside the disk, only after the fsync
# returned:
#   w1  pc_writer: one long-running process (as a daemon would be), runs of
#       signed single-row writes and 300-row writes, then
#       ssync_store_make_durable;
#   w2  the schoolsync CLI: `sql` writes, then `sync` (seal + push to the hub
#       on the same disk), which makes the replica durable before it publishes.
# Modes: WAL shim on; shim off (SSYNC_WALBUF=off); and the negative control,
# in which w1 records writes as durable without making them so: some of its
# cuts must lose them, or the cuts do not model a power cut.
#
# SSYNC_POWERCUT_CUTS=N cuts per shim mode (default 1), SSYNC_POWERCUT_LIE_CUTS
# for the control (default 2: a lying writer loses its writes in nearly every
# cut; on the loaded 2-core machine a cut took 80-100 s);
# `cmake --build build --target soak_power_cut` runs 50 per mode and 3. Needs root, loop devices, /dev/fuse, e2fsprogs and the
# pcdisk helper (libfuse3); exits 77 (skipped) without them.
. "$(dirname "$0")/lib.sh"
setup_tmp

CUTS=${SSYNC_POWERCUT_CUTS:-1}
LIE_CUTS=${SSYNC_POWERCUT_LIE_CUTS:-2}
IMG_MB=${SSYNC_POWERCUT_IMG_MB:-256}

# --- status tells an operator whether the shim is on (no root needed) ------
mk_node st s1
ss st --json status
assert_eq "status --json: the WAL shim is on with this SQLite" True "$(jget "$OUT" 'j["walbuf"]["on"]')"
ss st status
assert_not_contains "status: no notice while the shim is on" "notice: replica writes" "$OUT"
export SSYNC_WALBUF=off
ss st status
unset SSYNC_WALBUF
assert_contains "status: a notice when the shim is off, and why" "notice: replica writes use SQLite's own VFS, WAL shim off: turned off by SSYNC_WALBUF=off" "$OUT"

skip() {
	echo "skip: $*"
	if [ "$FAIL" -gt 0 ]; then summary; exit 1; fi
	SUMMARY_DONE=1
	echo "$PASS passed, 0 failed, 1 skipped"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "power cuts need root (loop devices, mounts)"
[ -e /dev/loop-control ] || skip "no loop devices (/dev/loop-control)"
[ -e /dev/fuse ] || skip "no /dev/fuse"
for tool in losetup mkfs.ext4 e2fsck mount umount; do
	command -v "$tool" >/dev/null || skip "$tool is missing (tools/deps.sh test)"
done
[ -x "${SSYNC_PCDISK:-}" ] || skip "no pcdisk helper (build with libfuse3-dev: tools/deps.sh test)"
[ -x "${SSYNC_PCWRITER:-}" ] || skip "no pc_writer helper (SSYNC_PCWRITER)"
SNAPDIR=/dev/shm
[ -d "$SNAPDIR" ] && [ -w "$SNAPDIR" ] || SNAPDIR=$T

MNT=$T/mnt FUSE=$T/fuse SNAP=$SNAPDIR/ssync-powercut.$$.img
mkdir -p "$MNT" "$FUSE"
LOOP= PCPID= W1= W2=

pc_cleanup() {
	[ -z "$W1" ] || kill -9 "$W1" 2>/dev/null || true
	[ -z "$W2" ] || { touch "$T/stop"; kill "$W2" 2>/dev/null || true; }
	# the writers only: a bare wait would also wait for pcdisk, which runs
	# until it is killed below (a cut that failed early hung here)
	local p
	for p in $W1 $W2; do wait "$p" 2>/dev/null || true; done
	mountpoint -q "$MNT" && { umount "$MNT" 2>/dev/null || umount -l "$MNT"; }
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true
	mountpoint -q "$FUSE" && { umount "$FUSE" 2>/dev/null || umount -l "$FUSE"; }
	[ -z "$PCPID" ] || { kill "$PCPID" 2>/dev/null; wait "$PCPID" 2>/dev/null; } || true
	rm -f "$SNAP"
	W1= W2= LOOP= PCPID=
}
trap 'rc=$?; pc_cleanup; (exit $rc); _cleanup' EXIT

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds (1 if it never does)
wait_for() {
	local until=$(( $(date +%s) + $1 ))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$until" ] || return 1
		sleep 0.05
	done
}

# --- the disk every cut starts from: both homes made, the hub has w2's branch
truncate -s "${IMG_MB}M" "$T/template.img"
mkfs.ext4 -q -F -E nodiscard "$T/template.img" || skip "mkfs.ext4 failed"
mount -o loop "$T/template.img" "$MNT" || skip "cannot loop-mount an ext4 image here"
mk_node "$MNT/w1" pc1
git init -q --bare "$MNT/hub.git"
mk_node "$MNT/w2" pc2 hub "$MNT/hub.git"
ssx "$MNT/w2" sync --json >/dev/null
umount "$MNT"

# the CLI writer: `sql` writes c<k>, then `sync`; "durable K" after sync returned
cli_writer() {
	local k=0 i run
	while [ ! -e "$T/stop" ]; do
		run=$((1 + RANDOM % 6))
		for ((i = 0; i < run; i++)); do
			k=$((k + 1))
			"$SSYNC_BIN" --home "$MNT/w2" sql "INSERT INTO teacher(id, school_id, name) VALUES ('c$k', 'pc', 'c$k')" \
				>/dev/null 2>>"$T/w2.err" || { echo "write c$k failed" >>"$T/w2.err"; return 1; }
		done
		"$SSYNC_BIN" --home "$MNT/w2" sync --json >/dev/null 2>>"$T/w2.err" || { echo "sync failed" >>"$T/w2.err"; return 1; }
		echo "durable $k" >>"$T/w2.durable"
	done
}

durable() { local d; d=$(tail -n 1 "$1" 2>/dev/null | sed -n 's/^durable //p'); echo "${d:-0}"; }
has_lines() { [ -s "$1" ]; }
q() { # HOME SQL -> the single value of column n
	ss "$1" --json sql "$2"
	if [ "$RC" -ne 0 ]; then echo "error: $ERR"; else jget "$OUT" 'j[0]["n"]'; fi
}

CUT=0 TOTAL=0 LOST_DURABLE=0 LIE_LOSSES=0
SNAPMODES=(subset flushed all)

# cut MODE: one run from the template, cut at a random moment, checked
cut() {
	local mode=$1 seed=$((RANDOM * 32768 + RANDOM)) smode d1 d2 rc tag info w1 w2 line
	CUT=$((CUT + 1))
	smode=${SNAPMODES[$((CUT % 3))]}
	tag="cut $CUT (shim $mode, $smode)"
	rm -f "$T/w1.durable" "$T/w2.durable" "$T/stop" "$T/w1.err" "$T/w2.err"
	"$SSYNC_PCDISK" "$T/template.img" "$FUSE" 2>>"$T/pcdisk.log" &
	PCPID=$!
	# (it reads the whole image first: on a busy machine that can take a while)
	pc_up() { test -e "$FUSE/disk" || ! kill -0 "$PCPID" 2>/dev/null; }
	wait_for 180 pc_up && test -e "$FUSE/disk" || { fail "$tag: pcdisk did not start" "$(tail -3 "$T/pcdisk.log")"; pc_cleanup; return; }
	LOOP=$(losetup -f --show "$FUSE/disk") && mount "$LOOP" "$MNT" || { fail "$tag: cannot mount the disk"; pc_cleanup; return; }
	(
		[ "$mode" = off ] && export SSYNC_WALBUF=off
		if [ "$mode" = lie ]; then
			exec "$SSYNC_PCWRITER" "$MNT/w1" "$T/w1.durable" "$seed" --lie 2>"$T/w1.err"
		else
			exec "$SSYNC_PCWRITER" "$MNT/w1" "$T/w1.durable" "$seed" 2>"$T/w1.err"
		fi
	) &
	W1=$!
	( [ "$mode" = off ] && export SSYNC_WALBUF=off; cli_writer ) &
	W2=$!
	# both writers under way, then a random moment up to 2.5 s later
	if ! wait_for 60 has_lines "$T/w1.durable" || ! wait_for 60 has_lines "$T/w2.durable"; then
		fail "$tag: the writers did not get going" "w1: $(tail -2 "$T/w1.err" 2>/dev/null)" "w2: $(tail -2 "$T/w2.err" 2>/dev/null)"
		pc_cleanup
		return
	fi
	sleep "$((RANDOM % 2500 / 1000)).$(printf '%03d' $((RANDOM % 1000)))"
	# what was durable before the cut began: read first, then cut
	d1=$(durable "$T/w1.durable")
	d2=$(durable "$T/w2.durable")
	# every other cut waits for a burst: N writes since the last flush
	local snaps at=0
	snaps=$(grep -c "pcdisk: snap" "$T/pcdisk.log" 2>/dev/null || true)
	# (flushes come every few ms here, so bursts are short: 1..6 writes)
	if [ $((CUT % 2)) = 0 ] && [ "$mode" != lie ]; then
		at=$((1 + RANDOM % 6))
		echo "arm $smode $seed $SNAP $at" >"$FUSE/ctl" || at=0
		snap_taken() { [ "$(grep -c "pcdisk: snap" "$T/pcdisk.log")" -gt "$snaps" ]; }
		if [ "$at" != 0 ] && wait_for 5 snap_taken; then
			tag="$tag at $at unflushed writes"
		else
			echo "arm $smode $seed $SNAP 0" >"$FUSE/ctl" 2>/dev/null || true
			snap_taken && at=-1 || at=0 # fired just now after all
		fi
	fi
	if [ "$at" = 0 ] && ! echo "snap $smode $seed $SNAP" >"$FUSE/ctl"; then
		fail "$tag: pcdisk could not cut" "$(tail -2 "$T/pcdisk.log")"
		pc_cleanup
		return
	fi
	info=$(grep "pcdisk: snap" "$T/pcdisk.log" | tail -n 1 | sed 's/^pcdisk: //')
	{ kill -9 "$W1" && wait "$W1"; } 2>/dev/null || true
	touch "$T/stop"
	wait "$W2" 2>/dev/null || true
	W1= W2=
	line=$(grep -h "WAL shim" "$T/w1.err" | head -1)
	umount "$MNT" && losetup -d "$LOOP" && LOOP=
	umount "$FUSE"
	wait "$PCPID" 2>/dev/null || true
	PCPID=
	TOTAL=$((TOTAL + 1))

	rc=0
	e2fsck -fy "$SNAP" >"$T/fsck.out" 2>&1 || rc=$?
	if [ "$rc" -ge 4 ]; then
		fail "$tag: e2fsck could not repair the cut disk (exit $rc)" "$(tail -5 "$T/fsck.out")"
		rm -f "$SNAP"
		return
	fi
	if ! mount -o loop "$SNAP" "$MNT"; then
		fail "$tag: the cut disk does not mount after e2fsck"
		rm -f "$SNAP"
		return
	fi
	assert_ok "$tag: w1 replica opens and verify passes" "$MNT/w1" verify
	w1=$(q "$MNT/w1" "SELECT count(DISTINCT name) AS n FROM teacher WHERE school_id='pc' AND name LIKE 'w%' AND CAST(substr(name, 2) AS INTEGER) <= $d1")
	local top1 torn1
	top1=$(q "$MNT/w1" "SELECT coalesce(max(CAST(substr(name, 2) AS INTEGER)), 0) AS n FROM teacher WHERE school_id='pc' AND name LIKE 'w%'")
	torn1=$(q "$MNT/w1" "SELECT count(*) AS n FROM (SELECT name FROM teacher WHERE school_id='pc' GROUP BY name HAVING count(*) NOT IN (1, 300))")
	assert_eq "$tag: no write of w1 is there in part" 0 "$torn1"
	if [ "$mode" = lie ]; then
		[ "$w1" = "$d1" ] || LIE_LOSSES=$((LIE_LOSSES + 1))
		log "$tag [control]: w1 claimed $d1 durable without fsync, $w1 of them there (up to w$top1); $info"
	else
		[ "$w1" = "$d1" ] || LOST_DURABLE=$((LOST_DURABLE + d1 - ${w1//[^0-9]/0}))
		assert_eq "$tag: every write w1 made durable is there ($d1)" "$d1" "$w1"
	fi
	assert_ok "$tag: w2 replica opens and verify passes" "$MNT/w2" verify
	w2=$(q "$MNT/w2" "SELECT count(*) AS n FROM teacher WHERE school_id='pc' AND name LIKE 'c%' AND CAST(substr(name, 2) AS INTEGER) <= $d2")
	[ "$w2" = "$d2" ] || LOST_DURABLE=$((LOST_DURABLE + d2 - ${w2//[^0-9]/0}))
	assert_eq "$tag: every write w2 synced is there ($d2)" "$d2" "$w2"
	assert_ok "$tag: w2 syncs with the hub on the cut disk" "$MNT/w2" sync --json
	[ "$mode" = lie ] || log "$tag: w1 durable $d1 (acknowledged up to w$top1 survived), w2 durable $d2; e2fsck exit $rc; $info; w1 ${line#pc_writer: }"
	umount "$MNT"
	rm -f "$SNAP"
}

for mode in on off; do
	for ((i = 0; i < CUTS; i++)); do cut "$mode"; done
done
for ((i = 0; i < LIE_CUTS; i++)); do cut lie; done
if [ "$LIE_CUTS" -gt 0 ]; then
	if [ "$LIE_LOSSES" -gt 0 ]; then
		pass "control: $LIE_LOSSES of $LIE_CUTS cuts lost writes recorded as durable without an fsync"
	else
		fail "control: no cut lost writes that were never made durable: the cuts do not model a power cut"
	fi
fi
log "$TOTAL cuts ($CUTS per shim mode, $LIE_CUTS control); durable writes lost outside the control: $LOST_DURABLE"
summary
