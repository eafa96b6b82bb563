//! The key-policy linter: every validation error as a finding, checks of names and types
//! against the KMS catalog, KMS-specific security checks decided by the authorization engine,
//! and hygiene checks, each finding with its exact span, JSON pointer and Sid.
//!
//! ```
//! use keyward_lint::{LintOptions, lint};
//!
//! let policy = r#"{"Version": "2012-10-17", "Statement": [{
//!   "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}"#;
//! let findings = lint(policy, &LintOptions::default());
//! assert!(findings.iter().any(|f| f.rule == "public-access"));
//! ```

#![warn(missing_docs)]

mod checks;
mod finding;
mod locate;
pub mod output;
pub mod rules;
pub mod suppress;

pub use finding::{Finding, Region, Severity};
pub use rules::{RULES, Rule, rule_by_id};
pub use suppress::{Suppression, SuppressionError, Suppressions};

use keyward_policy::{PolicyDocument, PolicyKind, Span};

/// What the linter needs to know beyond the policy.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Key policy (the default) or identity policy.
    pub kind: PolicyKind,
    /// The key's account (`--account`). When absent, the account the policy delegates to
    /// (`kms:*` to `arn:aws:iam::<account>:root`) is assumed, if there is exactly one.
    pub account: Option<String>,
    /// Other accounts whose access is expected (`--trusted-account`).
    pub trusted_accounts: Vec<String>,
    /// The key's ARN (`--key-arn`): a `Resource` that names it applies to this key, and its
    /// account is the key's when `account` is absent. When absent, the one key ARN the
    /// policy's `Resource` elements name, if they name exactly one and no pattern, is taken as
    /// the key's own (the CloudTrail guide writes policies that way).
    pub key_arn: Option<String>,
}

impl Default for LintOptions {
    fn default() -> Self {
        Self {
            kind: PolicyKind::KeyPolicy,
            account: None,
            trusted_accounts: Vec::new(),
            key_arn: None,
        }
    }
}

/// A finding before it is located: rule, message, span.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub rule: &'static str,
    pub message: String,
    pub span: Span,
    /// A request that shows the finding (the access analysis's witness).
    pub witness: Option<serde_json::Value>,
}

impl Raw {
    pub(crate) fn new(rule: &'static str, span: Span, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
            span,
            witness: None,
        }
    }

    /// The finding with the request that shows it.
    pub(crate) fn with_witness(mut self, witness: serde_json::Value) -> Self {
        self.witness = Some(witness);
        self
    }
}

/// Lints one policy text. Findings come in source order; each rule reports a span once.
pub fn lint(text: &str, options: &LintOptions) -> Vec<Finding> {
    let mut raw = Vec::new();
    let document = match keyward_policy::parse_policy(text) {
        Ok(document) => document,
        Err(diagnostics) => {
            raw.extend(
                diagnostics
                    .errors()
                    .iter()
                    .map(|e| Raw::new(e.code(), e.span, e.kind.to_string())),
            );
            return locate(text, None, raw);
        }
    };
    let validation = keyward_policy::validate(&document, text, options.kind);
    let valid = validation.is_empty();
    raw.extend(
        validation
            .errors()
            .iter()
            .map(|e| Raw::new(e.code(), e.span, e.kind.to_string())),
    );
    let conditions = keyward_conditions::compile_conditions(&document);
    if let Err(diagnostics) = &conditions {
        raw.extend(
            diagnostics
                .errors()
                .iter()
                .map(|e| Raw::new(e.code(), e.span, e.kind.to_string())),
        );
    }
    checks::statements(&document, options, &mut raw);
    // The access analysis decides policies KMS would accept, whose conditions compile.
    if valid && conditions.is_ok() && options.kind == PolicyKind::KeyPolicy {
        checks::semantic(&document, text, options, &mut raw);
        checks::one_root_cause(&document, &mut raw);
    }
    locate(text, Some(&document), raw)
}

/// Lints one file: a policy, or every key policy of a CloudFormation template (JSON or YAML;
/// CDK's output included) or a Terraform plan, told apart by content unless `format` says.
/// A template's findings point at the template's own lines (the value a rendered piece came
/// from, an intrinsic call for a computed one), carry the key's logical ID or resource address
/// (and CDK construct path), and their JSON pointers start at the policy's place in the
/// template. A plan's grants are decided with their key's policy, each finding at the grant.
/// In messages, the stand-in for `AWS::AccountId` is written `${AWS::AccountId}`. A template
/// that cannot be read or evaluated is one `invalid-template` finding where it fails.
pub fn lint_file(
    text: &str,
    options: &LintOptions,
    format: keyward_templates::Format,
) -> Vec<Finding> {
    let read = match keyward_templates::read(text, format, options.account.as_deref()) {
        Ok(read) => read,
        Err(e) => {
            let span = e.span().unwrap_or_default();
            return vec![Finding {
                rule: "invalid-template",
                severity: Severity::Error,
                message: e.to_string(),
                span,
                pointer: String::new(),
                sid: None,
                suppressed: None,
                resource: None,
                construct: None,
                witness: None,
            }];
        }
    };
    if !matches!(
        read.format,
        keyward_templates::Format::CloudFormation | keyward_templates::Format::TerraformPlan
    ) {
        return lint(text, options);
    }
    let mut out: Vec<(usize, Finding)> = Vec::new();
    let readings: Vec<(String, Vec<(String, bool)>)> = read
        .policies
        .iter()
        .map(|p| (p.resource.clone(), p.assumed.clone()))
        .collect();
    for (reading, policy) in read.policies.into_iter().enumerate() {
        // The key's account is the one `AWS::AccountId` (or the caller's identity in a plan)
        // stands for, where the policy uses it; otherwise it is inferred as for any policy.
        let mut options = options.clone();
        if options.account.is_none() && policy.text.contains(&policy.account) {
            options.account = Some(policy.account.clone());
        }
        let stand_in = options_stand_in(&policy.account);
        for mut finding in lint(&policy.text, &options) {
            let origin = policy
                .map
                .origin(finding.span)
                .or_else(|| policy.map.origin(Span::new(0, policy.text.len())));
            finding.span = origin.unwrap_or_default();
            finding.pointer = format!("{}{}", policy.pointer, finding.pointer);
            if let Some(stand_in) = stand_in {
                finding.message = finding.message.replace(stand_in, "${AWS::AccountId}");
            }
            finding.resource = Some(policy.resource.clone());
            finding.construct.clone_from(&policy.construct);
            out.push((reading, finding));
        }
        // The grants the file makes on this key, each finding at the grant.
        if let Ok(document) = keyward_policy::parse_policy(&policy.text) {
            for (index, rule, message) in
                checks::grants(&document, &policy.text, &options, &policy.grants)
            {
                let Some(source) = policy.grants.get(index) else {
                    continue;
                };
                out.push((
                    reading,
                    Finding {
                        rule,
                        severity: rule_by_id(rule).map_or(Severity::Error, |r| r.severity),
                        message: match stand_in {
                            Some(stand_in) => message.replace(stand_in, "${AWS::AccountId}"),
                            None => message,
                        },
                        span: source.at,
                        pointer: String::new(),
                        sid: None,
                        suppressed: None,
                        resource: Some(source.resource.clone()),
                        construct: None,
                        witness: None,
                    },
                ));
            }
        }
    }
    let mut out = one_per_reading(out, &readings);
    out.sort_by(|a, b| (a.span.start, a.span.end, a.rule).cmp(&(b.span.start, b.span.end, b.rule)));
    out
}

