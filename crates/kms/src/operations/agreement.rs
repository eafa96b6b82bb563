//! Key agreement: DeriveSharedSecret (ECDH with a `KEY_AGREEMENT` key).

use super::{refuse_recipient, secret};
use crate::error::KmsError;
use crate::gate::operation;
use keyward_api::{DeriveSharedSecretRequest, DeriveSharedSecretResponse};
use keyward_crypto::KeyAgreementAlgorithm;
use serde_json::json;

/// The key agreement algorithm a request names, parsed with AWS's error.
fn agreement_algorithm(name: &str) -> Result<KeyAgreementAlgorithm, KmsError> {
    Ok(KeyAgreementAlgorithm::parse(name)?)
}

operation! {
    /// DeriveSharedSecret.
    DeriveSharedSecret(DeriveSharedSecretRequest) -> DeriveSharedSecretResponse, via Read,
        action "DeriveSharedSecret", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "keyAgreementAlgorithm": r.key_agreement_algorithm});
    check |r| refuse_recipient(&r.recipient);
    context |r, keys| keys.insert_single("kms:KeyAgreementAlgorithm", &r.key_agreement_algorithm);
    validate |_, r| agreement_algorithm(&r.key_agreement_algorithm).map(drop);
    perform |_, entry, r| {
        let algorithm = agreement_algorithm(&r.key_agreement_algorithm)?;
        let shared_secret = entry.crypto.derive_shared_secret(algorithm, &r.public_key)?;
        Ok(DeriveSharedSecretResponse {
            key_id: entry.meta.arn.clone(),
            shared_secret: secret(shared_secret),
            key_agreement_algorithm: r.key_agreement_algorithm.clone(),
            key_origin: entry.meta.origin.as_str().to_owned(),
        })
    }
}
