#!/bin/sh
# Guest side of `run-vm.sh --demo`: load ttak.ko and drive one generation
# of the default arena through debugfs, showing what an admin sees.
set -eu

d=/sys/kernel/debug/ttak
rc=0

show() {
	echo "## $1"
	for f in stats pressure flush_status generations envs_summary; do
		echo "--- $d/$f"
		cat "$d/$f" || rc=1
	done
}
ctl() {
	echo "\$ echo $1 > $d/control"
	# Keep going after a refused command: the later files show why.
	echo "$1" >"$d/control" || { echo "control refused '$1'"; rc=1; }
	show "after $1"
}

echo "\$ insmod /ttak/ttak.ko"
insmod /ttak/ttak.ko
show "after insmod"
# every published env (the module's own is "default") has a directory
echo "\$ ls $d $d/envs $d/envs/default"
ls "$d" "$d/envs" "$d/envs/default" || rc=1
ctl begin
ctl carve
ctl retire
ctl rotate
# the rotation took the block out of the tree; ttak.ko's work item frees
# it once an RCU grace period has passed
waited=0
while [ "$(cat "$d/flush_status")" != flushed ] && [ $waited -lt 20 ]; do
	sleep 1
	waited=$((waited + 1))
done
show "after a grace period"
echo "\$ rmmod ttak"
rmmod ttak || rc=1
exit $rc
