#!/usr/bin/env bash
# Run porin's test tiers and print one closing line "N passed, N failed".
#   tests/run.sh            every tier: unit, bpf, integ
#   tests/run.sh unit bpf   just those
# Unit and BPF tiers are cmocka binaries under $BUILD/tests/; the integration
# tier is tests/integ/test_*.sh (root: network namespaces and a real agent).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(unit bpf integ)

passed=0 failed=0 skipped=0
failures=()

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)...".
run_cmocka() {
	local bin=$1 out p f
	out=$("$bin" 2>&1)
	local rc=$?
	echo "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		failed=$((failed + 1))	# crashed before its summary
		failures+=("$bin (exit $rc)")
	elif [ -n "$f" ] && [ "$f" -gt 0 ]; then
		failures+=("$bin")
	fi
}

for tier in "${tiers[@]}"; do
	echo "=== tier: $tier"
	case $tier in
	unit|bpf)
		for bin in "$BUILD"/tests/"$tier"/test_*; do
			[ -x "$bin" ] || continue
			run_cmocka "$bin"
		done
		;;
	integ)
		for t in tests/integ/test_*.sh; do
			out=$(mktemp)
			BUILD=$BUILD bash "$t" 2>&1 | tee "$out"
			p=$(sed -n 's/^integ: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1/p' "$out")
			f=$(sed -n 's/^integ: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\2/p' "$out")
			s=$(sed -n 's/^integ: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\3/p' "$out")
			if [ -z "$p" ]; then
				failed=$((failed + 1))
				failures+=("$t (no summary)")
			else
				passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
				[ "$f" -gt 0 ] && failures+=("$t")
			fi
			rm -f "$out"
		done
		;;
	*)
		echo "unknown tier: $tier" >&2
		exit 2
		;;
	esac
done

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
