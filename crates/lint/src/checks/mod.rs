//! The checks. `statements` reads the document and the catalog; `semantic` asks the access
//! analysis (`keyward-analysis`), whose every answer `authz` confirms.

mod catalog;
mod conditions;
mod grants;
mod hygiene;
mod reach;
mod semantic;

use crate::{LintOptions, Raw};
use keyward_policy::{PolicyDocument, PolicyKind, Span};

pub(crate) use grants::grants;
pub(crate) use semantic::semantic;

/// Every check that needs only the document and the catalog. They run on invalid documents too:
/// one wrong element never hides the findings of the others.
pub(crate) fn statements(document: &PolicyDocument, options: &LintOptions, out: &mut Vec<Raw>) {
    let own_account = semantic::key_account(document, options);
    let own_key_arn = semantic::own_key_arn(document, options);
    for statement in &document.statements {
        if options.kind == PolicyKind::KeyPolicy && statement.value.resource.is_none() {
            out.push(Raw::new(
                "statement-without-resource",
                statement.span,
                "this statement has no \"Resource\" or \"NotResource\", so it applies to no KMS key: KMS accepts the policy, but the statement has no effect; add \"Resource\": \"*\", which means this key",
            ));
        }
        catalog::actions(&statement.value, out);
        // What the statement's actions match, read once for every check below.
        let actions = catalog::statement_actions(&statement.value);
        conditions::check(document, &statement.value, actions, out);
        conditions::resource_variables(document, &statement.value, out);
        hygiene::statement(
            &statement.value,
            actions,
            options,
            (own_account.as_deref(), own_key_arn.as_deref()),
            out,
        );
        if options.kind == PolicyKind::KeyPolicy {
            reach::service_source(&statement.value, actions, out);
            reach::root_delegation(&statement.value, out);
            reach::dead_statement(&statement.value, actions, out);
        }
    }
    hygiene::document(document, options, out);
    if own_account.is_none() {
        hygiene::every_action_to_accounts(document, out);
    }
}

/// One root cause, reported once: `kms:CreateGrant` in a statement whose principal administers
/// the key and can also use it (the console's default administrator statement, `kms:Create*`)
/// is part of that principal's `no-separation-of-duties` finding, not a grant finding of its
/// own.
pub(crate) fn one_root_cause(document: &PolicyDocument, raw: &mut Vec<Raw>) {
    let within = |inner: Span, outer: Span| outer.start <= inner.start && inner.end <= outer.end;
    let administrators: Vec<Span> = document
        .statements
        .iter()
        .map(|s| s.span)
        .filter(|&statement| {
            raw.iter()
                .any(|r| r.rule == "no-separation-of-duties" && within(r.span, statement))
        })
        .collect();
    raw.retain(|r| {
        r.rule != "grant-without-aws-resource-condition"
            || !administrators.iter().any(|&s| within(r.span, s))
    });
}
