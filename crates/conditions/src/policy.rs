//! The compiled policy: the one form a policy takes for evaluation. It is built once from the
//! policy's text (or its validated document) and used by validation (`keyward validate`) and
//! by every authorization decision.
//!
//! It joins, by statement index, what the two crates compile: the statement matchers of
//! [`keyward_policy::compile`] (actions indexed through the catalog, resource ARN patterns,
//! principals), the compiled `Condition` of each statement, and each resource pattern with
//! policy variables as a [`Template`] resolved against the request.
//!
//! ```
//! use keyward_conditions::{CompiledPolicy, RequestContext};
//! use keyward_policy::{PolicyKind, catalog};
//!
//! let policy = CompiledPolicy::new(r#"{
//!   "Version": "2012-10-17",
//!   "Statement": {
//!     "Effect": "Allow", "Action": "kms:Decrypt",
//!     "Resource": "arn:aws:kms:us-east-1:111122223333:key/${aws:PrincipalTag/key}",
//!     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
//!   }
//! }"#, PolicyKind::IdentityPolicy)?;
//! let decrypt = catalog::kms_action("kms:Decrypt").ok_or("kms:Decrypt is in the catalog")?;
//! let statement = policy.statements_for(decrypt).next().ok_or("one statement matches")?;
//!
//! let mut request = RequestContext::new();
//! request.insert_single("aws:PrincipalTag/key", "1234");
//! request.insert_single("kms:ViaService", "s3.us-east-1.amazonaws.com");
//! let key = |id| format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
//! assert!(policy.covers_resource(statement, &key("1234"), &request));
//! assert!(!policy.covers_resource(statement, &key("5678"), &request));
//! assert!(policy.condition(statement).is_some_and(|c| c.evaluate(&request)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::condition::{CompiledCondition, compile_conditions};
use crate::context::RequestContext;
use crate::variables::Template;
use keyward_policy::arn::LazyArn;
use keyward_policy::catalog::ActionId;
use keyward_policy::compile::{CompiledStatement, ResourcePattern, StatementMatchers};
use keyward_policy::wildcard::Case;
use keyward_policy::{Diagnostics, PolicyDocument, PolicyKind, parse_and_validate};

/// A policy compiled for evaluation: its statement matchers, conditions and resource
/// templates. `Send + Sync`; evaluate it from any number of threads.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    matchers: StatementMatchers,
    /// The compiled `Condition` of each statement, by statement index (`None` where there is
    /// none).
    conditions: Vec<Option<CompiledCondition>>,
    /// Resource patterns with policy variables, by statement index, in pattern order.
    resource_templates: Vec<Vec<Option<Template>>>,
}

impl CompiledPolicy {
    /// Every check there is for `text` as a policy of `kind`, and the compiled form: the
    /// grammar, the kind's rules, each condition value read as its operator requires, and every
    /// pattern compiled. Fails with every problem found by the first stage that finds any.
    pub fn new(text: &str, kind: PolicyKind) -> Result<Self, Diagnostics> {
        let document = parse_and_validate(text, kind)?;
        Self::from_document(&document, kind)
    }

    /// Compile a document that passed [`keyward_policy::validate()`] as a policy of `kind`:
    /// its conditions first, then its statement matchers.
    pub fn from_document(document: &PolicyDocument, kind: PolicyKind) -> Result<Self, Diagnostics> {
        let conditions = compile_conditions(document)?;
        let matchers = StatementMatchers::new(document, kind)?;
        let resource_templates = matchers
            .statements()
            .iter()
            .map(|s| {
                s.resources
                    .patterns()
                    .iter()
                    .map(|p| match p {
                        ResourcePattern::Templated { resource, .. } => Template::parse(resource),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            matchers,
            conditions,
            resource_templates,
        })
    }

    /// The policy kind it was compiled as.
    #[inline]
    pub const fn kind(&self) -> PolicyKind {
        self.matchers.kind()
    }

    /// The statement matchers.
    #[inline]
    pub const fn matchers(&self) -> &StatementMatchers {
        &self.matchers
    }

    /// Every statement, in order.
    #[inline]
    pub fn statements(&self) -> &[CompiledStatement] {
        self.matchers.statements()
    }

    /// The statements whose action clause matches the KMS action `action`, in order. No
    /// allocation: a precomputed index.
    #[inline]
    pub fn statements_for(&self, action: ActionId) -> impl Iterator<Item = &CompiledStatement> {
        self.matchers.statements_for(action)
    }

    /// The compiled `Condition` of statement `s`, if it has one.
    #[inline]
    pub fn condition(&self, s: &CompiledStatement) -> Option<&CompiledCondition> {
        self.conditions.get(s.index).and_then(Option::as_ref)
    }

    /// Whether statement `s`'s `Resource`/`NotResource` covers `resource`, policy variables
    /// resolved against `context` (a variable with no value matches no resource). No
    /// allocation for patterns without variables. A caller that asks about several statements
    /// parses the resource once with [`covers`](Self::covers).
    #[inline]
    pub fn covers_resource(
        &self,
        s: &CompiledStatement,
        resource: &str,
        context: &RequestContext,
    ) -> bool {
        self.covers(s, &LazyArn::new(resource), context)
    }

    /// As [`covers_resource`](Self::covers_resource), with the resource parsed at most once
    /// for every statement asked about: at the first pattern that needs it (`"Resource": "*"`
    /// never does).
    #[inline]
    pub fn covers(
        &self,
        s: &CompiledStatement,
        resource: &LazyArn<'_>,
        context: &RequestContext,
    ) -> bool {
        // `"Resource": "*"`, the most common, without looking further.
        if let [ResourcePattern::Any] = s.resources.patterns() {
            return !s.resources.is_negated();
        }
        let any = s
            .resources
            .patterns()
            .iter()
            .enumerate()
            .any(|(i, p)| match p {
                ResourcePattern::Any => true,
                ResourcePattern::Arn(pattern) => resource.arn().is_some_and(|a| pattern.matches(a)),
                ResourcePattern::Templated { head, .. } => resource.arn().is_some_and(|a| {
                    head.matches(a)
                        && self
                            .resource_templates
                            .get(s.index)
                            .and_then(|t| t.get(i))
                            .and_then(Option::as_ref)
                            .is_some_and(|t| {
                                t.matches_pattern(a.resource, context, Case::Sensitive)
                            })
                }),
            });
        any != s.resources.is_negated()
    }
}
