//! The aliases an alias operation names. `kms:CreateAlias`, `kms:UpdateAlias` and
//! `kms:DeleteAlias` act on an alias and on its key: the key policy (or the identity policies it
//! delegates to) must allow the action on the key, and the caller's identity policies must
//! allow it on the alias's ARN (KMS Developer Guide, "Controlling access to aliases"). The
//! alias is then one more part of the request. Its ARN is cut into cells by the `Resource` and
//! `NotResource` patterns of the statements that can apply to these actions, as a condition
//! key's values are cut by its tests: every pattern has one truth value on a cell, so one alias
//! stands for all of its cell's.

use crate::AnalysisError;
use crate::glob::{self, Glob, Predicate};
use crate::mentions::Mentions;
use crate::space::KeyFacts;
use keyward_policy::catalog::{ActionId, ResourceScope};
use keyward_policy::model::ActionClause;

/// Whether `action` acts on an alias and its key.
pub(crate) fn is_alias_operation(action: ActionId) -> bool {
    action.info().resource == ResourceScope::AliasAndKey
}

/// The alias operations' names, `kms:` and all.
const ALIAS_OPERATIONS: [&str; 3] = ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"];

/// Whether an `Action` or `NotAction` clause matches an alias operation. Read for every
/// statement of every policy: a literal pattern is compared, only a wildcard one is matched.
pub(crate) fn names_an_alias_operation(clause: &ActionClause) -> bool {
    let mut named = [false; ALIAS_OPERATIONS.len()];
    for pattern in &clause.patterns {
        let pattern = pattern.value.as_str();
        let prefix_star = pattern
            .strip_suffix('*')
            .filter(|head| !head.contains(['*', '?']));
        if let Some(head) = prefix_star {
            // `kms:*`, `kms:Create*`, `*`: a prefix, compared without case.
            for (hit, name) in named.iter_mut().zip(ALIAS_OPERATIONS) {
                *hit |= name
                    .get(..head.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(head));
            }
        } else if pattern.contains(['*', '?']) {
            let glob = Glob::like(pattern, true);
            for (hit, name) in named.iter_mut().zip(ALIAS_OPERATIONS) {
                *hit |= glob.is_match(name);
            }
        } else {
            for (hit, name) in named.iter_mut().zip(ALIAS_OPERATIONS) {
                *hit |= pattern.eq_ignore_ascii_case(name);
            }
        }
    }
    named.iter().any(|hit| *hit != clause.negated)
}

/// One cell of the key's Region's aliases: an alias that stands for it, and the cell in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AliasCell {
    /// The alias's ARN.
    pub(crate) arn: String,
    /// The cell in words: `any alias`, or the patterns its aliases match and do not.
    pub(crate) words: String,
}

