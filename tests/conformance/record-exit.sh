#!/usr/bin/env bash
# The command run.sh hands the conformance suite: runs the conformance client
# with the suite's arguments and environment, and appends
# "<scenario><TAB><exit code>" to $MCP_OAUTH_EXIT_LOG, because the suite does
# not judge the client's exit code once an expected-failures baseline is given.
# A client killed before it exits (the suite's timeout) leaves no line, which
# run.sh reports too.
"$MCP_OAUTH_CONFORMANCE_CLIENT" "$@"
rc=$?
printf '%s\t%s\n' "${MCP_CONFORMANCE_SCENARIO:-unknown}" "$rc" >>"$MCP_OAUTH_EXIT_LOG"
exit "$rc"
