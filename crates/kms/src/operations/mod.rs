//! Every operation, declared once (see [`crate::gate`]) and grouped by what it touches. The
//! service's methods and its dispatch come from the one list of operations in `keyward-api`:
//! adding an operation is adding its line there, its request and response types, and its
//! declaration here.

mod agreement;
pub(crate) mod aliases;
pub(crate) mod custom_key_stores;
mod encryption;
mod grants;
mod import;
pub(crate) mod keys;
mod mac;
pub(crate) mod multi_region;
mod policies;
mod rotation;
mod signing;
mod tags;

use crate::caller::Caller;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::service::Kms;
use keyward_api::{EncryptionContext, KeyMetadata, Operation, Request, Response, Tag};
use keyward_crypto::KeyUsage;
use keyward_crypto::spec::SPEC_TABLE;

use agreement::*;
use aliases::*;
use custom_key_stores::*;
use encryption::*;
use grants::*;
use import::*;
use keys::*;
use mac::*;
use multi_region::*;
use policies::*;
use rotation::*;
use signing::*;
use tags::*;

/// The service's methods, one per operation, and [`Kms::handle`], from the list.
macro_rules! kms_methods {
    ($($name:ident($method:ident, $request:ty, $response:ty, $writes:literal),)*) => {
        impl Kms {
            $(
                #[doc = concat!(
                    "`", stringify!($name), "`, gated: authorized, performed and audited as ",
                    "KMS does. Its rules are in `crates/kms/src/operations/`."
                )]
                pub fn $method(
                    &self,
                    caller: &Caller,
                    request: &$request,
                ) -> Result<$response, KmsError> {
                    self.audited::<$name>(caller, Operation::$name, request)
                }
            )*

            /// Runs any operation: what a server calls with the request it has read.
            pub fn handle(&self, caller: &Caller, request: &Request) -> Result<Response, KmsError> {
                match request {
                    $(Request::$name(input) => self.$method(caller, input).map(Response::$name),)*
                }
            }

            /// Whether serving `request` may write to the store: an operation that changes
            /// something, or any call when time has made something due (a rotation, a
            /// deletion: the call's housekeeping runs first) or that may create an AWS managed
            /// key. A server runs such a call where blocking is allowed, not on its async
            /// workers (a store write waits for a disk, or for a database). So may a call
            /// on a shared store that names a key or alias not held here, or carries grant
            /// tokens: it may read the store; and so does every call whose audit record is
            /// synced before it answers (`audit_sync = "per-request"`: it waits for a disk).
            pub fn may_write(&self, request: &Request) -> bool {
                let ciphertext = match request {
                    Request::Decrypt(input) => Some(input.ciphertext_blob.as_slice()),
                    Request::ReEncrypt(input) => Some(input.ciphertext_blob.as_slice()),
                    _ => None,
                };
                match request {
                    $(Request::$name(input) => {
                        let key_id = keyward_api::RequestMembers::key_id(input);
                        $writes
                            || self.may_write_reading(key_id)
                            || self.may_read_store(
                                key_id,
                                keyward_api::RequestMembers::grant_tokens(input),
                                ciphertext,
                            )
                    })*
                }
            }
        }

    };
}

keyward_api::kms_operations!(kms_methods);

/// Refuses an encryption context larger than Keyward reads
/// ([`keyward_conditions::encryption_context::MAX_ENCRYPTION_CONTEXT_BYTES`]), before anything
/// reads it: AWS documents no bound, so Keyward fails closed at one no real context nears.
pub(crate) fn check_encryption_context(
    field: &str,
    context: &EncryptionContext,
) -> Result<(), KmsError> {
    use keyward_conditions::encryption_context::{MAX_ENCRYPTION_CONTEXT_BYTES, size};
    let bytes = size(context.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if bytes > MAX_ENCRYPTION_CONTEXT_BYTES {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: Keyward reads an encryption context of at most {MAX_ENCRYPTION_CONTEXT_BYTES} bytes of keys and values; this one has {bytes}"
        )));
    }
    Ok(())
}

/// The encryption context as the crypto core binds it.
pub(crate) fn crypto_context(context: &EncryptionContext) -> keyward_crypto::EncryptionContext {
    let mut bound = keyward_crypto::EncryptionContext::new();
    for (k, v) in context {
        bound.insert(k.clone(), v.clone());
    }
    bound
}

/// A boolean as a condition key's value.
pub(crate) const fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Tags as the audit record keeps them.
pub(crate) fn audited_tags(tags: &[Tag]) -> serde_json::Value {
    serde_json::Value::Array(
        tags.iter()
            .map(|t| serde_json::json!({"TagKey": t.tag_key, "TagValue": t.tag_value}))
            .collect(),
    )
}

