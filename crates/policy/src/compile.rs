//! The statement matchers of a policy, built once and used for every decision: the part of
//! the compiled policy that this crate can build.
//!
//! Action patterns become a bitset over the KMS catalog (so finding the statements for an
//! action is one table lookup), resource patterns become segment matchers, and principals are
//! parsed and grouped by kind. Condition values and policy variables are compiled by the
//! `conditions` crate, whose `CompiledPolicy` joins them to these matchers by statement index.

use crate::arn::ArnPattern;
use crate::catalog::{self, ActionId, ActionSet};
use crate::error::{Diagnostics, PolicyErrorKind};
use crate::model::{
    Effect, PolicyDocument, PolicyKind, PrincipalClause, PrincipalValue, Spanned, Statement,
};
use crate::principal::Principal;
use crate::source::Span;
use crate::wildcard::{Case, Wildcard};

/// The matchers of every statement of a policy (action, resource, principal), with the index
/// from each KMS action to the statements whose action clause matches it. `Send + Sync`.
#[derive(Debug, Clone)]
pub struct StatementMatchers {
    kind: PolicyKind,
    variables_enabled: bool,
    statements: Vec<CompiledStatement>,
    /// For each KMS action (by [`ActionId`]), the range of `action_index` listing the statements
    /// whose action clause matches it.
    action_ranges: Vec<(u32, u32)>,
    /// Statement indices, grouped by action (see `action_ranges`).
    action_index: Vec<u32>,
}

/// One compiled statement.
#[derive(Debug, Clone)]
pub struct CompiledStatement {
    /// 0-based position in the policy's `Statement` list.
    pub index: usize,
    /// `Sid`, when given.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// `Principal` / `NotPrincipal`; `None` in identity policies.
    pub principals: Option<PrincipalSet>,
    /// `Action` / `NotAction`.
    pub actions: ActionMatcher,
    /// `Resource` / `NotResource`.
    pub resources: ResourceMatcher,
    /// Where the statement is in the source.
    pub span: Span,
}

/// The one account a key policy delegates to: every account that an `Allow` of every KMS
/// action names, when its principals are accounts only (`"AWS": "111122223333"` or its root
/// ARN), as the default key policy does. `None` when no account or more than one is.
pub fn delegated_account(statements: &[CompiledStatement]) -> Option<&str> {
    let mut found: Option<&str> = None;
    for statement in statements {
        let Some(principals) = &statement.principals else {
            continue;
        };
        let accounts_only = !principals.negated
            && !principals.everyone
            && principals.identities.is_empty()
            && principals.services.is_empty()
            && principals.others.is_empty();
        if statement.effect != Effect::Allow
            || !accounts_only
            || statement.actions.kms_actions() != ActionSet::all()
        {
            continue;
        }
        for account in &principals.accounts {
            match found {
                None => found = Some(account),
                Some(other) if other == account => {}
                Some(_) => return None,
            }
        }
    }
    found
}

/// A compiled `Action` or `NotAction`.
///
/// What the patterns match among KMS actions is a bitset over the catalog. Patterns that
/// start with `kms:` can match nothing else, so only the others (`*`, `s3:Get*`, `k*`) are kept
/// as patterns, for actions of other services. An action named `kms:X` that is not in the
/// catalog is no KMS operation and matches no statement.
#[derive(Debug, Clone)]
pub struct ActionMatcher {
    negated: bool,
    /// The patterns that may match actions of other services.
    other_services: Vec<Wildcard>,
    /// The KMS actions the patterns match (before `NotAction` negation).
    kms: ActionSet,
}

/// `text` without a leading `kms:` (in any case).
fn strip_kms_prefix(text: &str) -> Option<&str> {
    text.get(..4)
        .filter(|p| p.eq_ignore_ascii_case("kms:"))
        .and_then(|_| text.get(4..))
}

