//! The pipeline every operation goes through, written once:
//!
//! resolve the key (hiding from a caller of another account whether it exists) → build the
//! request context → authorize (key policy, the caller's identity policies, grants) → check
//! the key state and the grant tokens → validate the parameters → perform → persist → audit.
//!
//! An operation declares its parts once ([`KmsOperation`]): its typed action, the key states it
//! accepts, the condition keys it sets, what its audit record keeps, the checks of its request's
//! shape, and its pipeline: it reads a key ([`ReadsKey`]), changes one ([`ChangesKey`]) or acts
//! on none ([`WithoutKey`]), with its `validate` and `perform`. The few operations whose shape
//! is their own (two keys for ReEncrypt, an alias and its key, a grant that authorizes its own
//! retirement) write their `run` from the same steps ([`RunsItself`]).

use crate::audit::{AuditDecision, AuditRecord, DenialRecord, UserIdentity};
use crate::caller::Caller;
use crate::entry::{KeyEntry, KeySlot, State};
use crate::error::KmsError;
use crate::key_id::{self, KeyRef};
use crate::key_state::{self, StateClass};
use crate::service::{Enforcement, Kms, compile_key_policy, default_policy};
use crate::store::Change as StoreChange;
use keyward_api::{EncryptionContext, ErrorCode, Operation, RequestMembers};
use keyward_authz::{Authorizer, Judgement, Request, Verdict};
use keyward_conditions::RequestContext;
use keyward_policy::catalog::ActionId;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// The action named `$name` (without `kms:`), found in the catalog when the code is compiled.
macro_rules! action {
    ($name:literal) => {{
        #[allow(
            clippy::panic,
            reason = "evaluated when compiling: a name outside the catalog fails the build"
        )]
        const ACTION: keyward_policy::catalog::ActionId =
            match keyward_policy::catalog::ActionId::named($name) {
                Some(action) => action,
                None => panic!(concat!("kms:", $name, " is not in the catalog")),
            };
        ACTION
    }};
}
pub(crate) use action;

