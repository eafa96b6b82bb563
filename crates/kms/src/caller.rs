//! Who calls: principal, account, identity policies (compiled once), session tags, source IP,
//! the service calling on the principal's behalf, and any other request-context keys.

use crate::KmsError;
use keyward_authz::{PolicySource, PolicyText, PreparedPolicy};
use keyward_conditions::{ContextValue, RequestContext};
use keyward_policy::principal::Principal;
use std::sync::Arc;

/// A caller of the key service. Build it once per principal (its identity policies are
/// compiled here) and reuse it: cloning is cheap.
#[derive(Debug, Clone)]
pub struct Caller {
    arn: String,
    account: String,
    role_arn: Option<String>,
    identity: Arc<[PreparedPolicy]>,
    via_service: Option<String>,
    context: RequestContext,
}

impl Caller {
    /// A caller with its identity policies (JSON texts). The account is the ARN's.
    pub fn new(arn: &str, identity_policies: &[&str]) -> Result<Self, KmsError> {
        let principal = Principal::parse_caller(arn)
            .map_err(|e| KmsError::validation(format!("caller {arn}: {e}")))?;
        let account = principal
            .account()
            .ok_or_else(|| KmsError::validation(format!("caller {arn}: no account")))?
            .to_owned();
        let role_arn = match principal {
            Principal::AssumedRole {
                partition,
                account,
                role,
                ..
            } => Some(format!("arn:{partition}:iam::{account}:role/{role}")),
            _ => None,
        };
        let identity = identity_policies
            .iter()
            .enumerate()
            .map(|(i, text)| {
                PreparedPolicy::new(
                    PolicySource::IdentityPolicy(i),
                    &PolicyText {
                        text: (*text).to_owned(),
                        offset: None,
                    },
                )
                .map_err(|e| KmsError::validation(format!("identity policy {i} of {arn}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            arn: arn.to_owned(),
            account,
            role_arn,
            identity: identity.into(),
            via_service: None,
            context: RequestContext::new(),
        })
    }

    /// A session tag (`aws:PrincipalTag/<key>`).
    #[must_use]
    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        self.context
            .insert_single(&format!("aws:PrincipalTag/{key}"), value);
        self
    }

    /// The address the request came from (`aws:SourceIp`).
    #[must_use]
    pub fn with_source_ip(mut self, ip: &str) -> Self {
        self.context.insert_single("aws:SourceIp", ip);
        self
    }

    /// The AWS service calling on the principal's behalf (`kms:ViaService`, e.g.
    /// `s3.us-east-1.amazonaws.com`).
    #[must_use]
    pub fn via_service(mut self, service: &str) -> Self {
        self.via_service = Some(service.to_owned());
        self
    }

    /// Any other request-context key (`aws:PrincipalOrgID`, `aws:SecureTransport`, ...).
    #[must_use]
    pub fn with_context(mut self, key: &str, value: ContextValue) -> Self {
        self.context.insert(key, value);
        self
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// The role of an assumed-role session.
    pub fn role_arn(&self) -> Option<&str> {
        self.role_arn.as_deref()
    }

    pub(crate) fn identity(&self) -> &Arc<[PreparedPolicy]> {
        &self.identity
    }

    pub(crate) fn via(&self) -> Option<&str> {
        self.via_service.as_deref()
    }

    pub(crate) fn extra_context(&self) -> &RequestContext {
        &self.context
    }

    /// The ARN the caller's identity is (the role for a session), as `aws:PrincipalArn`.
    pub(crate) fn principal_arn(&self) -> &str {
        self.role_arn.as_deref().unwrap_or(&self.arn)
    }

    /// Whether this is the account's root user.
    pub(crate) fn is_root(&self) -> bool {
        matches!(
            Principal::parse_caller(&self.arn),
            Ok(Principal::Root { .. })
        )
    }
}