impl ActionMatcher {
    fn new(negated: bool, patterns: &[Spanned<String>]) -> Result<Self, (String, String, Span)> {
        let mut other_services = Vec::new();
        let mut kms = ActionSet::EMPTY;
        for p in patterns {
            let kms_only = strip_kms_prefix(&p.value).is_some();
            // Most patterns (`kms:Decrypt`, `kms:Get*`) are answered by the catalog alone and,
            // naming only KMS, need no compiled pattern at all.
            if kms_only && let Some(set) = kms_actions_by_shape(&p.value) {
                kms = kms.union(set);
                continue;
            }
            let w = Wildcard::new(&p.value, Case::Insensitive)
                .map_err(|e| (p.value.clone(), e.reason, p.span))?;
            kms = kms.union(kms_actions_matching(&w));
            if !kms_only {
                other_services.push(w);
            }
        }
        Ok(Self {
            negated,
            other_services,
            kms,
        })
    }

    /// Whether this is `NotAction`.
    pub const fn is_negated(&self) -> bool {
        self.negated
    }

    /// The KMS actions this clause matches, after negation.
    pub fn kms_actions(&self) -> ActionSet {
        if self.negated {
            self.kms.complement()
        } else {
            self.kms
        }
    }

    /// Whether the clause matches the KMS action `action`. One bit test.
    pub const fn matches_kms(&self, action: ActionId) -> bool {
        self.kms.contains(action) != self.negated
    }

    /// Whether the clause matches `action` (`service:Name`, any service), case-insensitively.
    pub fn matches(&self, action: &str) -> bool {
        match catalog::kms_action(action) {
            Some(id) => self.matches_kms(id),
            None if strip_kms_prefix(action).is_some() => false,
            None => self.other_services.iter().any(|p| p.is_match(action)) != self.negated,
        }
    }
}

/// The KMS actions a compiled action pattern matches.
fn kms_actions_matching(pattern: &Wildcard) -> ActionSet {
    kms_actions_by_shape(pattern.as_str()).unwrap_or_else(|| {
        ActionId::all()
            .filter(|id| pattern.is_match(id.qualified_name()))
            .fold(ActionSet::EMPTY, ActionSet::with)
    })
}

/// The KMS actions `pattern` matches, straight from the catalog, for the shapes it can answer
/// without matching every name: `*`, a literal name, and literal text followed by one `*`.
fn kms_actions_by_shape(pattern: &str) -> Option<ActionSet> {
    if pattern == "*" {
        return Some(ActionSet::all());
    }
    let (literal, trailing_star) = match pattern.strip_suffix('*') {
        Some(head) => (head, true),
        None => (pattern, false),
    };
    if crate::wildcard::has_wildcard(literal) {
        return None;
    }
    if !trailing_star {
        return Some(
            catalog::kms_action(literal).map_or(ActionSet::EMPTY, |id| ActionSet::EMPTY.with(id)),
        );
    }
    // `kms:Name*` selects a run of the catalog; a shorter prefix of `kms:` (`k*`, `kms*`)
    // selects all of it; anything else none.
    Some(match strip_kms_prefix(literal) {
        Some(name) => catalog::actions_with_name_prefix(name),
        None if "kms:"
            .get(..literal.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(literal)) =>
        {
            ActionSet::all()
        }
        None => ActionSet::EMPTY,
    })
}

/// A compiled resource pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcePattern {
    /// `*`: every resource (in a key policy: this key).
    Any,
    /// An ARN pattern.
    Arn(Box<ArnPattern>),
    /// A pattern with policy variables in its resource part (`2012-10-17` only): the first
    /// five parts are matched as written (`head`, whose resource part is `*`), and `resource`
    /// is resolved against the request before matching, so on its own it matches nothing (a
    /// variable with no value "will not match any resource"). A `${...}` before the fifth
    /// colon is no variable: AWS substitutes variables only in the resource part, so such a
    /// pattern is an ordinary ARN pattern, matched literally.
    Templated {
        /// Partition, service, Region and account, with `*` for the resource.
        head: Box<ArnPattern>,
        /// The resource part, variables unresolved.
        resource: String,
    },
}

impl ResourcePattern {
    /// Compile one `Resource` value. `variables`: the policy's `Version` is `2012-10-17`.
    pub fn new(pattern: &str, variables: bool) -> Result<Self, crate::arn::ArnPatternError> {
        if pattern == "*" {
            return Ok(Self::Any);
        }
        if variables && let Some(arn) = variable_in_resource_part(pattern) {
            let [partition, service, region, account, resource] = arn.segments();
            return Ok(Self::Templated {
                head: Box::new(ArnPattern::new(&format!(
                    "arn:{partition}:{service}:{region}:{account}:*"
                ))?),
                resource: resource.to_owned(),
            });
        }
        Ok(Self::Arn(Box::new(ArnPattern::resource(pattern)?)))
    }
}