/// Declares an operation: a unit struct named after it, its [`KmsOperation`] parts, and the
/// `validate` and `perform` (or `run`) of its pipeline, in this order:
///
/// ```text
/// operation! {
///     /// Doc.
///     Name(NameRequest) -> NameResponse, via Read, action "Name", state Cryptographic;
///     audit |r| json!({"keyId": r.key_id});            // what the audit record keeps
///     check |r| ...;                                   // optional: the request's shape
///     context |r, keys| ...;                           // optional: its condition keys
///     locate |kms, caller, r| ...;                     // optional (Read): where the key is
///     validate |entry, r| ...;                         // optional (Read, Change)
///     perform |op, entry, r| { ... }                   // Read, Change; `|op, r|` for NoKey;
/// }                                                    // `run |kms, caller, call, r|` for Own
/// ```
macro_rules! operation {
    (
        $(#[$meta:meta])*
        $name:ident($request:ty) -> $response:ty, via $pipeline:ident,
        action $action:literal, state $state:ident;
        audit |$ar:pat_param| $audit:expr;
        $(check |$cr:pat_param| $check:expr;)?
        $(context |$xr:pat_param, $xc:pat_param| $context:expr;)?
        $(locate |$lk:pat_param, $lc:pat_param, $lr:pat_param| $locate:expr;)?
        $(validate |$ve:pat_param, $vr:pat_param| $validate:expr;)?
        perform |$($p:pat_param),*| $body:expr $(;)?
    ) => {
        $crate::gate::operation!(@declare $(#[$meta])* $name, $request, $response, $pipeline,
            $action, $state, |$ar| $audit, [$(|$cr| $check)?], [$(|$xr, $xc| $context)?]);
        $crate::gate::operation!(@$pipeline $name, $request, $response;
            [$(|$lk, $lc, $lr| $locate)?] [$(|$ve, $vr| $validate)?] perform |$($p),*| $body);
    };
    (
        $(#[$meta:meta])*
        $name:ident($request:ty) -> $response:ty, via $pipeline:ident,
        action $action:literal, state $state:ident;
        audit |$ar:pat_param| $audit:expr;
        $(check |$cr:pat_param| $check:expr;)?
        $(context |$xr:pat_param, $xc:pat_param| $context:expr;)?
        run |$($p:pat_param),*| $body:expr $(;)?
    ) => {
        $crate::gate::operation!(@declare $(#[$meta])* $name, $request, $response, $pipeline,
            $action, $state, |$ar| $audit, [$(|$cr| $check)?], [$(|$xr, $xc| $context)?]);
        $crate::gate::operation!(@$pipeline $name, $request, $response; [] [] run |$($p),*| $body);
    };
    (@declare $(#[$meta:meta])* $name:ident, $request:ty, $response:ty, $pipeline:ident,
        $action:literal, $state:ident, |$ar:pat_param| $audit:expr,
        [$(|$cr:pat_param| $check:expr)?], [$(|$xr:pat_param, $xc:pat_param| $context:expr)?]
    ) => {
        $(#[$meta])*
        pub(crate) struct $name;

        impl $crate::gate::KmsOperation for $name {
            type Request = $request;
            type Response = $response;
            type Pipeline = $crate::gate::$pipeline;
            const ACTION: keyward_policy::catalog::ActionId = $crate::gate::action!($action);
            const STATE: $crate::key_state::StateClass = $crate::key_state::StateClass::$state;

            fn audit($ar: &$request) -> serde_json::Value {
                $audit
            }

            $(
                fn check($cr: &$request) -> Result<(), $crate::error::KmsError> {
                    $check
                }
            )?

            $(
                fn context($xr: &$request, $xc: &mut keyward_conditions::RequestContext) {
                    $context;
                }
            )?
        }
    };
    (@Read $name:ident, $request:ty, $response:ty;
        [$(|$lk:pat_param, $lc:pat_param, $lr:pat_param| $locate:expr)?]
        [$(|$ve:pat_param, $vr:pat_param| $validate:expr)?]
        perform |$op:pat_param, $entry:pat_param, $r:pat_param| $body:expr) => {
        impl $crate::gate::ReadsKey for $name {
            $(
                fn locate<'r>(
                    $lk: &$crate::service::Kms,
                    $lc: &$crate::caller::Caller,
                    $lr: &'r $request,
                ) -> Result<std::borrow::Cow<'r, str>, $crate::error::KmsError> {
                    $locate
                }
            )?

            $(
                fn validate(
                    $ve: &$crate::entry::KeyEntry,
                    $vr: &$request,
                ) -> Result<(), $crate::error::KmsError> {
                    $validate
                }
            )?

            fn perform(
                $op: &mut $crate::gate::Allowed<'_>,
                $entry: &$crate::entry::KeyEntry,
                $r: &$request,
            ) -> Result<$response, $crate::error::KmsError> {
                $body
            }
        }
    };
    (@Change $name:ident, $request:ty, $response:ty; []
        [$(|$ve:pat_param, $vr:pat_param| $validate:expr)?]
        perform |$op:pat_param, $entry:pat_param, $r:pat_param| $body:expr) => {
        impl $crate::gate::ChangesKey for $name {
            $(
                fn validate(
                    $ve: &$crate::entry::KeyEntry,
                    $vr: &$request,
                ) -> Result<(), $crate::error::KmsError> {
                    $validate
                }
            )?

            fn perform(
                $op: &mut $crate::gate::Allowed<'_>,
                $entry: &mut $crate::entry::KeyEntry,
                $r: &$request,
            ) -> Result<$response, $crate::error::KmsError> {
                $body
            }
        }
    };
    (@NoKey $name:ident, $request:ty, $response:ty; [] []
        perform |$op:pat_param, $r:pat_param| $body:expr) => {
        impl $crate::gate::WithoutKey for $name {
            fn perform(
                $op: &mut $crate::gate::Allowed<'_>,
                $r: &$request,
            ) -> Result<$response, $crate::error::KmsError> {
                $body
            }
        }
    };
    (@Own $name:ident, $request:ty, $response:ty; [] []
        run |$kms:pat_param, $caller:pat_param, $call:pat_param, $r:pat_param| $body:expr) => {
        impl $crate::gate::RunsItself for $name {
            fn run(
                $kms: &$crate::service::Kms,
                $caller: &$crate::caller::Caller,
                $call: &mut $crate::gate::Call,
                $r: &$request,
            ) -> Result<$response, $crate::error::KmsError> {
                $body
            }
        }
    };
}
pub(crate) use operation;

/// An operation, declared once (with [`operation!`]).
pub(crate) trait KmsOperation: Sized {
    /// Its input; the key it names, its grant tokens, its dry-run flag and its encryption
    /// context are read as [`RequestMembers`] says.
    type Request: RequestMembers;
    /// Its output.
    type Response;
    /// Its pipeline: [`Read`], [`Change`], [`NoKey`], or [`Own`] for an operation whose shape
    /// is its own.
    type Pipeline: Pipeline<Self>;
    /// The action authorized (on the key, or on `*` for an operation without one).
    const ACTION: ActionId;
    /// The key states the operation accepts.
    const STATE: StateClass;

    /// The request parameters the audit record keeps (never a plaintext or key material).
    fn audit(request: &Self::Request) -> Value;

    /// Checks of the request's shape that AWS makes before it looks anything up.
    fn check(_request: &Self::Request) -> Result<(), KmsError> {
        Ok(())
    }

    /// The condition keys the request sets (`kms:EncryptionAlgorithm`, ...).
    fn context(_request: &Self::Request, _context: &mut RequestContext) {}
}

/// How an operation is run: a pipeline of [`Kms`]'s.
pub(crate) trait Pipeline<O: KmsOperation> {
    /// Runs `O` (everything but the audit record, which [`Kms::audited`] leaves).
    fn run(
        kms: &Kms,
        caller: &Caller,
        call: &mut Call,
        request: &O::Request,
    ) -> Result<O::Response, KmsError>;
}

/// The pipeline of [`ReadsKey`] operations.
#[derive(Debug)]
pub(crate) struct Read;

/// The pipeline of [`ChangesKey`] operations.
#[derive(Debug)]
pub(crate) struct Change;

/// The pipeline of [`WithoutKey`] operations.
#[derive(Debug)]
pub(crate) struct NoKey;

/// The pipeline of [`RunsItself`] operations.
#[derive(Debug)]
pub(crate) struct Own;

impl<O: ReadsKey> Pipeline<O> for Read {
    fn run(
        kms: &Kms,
        caller: &Caller,
        call: &mut Call,
        request: &O::Request,
    ) -> Result<O::Response, KmsError> {
        O::check(request)?;
        kms.housekeeping()?;
        let key_id = O::locate(kms, caller, request)?;
        let (slot, named) = kms.resolve(caller, &key_id, O::ACTION)?;
        kms.fresh_for_tokens(&[&slot], request.grant_tokens())?;
        let entry = slot.read()?;
        let judgement = kms.admit::<O>(&entry, &named, caller, call, request)?;
        let entry = &*entry;
        O::validate(entry, request)?;
        if request.dry_run() {
            return Err(KmsError::dry_run());
        }
        let mut op = Allowed {
            kms,
            caller,
            judgement,
            call,
        };
        O::perform(&mut op, entry, request)
    }
}

impl<O: ChangesKey> Pipeline<O> for Change {
    fn run(
        kms: &Kms,
        caller: &Caller,
        call: &mut Call,
        request: &O::Request,
    ) -> Result<O::Response, KmsError> {
        O::check(request)?;
        kms.housekeeping()?;
        let (slot, named) = kms.resolve(caller, request.key_id().unwrap_or_default(), O::ACTION)?;
        kms.fresh_for_tokens(&[&slot], request.grant_tokens())?;
        let mut entry = slot.write()?;
        kms.decide_again_locked(&mut entry, call, |entry, call| {
            let judgement = kms.admit::<O>(entry, &named, caller, call, request)?;
            O::validate(entry, request)?;
            if request.dry_run() {
                return Err(KmsError::dry_run());
            }
            let mut op = Allowed {
                kms,
                caller,
                judgement,
                call,
            };
            kms.commit_key(entry, |entry| O::perform(&mut op, entry, request))
        })
    }
}

impl<O: WithoutKey> Pipeline<O> for NoKey {
    fn run(
        kms: &Kms,
        caller: &Caller,
        call: &mut Call,
        request: &O::Request,
    ) -> Result<O::Response, KmsError> {
        O::check(request)?;
        kms.housekeeping()?;
        let mut context = kms.context(caller, None, &Named::default());
        O::context(request, &mut context);
        let judgement = kms.authorize(call, caller, None, O::ACTION, None, context)?;
        let mut op = Allowed {
            kms,
            caller,
            judgement,
            call,
        };
        O::perform(&mut op, request)
    }
}

impl<O: RunsItself> Pipeline<O> for Own {
    fn run(
        kms: &Kms,
        caller: &Caller,
        call: &mut Call,
        request: &O::Request,
    ) -> Result<O::Response, KmsError> {
        O::run(kms, caller, call, request)
    }
}

/// An operation that reads one key.
pub(crate) trait ReadsKey: KmsOperation {
    /// The key to act on: the one the request names, unless the operation finds it
    /// elsewhere (Decrypt: in the ciphertext).
    fn locate<'r>(
        _kms: &Kms,
        _caller: &Caller,
        request: &'r Self::Request,
    ) -> Result<Cow<'r, str>, KmsError> {
        Ok(Cow::Borrowed(request.key_id().unwrap_or_default()))
    }

    /// Checks the parameters against the key, once the call is allowed (before a dry run
    /// answers).
    fn validate(_entry: &KeyEntry, _request: &Self::Request) -> Result<(), KmsError> {
        Ok(())
    }

    /// Does it.
    fn perform(
        op: &mut Allowed<'_>,
        entry: &KeyEntry,
        request: &Self::Request,
    ) -> Result<Self::Response, KmsError>;
}

/// An operation that changes one key; the change is persisted before the call returns, and
/// undone if `perform` fails or it cannot be persisted.
pub(crate) trait ChangesKey: KmsOperation {
    /// Checks the parameters against the key, once the call is allowed.
    fn validate(_entry: &KeyEntry, _request: &Self::Request) -> Result<(), KmsError> {
        Ok(())
    }

    /// Changes the key.
    fn perform(
        op: &mut Allowed<'_>,
        entry: &mut KeyEntry,
        request: &Self::Request,
    ) -> Result<Self::Response, KmsError>;
}

/// An operation on no key, which identity policies alone decide (`Resource: "*"`).
pub(crate) trait WithoutKey: KmsOperation {
    /// Does it, once allowed.
    fn perform(op: &mut Allowed<'_>, request: &Self::Request) -> Result<Self::Response, KmsError>;
}

/// An operation whose shape is its own (two keys, an alias and its key, a grant that
/// authorizes its own retirement), run from the same steps.
pub(crate) trait RunsItself: KmsOperation {
    /// Runs it.
    fn run(
        kms: &Kms,
        caller: &Caller,
        call: &mut Call,
        request: &Self::Request,
    ) -> Result<Self::Response, KmsError>;
}

/// An allowed call, as `validate` and `perform` see it.
#[derive(Debug)]
pub(crate) struct Allowed<'a> {
    /// The service.
    pub(crate) kms: &'a Kms,
    /// Who calls.
    pub(crate) caller: &'a Caller,
    /// What allowed it.
    pub(crate) judgement: Judgement,
    /// The audit record being gathered.
    pub(crate) call: &'a mut Call,
}

/// What one call gathers for its audit record.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) event: &'static str,
    pub(crate) parameters: Value,
    pub(crate) response: Value,
    pub(crate) resources: Vec<String>,
    pub(crate) decisions: Vec<AuditDecision>,
    /// `additionalEventData` ([`AuditRecord::additional_event_data`]).
    pub(crate) additional: Option<Value>,
}

impl Call {
    pub(crate) fn new(event: &'static str, parameters: Value) -> Self {
        Self {
            event,
            parameters,
            response: Value::Null,
            resources: Vec::new(),
            decisions: Vec::new(),
            additional: None,
        }
    }
}

/// How the request named its key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Named {
    /// The alias name when the key was named through an alias (`kms:RequestAlias`).
    pub(crate) alias: Option<String>,
}

