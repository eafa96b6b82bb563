//! Permissions boundaries: the most an IAM user's or role's identity-based permissions may be
//! (IAM User Guide, "Permissions boundaries for IAM entities"). A `Deny` in the boundary
//! refuses the request whatever allowed it. A request the boundary does not allow is refused,
//! except where a resource-based policy in the principal's own account allows the principal's
//! own ARN: an IAM user's, or a role session's, but not the role's (an allow to the role ARN is
//! limited by the boundary, one to the session ARN is not). For KMS, the key policy is that
//! resource-based policy. Whether a grant is limited by the boundary the KMS documentation does
//! not say; the analysis takes the fail-closed reading: it is.

use crate::AnalysisError;
use crate::mentions::{Mentions, StatementKeys};
use crate::scp::{Says, says_on};
use keyward_authz::{PolicySource, Reason, Request, Source};
use keyward_conditions::{CompiledPolicy, KeyTest};
use keyward_policy::catalog::ActionId;
use keyward_policy::principal::Principal;
use keyward_policy::{Effect, PolicyKind, parse_and_validate};

/// A permissions boundary compiled, with the keys each statement reads.
#[derive(Debug)]
pub(crate) struct Boundary {
    /// How refusals name it (the managed policy's ARN).
    name: String,
    policy: CompiledPolicy,
    keys: StatementKeys,
}

impl Boundary {
    pub(crate) fn new(
        name: &str,
        text: &str,
        mentions: &mut Mentions,
    ) -> Result<Self, AnalysisError> {
        let what = |d: &dyn std::fmt::Display| {
            AnalysisError::Policy(format!("permissions boundary {name}: {d}"))
        };
        let document =
            parse_and_validate(text, PolicyKind::IdentityPolicy).map_err(|d| what(&d))?;
        let keys = mentions.add_policy(&document)?;
        let policy = CompiledPolicy::from_document(&document, PolicyKind::IdentityPolicy)
            .map_err(|d| what(&d))?;
        Ok(Self {
            name: name.to_owned(),
            policy,
            keys,
        })
    }

    /// Why the boundary refuses `request`, which `authz` allowed for `reasons` under the key
    /// policy `key_policy`: a statement of the boundary that denies it, or no statement that
    /// allows it while the allow is not the key policy's to the caller's own ARN.
    pub(crate) fn refusal(
        &self,
        request: &Request,
        reasons: &[Reason],
        key_policy: &CompiledPolicy,
    ) -> Option<String> {
        // Each resource on its own, each read once: an alias operation's alias, then the key.
        let key = request.target_key.as_deref().unwrap_or(&request.resource);
        let on_alias = request
            .target_key
            .as_ref()
            .map(|_| says_on(&self.policy, request, &request.resource));
        let on_key = says_on(&self.policy, request, key);
        for said in on_alias.iter().chain([&on_key]) {
            if let Says::Denies(statement) = said {
                return Some(format!(
                    "denied by {statement} of the permissions boundary {}",
                    self.name
                ));
            }
        }
        // The alias has no resource-based policy: the boundary must allow it there. The key:
        // the boundary, or the key policy's allow to the caller's own ARN.
        let alias_allowed = on_alias.is_none_or(|s| matches!(s, Says::Allows));
        if alias_allowed
            && (matches!(on_key, Says::Allows) || allowed_to_own_arn(request, reasons, key_policy))
        {
            return None;
        }
        Some(format!(
            "not allowed by the permissions boundary {}",
            self.name
        ))
    }

    /// The statements with a condition, at their place in signatures (source 4, boundary
    /// `place`).
    pub(crate) fn conditions(
        &self,
        place: usize,
    ) -> impl Iterator<Item = ((u8, usize, usize), &[KeyTest])> {
        self.policy.statements().iter().filter_map(move |s| {
            self.policy
                .condition(s)
                .map(|c| ((4u8, place, s.index), c.tests()))
        })
    }

    /// The statements that can apply to `action`.
    pub(crate) fn signature(
        &self,
        place: usize,
        action: ActionId,
        out: &mut Vec<(u8, usize, usize)>,
    ) {
        out.extend(
            self.policy
                .statements_for(action)
                .map(|s| (4, place, s.index)),
        );
    }

    /// The keys statement `statement` reads.
    pub(crate) fn keys(&self, statement: usize) -> Option<&std::collections::BTreeSet<String>> {
        self.keys.get(statement)
    }
}

/// Whether the allow comes from a key-policy statement that names the caller's own ARN (an IAM
/// user, or a role session; not a role, an account or everyone) in the key's account.
fn allowed_to_own_arn(request: &Request, reasons: &[Reason], key_policy: &CompiledPolicy) -> bool {
    let own = matches!(
        request.caller(),
        Some(Principal::User { .. } | Principal::AssumedRole { .. })
    );
    own && request.same_account()
        && reasons.iter().any(|r| {
            r.effect == Effect::Allow
                && r.source == Source::Policy(PolicySource::KeyPolicy)
                && r.statement
                    .and_then(|i| key_policy.statements().get(i))
                    .and_then(|s| s.principals.as_ref())
                    .is_some_and(|p| !p.is_negated() && p.names_identity(&request.principal))
        })
}
