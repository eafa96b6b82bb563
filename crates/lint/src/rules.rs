//! The rule catalogue: one entry per rule id, the source of `--explain`, SARIF `rules[]` and the
//! README table.

use crate::Severity;

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// The severity of every finding of the rule.
    pub severity: Severity,
    /// One sentence: what the rule finds.
    pub summary: &'static str,
    /// What to do about it.
    pub help: &'static str,
    /// SARIF `security-severity` ("0.1"–"10.0") for security rules.
    pub security_severity: Option<&'static str>,
    /// The ids the rule had before it was renamed: suppressions still accept them, and SARIF
    /// lists them as `deprecatedIds`.
    pub former_ids: &'static [&'static str],
}

const fn rule(
    id: &'static str,
    severity: Severity,
    summary: &'static str,
    help: &'static str,
) -> Rule {
    Rule {
        id,
        severity,
        summary,
        help,
        security_severity: None,
        former_ids: &[],
    }
}

const fn security(
    id: &'static str,
    score: &'static str,
    summary: &'static str,
    help: &'static str,
) -> Rule {
    Rule {
        id,
        severity: Severity::Security,
        summary,
        help,
        security_severity: Some(score),
        former_ids: &[],
    }
}

impl Rule {
    /// The same rule, once known as `ids`.
    const fn formerly(self, ids: &'static [&'static str]) -> Self {
        Self {
            former_ids: ids,
            ..self
        }
    }
}

use Severity::{Error as E, Suggestion as S, Warning as W};

