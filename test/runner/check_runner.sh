#!/usr/bin/env bash
# Self-check of slt.py: runs selftest/ and selftest_fail/ on the python host of every given interpreter and on
# the CLI host, and exits non-zero when any run differs from what the files declare or from the other runs.
#
# usage: test/runner/check_runner.sh CLI_PATH PYTHON [PYTHON...]
#   CLI_PATH  a duckdb CLI binary; PYTHON  an interpreter whose `duckdb` module is the python host
# selftest/skip_*.test must be skipped, every other selftest/ file must pass; each selftest_fail/ file must fail
# at the lines listed in its `# fails-at:` header (the first one only, unless --keep-going).
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 CLI_PATH PYTHON [PYTHON...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
cli=$1
shift

# Every check (one runner invocation, one file's failure lines, one cross-run comparison) counts once.
passed=0
failed=0
problem() {
    echo "check_runner: $*" >&2
    failed=$((failed + 1))
}

total=$(ls "$here"/selftest/*.test | wc -l)
skips=$(ls "$here"/selftest/skip_*.test | wc -l)
expect_pass="$((total - skips)) passed, 0 failed, $skips skipped"
expect_fail="0 passed, $(ls "$here"/selftest_fail/*.test | wc -l) failed"

# The line numbers reported for one file: the "line N:" at the start of each failure block.
failure_lines() {
    awk -v head="FAIL $2" '
        $0 == head { inside = 1; next }
        /^[^ ]/ { inside = 0 }
        inside && match($0, /^    (parse error: )?line [0-9]+/) {
            n = substr($0, RSTART, RLENGTH); sub(/.* /, "", n); printf "%s ", n
        }' <<<"$1"
}

# One runner invocation: checks exit code and closing line, leaves the output in $out.
run() {
    local name=$1 want_rc=$2 want_last=$3
    shift 3
    out=$("$@" 2>&1)
    local rc=$?
    local last
    last=$(tail -n 1 <<<"$out")
    if [ "$rc" != "$want_rc" ] || [ "$last" != "$want_last" ]; then
        problem "$name: exit $rc, closing line '$last'; wanted exit $want_rc, '$want_last'"
        echo "$out" >&2
        return 1
    fi
    passed=$((passed + 1))
}

reference=""
reference_name=""
for py in "$@"; do
    for host in python cli; do
        cmd=("$py" "$here/slt.py" --host "$host")
        if [ "$host" = cli ]; then
            cmd+=(--cli "$cli")
        fi
        name="$py --host $host"

        if run "$name selftest" 0 "$expect_pass" "${cmd[@]}" "$here/selftest"; then
            # Skip reasons quote host-specific paths, so only "STATUS file" is compared between runs.
            statuses=$(grep -E '^(PASS|FAIL|SKIP) ' <<<"$out" | sed 's/:.*//')
            if [ -z "$reference" ]; then
                reference=$statuses
                reference_name=$name
            elif [ "$statuses" != "$reference" ]; then
                problem "$name selftest: per-file results differ from $reference_name"
                diff <(echo "$reference") <(echo "$statuses") >&2
            else
                passed=$((passed + 1))
            fi
        fi

        for keep in "" --keep-going; do
            run "$name $keep selftest_fail" 1 "$expect_fail" "${cmd[@]}" $keep "$here/selftest_fail" || continue
            for file in "$here"/selftest_fail/*.test; do
                want=$(sed -n 's/^# fails-at: //p' "$file")
                if [ -z "$keep" ]; then
                    want=${want%% *}
                fi
                got=$(failure_lines "$out" "$file")
                if [ "${got% }" != "$want" ]; then
                    problem "$name $keep: $file failed at line(s) '${got% }', wanted '$want'"
                else
                    passed=$((passed + 1))
                fi
            done
        done
    done
done

echo "check_runner: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
