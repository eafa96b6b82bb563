//! Which key states allow which operations (the KMS Developer Guide, "Key states of AWS KMS
//! keys", its table of operations by key state), and AWS's error for the rest.

use crate::entry::KeyEntry;
use crate::error::{KeyStateError, StateProblem};
use keyward_api::KeyState;

/// The rows of the key-state table: the states an operation may find its key in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateClass {
    /// Encrypt, Decrypt, data keys, Sign, MAC, CreateGrant: Enabled only.
    Cryptographic,
    /// Enable/DisableKey: not pending deletion or import.
    EnableDisable,
    /// Tagging, description, aliases, ScheduleKeyDeletion, import: not pending deletion.
    NotPendingDeletion,
    /// CancelKeyDeletion.
    PendingDeletionOnly,
    /// Enable/DisableKeyRotation: Enabled only (Disabled is `DisabledException`; a key with
    /// imported material rotates no automatic way: `UnsupportedOperationException`).
    Rotation,
    /// RotateKeyOnDemand: Enabled only; a key pending import is `KMSInvalidStateException`
    /// ("<arn> is pending import."), checked before the key's origin (AWS's recordings).
    OnDemandRotation,
    /// DescribeKey, policies, grants listing/retiring/revoking: any state.
    Any,
}

/// Whether `entry`'s state allows an operation of `class`; AWS's error when it does not.
pub(crate) fn check(entry: &KeyEntry, class: StateClass) -> Result<(), KeyStateError> {
    use KeyState::*;
    use StateClass::*;
    // A primary key waiting for its replicas' deletion is refused as a key pending deletion
    // ("<arn> is pending deletion (or pending replica deletion)" in AWS's table).
    let state = match entry.state() {
        PendingReplicaDeletion => PendingDeletion,
        other => other,
    };
    let problem = match (class, state) {
        (Any, _) | (PendingDeletionOnly, PendingDeletion) => None,
        (Cryptographic | Rotation | OnDemandRotation, Enabled) => None,
        (Cryptographic | Rotation | OnDemandRotation, Disabled) => Some(StateProblem::Disabled),
        (
            Cryptographic | Rotation | OnDemandRotation | NotPendingDeletion | EnableDisable,
            PendingDeletion,
        ) => Some(StateProblem::PendingDeletion),
        (Cryptographic | OnDemandRotation | EnableDisable, PendingImport) => {
            Some(StateProblem::PendingImport)
        }
        (Rotation, PendingImport) => Some(StateProblem::ExternalOrigin),
        (NotPendingDeletion | EnableDisable, Enabled | Disabled)
        | (NotPendingDeletion, PendingImport) => None,
        (PendingDeletionOnly, Enabled | Disabled | PendingImport) => {
            Some(StateProblem::NotPendingDeletion)
        }
        (_, PendingReplicaDeletion) => Some(StateProblem::PendingDeletion),
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(KeyStateError {
            key_arn: entry.meta.arn.clone(),
            problem,
        }),
    }
}