/// The ARN, when `pattern` has a policy variable and the first one starts after the fifth
/// colon (in the resource part, where AWS substitutes variables).
fn variable_in_resource_part(pattern: &str) -> Option<crate::arn::Arn<'_>> {
    let first = pattern.find("${")?;
    let colons = pattern.get(..first)?.bytes().filter(|&b| b == b':').count();
    if colons < 5 {
        return None;
    }
    crate::arn::Arn::parse(pattern)
}

/// Whether `pattern` (a `Resource` value) has a `${...}` before its fifth colon, which AWS does
/// not substitute: it is matched as literal text.
pub fn has_variable_before_resource_part(pattern: &str) -> bool {
    pattern.contains("${") && variable_in_resource_part(pattern).is_none()
}

/// A compiled `Resource` or `NotResource`.
#[derive(Debug, Clone)]
pub struct ResourceMatcher {
    negated: bool,
    patterns: Vec<ResourcePattern>,
}

impl ResourceMatcher {
    fn new(
        negated: bool,
        patterns: &[Spanned<String>],
        variables: bool,
    ) -> Result<Self, (String, String, Span)> {
        let mut compiled = Vec::with_capacity(patterns.len());
        for p in patterns {
            compiled.push(
                ResourcePattern::new(&p.value, variables)
                    .map_err(|e| (p.value.clone(), e.to_string(), p.span))?,
            );
        }
        Ok(Self {
            negated,
            patterns: compiled,
        })
    }

    /// Whether this is `NotResource`.
    pub const fn is_negated(&self) -> bool {
        self.negated
    }

    /// The compiled patterns.
    pub fn patterns(&self) -> &[ResourcePattern] {
        &self.patterns
    }

    /// Whether the clause matches the resource ARN `arn` (or `*` for actions without one).
    /// Templated patterns match nothing here; see [`ResourcePattern::Templated`].
    pub fn matches(&self, arn: &str) -> bool {
        let parsed = crate::arn::Arn::parse(arn);
        let any = self.patterns.iter().any(|p| match p {
            ResourcePattern::Any => true,
            ResourcePattern::Arn(pattern) => parsed.as_ref().is_some_and(|a| pattern.matches(a)),
            ResourcePattern::Templated { .. } => false,
        });
        any != self.negated
    }
}

/// A compiled `Principal` or `NotPrincipal`: the principals it names, grouped by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalSet {
    negated: bool,
    everyone: bool,
    accounts: Vec<String>,
    identities: Vec<String>,
    services: Vec<String>,
    others: Vec<String>,
}

impl PrincipalSet {
    fn new(clause: &PrincipalClause) -> Self {
        let mut set = Self {
            negated: clause.negated,
            ..Self::default()
        };
        let PrincipalValue::Map(entries) = &clause.value else {
            set.everyone = true;
            return set;
        };
        for entry in entries {
            for value in &entry.values {
                match Principal::parse_in_policy(entry.principal_type.value, &value.value) {
                    Ok(Principal::Everyone) => set.everyone = true,
                    Ok(Principal::Account { account } | Principal::Root { account, .. }) => {
                        set.accounts.push(account.to_owned());
                    }
                    Ok(
                        Principal::User { .. }
                        | Principal::Role { .. }
                        | Principal::AssumedRole { .. }
                        | Principal::FederatedUser { .. },
                    ) => set.identities.push(value.value.clone()),
                    Ok(Principal::Service { name }) => set.services.push(name.to_owned()),
                    // Identity providers, canonical users and unique IDs of deleted identities
                    // never match a KMS caller; invalid values were refused by validation.
                    Ok(_) | Err(_) => set.others.push(value.value.clone()),
                }
            }
        }
        set
    }

    /// Whether this is `NotPrincipal`.
    pub const fn is_negated(&self) -> bool {
        self.negated
    }