/// The cells the patterns `mentions` holds cut the aliases of `key`'s account and Region into
/// (an alias names a key of its own account and Region), each with a member: one of the key's
/// own aliases where one falls in it, else a name a pattern writes with its wildcards filled,
/// else `alias/example`, else the shortest.
pub(crate) fn cells(mentions: &Mentions, key: &KeyFacts) -> Result<Vec<AliasCell>, AnalysisError> {
    let prefix = prefix(key)?;
    let shape = Glob::alias_arns(&prefix);
    let mut written: Vec<&str> = Vec::new();
    let mut predicates: Vec<Predicate> = Vec::new();
    // `*` is not among them: it tells no aliases apart.
    for (pattern, templated) in &mentions.alias_resources {
        if *templated {
            // A variable in the resource part: refused when any alias could match it, which
            // the pattern with each variable widened to `*` tells.
            let widened = widen_variables(pattern);
            if Glob::resource(&widened).is_some_and(|g| reaches(&g, &shape)) {
                return Err(AnalysisError::Unsupported(format!(
                    "the Resource {pattern} of a statement that can apply to an alias operation has a policy variable: the analysis does not follow a value from the caller to the alias yet"
                )));
            }
            continue;
        }
        // A pattern that is no ARN pattern matches no alias.
        let Some(glob) = Glob::resource(pattern) else {
            continue;
        };
        written.push(pattern);
        predicates.push(Predicate { any_of: vec![glob] });
    }
    let mut preferred: Vec<String> = key
        .aliases
        .iter()
        .filter_map(|a| a.strip_prefix("alias/"))
        .map(|name| format!("{prefix}{name}"))
        .collect();
    // Then the names the patterns write, their wildcards filled (`alias/signing-*`:
    // `alias/signing-example`), then `alias/example`.
    for pattern in &written {
        if let Some((_, name)) = pattern.split_once(":alias/") {
            let filled = name.replace('*', "example").replace('?', "x");
            preferred.push(format!("{prefix}{filled}"));
        }
    }
    preferred.push(format!("{prefix}example"));
    if predicates.is_empty() {
        // Nothing tells aliases apart.
        let arn = preferred.swap_remove(0);
        return Ok(vec![AliasCell {
            arn,
            words: "any alias".to_owned(),
        }]);
    }
    let mut found = glob::cells(&predicates, Some(&shape), "alias ARNs")?;
    glob::prefer(&mut found, &predicates, Some(&shape), &preferred);
    found.retain(|c| !c.member.is_empty());
    // A pattern true on every cell, or on none (a key's ARN), tells no aliases apart: the
    // words leave it out.
    let telling: Vec<bool> = (0..written.len())
        .map(|i| {
            let truth = |c: &glob::Cell| c.truth.get(i).copied();
            found
                .iter()
                .any(|c| truth(c) != found.first().and_then(truth))
        })
        .collect();
    let written: Vec<&str> = written
        .iter()
        .zip(&telling)
        .filter(|(_, t)| **t)
        .map(|(p, _)| *p)
        .collect();
    Ok(found
        .into_iter()
        .map(|cell| {
            let truth: Vec<bool> = cell
                .truth
                .iter()
                .zip(&telling)
                .filter(|(_, t)| **t)
                .map(|(v, _)| *v)
                .collect();
            AliasCell {
                words: if written.is_empty() {
                    "any alias".to_owned()
                } else {
                    words(&written, &truth)
                },
                arn: cell.member,
            }
        })
        .collect())
}

/// `arn:PARTITION:kms:REGION:ACCOUNT:alias/` of `key`'s account and Region.
fn prefix(key: &KeyFacts) -> Result<String, AnalysisError> {
    let arn = keyward_policy::arn::Arn::parse(&key.arn)
        .ok_or_else(|| AnalysisError::Input(format!("{} is not a key ARN", key.arn)))?;
    Ok(format!(
        "arn:{}:kms:{}:{}:alias/",
        arn.partition, arn.region, arn.account
    ))
}

/// The alias a request about no alias in particular names: the key's first, or
/// `alias/example`, in the key's account and Region.
pub(crate) fn plain_alias(key: &KeyFacts) -> Result<String, AnalysisError> {
    let name = key
        .aliases
        .first()
        .and_then(|a| a.strip_prefix("alias/"))
        .unwrap_or("example");
    Ok(format!("{}{name}", prefix(key)?))
}

/// A cell in words, from the truth of each pattern on it.
fn words(written: &[&str], truth: &[bool]) -> String {
    let matching = |wanted: bool| -> Vec<&str> {
        written
            .iter()
            .zip(truth)
            .filter(|(_, t)| **t == wanted)
            .map(|(p, _)| *p)
            .collect()
    };
    let (matched, unmatched) = (matching(true), matching(false));
    match (matched.is_empty(), unmatched.is_empty()) {
        (false, true) => format!("the alias is {}", matched.join(" and ")),
        (false, false) => format!(
            "the alias is {} but not {}",
            matched.join(" and "),
            unmatched.join(" or ")
        ),
        _ => format!("the alias is not {}", unmatched.join(" or ")),
    }
}