/// The most bytes (as JSON) one request parameter keeps in the audit record of a failed call;
/// a larger one is replaced by a note of its size.
pub(crate) const REFUSED_PARAMETER_BYTES: usize = 1024;

/// Shrinks the parameters of a failed call's record: each member larger than
/// [`REFUSED_PARAMETER_BYTES`] becomes `"<omitted: N bytes>"`.
fn bound_parameters(parameters: &mut Value) {
    let Value::Object(members) = parameters else {
        return;
    };
    for value in members.values_mut() {
        let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
        if size > REFUSED_PARAMETER_BYTES {
            *value = Value::String(format!("<omitted: {size} bytes>"));
        }
    }
}

impl Kms {
    /// Runs one call of `O` and leaves its audit record, allowed or not. The record of a call
    /// that failed keeps its parameters only up to [`REFUSED_PARAMETER_BYTES`] each: a caller
    /// with no permission cannot make the service write much.
    pub(crate) fn audited<O: KmsOperation>(
        &self,
        caller: &Caller,
        operation: Operation,
        request: &O::Request,
    ) -> Result<O::Response, KmsError> {
        let mut call = Call::new(operation.name(), O::audit(request));
        let event_id = self.event_ids.next();
        // With the audit table in the store, a provisional record of the call goes into the
        // transaction of any change it commits: a committed change always has its record, which
        // the final one below replaces.
        let _provisional = self.config.audit_in_store.then(|| {
            let mut record = self
                .audit_record(caller, &call, event_id, None, None)
                .to_json();
            if let Some(keyward) = record.get_mut("keyward").and_then(Value::as_object_mut) {
                keyward.insert("provisional".into(), Value::Bool(true));
            }
            crate::service::PendingAudit::set(StoreChange::audit(event_id, &record))
        });
        let mut attempts = 0;
        let result = loop {
            let result = self.check_fresh().and_then(|()| {
                // An AWS managed key comes into being the first time its service uses it.
                self.ensure_managed_key(
                    caller,
                    request.key_id(),
                    operation == Operation::DescribeKey,
                );
                O::Pipeline::run(self, caller, &mut call, request)
            });
            // Another instance changed what the call read: read it again, and decide the call
            // again from the start (what it recorded goes), a few times at most. (The
            // pipelines of the calls that change a key decide again under a lock of its row
            // first: `Kms::decide_again_locked`.)
            if let Err(error) = &result
                && attempts < crate::follow::CONFLICT_RETRIES
                && matches!(self.retry_after(error), Ok(true))
            {
                attempts += 1;
                call = Call::new(operation.name(), O::audit(request));
                continue;
            }
            break result;
        };
        // The call's locks are released: what it left for other Regions is done now.
        self.run_followups();
        let (error_code, error_message) = match &result {
            Ok(_) => (None, None),
            Err(e) => {
                bound_parameters(&mut call.parameters);
                (Some(e.code().as_str()), e.message())
            }
        };
        let record = AuditRecord {
            request_parameters: call.parameters,
            response_elements: call.response,
            resources: call.resources,
            decisions: call.decisions,
            additional_event_data: call.additional,
            ..self.audit_record(
                caller,
                &Call::new(call.event, Value::Null),
                event_id,
                error_code,
                error_message,
            )
        };
        if self.config.audit_in_store {
            let final_record = StoreChange::audit(event_id, &record.to_json());
            if self.persist_record(final_record).is_err() {
                self.audit_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        self.audit.record(record);
        result
    }

    /// The audit record of `call` so far (its parameters, response, resources and decisions as
    /// they are), with `event_id` and the error, if any.
    fn audit_record(
        &self,
        caller: &Caller,
        call: &Call,
        event_id: uuid::Uuid,
        error_code: Option<&'static str>,
        error_message: Option<String>,
    ) -> AuditRecord {
        AuditRecord {
            event_time: self.clock.now(),
            event_name: call.event,
            region: Arc::clone(&self.region),
            identity: {
                let (arn, account_id) = caller.audit_names();
                UserIdentity {
                    kind: caller.identity_kind,
                    arn,
                    account_id,
                }
            },
            source_ip: caller.source_ip(),
            request_parameters: call.parameters.clone(),
            response_elements: call.response.clone(),
            resources: call.resources.clone(),
            additional_event_data: call.additional.clone(),
            error_code,
            error_message,
            event_id,
            decisions: call.decisions.clone(),
            instance: Arc::clone(&self.instance),
        }
    }

    /// Decides and changes a key with `decide` (which authorizes, then commits); when the
    /// store refuses the write because another instance changed the key meanwhile, locks the
    /// key's row ([`Kms::lock_in_place`]), and decides again on the key as it is under the lock
    /// (what the call recorded goes), where it cannot conflict. `entry` is held for writing
    /// throughout; a lock the second decision did not use is let go at the end.
    pub(crate) fn decide_again_locked<R>(
        &self,
        entry: &mut KeyEntry,
        call: &mut Call,
        mut decide: impl FnMut(&mut KeyEntry, &mut Call) -> Result<R, KmsError>,
    ) -> Result<R, KmsError> {
        let first = decide(entry, call);
        let result = match first {
            Err(KmsError::Store(crate::store::StoreError::Conflict { .. })) => {
                call.resources.clear();
                call.decisions.clear();
                call.response = Value::Null;
                self.lock_in_place(entry).and_then(|()| decide(entry, call))
            }
            other => other,
        };
        entry.held = None;
        result
    }

    /// Resolve, context, authorize, key state, grant tokens: what every key-scoped operation
    /// passes before its own checks. The key, and what allowed the call.
    pub(crate) fn admit<O: KmsOperation>(
        &self,
        entry: &KeyEntry,
        named: &Named,
        caller: &Caller,
        call: &mut Call,
        request: &O::Request,
    ) -> Result<Judgement, KmsError> {
        call.resources.push(entry.meta.arn.clone());
        if let Some(store_id) = &entry.meta.custom_key_store_id {
            call.additional = Some(self.key_stores.event_data(store_id));
        }
        let encryption_context = request.encryption_context();
        let mut context = self.context(caller, Some(entry), named);
        if let Some(pairs) = encryption_context {
            context.insert_encryption_context(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        O::context(request, &mut context);
        let judgement = self.authorize(
            call,
            caller,
            Some(entry),
            O::ACTION,
            encryption_context,
            context,
        )?;
        crate::managed::refuse_change(entry, O::ACTION)?;
        key_state::check(entry, O::STATE)?;
        entry.check_grant_tokens(request.grant_tokens())?;
        Ok(judgement)
    }

    /// Finds the key a request names (key ID, key ARN, alias name, alias ARN, as `action`'s
    /// `KeyId` accepts: [`crate::key_id`]). A bare key ID or alias name is in the caller's
    /// account; an ARN names its account. A caller of another account never learns whether a
    /// key exists: it gets `AccessDeniedException`. The key's slot, found under the map's
    /// lock and returned without it: lock the key to use it.
    pub(crate) fn resolve(
        &self,
        caller: &Caller,
        key_id: &str,
        action: ActionId,
    ) -> Result<(Arc<KeySlot>, Named), KmsError> {
        self.fill(caller, key_id, action)?;
        let state = self.read()?;
        self.resolve_in(&state, caller, key_id, action)
    }

    /// As [`resolve`](Self::resolve), under a lock of the map the caller holds (so a key or
    /// alias of a shared store not held here is not read: call [`Kms::fill`] before taking
    /// the lock).
    pub(crate) fn resolve_in(
        &self,
        state: &State,
        caller: &Caller,
        key_id: &str,
        action: ActionId,
    ) -> Result<(Arc<KeySlot>, Named), KmsError> {
        let reference = key_id::parse(key_id, action)?;
        let (KeyRef::Key { arn, .. } | KeyRef::Alias { arn, .. }) = &reference;
        let account = match arn {
            Some(arn) => {
                if arn.region != self.config.region {
                    return Err(KmsError::not_found(format!("Invalid arn {}", arn.region)));
                }
                if arn.partition != self.partition {
                    return Err(KmsError::refused(
                        ErrorCode::InvalidArn,
                        format!("Invalid arn {key_id}"),
                    ));
                }
                arn.account
            }
            None => caller.account(),
        };
        let foreign = account != caller.account();
        let hidden = |arn: &str| {
            KmsError::denied(
                format!(
                    "User: {} is not authorized to perform: {action} on resource: {arn} because no resource-based policy allows the {action} action",
                    caller.arn(),
                ),
                Verdict::ImplicitDeny,
                Vec::new(),
            )
        };
        match reference {
            KeyRef::Alias { name, .. } => {
                let target = state
                    .aliases
                    .get(account, name)
                    .and_then(|a| state.slot(&a.key_id));
                match target {
                    Some(slot) => Ok((
                        slot,
                        Named {
                            alias: Some(name.to_owned()),
                        },
                    )),
                    None if foreign => Err(hidden(&self.alias_arn(account, name))),
                    None => Err(KmsError::not_found(format!(
                        "Alias {} is not found.",
                        self.alias_arn(account, name)
                    ))),
                }
            }
            KeyRef::Key { id, .. } => match state.slot(id).filter(|slot| slot.account == account) {
                Some(slot) => Ok((slot, Named::default())),
                None if foreign => Err(hidden(&self.key_arn(account, id))),
                None => Err(KmsError::not_found(format!(
                    "Key '{}' does not exist",
                    self.key_arn(account, id)
                ))),
            },
        }
    }

    /// The key an alias of the caller's account points to (alias operations name the alias,
    /// never a key), or `NotFoundException` with AWS's message.
    pub(crate) fn resolve_alias(
        &self,
        state: &State,
        caller: &Caller,
        alias_name: &str,
    ) -> Result<Arc<KeySlot>, KmsError> {
        state
            .aliases
            .get(caller.account(), alias_name)
            .and_then(|a| state.slot(&a.key_id))
            .ok_or_else(|| {
                KmsError::not_found(format!(
                    "Alias {} is not found.",
                    self.alias_arn(caller.account(), alias_name)
                ))
            })
    }

    /// The request context of a call: the caller's layer (its principal keys, session tags,
    /// source IP, `kms:ViaService`), the key's layer above it (what the key is, its aliases and
    /// tags), and `kms:RequestAlias` when the key was named through an alias. The operation
    /// adds its own keys.
    pub(crate) fn context(
        &self,
        caller: &Caller,
        entry: Option<&KeyEntry>,
        named: &Named,
    ) -> RequestContext {
        let mut ctx = RequestContext::new();
        ctx.with_layer(Arc::clone(caller.layer()));
        if let Some(entry) = entry {
            ctx.with_layer(Arc::clone(&entry.context));
        }
        // The request's own address, above both layers, as if the caller had brought it.
        if let Some(ip) = caller.request_ip() {
            ctx.insert_single("aws:SourceIp", ip);
        }
        if let Some(alias) = &named.alias {
            ctx.insert_single("kms:RequestAlias", alias);
        }
        ctx
    }

    /// The `authz` request for `caller` doing `action` on `resource` (`*` for actions without
    /// a key; an alias ARN with `target_key` for alias operations).
    pub(crate) fn request(
        &self,
        caller: &Caller,
        action: ActionId,
        resource: String,
        target_key: Option<String>,
        encryption_context: Option<&EncryptionContext>,
        context: RequestContext,
    ) -> Request {
        // Nothing of the parse is kept: most key policies say `"Resource": "*"`, so a kept
        // parse would be an allocation per call for nothing; a statement that reads the
        // resource parses it once per decision.
        let resource_account =
            keyward_policy::arn::Arn::parse(&resource).map(|a| a.account.to_owned());
        Request {
            principal: caller.arn().to_owned(),
            principal_account: Some(caller.account().to_owned()),
            principal_role_arn: caller.role_arn().map(str::to_owned),
            action,
            resource,
            resource_account,
            target_key,
            key_policy: None,
            identity_policies: Vec::new(),
            grants: Vec::new(),
            grant_tokens: Vec::new(),
            encryption_context: encryption_context
                .map(|pairs| pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            context,
            parsed_caller: caller.parsed().clone(),
            parsed_resource: keyward_policy::arn::ParsedArn::default(),
        }
    }

    /// Asks `authz` whether `caller` may perform `action` on `entry` (or, without a key, on
    /// `*` by identity policies alone); records the decision in the call. On an allow, what
    /// allowed (the basis and the deciding statements or grants).
    pub(crate) fn authorize(
        &self,
        call: &mut Call,
        caller: &Caller,
        entry: Option<&KeyEntry>,
        action: ActionId,
        encryption_context: Option<&EncryptionContext>,
        context: RequestContext,
    ) -> Result<Judgement, KmsError> {
        let resource = entry.map_or_else(|| "*".to_owned(), |e| e.meta.arn.clone());
        let request = self.request(caller, action, resource, None, encryption_context, context);
        self.decide(call, caller, entry, &request)
    }

    /// Authorizes a key-scoped `action` that the caller's IAM policies alone decide, for a key
    /// that does not exist yet: `kms:TagResource` when CreateKey has `Tags` ("you must have
    /// kms:TagResource permission in an IAM policy"). The key side is the default key policy of
    /// the caller's account, which delegates to IAM.
    pub(crate) fn authorize_by_iam(
        &self,
        call: &mut Call,
        caller: &Caller,
        action: ActionId,
        context: RequestContext,
    ) -> Result<(), KmsError> {
        let delegation = Arc::new(compile_key_policy(&default_policy(
            self.partition,
            caller.account(),
        ))?);
        let request = self.request(caller, action, "*".to_owned(), None, None, context);
        let authorizer = Authorizer::from_parts(
            Some(delegation),
            Arc::clone(caller.identity()),
            Arc::default(),
        );
        self.judged(call, caller, &authorizer, &request).map(drop)
    }

    /// An alias operation: `authz` checks the action on the alias ARN (identity policies) and
    /// on the key it targets (key policy, delegated identity policies).
    pub(crate) fn authorize_alias(
        &self,
        call: &mut Call,
        caller: &Caller,
        entry: &KeyEntry,
        action: ActionId,
        alias_name: &str,
    ) -> Result<(), KmsError> {
        let arn = self.alias_arn(caller.account(), alias_name);
        let context = self.context(caller, Some(entry), &Named::default());
        let request = self.request(
            caller,
            action,
            arn,
            Some(entry.meta.arn.clone()),
            None,
            context,
        );
        self.decide(call, caller, Some(entry), &request).map(drop)
    }

    /// Puts `request` to `authz` with the key's policy and grants and the caller's identity
    /// policies; records the decision in the call. On an allow, the judgement.
    pub(crate) fn decide(
        &self,
        call: &mut Call,
        caller: &Caller,
        entry: Option<&KeyEntry>,
        request: &Request,
    ) -> Result<Judgement, KmsError> {
        let authorizer = Authorizer::from_parts(
            entry.map(|e| Arc::clone(&e.policy)),
            Arc::clone(caller.identity()),
            entry.map_or_else(Arc::default, |e| Arc::clone(&e.grant_set)),
        );
        self.judged(call, caller, &authorizer, request)
    }

    /// The judgement of `authorizer` on `request`, recorded in the call; a denial pays for the
    /// full decision, AWS's message and the explanation. In report mode a denial is recorded
    /// and the call goes on with the judgement as it is (no basis: nothing allowed it).
    fn judged(
        &self,
        call: &mut Call,
        caller: &Caller,
        authorizer: &Authorizer,
        request: &Request,
    ) -> Result<Judgement, KmsError> {
        let judgement = authorizer.judge(request);
        if judgement.verdict == Verdict::Allow {
            call.decisions.push(AuditDecision {
                action: request.action,
                resource: request.resource.clone(),
                verdict: judgement.verdict,
                reasons: judgement.reasons.clone(),
                denial: None,
            });
            return Ok(judgement);
        }
        let decision = authorizer.decide(request);
        let message = decision.message.unwrap_or_else(|| {
            format!(
                "User: {} is not authorized to perform: {}",
                caller.arn(),
                request.action
            )
        });
        self.refuse(
            call,
            AuditDecision {
                action: request.action,
                resource: request.resource.clone(),
                verdict: judgement.verdict,
                reasons: judgement.reasons.clone(),
                denial: None,
            },
            message,
            decision.explanation,
        )?;
        Ok(judgement)
    }

    /// A denial, recorded in the call: in enforce mode the `AccessDeniedException` with
    /// `message`; in report mode `Ok`, the call going on. Every permission refusal of every
    /// operation comes through here.
    pub(crate) fn refuse(
        &self,
        call: &mut Call,
        mut decision: AuditDecision,
        message: String,
        explanation: String,
    ) -> Result<(), KmsError> {
        let enforced = self.config.enforcement == Enforcement::Enforce;
        let (verdict, reasons) = (decision.verdict, decision.reasons.clone());
        decision.denial = Some(DenialRecord {
            message: message.clone(),
            explanation,
            enforced,
        });
        call.decisions.push(decision);
        if enforced {
            Err(KmsError::denied(message, verdict, reasons))
        } else {
            Ok(())
        }
    }
}
