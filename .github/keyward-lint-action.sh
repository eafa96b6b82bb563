#!/usr/bin/env bash
# The work of the `keyward lint` GitHub Action (action.yml), kept in a script so that it is
# tested outside GitHub (crates/cli/tests/cli/action.rs). Inputs come as environment variables,
# never spliced into the script's text:
#   KEYWARD            the keyward binary
#   PATHS              files and directories to lint, separated by white space
#   MIN_SEVERITY       error | security | warning | suggestion
#   ACCOUNT            the keys' account (optional)
#   TRUSTED_ACCOUNTS   accounts whose access is expected, separated by white space (optional)
#   KEY_ARN            the key's ARN (optional; for a single policy)
#   CONFIG             a keyward-lint.toml (optional; by default the nearest one)
#   SARIF_FILE         where the SARIF log goes
#   GITHUB_OUTPUT      (set by GitHub) where `findings` (the SARIF log's results, suppressed
#                      ones included) and `exit-code` are written
# The findings are printed to the log in compiler style; the SARIF log is written whatever
# the findings; the exit status is keyward's (0 none at or above MIN_SEVERITY, 1 some, 2 an
# error), which action.yml turns into the step's result after the upload.
set -uo pipefail

keyward=${KEYWARD:-keyward}
read -r -a paths <<<"${PATHS:-.}"
args=(--min-severity "${MIN_SEVERITY:-warning}")
if [[ -n "${ACCOUNT:-}" ]]; then args+=(--account "$ACCOUNT"); fi
read -r -a trusted <<<"${TRUSTED_ACCOUNTS:-}"
for account in "${trusted[@]}"; do args+=(--trusted-account "$account"); done
if [[ -n "${KEY_ARN:-}" ]]; then args+=(--key-arn "$KEY_ARN"); fi
if [[ -n "${CONFIG:-}" ]]; then args+=(--config "$CONFIG"); fi
sarif_file=${SARIF_FILE:-keyward.sarif}

"$keyward" lint "${args[@]}" --format sarif -- "${paths[@]}" >"$sarif_file"
status=$?
# The same findings for the log, in compiler style (or the error, when keyward could not run).
"$keyward" lint "${args[@]}" -- "${paths[@]}"
# Each SARIF result names its rule once as "ruleId" (the catalogue's entries say "id").
findings=$(grep -o '"ruleId"' "$sarif_file" 2>/dev/null | wc -l | tr -d ' ')
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    {
        echo "findings=$findings"
        echo "exit-code=$status"
    } >>"$GITHUB_OUTPUT"
fi
exit "$status"