/// `pattern` with each policy variable (`${...}`) replaced by `*`.
fn widen_variables(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(rest.get(..start).unwrap_or_default());
        match rest.get(start..).and_then(|r| r.find('}')) {
            Some(end) => {
                out.push('*');
                rest = rest.get(start + end + 1..).unwrap_or_default();
            }
            None => {
                out.push('*');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `glob` matches some string of `shape` (refused as unknowable: taken to).
fn reaches(glob: &Glob, shape: &Glob) -> bool {
    let predicate = [Predicate {
        any_of: vec![glob.clone()],
    }];
    glob::cells(&predicate, Some(shape), "alias ARNs").map_or(true, |cells| {
        cells.iter().any(|c| c.truth.first() == Some(&true))
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use keyward_policy::{PolicyKind, parse_and_validate};

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn mentions(policy: &str) -> Result<Mentions, AnalysisError> {
        let mut mentions = Mentions::default();
        let document = parse_and_validate(policy, PolicyKind::IdentityPolicy).unwrap();
        mentions.add_policy(&document)?;
        Ok(mentions)
    }

    fn identity(statements: &str) -> String {
        format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#)
    }

    #[test]
    fn without_patterns_every_alias_is_one_cell_named_after_the_keys_own_alias() {
        let m = mentions(&identity(
            r#"{"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": "*"}"#,
        ))
        .unwrap();
        let mut key = KeyFacts::symmetric(KEY);
        key.aliases = vec!["alias/payroll".into()];
        let cells = cells(&m, &key).unwrap();
        assert_eq!(
            cells,
            [AliasCell {
                arn: "arn:aws:kms:us-east-1:111122223333:alias/payroll".into(),
                words: "any alias".into()
            }]
        );
    }

    #[test]
    fn alias_patterns_cut_the_aliases_and_every_member_matches_its_cell() {
        let m = mentions(&identity(
            r#"{"Effect": "Allow", "Action": "kms:*Alias", "Resource": "arn:aws:kms:*:111122223333:alias/app-*"},
               {"Effect": "Deny", "Action": "kms:DeleteAlias", "Resource": "arn:aws:kms:us-east-1:111122223333:alias/app-prod*"},
               {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:111122223333:alias/never-*"}"#,
        ))
        .unwrap();
        let cells = cells(&m, &KeyFacts::symmetric(KEY)).unwrap();
        // Inside app-* but not app-prod*, inside both, and outside both (the Decrypt
        // statement's pattern cannot apply to an alias operation: not read).
        assert_eq!(cells.len(), 3, "{cells:?}");
        let app =
            keyward_policy::arn::ArnPattern::resource("arn:aws:kms:*:111122223333:alias/app-*")
                .unwrap();
        let prod = keyward_policy::arn::ArnPattern::resource(
            "arn:aws:kms:us-east-1:111122223333:alias/app-prod*",
        )
        .unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for cell in &cells {
            assert!(
                cell.arn
                    .starts_with("arn:aws:kms:us-east-1:111122223333:alias/")
            );
            seen.insert((app.matches_text(&cell.arn), prod.matches_text(&cell.arn)));
            assert!(cell.words.starts_with("the alias is"), "{}", cell.words);
        }
        assert_eq!(seen.len(), 3);
        let names: std::collections::BTreeSet<&str> = cells
            .iter()
            .map(|c| c.arn.rsplit(":alias/").next().unwrap())
            .collect();
        assert_eq!(
            names,
            ["app-example", "app-prodexample", "example"]
                .into_iter()
                .collect()
        );
    }

    #[test]
    fn resource_patterns_match_alias_arns_as_authz_matches_them() {
        let arns = [
            "arn:aws:kms:us-east-1:111122223333:alias/app-a",
            "arn:aws:kms:us-east-1:111122223333:alias/app/b:c",
            "arn:aws:kms:eu-west-1:111122223333:alias/x",
            "arn:aws:kms:us-east-1:444455556666:alias/app-a",
        ];
        for pattern in [
            "arn:aws:kms:*",
            "arn:aws:kms:us-*",
            "arn:aws:kms:us-east-1:111122223333:*",
            "arn:aws:kms:*:111122223333:alias/app-*",
            "arn:aws:kms:us-east-?:*:alias/*",
            "arn:aws:kms:*:*:alias/app/*",
            "arn:aws:kms:*:*:alias/app-a",
            "arn:aws:kms:*:*:key/*",
            "arn:aws:*",
        ] {
            let ours = Glob::resource(pattern).unwrap();
            let theirs = keyward_policy::arn::ArnPattern::resource(pattern).unwrap();
            for arn in arns {
                assert_eq!(
                    ours.is_match(arn),
                    theirs.matches_text(arn),
                    "{pattern} on {arn}"
                );
            }
        }
        assert!(Glob::resource("arn:aws:kms:us-east-1").is_none());
    }

    #[test]
    fn a_variable_that_could_name_an_alias_is_refused_and_one_that_could_not_is_not() {
        let refused = mentions(&identity(
            r#"{"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": "arn:aws:kms:*:*:alias/${aws:username}-*"}"#,
        ))
        .unwrap();
        match cells(&refused, &KeyFacts::symmetric(KEY)) {
            Err(AnalysisError::Unsupported(why)) => assert!(why.contains("policy variable")),
            other => panic!("{other:?}"),
        }
        let kept = mentions(&identity(
            r#"{"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:*:*:key/${aws:username}"}"#,
        ))
        .unwrap();
        assert_eq!(cells(&kept, &KeyFacts::symmetric(KEY)).unwrap().len(), 1);
    }

    #[test]
    fn the_alias_operations_names_are_the_catalogs() {
        let catalog: Vec<&str> = ActionId::all()
            .filter(|a| is_alias_operation(*a))
            .map(ActionId::qualified_name)
            .collect();
        assert_eq!(catalog.len(), ALIAS_OPERATIONS.len());
        assert!(ALIAS_OPERATIONS.iter().all(|a| catalog.contains(a)));
    }

    #[test]
    fn an_action_clause_names_an_alias_operation_as_iam_matches_it() {
        let clause = |negated: bool, patterns: &[&str]| ActionClause {
            negated,
            patterns: patterns
                .iter()
                .map(|p| keyward_policy::Spanned {
                    value: (*p).to_owned(),
                    span: keyward_policy::Span::default(),
                })
                .collect(),
        };
        assert!(names_an_alias_operation(&clause(false, &["kms:*"])));
        assert!(names_an_alias_operation(&clause(
            false,
            &["KMS:createalias"]
        )));
        assert!(names_an_alias_operation(&clause(false, &["kms:*Alias"])));
        assert!(names_an_alias_operation(&clause(false, &["*"])));
        assert!(names_an_alias_operation(&clause(false, &["kms:update*"])));
        assert!(!names_an_alias_operation(&clause(
            false,
            &["kms:Get*", "s3:*"]
        )));
        assert!(!names_an_alias_operation(&clause(
            false,
            &["kms:Decrypt", "kms:List*"]
        )));
        // NotAction: it names them unless it lists all three.
        assert!(names_an_alias_operation(&clause(true, &["kms:Decrypt"])));
        assert!(names_an_alias_operation(&clause(
            true,
            &["kms:CreateAlias"]
        )));
        assert!(!names_an_alias_operation(&clause(true, &["kms:*Alias"])));
    }

    #[test]
    fn variables_are_widened_to_stars() {
        assert_eq!(widen_variables("a/${x}-${y}/b"), "a/*-*/b");
        assert_eq!(widen_variables("a/${x"), "a/*");
        assert_eq!(widen_variables("plain"), "plain");
    }
}
