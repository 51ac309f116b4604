# Verdict of one ttak VM run, from its console log (see run-vm.sh).
#
#   awk -v target=6.12 -v mode=test|demo -v qemu_rc=N -f verdict.awk LOG
#
# Prints the reasons for a failure, then `vm[<target>]: N passed, N failed,
# N skipped: PASS|FAIL`; exits 0 on PASS, 1 on FAIL.
#
# TAP nesting: each leading "# " (kselftest's runner) or four spaces (KTAP
# subtests) is one level. Only leaves are counted, so a suite wrapping
# three tests counts as three; a `not ok` parent whose children all passed
# (a crash or timeout between them) counts as one failure more.
# Written for mawk: no gensub(), no \< \>, no IGNORECASE.

function fail(why) {
	if (!(why in seen_reason)) {
		seen_reason[why] = 1
		reasons[++nreasons] = why
	}
}

function close_plan(d) {
	if (plan[d] != "" && nres[d] != plan[d])
		fail("TAP plan 1.." plan[d] " but " nres[d] " results" \
		     (d ? " (nesting level " d ")" : ""))
	plan[d] = ""
	nres[d] = 0
}

function tap_result(d, s,    notok, directive, k) {
	notok = (s ~ /^not ok/)
	directive = (s ~ /#[ \t]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])/)
	for (k = d + 1; k <= maxd; k++)
		close_plan(k)
	if (kids[d] == 0) {
		if (directive)
			skipped++
		else if (notok)
			failed++
		else
			passed++
	} else if (notok && !directive && kidfail[d] == 0) {
		failed++
	}
	if (notok && !directive)
		fail("TAP: " s)
	for (k = d; k <= maxd; k++)
		kids[k] = kidfail[k] = 0
	if (d > 0) {
		kids[d - 1]++
		if (notok && !directive)
			kidfail[d - 1]++
	}
	nres[d]++
	results++
}

BEGIN {
	state = "boot"
	maxd = 0
	# Kernel reports that fail a run wherever they appear after the start
	# marker. Not "Call Trace:": failslab prints one for every injected
	# failure, on purpose.
	bad = "BUG:|WARNING:|Oops|Kernel panic|KASAN|UBSAN|ODEBUG:|" \
	      "unreferenced object|suspected memory leak|" \
	      "possible circular locking|inconsistent lock state|" \
	      "lock held when returning|possible recursive locking|" \
	      "sleeping function called from invalid context|" \
	      "scheduling while atomic|blocked for more than|detected stall|" \
	      "general protection fault|list_(add|del) corruption"
}

{ sub(/\r$/, "") }

state == "boot" {
	if ($0 ~ /^TTAK-VM-START/)
		state = "run"
	next
}

/^TTAK-VM-RESULT: rc=/ {
	ended = 1
	rc = substr($0, length("TTAK-VM-RESULT: rc=") + 1) + 0
	next
}

/^TTAK-VM-DMESG-(BEGIN|END)/ { next }

/^TTAK-VM-CPUS: FAIL: / {
	fail(substr($0, length("TTAK-VM-CPUS: FAIL: ") + 1))
	next
}

{
	# Peel the nesting prefixes off a possible TAP line.
	s = $0
	d = 0
	while (1) {
		if (substr(s, 1, 2) == "# ")
			s = substr(s, 3)
		else if (substr(s, 1, 4) == "    ")
			s = substr(s, 5)
		else
			break
		d++
	}
	if (d > maxd)
		maxd = d
	if (s ~ /^(not )?ok [0-9]+([ \t]|$)/) {
		tap_result(d, s)
		next
	}
	if (s ~ /^1\.\.[0-9]+/) {
		close_plan(d)
		plan[d] = substr(s, 4) + 0
		next
	}
	if (s ~ /^Bail out!/) {
		fail("TAP: " s)
		next
	}
	# Test chatter ("# ...") may quote anything; the kernel's own lines
	# reach us live or in the dump at the end.
	if ($0 ~ /^#/)
		next
	# The live console and the dump at the end repeat each other.
	if ($0 ~ bad && !($0 in seen_bad)) {
		seen_bad[$0] = 1
		if (++nbad <= 10)
			badlines[nbad] = $0
	}
}

END {
	for (k = 0; k <= maxd; k++)
		close_plan(k)
	if (state == "boot")
		fail("guest never reached /init (boot failure; qemu exit " qemu_rc ")")
	else if (!ended)
		fail("no end marker: guest crashed, hung or timed out (qemu exit " qemu_rc ")")
	else if (rc != 0)
		fail("guest script exit status " rc)
	if (mode == "test" && ended && results == 0)
		fail("no TAP results")
	if (nbad) {
		fail("kernel reported problems (" nbad " distinct lines), first ones:")
		for (i = 1; i <= nbad && i <= 10; i++)
			reasons[++nreasons] = "    " badlines[i]
	}
	for (i = 1; i <= nreasons; i++)
		print "vm[" target "]: " reasons[i]
	verdict = nreasons ? "FAIL" : "PASS"
	if (mode == "demo")
		printf "vm[%s]: demo: %s\n", target, verdict
	else
		printf "vm[%s]: %d passed, %d failed, %d skipped: %s\n",
		       target, passed, failed, skipped, verdict
	exit nreasons ? 1 : 0
}