/// The algorithms of a key, by kind, as `KeyMetadata` and GetPublicKey list them.
#[derive(Debug, Default)]
pub(crate) struct Algorithms {
    pub(crate) encryption: Vec<String>,
    pub(crate) signing: Vec<String>,
    pub(crate) mac: Vec<String>,
    pub(crate) key_agreement: Vec<String>,
}

impl Algorithms {
    pub(crate) fn of(entry: &KeyEntry) -> Self {
        let Some(row) = SPEC_TABLE.iter().find(|r| r.spec == entry.meta.spec) else {
            return Self::default();
        };
        let names = |names: &mut dyn Iterator<Item = &'static str>| -> Vec<String> {
            names.map(str::to_owned).collect()
        };
        let mut algorithms = Self::default();
        match entry.meta.usage {
            KeyUsage::EncryptDecrypt => {
                algorithms.encryption = names(&mut row.encryption.iter().map(|a| a.as_str()));
            }
            KeyUsage::SignVerify => {
                algorithms.signing = names(&mut row.signing.iter().map(|a| a.as_str()));
            }
            KeyUsage::GenerateVerifyMac => {
                algorithms.mac = names(&mut row.mac.iter().map(|a| a.as_str()));
            }
            KeyUsage::KeyAgreement => {
                algorithms.key_agreement = names(&mut row.key_agreement.iter().map(|a| a.as_str()));
            }
        }
        algorithms
    }
}

/// `KeyMetadata` of a key of `kms`.
pub(crate) fn metadata(kms: &Kms, entry: &KeyEntry) -> KeyMetadata {
    use crate::clock::from_epoch_seconds;
    let m = &entry.meta;
    let algorithms = Algorithms::of(entry);
    let state = entry.state();
    KeyMetadata {
        aws_account_id: m.account.clone(),
        key_id: m.id.clone(),
        arn: m.arn.clone(),
        creation_date: from_epoch_seconds(m.created),
        enabled: state == keyward_api::KeyState::Enabled,
        description: m.description.clone(),
        key_usage: m.usage.as_str().to_owned(),
        key_state: state,
        origin: m.origin.as_str().to_owned(),
        key_manager: if m.aws_managed { "AWS" } else { "CUSTOMER" }.to_owned(),
        customer_master_key_spec: m.spec.as_str().to_owned(),
        key_spec: m.spec.as_str().to_owned(),
        multi_region: m.multi_region.is_some(),
        multi_region_configuration: m.multi_region.as_ref().map(|config| {
            let arn_in = |region: &str| {
                m.arn
                    .replacen(&format!(":{}:", m.region), &format!(":{region}:"), 1)
            };
            keyward_api::MultiRegionConfiguration {
                multi_region_key_type: m.multi_region_key_type().unwrap_or("PRIMARY").to_owned(),
                primary_key: keyward_api::MultiRegionKey {
                    arn: arn_in(&config.primary_region),
                    region: config.primary_region.clone(),
                },
                replica_keys: config
                    .replica_regions
                    .iter()
                    .map(|region| keyward_api::MultiRegionKey {
                        arn: arn_in(region),
                        region: region.clone(),
                    })
                    .collect(),
            }
        }),
        deletion_date: m.deletion_date.map(from_epoch_seconds),
        pending_deletion_window_in_days: m.pending_window_days,
        encryption_algorithms: algorithms.encryption,
        signing_algorithms: algorithms.signing,
        mac_algorithms: algorithms.mac,
        key_agreement_algorithms: algorithms.key_agreement,
        expiration_model: m.expiration_model.clone(),
        valid_to: m.valid_to.map(from_epoch_seconds),
        current_key_material_id: entry.current_material_id(),
        custom_key_store_id: m.custom_key_store_id.clone(),
        cloud_hsm_cluster_id: m
            .custom_key_store_id
            .as_deref()
            .and_then(|id| kms.key_stores.get(id))
            .map(|store| store.config.token_label.clone()),
    }
}

/// A secret from the crypto core, handed to the answer without a copy.
pub(crate) fn secret(bytes: keyward_crypto::Secret) -> keyward_api::SecretBytes {
    keyward_api::SecretBytes::new(bytes.into_vec())
}

/// Refuses a Nitro Enclaves `Recipient`: Keyward cannot attest an enclave, and must not
/// answer in plaintext what the caller asked to have encrypted for one.
pub(crate) fn refuse_recipient(recipient: &keyward_api::Unsupported) -> Result<(), KmsError> {
    match recipient {
        Some(_) => Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by Keyward.",
        )),
        None => Ok(()),
    }
}
