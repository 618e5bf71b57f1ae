#!/bin/sh
# Runs one cmocka test program for automake's TAP driver, so that every
# test shows in the summary as PASS, FAIL or SKIP on its own line: a
# skipped test is never counted as a pass.
#
# cmocka 1.1 writes a skipped test as "not ok N # SKIP", which TAP reads as
# a failure; it is rewritten to "ok N # SKIP".  A program that skips as a
# whole (exit 77 before any test ran: no container engine outside CI)
# becomes the TAP plan "1..0 # SKIP".  Anything else a test prints on
# stdout (a command's output it shows) is passed on as a TAP comment, so
# that a line such as "ok" is never read as a result.
CMOCKA_MESSAGE_OUTPUT=TAP
export CMOCKA_MESSAGE_OUTPUT
status_file=$(mktemp "${TMPDIR:-/tmp}/monkey-tap.XXXXXX") || exit 99
plan_file=$status_file.plan
trap 'rm -f "$status_file" "$plan_file"' EXIT
{
	"$@"
	echo $? >"$status_file"
} | while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	"not ok "[0-9]*" # SKIP"*)
		line="ok ${line#not ok }"
		;;
	"ok "[0-9]*" - "* | "not ok "[0-9]*" - "* | "#"*) ;;
	1..[0-9]*)
		: >"$plan_file"
		;;
	*)
		line="# $line"
		;;
	esac
	printf '%s\n' "$line"
done
status=$(cat "$status_file")
if [ "$status" = 77 ] && [ ! -e "$plan_file" ]; then
	echo "1..0 # SKIP $1 skipped as a whole (see its log)"
	exit 0
fi
exit "$status"