/// Every rule, validation errors first. A rule that reports a validation problem has that
/// problem's error code as its id ([`keyward_policy::error::ERROR_CODES`]).
pub const RULES: &[Rule] = &[
    rule(
        "input-too-large",
        E,
        "The policy is over 1 MiB and was not read.",
        "Split or shorten the document.",
    ),
    rule(
        "invalid-template",
        E,
        "A CloudFormation template that is not valid JSON or YAML, or whose key policy uses something the symbolic evaluation does not do (the message names it).",
        "Fix the template, or lint the rendered policy (e.g. from the deployed key) instead.",
    ),
    rule(
        "nesting-too-deep",
        E,
        "Objects or arrays are nested more than 32 deep.",
        "A policy needs 7 levels; remove the extra nesting.",
    ),
    rule(
        "invalid-json",
        E,
        "The text is not strict JSON.",
        "Remove comments, trailing commas and single quotes.",
    ),
    rule(
        "duplicate-key",
        E,
        "An object names a key twice; AWS would keep one silently.",
        "Remove or merge one of them.",
    ),
    rule(
        "unknown-element",
        E,
        "An element that is not in the policy grammar.",
        "Fix the spelling (the message suggests one) or remove it.",
    ),
    rule(
        "wrong-type",
        E,
        "An element has the wrong JSON type.",
        "Use the type the grammar requires (the message names it).",
    ),
    rule(
        "missing-element",
        E,
        "A required element is missing.",
        "Add it: Statement, Effect, Action/NotAction, Resource/NotResource, and Principal in key policies.",
    ),
    rule(
        "empty-element",
        E,
        "An empty list or object where values are required.",
        "Add values or remove the element.",
    ),
    rule(
        "conflicting-elements",
        E,
        "An element and its Not form are both present.",
        "Keep one of Action/NotAction, Resource/NotResource, Principal/NotPrincipal.",
    ),
    rule(
        "invalid-version",
        E,
        "Version is not 2012-10-17 or 2008-10-17.",
        "Use \"2012-10-17\".",
    ),
    rule(
        "invalid-effect",
        E,
        "Effect is not Allow or Deny (case-sensitive).",
        "Write \"Allow\" or \"Deny\".",
    ),
    rule(
        "invalid-sid",
        E,
        "A Sid with characters IAM refuses.",
        "Use letters and digits only.",
    ),
    rule(
        "duplicate-sid",
        E,
        "Two statements share a Sid.",
        "Give each statement its own Sid.",
    ),
    rule(
        "id-not-allowed",
        E,
        "Id in an identity policy.",
        "Remove Id: only resource-based policies take it.",
    ),
    rule(
        "principal-not-allowed",
        E,
        "Principal in an identity policy.",
        "Remove it: an identity policy applies to its holder.",
    ),
    rule(
        "unknown-principal-type",
        E,
        "A principal type other than AWS, Service, Federated, CanonicalUser.",
        "Fix the type name.",
    ),
    rule(
        "invalid-principal",
        E,
        "A malformed account ID, ARN, service or canonical user, or an IAM group.",
        "Name an account, user, role, session, service or provider.",
    ),
    rule(
        "principal-partial-wildcard",
        E,
        "A wildcard standing for part of a principal.",
        "Use \"*\" alone with a condition, or name principals fully.",
    ),
    rule(
        "invalid-action",
        E,
        "An action that is not service:Action or *.",
        "Write the action as kms:Name.",
    ),
    rule(
        "invalid-resource",
        E,
        "A resource that is not an ARN or *.",
        "In a key policy write \"*\" (this key).",
    ),
    rule(
        "unknown-condition-operator",
        E,
        "A condition operator that does not exist (names are case-sensitive).",
        "Use the operator the message suggests.",
    )
    .formerly(&["unknown-operator"]),
    rule(
        "invalid-condition-key",
        E,
        "A condition key that is not prefix:name.",
        "Write the key as kms:Name or aws:Name.",
    ),
    rule(
        "invalid-condition-value",
        E,
        "A condition value its operator cannot read.",
        "Write a number, date, boolean, base64, IP/CIDR or ARN as the operator needs.",
    ),
    rule(
        "policy-too-large",
        E,
        "A key policy over 32,768 bytes.",
        "Shorten it: KMS refuses larger key policies.",
    ),
    rule(
        "invalid-character",
        E,
        "A key-policy character outside tab, LF, CR and U+0020–U+00FF.",
        "Replace the character: KMS refuses it.",
    ),
    rule(
        "condition-key-not-permitted",
        E,
        "A condition key KMS refuses in key policies (aws:ResourceTag/*, kms:ResourceAliases).",
        "Move the condition to an identity policy, where these keys work.",
    )
    .formerly(&["key-policy-forbidden-condition-key"]),
    rule(
        "overly-permissive-condition",
        E,
        "ForAllValues on kms:EncryptionContext:* or aws:RequestTag/*, which KMS refuses.",
        "Use ForAnyValue or a plain operator.",
    ),
    rule(
        "invalid-pattern",
        E,
        "A pattern that cannot be compiled.",
        "Simplify the pattern.",
    ),
    // Names and types.
    rule(
        "unknown-action",
        E,
        "A kms: action that does not exist, or a pattern that matches none.",
        "Fix the spelling (the message suggests the closest action).",
    ),
    rule(
        "unknown-condition-key",
        W,
        "A condition key KMS never sets in a request.",
        "Fix the spelling; a key that is never present makes the condition fail (or, negated, always hold).",
    ),
    rule(
        "operator-type-mismatch",
        E,
        "An operator of the wrong type for its key (e.g. NumericEquals on a string key). ARN operators on the encryption context's pairs and numeric operators on kms:ValidTo are what AWS documents, and are not reported.",
        "Use the operator family of the key's type.",
    ),
    rule(
        "condition-key-not-for-action",
        W,
        "A condition key none of the statement's actions ever sets.",
        "Move the condition to a statement whose actions set the key, or remove it.",
    ),
    rule(
        "forallvalues-single-valued-key",
        W,
        "ForAllValues/ForAnyValue on a single-valued key.",
        "Use the plain operator: the qualifier only makes sense on multivalued keys.",
    ),
    rule(
        "set-operator-missing",
        W,
        "A multivalued key tested without ForAnyValue/ForAllValues.",
        "Say which: ForAnyValue (some value) or ForAllValues (every value).",
    ),
    rule(
        "forallvalues-without-null-guard",
        W,
        "ForAllValues in an Allow without a Null guard: it holds when the key is missing. Not reported when another test of the statement already needs a value (a ForAnyValue on the key; for kms:EncryptionContextKeys, a test on a pair) or when every action always sets the key (kms:GrantOperations on CreateGrant).",
        "Add \"Null\": {\"<key>\": \"false\"} to the same Condition.",
    ),
    rule(
        "policy-variable-without-version",
        W,
        "A ${...} policy variable in a policy without Version 2012-10-17: it is read literally.",
        "Add \"Version\": \"2012-10-17\".",
    ),
    rule(
        "policy-variable-outside-resource-part",
        W,
        "A ${...} before the fifth colon of a Resource ARN: AWS substitutes variables only in the resource part, so it is matched literally.",
        "Move the variable into the resource part (after the fifth colon), or name the account, Region or service literally.",
    ),
    rule(
        "statement-without-resource",
        W,
        "A key-policy statement without Resource or NotResource: it applies to no key.",
        "Add \"Resource\": \"*\" (this key), or remove the statement.",
    ),
    // Security.
    security(
        "lockout-risk",
        "9.0",
        "After every Deny, nobody can change the key policy.",
        "Keep an Allow of kms:PutKeyPolicy for the account principal or a named administrator, not shadowed by a Deny.",
    ),
    security(
        "public-access",
        "9.5",
        "Any principal in any account can use the key.",
        "Add an effective kms:CallerAccount, aws:PrincipalAccount or aws:PrincipalOrgID condition, or name the principals.",
    ),
    security(
        "cross-account-access",
        "7.0",
        "Principals of an account outside --account and --trusted-account can use the key.",
        "Remove the account or add it to --trusted-account if it is trusted.",
    ),
    security(
        "no-separation-of-duties",
        "5.0",
        "A principal that administers the key is also allowed to use it for cryptography, or, without kms:PutKeyPolicy, can grant itself use through kms:CreateGrant. (Whoever may call kms:PutKeyPolicy can write itself any use: that is administering, and every key needs such a principal.) An account (its root or its ID) is the delegation to IAM, not a principal that administers. Alias actions alone, and what a statement allows only through a service (kms:ViaService), are not administration.",
        "Split administrators and users into separate statements and principals.",
    ),
    security(
        "grant-without-aws-resource-condition",
        "5.5",
        "CreateGrant allowed without kms:GrantIsForAWSResource. Not reported when the statement holds only through a service (kms:ViaService), which chooses the grantee; nor when it also allows kms:PutKeyPolicy, whose holder can write any grantee's use into the policy itself (the console's default administrator, kms:Create* and kms:Put*); nor in a statement whose principal is reported by no-separation-of-duties (an administrator who can grant itself use is that one finding).",
        "Add \"Bool\": {\"kms:GrantIsForAWSResource\": \"true\"} unless the principal must create grants itself.",
    ),
    security(
        "wildcard-actions-to-principal",
        "7.5",
        "kms:* or NotAction allowed to a principal other than the key's account: a user, a role, everyone, or another account (with --account, or when more than one account gets it).",
        "List the actions the principal needs.",
    ),
    security(
        "deny-negated-condition-on-missing-key",
        "6.0",
        "A Deny with a negated operator on a key some of its actions never set: the Deny applies to them unconditionally.",
        "Use the ...IfExists form or limit the Deny to actions that set the key.",
    ),
    security(
        "service-principal-without-source-condition",
        "5.0",
        "An Allow to a service principal, for more than reading the key, without an aws:SourceArn, aws:SourceAccount (or organization, or service-bound encryption-context ARN) test that names an account: another account can have the service use the key for its resources (a confused deputy).",
        "Add \"StringEquals\": {\"aws:SourceAccount\": \"<account>\"} or an aws:SourceArn test naming this account's resource.",
    ),
    // Hygiene.
    rule(
        "alias-or-key-arn-in-resource",
        W,
        "An alias or key ARN in a key policy's Resource: it never matches this key's requests as intended.",
        "Write \"*\" (this key); control aliases with kms:RequestAlias or kms:ResourceAliases.",
    ),
    rule(
        "malformed-via-service",
        W,
        "A kms:ViaService value that is not <service>.<region>.amazonaws.com.",
        "Write the endpoint, e.g. s3.us-east-1.amazonaws.com.",
    ),
    rule(
        "wildcard-in-exact-operator",
        W,
        "* or ? in a StringEquals or StringNotEquals value (or their IgnoreCase forms), where they are plain characters, not wildcards. In a Deny with the negated operator, the Deny refuses every request it covers.",
        "Use StringLike or StringNotLike if a pattern is meant.",
    ),
    rule(
        "ineffective-root-delegation",
        W,
        "The statement allowing the account has a condition no IAM user or role meets (aws:PrincipalType = Account, an aws:PrincipalArn of the root only): IAM policies give nobody use of the key.",
        "Remove the condition, unless only the root user is meant to use the key.",
    ),
    rule(
        "dead-statement",
        W,
        "A statement that can never apply to a request on this key: actions without a key resource (kms:CreateKey, kms:ListKeys), only ARNs of other services in Resource, or kms:ViaService required for actions no service calls or for service principals, which never carry it.",
        "Remove the statement, or write what it was meant to say.",
    ),
    rule(
        "missing-root-delegation",
        S,
        "No statement allows the account principal: IAM policies cannot grant use of this key.",
        "Add the default statement allowing kms:* to arn:aws:iam::<account>:root if IAM should decide.",
    ),
    rule(
        "principal-beside-root-delegation",
        S,
        "A user or role of the key's account named beside the account in the statement that delegates to IAM (as the CloudTrail console's default policy names its creator): it holds those actions through the key policy itself, which IAM policies and permissions boundaries cannot narrow. Reported instead of wildcard-actions-to-principal and no-separation-of-duties for that statement.",
        "Give the principal its own statement with the actions it needs, or leave it to IAM.",
    ),
    rule(
        "account-unknown",
        W,
        "The key's account is not known (no --account, no one account the policy delegates to, and not exactly one account named), so lockout and cross-account access were not checked.",
        "Give the key's account with --account.",
    ),
    rule(
        "not-analysed",
        W,
        "The access analysis cannot decide this policy exactly (a policy variable in a condition value, aws:userid or aws:username, too many combinations of conditions), so the checks it decides (public access, cross-account access, lockout, separation of duties) were not made.",
        "Review who can use the key by hand, or rewrite the conditions the message names.",
    ),
    rule(
        "aws-managed-key-policy",
        S,
        "The policy has the shape of an AWS managed key's: the account may only read the key and revoke its grants, and a service uses it for the account's callers. Nobody can change it, by design, so no lockout is reported.",
        "Nothing to do for an AWS managed key; a customer managed key needs an administrator who can call kms:PutKeyPolicy.",
    ),
    rule(
        "redundant-statement",
        S,
        "A statement that allows nothing another Allow does not already allow.",
        "Remove it or merge it.",
    ),
    rule(
        "shadowed-action",
        S,
        "An action listed twice, or covered by a wildcard in the same statement.",
        "Remove the duplicate.",
    ),
    rule(
        "notprincipal-with-allow",
        W,
        "Allow with NotPrincipal: it allows everyone not listed.",
        "Use Principal with the principals meant.",
    ),
];

