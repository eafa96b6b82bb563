//! `fixtures/diff/NAME/`: one change per directory. `old.json` and `new.json` are the key
//! policies; `identity-N.json` the identity policies (both sides); `grants.json` and
//! `new-grants.json` the grants as `aws kms list-grants` prints them (`grants.json` for both
//! sides unless `new-grants.json` gives NEW's). `findings.expected` holds the result and one line per
//! finding, in output order:
//!
//! ```text
//! FAIL
//! not decided: WHAT (only when the comparison left something undecided)
//! PRINCIPAL (KIND) | ACTIONS | CONDITION | STATEMENTS | VIA
//! ```
//!
//! Lines starting with `#` are comments. Besides comparing, each trial checks every finding's
//! witness once more through `keyward_authz` alone: completed with NEW's policies it is
//! allowed, with OLD's it is not.
//!
//! Trials: `diff/NAME`.

use crate::support::{Collected, blessing, corpus_dir, list, read, settle_lines, shown, stem};
use keyward_analysis::{DiffReport, KeyFacts, PolicySet, complete_witness, diff, read_grants};
use keyward_authz::{Authorizer, Request, Verdict};
use libtest_mimic::Failed;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every fixture's key: a key of the account the default policies delegate to.
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

pub(crate) fn collect(out: &mut Collected) {
    let dir = corpus_dir("diff");
    let files = match list(&dir, &["json", "expected"]) {
        Ok(files) => files,
        Err(problems) => return problems.into_iter().for_each(|p| out.problem(p)),
    };
    let cases: BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    for case in &cases {
        for needed in ["old.json", "new.json"] {
            if !case.join(needed).is_file() {
                out.problem(format!("{}: no {needed}", shown(case)));
            }
        }
        if !case.join("findings.expected").is_file() && !blessing() {
            out.problem(format!("{}: no findings.expected", shown(case)));
        }
    }
    out.at_least("fixtures/diff", cases.len(), 15);
    for case in cases {
        let name = stem(&dir, &case);
        out.trial(format!("diff/{name}"), move || run(&case));
    }
}

fn sides(case: &Path) -> Result<(PolicySet, PolicySet), Failed> {
    let mut identity = Vec::new();
    for i in 0.. {
        let path = case.join(format!("identity-{i}.json"));
        if !path.is_file() {
            break;
        }
        identity.push(read(&path)?);
    }
    let grants = |file: &str| -> Result<Vec<keyward_grants::Grant>, Failed> {
        let path = case.join(file);
        if !path.is_file() {
            return Ok(Vec::new());
        }
        read_grants(&read(&path)?).map_err(|e| format!("{}: {e}", shown(&path)).into())
    };
    let old_grants = grants("grants.json")?;
    let new_grants = if case.join("new-grants.json").is_file() {
        grants("new-grants.json")?
    } else {
        old_grants.clone()
    };
    let identity = (!identity.is_empty()).then_some(identity);
    Ok((
        PolicySet {
            key_policy: read(&case.join("old.json"))?,
            identity_policies: identity.clone(),
            grants: old_grants,
        },
        PolicySet {
            key_policy: read(&case.join("new.json"))?,
            identity_policies: identity,
            grants: new_grants,
        },
    ))
}

fn run(case: &Path) -> Result<(), Failed> {
    let (old, new) = sides(case)?;
    let key = KeyFacts::symmetric(KEY);
    let report = diff(&old, &new, &key).map_err(|e| format!("{}: {e}", shown(case)))?;
    confirm_witnesses(&report, &old, &new)?;
    let expected_path = case.join("findings.expected");
    let expected: Vec<String> = read(&expected_path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    settle_lines(&expected_path, &expected, &lines(&report), || {
        report
            .findings
            .iter()
            .map(|f| format!("witness: {}\n", f.witness))
            .collect()
    })
}

/// The report as the expectation's lines.
fn lines(report: &DiffReport) -> Vec<String> {
    let mut out = vec![report.result.to_owned()];
    for f in &report.findings {
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let statements: Vec<String> = f
            .statements
            .iter()
            .map(|s| s.sid.clone().unwrap_or_else(|| format!("#{}", s.index)))
            .collect();
        out.push(format!(
            "{} ({kind}) | {} | {} | {} | {}",
            f.principal,
            f.actions.join(","),
            f.condition,
            statements.join(","),
            f.via.join(",")
        ));
    }
    out
}

/// Each witness, completed with a side's policies as `keyward authorize` reads a request:
/// allowed under NEW, not under OLD.
fn confirm_witnesses(report: &DiffReport, old: &PolicySet, new: &PolicySet) -> Result<(), Failed> {
    for finding in &report.findings {
        let under = |set: &PolicySet| -> Result<Verdict, Failed> {
            let request = complete_witness(&finding.witness, set);
            let request = Request::parse(&request.to_string()).map_err(|e| e.to_string())?;
            let authorizer = Authorizer::for_request(&request).map_err(|e| e.to_string())?;
            Ok(authorizer.decide(&request).verdict)
        };
        let (yes, no) = (under(new)?, under(old)?);
        if yes != Verdict::Allow || no == Verdict::Allow {
            return Err(format!(
                "the witness {} is {yes:?} under NEW and {no:?} under OLD",
                finding.witness
            )
            .into());
        }
    }
    Ok(())
}
