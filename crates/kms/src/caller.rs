//! Who calls: principal, account, identity policies (compiled once), session tags, source IP,
//! the service calling on the principal's behalf, and any other request-context keys.

use keyward_authz::{
    CompiledPolicy, PolicySource, PolicyText, RequestError, compile_policy, insert_caller,
    insert_principal_kind,
};
use keyward_conditions::{ContextValue, RequestContext};
use keyward_policy::principal::{ParsedCaller, Principal};
use std::sync::Arc;

/// Why a caller could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    /// The ARN is not a principal that can call.
    #[error("caller {arn}: {why}")]
    Principal {
        /// The ARN given.
        arn: String,
        /// What is wrong with it.
        why: String,
    },
    /// The principal is in no account (a service principal cannot call the key service).
    #[error("caller {arn}: no account")]
    NoAccount {
        /// The ARN given.
        arn: String,
    },
    /// An identity policy does not compile.
    #[error("identity policy {index} of {arn}: {source}")]
    IdentityPolicy {
        /// The caller.
        arn: String,
        /// Its position among the caller's policies.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: Box<RequestError>,
    },
}

/// A caller of the key service. Build it once per principal (its identity policies are
/// compiled here) and reuse it: cloning is cheap (counts, no copies), and a request's source
/// address ([`Caller::with_source_ip`]) rebuilds nothing.
#[derive(Debug, Clone)]
pub struct Caller {
    arn: Arc<str>,
    account: Arc<str>,
    role_arn: Option<Arc<str>>,
    /// `arn` parsed, shared with every request the caller makes.
    parsed: ParsedCaller,
    identity: Arc<[CompiledPolicy]>,
    via_service: Option<Arc<str>>,
    /// Keys the caller brings (session tags, anything else), as given.
    context: Arc<RequestContext>,
    /// Every key the caller contributes to every request, typed once: `context`, then
    /// `kms:ViaService`, then the principal keys (which nothing the caller adds can replace).
    layer: Arc<RequestContext>,
    /// The address this request came from (`aws:SourceIp`), set per request above the layer
    /// ([`Caller::with_source_ip`]).
    request_ip: Option<Arc<str>>,
    /// For the audit record.
    pub(crate) identity_kind: &'static str,
}

impl Caller {
    /// A caller with its identity policies (JSON texts). The account is the ARN's.
    pub fn new(arn: &str, identity_policies: &[&str]) -> Result<Self, CallerError> {
        let principal = Principal::parse_caller(arn).map_err(|e| CallerError::Principal {
            arn: arn.to_owned(),
            why: e.to_string(),
        })?;
        let account = principal
            .account()
            .ok_or_else(|| CallerError::NoAccount {
                arn: arn.to_owned(),
            })?
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
                compile_policy(
                    PolicySource::IdentityPolicy(i),
                    &PolicyText::new((*text).to_owned()),
                )
                .map_err(|e| CallerError::IdentityPolicy {
                    arn: arn.to_owned(),
                    index: i,
                    source: Box::new(e),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let identity_kind = match principal {
            Principal::Root { .. } => "Root",
            Principal::AssumedRole { .. } => "AssumedRole",
            _ => "IAMUser",
        };
        let mut caller = Self {
            parsed: ParsedCaller::of(arn, &principal),
            arn: arn.into(),
            account: account.into(),
            role_arn: role_arn.map(Into::into),
            identity: identity.into(),
            via_service: None,
            context: Arc::default(),
            layer: Arc::default(),
            request_ip: None,
            identity_kind,
        };
        caller.relayer();
        Ok(caller)
    }

    /// Rebuilds the caller's context layer after a change.
    fn relayer(&mut self) {
        let mut layer = RequestContext::clone(&self.context);
        if let Some(service) = &self.via_service {
            layer.insert_single("kms:ViaService", service);
        }
        insert_caller(
            &mut layer,
            self.role_arn.as_deref().unwrap_or(&self.arn),
            &self.account,
        );
        if let Some(principal) = self.parsed.get(&self.arn) {
            insert_principal_kind(&mut layer, &principal);
        }
        self.layer = Arc::new(layer);
    }

    /// `sourceIPAddress` of the audit record: the request's address, or an `aws:SourceIp` the
    /// caller was given as a context key.
    pub(crate) fn source_ip(&self) -> Option<String> {
        match &self.request_ip {
            Some(ip) => Some(ip.to_string()),
            None => self
                .layer
                .get("aws:SourceIp")
                .and_then(|v| v.scalars().first())
                .map(|s| s.text().to_owned()),
        }
    }

    /// A session tag (`aws:PrincipalTag/<key>`).
    #[must_use]
    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        Arc::make_mut(&mut self.context).insert_single(&format!("aws:PrincipalTag/{key}"), value);
        self.relayer();
        self
    }

    /// The address the request came from (`aws:SourceIp`). Set on the request, above the
    /// caller's shared layer, which it does not rebuild: a server gives each request its
    /// client's address for the cost of one string.
    #[must_use]
    pub fn with_source_ip(mut self, ip: &str) -> Self {
        self.request_ip = Some(ip.into());
        self
    }

    /// The address set by [`with_source_ip`](Self::with_source_ip), if any.
    pub(crate) fn request_ip(&self) -> Option<&str> {
        self.request_ip.as_deref()
    }

    /// The AWS service calling on the principal's behalf (`kms:ViaService`, e.g.
    /// `s3.us-east-1.amazonaws.com`).
    #[must_use]
    pub fn via_service(mut self, service: &str) -> Self {
        self.via_service = Some(service.into());
        self.relayer();
        self
    }

    /// The AWS service the caller's requests come through (`kms:ViaService`), if any.
    pub fn via_service_name(&self) -> Option<&str> {
        self.via_service.as_deref()
    }

    /// Any other request-context key (`aws:PrincipalOrgID`, `aws:SecureTransport`, ...).
    #[must_use]
    pub fn with_context(mut self, key: &str, value: ContextValue) -> Self {
        Arc::make_mut(&mut self.context).insert(key, value);
        self.relayer();
        self
    }

    /// The caller's ARN parsed, for the requests it makes.
    pub(crate) fn parsed(&self) -> &ParsedCaller {
        &self.parsed
    }

    /// The caller's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The caller's account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The role of an assumed-role session.
    pub fn role_arn(&self) -> Option<&str> {
        self.role_arn.as_deref()
    }

    /// The caller's ARN and account, shared, for the audit record.
    pub(crate) fn audit_names(&self) -> (Arc<str>, Arc<str>) {
        (Arc::clone(&self.arn), Arc::clone(&self.account))
    }

    pub(crate) fn identity(&self) -> &Arc<[CompiledPolicy]> {
        &self.identity
    }

    /// The caller's context layer.
    pub(crate) fn layer(&self) -> &Arc<RequestContext> {
        &self.layer
    }
}