    /// Whether it names everyone (`"*"` or `{"AWS": "*"}`).
    pub const fn names_everyone(&self) -> bool {
        self.everyone
    }

    /// Whether it names account `account` (bare ID or `:root` ARN).
    pub fn names_account(&self, account: &str) -> bool {
        self.accounts.iter().any(|a| a == account)
    }

    /// Whether it names the identity ARN `arn` exactly (user, role, session, federated user).
    pub fn names_identity(&self, arn: &str) -> bool {
        self.identities.iter().any(|a| a == arn)
    }

    /// Whether it names the service principal `service`.
    pub fn names_service(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }

    /// The accounts named.
    pub fn accounts(&self) -> &[String] {
        &self.accounts
    }

    /// The identity ARNs named.
    pub fn identities(&self) -> &[String] {
        &self.identities
    }

    /// The service principals named.
    pub fn services(&self) -> &[String] {
        &self.services
    }
}

impl StatementMatchers {
    /// Compile a validated document. Fails only on a pattern that cannot be compiled.
    pub fn new(document: &PolicyDocument, kind: PolicyKind) -> Result<Self, Diagnostics> {
        let variables_enabled = document.variables_enabled();
        let mut statements = Vec::with_capacity(document.statements.len());
        let mut diags = Diagnostics::new();
        for (index, statement) in document.statements.iter().enumerate() {
            match compile_statement(index, &statement.value, statement.span, variables_enabled) {
                Ok(s) => statements.push(s),
                Err((pattern, reason, at)) => {
                    diags.push(PolicyErrorKind::InvalidPattern { pattern, reason }, at)
                }
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        let mut action_ranges = Vec::with_capacity(catalog::actions().len());
        let mut action_index = Vec::new();
        for id in ActionId::all() {
            let start = action_index.len() as u32;
            action_index.extend(
                statements
                    .iter()
                    .filter(|s| s.actions.matches_kms(id))
                    .map(|s| s.index as u32),
            );
            action_ranges.push((start, action_index.len() as u32));
        }
        Ok(Self {
            kind,
            variables_enabled,
            statements,
            action_ranges,
            action_index,
        })
    }

    /// The policy kind it was compiled as.
    pub const fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Whether policy variables are substituted (`Version: 2012-10-17`).
    pub const fn variables_enabled(&self) -> bool {
        self.variables_enabled
    }

    /// Every statement, in order.
    pub fn statements(&self) -> &[CompiledStatement] {
        &self.statements
    }

    /// The statements whose action clause matches the KMS action `action`, in order. No
    /// allocation: a precomputed index.
    pub fn statements_for(&self, action: ActionId) -> impl Iterator<Item = &CompiledStatement> {
        let (start, end) = self
            .action_ranges
            .get(action.index())
            .copied()
            .unwrap_or((0, 0));
        self.action_index
            .get(start as usize..end as usize)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| self.statements.get(i as usize))
    }
}

fn compile_statement(
    index: usize,
    statement: &Statement,
    span: Span,
    variables: bool,
) -> Result<CompiledStatement, (String, String, Span)> {
    Ok(CompiledStatement {
        index,
        sid: statement.sid.as_ref().map(|s| s.value.clone()),
        effect: statement.effect.value,
        principals: statement
            .principal
            .as_ref()
            .map(|p| PrincipalSet::new(&p.value)),
        actions: ActionMatcher::new(
            statement.action.value.negated,
            &statement.action.value.patterns,
        )?,
        // Without Resource or NotResource the statement applies to nothing: no pattern.
        resources: match &statement.resource {
            Some(resource) => {
                ResourceMatcher::new(resource.value.negated, &resource.value.patterns, variables)?
            }
            None => ResourceMatcher::new(false, &[], variables)?,
        },
        span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ActionId, kms_action};

    fn delegated(statements: &str) -> Option<String> {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        let document = crate::parse_policy(&text).unwrap();
        let matchers = StatementMatchers::new(&document, PolicyKind::KeyPolicy).unwrap();
        delegated_account(matchers.statements()).map(str::to_owned)
    }

    #[test]
    fn the_delegated_account_is_the_one_an_allow_of_every_action_names() {
        let root = |a: &str, actions: &str| {
            format!(
                r#"{{"Effect":"Allow","Principal":{{"AWS":"{a}"}},"Action":"{actions}","Resource":"*"}}"#
            )
        };
        assert_eq!(
            delegated(&root("arn:aws:iam::111122223333:root", "kms:*")).as_deref(),
            Some("111122223333")
        );
        assert_eq!(
            delegated(&format!(
                "{},{}",
                root("111122223333", "*"),
                root("arn:aws:iam::111122223333:role/admin", "kms:*")
            ))
            .as_deref(),
            Some("111122223333"),
            "a role named beside it delegates nothing"
        );
        assert_eq!(delegated(&root("111122223333", "kms:Decrypt")), None);
        assert_eq!(
            delegated(&format!(
                "{},{}",
                root("111122223333", "kms:*"),
                root("444455556666", "kms:*")
            )),
            None,
            "two accounts: no one account"
        );
    }

    /// The fast paths (exact, `prefix*`, `*`) must select exactly what matching every catalog
    /// name against the pattern selects.
    #[test]
    fn action_patterns_select_the_same_actions_by_every_path() {
        let patterns = [
            "*",
            "kms:*",
            "KMS:*",
            "k*",
            "kms*",
            "km*",
            "s3:*",
            "kms:Create*",
            "kms:create*",
            "kms:Get*",
            "kms:GenerateDataKey*",
            "kms:GenerateDataKeyPair*",
            "kms:ReEncrypt*",
            "kms:Z*",
            "kms:Decrypt",
            "kms:decrypt",
            "kms:De*pt",
            "kms:?ecrypt",
            "*Key",
            "kms:List*",
            "kms:Decrypt*",
            "kms:Encrypt",
            "kms:",
            "kms:UntagResource*",
            "s*",
            "",
        ];
        for text in patterns {
            let pattern = Wildcard::new(text, Case::Insensitive).unwrap();
            let by_scan = ActionId::all()
                .filter(|id| pattern.is_match(id.qualified_name()))
                .fold(ActionSet::EMPTY, ActionSet::with);
            assert_eq!(kms_actions_matching(&pattern), by_scan, "{text}");
        }
        assert_eq!(
            kms_actions_matching(&Wildcard::new("kms:Create*", Case::Insensitive).unwrap()).len(),
            4
        );
        assert!(kms_action("kms:CreateKey").is_some());
        for text in patterns {
            let one = [Spanned::new(text.to_owned(), Span::default())];
            let by_clause = ActionMatcher::new(false, &one).unwrap().kms_actions();
            let pattern = Wildcard::new(text, Case::Insensitive).unwrap();
            assert_eq!(by_clause, kms_actions_matching(&pattern), "{text}");
        }
    }
}

#[cfg(test)]
mod action_matcher_tests {
    use super::*;

    fn clause(negated: bool, patterns: &[&str]) -> ActionMatcher {
        let patterns: Vec<_> = patterns
            .iter()
            .map(|p| Spanned::new((*p).to_owned(), Span::default()))
            .collect();
        ActionMatcher::new(negated, &patterns).unwrap()
    }

    #[test]
    fn other_services_are_matched_by_their_patterns() {
        let c = clause(false, &["kms:Decrypt", "s3:Get*", "*:List*"]);
        assert!(c.matches("kms:decrypt"));
        assert!(c.matches("S3:GetObject"));
        assert!(c.matches("iam:ListRoles"));
        assert!(
            c.matches("kms:ListKeys"),
            "*:List* reaches KMS through the catalog"
        );
        assert!(!c.matches("s3:PutObject"));
        let not = clause(true, &["s3:*"]);
        assert!(not.matches("kms:Decrypt") && not.matches("ec2:RunInstances"));
        assert!(!not.matches("s3:GetObject"));
    }

    #[test]
    fn an_unknown_kms_action_matches_no_statement() {
        // Fail closed: `kms:X` that is not in the catalog is no KMS operation.
        for patterns in [&["kms:*"][..], &["*"], &["kms:Frobnicate"]] {
            assert!(
                !clause(false, patterns).matches("kms:Frobnicate"),
                "{patterns:?}"
            );
        }
        assert!(!clause(true, &["kms:Decrypt"]).matches("kms:Frobnicate"));
    }
}