/// The rule with `id`, or the rule that was once called `id`.
pub fn rule_by_id(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|rule| rule.id == id)
        .or_else(|| RULES.iter().find(|rule| rule.former_ids.contains(&id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_security_rules_score() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for rule in RULES {
            assert!(
                rule.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                rule.id
            );
            assert_eq!(
                rule.security_severity.is_some(),
                rule.severity == Severity::Security
            );
            assert!(rule.summary.len() <= 1024 && rule.help.len() <= 1024);
        }
    }

    #[test]
    fn every_validation_code_is_a_rule_of_the_same_id() {
        for code in keyward_policy::error::ERROR_CODES {
            assert!(
                RULES.iter().any(|rule| rule.id == *code),
                "no rule is called {code}"
            );
        }
    }

    /// A renamed rule keeps its old id working: no former id is a current id or the former id
    /// of two rules, and each finds the rule it became.
    #[test]
    fn former_ids_find_the_renamed_rule() {
        let mut former: Vec<&str> = RULES
            .iter()
            .flat_map(|r| r.former_ids.iter().copied())
            .collect();
        for id in &former {
            assert!(RULES.iter().all(|r| r.id != *id), "{id} is still a rule id");
        }
        let n = former.len();
        former.sort_unstable();
        former.dedup();
        assert_eq!(former.len(), n, "a former id names two rules");
        for (old, new) in [
            ("unknown-operator", "unknown-condition-operator"),
            (
                "key-policy-forbidden-condition-key",
                "condition-key-not-permitted",
            ),
        ] {
            assert_eq!(rule_by_id(old).map(|r| r.id), Some(new), "{old}");
            assert_eq!(rule_by_id(new).map(|r| r.id), Some(new), "{new}");
        }
        assert_eq!(rule_by_id("no-such-rule"), None);
    }
}
