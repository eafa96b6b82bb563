//! The compiled form of a policy, built once and used for every decision.
//!
//! Action patterns become a bitset over the KMS catalog (so finding the statements for an
//! action is one table lookup), resource patterns become segment matchers, and principals are
//! parsed and grouped by kind. Condition values are compiled by the `conditions` crate, which
//! keeps the statement index to join the two.

use crate::arn::ArnPattern;
use crate::catalog::{self, ActionId, ActionSet};
use crate::error::{Diagnostics, PolicyErrorKind};
use crate::model::{
    Effect, PolicyDocument, PolicyKind, PrincipalClause, PrincipalValue, Spanned, Statement,
};
use crate::principal::Principal;
use crate::source::Span;
use crate::wildcard::{Case, Wildcard};

/// A policy compiled for evaluation. `Send + Sync`; evaluate it from any number of threads.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    kind: PolicyKind,
    variables_enabled: bool,
    statements: Vec<CompiledStatement>,
    /// For each KMS action (by [`ActionId`]), the statements whose action clause matches it.
    by_action: Vec<Vec<usize>>,
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

/// A compiled `Action` or `NotAction`.
#[derive(Debug, Clone)]
pub struct ActionMatcher {
    negated: bool,
    patterns: Vec<Wildcard>,
    /// The KMS actions the patterns match (before `NotAction` negation).
    kms: ActionSet,
}

impl ActionMatcher {
    fn new(negated: bool, patterns: &[Spanned<String>]) -> Result<Self, (String, String, Span)> {
        let mut compiled = Vec::with_capacity(patterns.len());
        let mut kms = ActionSet::EMPTY;
        for p in patterns {
            let w = Wildcard::new(&p.value, Case::Insensitive)
                .map_err(|e| (p.value.clone(), e.reason, p.span))?;
            kms = kms.union(kms_actions_matching(&w));
            compiled.push(w);
        }
        Ok(Self {
            negated,
            patterns: compiled,
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
            None => self.patterns.iter().any(|p| p.is_match(action)) != self.negated,
        }
    }
}

/// The KMS actions a compiled action pattern matches.
fn kms_actions_matching(pattern: &Wildcard) -> ActionSet {
    if pattern.matches_everything() {
        return ActionSet::all();
    }
    if !crate::wildcard::has_wildcard(pattern.as_str()) {
        return catalog::kms_action(pattern.as_str())
            .map_or(ActionSet::EMPTY, |id| ActionSet::EMPTY.with(id));
    }
    ActionId::all()
        .filter(|id| pattern.is_match(id.qualified_name()))
        .fold(ActionSet::EMPTY, ActionSet::with)
}

/// A compiled resource pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcePattern {
    /// `*`: every resource (in a key policy: this key).
    Any,
    /// An ARN pattern.
    Arn(Box<ArnPattern>),
    /// A pattern with policy variables (`2012-10-17` only): it is resolved against the request
    /// before matching, so on its own it matches nothing (a variable with no value "will not
    /// match any resource").
    Templated(String),
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
            let pattern = if p.value == "*" {
                ResourcePattern::Any
            } else if variables && p.value.contains("${") {
                ResourcePattern::Templated(p.value.clone())
            } else {
                ResourcePattern::Arn(Box::new(
                    ArnPattern::new(&p.value)
                        .map_err(|e| (p.value.clone(), e.to_string(), p.span))?,
                ))
            };
            compiled.push(pattern);
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
            ResourcePattern::Templated(_) => false,
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

impl CompiledPolicy {
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
        let by_action = ActionId::all()
            .map(|id| {
                statements
                    .iter()
                    .filter(|s: &&CompiledStatement| s.actions.matches_kms(id))
                    .map(|s| s.index)
                    .collect()
            })
            .collect();
        Ok(Self {
            kind,
            variables_enabled,
            statements,
            by_action,
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
        self.by_action
            .get(action.index())
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| self.statements.get(i))
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
        resources: ResourceMatcher::new(
            statement.resource.value.negated,
            &statement.resource.value.patterns,
            variables,
        )?,
        span,
    })
}