/// The findings of a template's readings (one per combination of conditions it does not
/// decide, per key) as one list: a finding every reading of its key has is reported once, and
/// one that only some have says under which (`when IsShared is true`).
fn one_per_reading(
    found: Vec<(usize, Finding)>,
    readings: &[(String, Vec<(String, bool)>)],
) -> Vec<Finding> {
    let of_key = |resource: &str| readings.iter().filter(|(r, _)| r == resource).count();
    let mut out: Vec<Finding> = Vec::new();
    let mut seen: Vec<(String, &'static str, Span, String, Vec<usize>)> = Vec::new();
    for (reading, finding) in &found {
        let key = finding.resource.clone().unwrap_or_default();
        match seen.iter_mut().find(|(r, rule, span, message, _)| {
            *r == key
                && *rule == finding.rule
                && *span == finding.span
                && *message == finding.message
        }) {
            Some((.., readings_of)) => readings_of.push(*reading),
            None => seen.push((
                key,
                finding.rule,
                finding.span,
                finding.message.clone(),
                vec![*reading],
            )),
        }
    }
    for (key, rule, span, message, readings_of) in seen {
        let Some((_, first)) = found.iter().find(|(i, f)| {
            readings_of.first() == Some(i)
                && f.rule == rule
                && f.span == span
                && f.message == message
        }) else {
            continue;
        };
        let mut finding = first.clone();
        if readings_of.len() < of_key(&key)
            && let Some((_, assumed)) = readings_of.first().and_then(|i| readings.get(*i))
            && !assumed.is_empty()
        {
            let when: Vec<String> = assumed
                .iter()
                .map(|(name, value)| format!("{name} is {value}"))
                .collect();
            finding.message = format!("{} (when {})", finding.message, when.join(" and "));
        }
        out.push(finding);
    }
    out
}

/// The stand-in ID of `AWS::AccountId` when `account` is it (not an account the caller gave).
fn options_stand_in(account: &str) -> Option<&'static str> {
    (account == keyward_templates::THIS_ACCOUNT).then_some(keyward_templates::THIS_ACCOUNT)
}

/// The finding for a file over the 1 MiB a policy may have, which was not read (its size was
/// checked first): `input-too-large` at the start.
pub fn too_large(size: u64) -> Finding {
    let kind = keyward_policy::PolicyErrorKind::InputTooLarge {
        size: usize::try_from(size).unwrap_or(usize::MAX),
        limit: keyward_policy::parser::MAX_INPUT_BYTES,
    };
    Finding {
        rule: "input-too-large",
        severity: Severity::Error,
        pointer: String::new(),
        message: kind.to_string(),
        span: Span::new(0, 0),
        sid: None,
        suppressed: None,
        resource: None,
        construct: None,
        witness: None,
    }
}

/// Orders, de-duplicates and locates findings.
fn locate(text: &str, document: Option<&PolicyDocument>, mut raw: Vec<Raw>) -> Vec<Finding> {
    raw.sort_by(|a, b| (a.span.start, a.span.end, a.rule).cmp(&(b.span.start, b.span.end, b.rule)));
    raw.dedup_by(|a, b| a.rule == b.rule && a.span == b.span);
    let pointers = locate::Pointers::new(text);
    raw.into_iter()
        .map(|raw| {
            let severity = rule_by_id(raw.rule).map_or(Severity::Error, |rule| rule.severity);
            let sid = document.and_then(|doc| {
                doc.statements
                    .iter()
                    .find(|s| s.span.start <= raw.span.start && raw.span.end <= s.span.end)
                    .and_then(|s| s.value.sid.as_ref())
                    .map(|sid| sid.value.clone())
            });
            Finding {
                rule: raw.rule,
                severity,
                pointer: pointers.pointer(raw.span),
                message: raw.message,
                span: raw.span,
                sid,
                suppressed: None,
                resource: None,
                construct: None,
                witness: raw.witness,
            }
        })
        .collect()
}
