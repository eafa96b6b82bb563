//! Signing: Sign, Verify, GetPublicKey.

use super::Algorithms;
use crate::error::KmsError;
use crate::gate::operation;
use keyward_api::{
    GetPublicKeyRequest, GetPublicKeyResponse, SignRequest, SignResponse, VerifyRequest,
    VerifyResponse,
};
use keyward_conditions::RequestContext;
use keyward_crypto::{MessageType, SigningAlgorithm};
use serde_json::json;

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

operation! {
    /// Sign.
    Sign(SignRequest) -> SignResponse, via Read, action "Sign", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "messageType": message_type(r.message_type.as_deref()), "signingAlgorithm": r.signing_algorithm});
    context |r, keys| signing_context(&r.signing_algorithm, r.message_type.as_deref(), keys);
    validate |_, r| signing_parameters(&r.signing_algorithm, r.message_type.as_deref()).map(drop);
    perform |_, entry, r| {
        let (algorithm, kind) = signing_parameters(&r.signing_algorithm, r.message_type.as_deref())?;
        let signature = entry.crypto.sign(&r.message, kind, algorithm)?;
        let signing_algorithm = r.signing_algorithm.clone();
        Ok(SignResponse { key_id: entry.meta.arn.clone(), signature, signing_algorithm })
    }
}

operation! {
    /// Verify: a signature that does not match is `KMSInvalidSignatureException`.
    Verify(VerifyRequest) -> VerifyResponse, via Read, action "Verify", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "messageType": message_type(r.message_type.as_deref()), "signingAlgorithm": r.signing_algorithm});
    context |r, keys| signing_context(&r.signing_algorithm, r.message_type.as_deref(), keys);
    validate |_, r| signing_parameters(&r.signing_algorithm, r.message_type.as_deref()).map(drop);
    perform |_, entry, r| {
        let (algorithm, kind) = signing_parameters(&r.signing_algorithm, r.message_type.as_deref())?;
        entry.crypto.verify(&r.message, kind, algorithm, &r.signature)?;
        let signing_algorithm = r.signing_algorithm.clone();
        Ok(VerifyResponse { key_id: entry.meta.arn.clone(), signature_valid: true, signing_algorithm })
    }
}

operation! {
    /// GetPublicKey.
    GetPublicKey(GetPublicKeyRequest) -> GetPublicKeyResponse, via Read, action "GetPublicKey", state Cryptographic;
    audit |r| json!({"keyId": r.key_id});
    perform |_, entry, _| {
        let algorithms = Algorithms::of(entry);
        let spec = entry.meta.spec.as_str();
        Ok(GetPublicKeyResponse {
            key_id: entry.meta.arn.clone(),
            public_key: entry.crypto.public_key()?.to_vec(),
            customer_master_key_spec: spec.to_owned(),
            key_spec: spec.to_owned(),
            key_usage: entry.meta.usage.as_str().to_owned(),
            encryption_algorithms: algorithms.encryption,
            signing_algorithms: algorithms.signing,
            key_agreement_algorithms: algorithms.key_agreement,
        })
    }
}
