//! Signing: Sign, Verify, GetPublicKey.

use super::Algorithms;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Allowed, KmsOperation, Read, ReadsKey, action};
use crate::key_state::StateClass;
use keyward_api::{
    GetPublicKeyRequest, GetPublicKeyResponse, SignRequest, SignResponse, VerifyRequest,
    VerifyResponse,
};
use keyward_conditions::RequestContext;
use keyward_crypto::{MessageType, SigningAlgorithm};
use keyward_policy::catalog::ActionId;
use serde_json::{Value, json};

/// `MessageType`, `RAW` when absent.
fn message_type(name: Option<&str>) -> &str {
    name.unwrap_or("RAW")
}

/// The condition keys of Sign and Verify.
fn signing_context(algorithm: &str, message: Option<&str>, context: &mut RequestContext) {
    context.insert_single("kms:SigningAlgorithm", algorithm);
    context.insert_single("kms:MessageType", message_type(message));
}

/// The algorithm and message type, parsed with AWS's errors.
fn signing_parameters(
    algorithm: &str,
    message: Option<&str>,
) -> Result<(SigningAlgorithm, MessageType), KmsError> {
    Ok((
        SigningAlgorithm::parse(algorithm)?,
        MessageType::parse(message_type(message))?,
    ))
}

pub(crate) struct Sign;

impl KmsOperation for Sign {
    type Request = SignRequest;
    type Response = SignResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("Sign");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &SignRequest) -> Value {
        json!({"keyId": r.key_id, "messageType": message_type(r.message_type.as_deref()), "signingAlgorithm": r.signing_algorithm})
    }

    fn context(r: &SignRequest, context: &mut RequestContext) {
        signing_context(&r.signing_algorithm, r.message_type.as_deref(), context);
    }

    fn grant_tokens(r: &SignRequest) -> &[String] {
        &r.grant_tokens
    }

    fn dry_run(r: &SignRequest) -> bool {
        r.dry_run
    }
}

impl ReadsKey for Sign {
    fn key_id(r: &SignRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &SignRequest) -> Result<(), KmsError> {
        signing_parameters(&r.signing_algorithm, r.message_type.as_deref()).map(drop)
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        r: &SignRequest,
    ) -> Result<SignResponse, KmsError> {
        let (algorithm, kind) =
            signing_parameters(&r.signing_algorithm, r.message_type.as_deref())?;
        let signature = entry.crypto.sign(&r.message, kind, algorithm)?;
        Ok(SignResponse {
            key_id: entry.meta.arn.clone(),
            signature,
            signing_algorithm: r.signing_algorithm.clone(),
        })
    }
}

pub(crate) struct Verify;

impl KmsOperation for Verify {
    type Request = VerifyRequest;
    type Response = VerifyResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("Verify");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &VerifyRequest) -> Value {
        json!({"keyId": r.key_id, "messageType": message_type(r.message_type.as_deref()), "signingAlgorithm": r.signing_algorithm})
    }

    fn context(r: &VerifyRequest, context: &mut RequestContext) {
        signing_context(&r.signing_algorithm, r.message_type.as_deref(), context);
    }

    fn grant_tokens(r: &VerifyRequest) -> &[String] {
        &r.grant_tokens
    }

    fn dry_run(r: &VerifyRequest) -> bool {
        r.dry_run
    }
}

impl ReadsKey for Verify {
    fn key_id(r: &VerifyRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &VerifyRequest) -> Result<(), KmsError> {
        signing_parameters(&r.signing_algorithm, r.message_type.as_deref()).map(drop)
    }

    /// A signature that does not match is `KMSInvalidSignatureException`.
    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        r: &VerifyRequest,
    ) -> Result<VerifyResponse, KmsError> {
        let (algorithm, kind) =
            signing_parameters(&r.signing_algorithm, r.message_type.as_deref())?;
        entry
            .crypto
            .verify(&r.message, kind, algorithm, &r.signature)?;
        Ok(VerifyResponse {
            key_id: entry.meta.arn.clone(),
            signature_valid: true,
            signing_algorithm: r.signing_algorithm.clone(),
        })
    }
}

pub(crate) struct GetPublicKey;

impl KmsOperation for GetPublicKey {
    type Request = GetPublicKeyRequest;
    type Response = GetPublicKeyResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("GetPublicKey");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &GetPublicKeyRequest) -> Value {
        json!({"keyId": r.key_id})
    }

    fn grant_tokens(r: &GetPublicKeyRequest) -> &[String] {
        &r.grant_tokens
    }
}

impl ReadsKey for GetPublicKey {
    fn key_id(r: &GetPublicKeyRequest) -> &str {
        &r.key_id
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        _: &GetPublicKeyRequest,
    ) -> Result<GetPublicKeyResponse, KmsError> {
        let public_key = entry.crypto.public_key()?.to_vec();
        let algorithms = Algorithms::of(entry);
        Ok(GetPublicKeyResponse {
            key_id: entry.meta.arn.clone(),
            public_key,
            customer_master_key_spec: entry.meta.spec.as_str().to_owned(),
            key_spec: entry.meta.spec.as_str().to_owned(),
            key_usage: entry.meta.usage.as_str().to_owned(),
            encryption_algorithms: algorithms.encryption,
            signing_algorithms: algorithms.signing,
            key_agreement_algorithms: algorithms.key_agreement,
        })
    }
}
