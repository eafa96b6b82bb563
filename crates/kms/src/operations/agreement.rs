//! Key agreement: DeriveSharedSecret (ECDH with a `KEY_AGREEMENT` key).

use super::secret;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Allowed, KmsOperation, Read, ReadsKey, action};
use crate::key_state::StateClass;
use keyward_api::{DeriveSharedSecretRequest, DeriveSharedSecretResponse};
use keyward_conditions::RequestContext;
use keyward_crypto::KeyAgreementAlgorithm;
use keyward_policy::catalog::ActionId;
use serde_json::{Value, json};

pub(crate) struct DeriveSharedSecret;

impl KmsOperation for DeriveSharedSecret {
    type Request = DeriveSharedSecretRequest;
    type Response = DeriveSharedSecretResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("DeriveSharedSecret");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &DeriveSharedSecretRequest) -> Value {
        json!({"keyId": r.key_id, "keyAgreementAlgorithm": r.key_agreement_algorithm})
    }

    fn check(r: &DeriveSharedSecretRequest) -> Result<(), KmsError> {
        if r.recipient.is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves attestation) is not supported by Keyward.",
            ));
        }
        Ok(())
    }

    fn context(r: &DeriveSharedSecretRequest, context: &mut RequestContext) {
        context.insert_single("kms:KeyAgreementAlgorithm", &r.key_agreement_algorithm);
    }

    fn grant_tokens(r: &DeriveSharedSecretRequest) -> &[String] {
        &r.grant_tokens
    }

    fn dry_run(r: &DeriveSharedSecretRequest) -> bool {
        r.dry_run
    }
}

impl ReadsKey for DeriveSharedSecret {
    fn key_id(r: &DeriveSharedSecretRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &DeriveSharedSecretRequest) -> Result<(), KmsError> {
        KeyAgreementAlgorithm::parse(&r.key_agreement_algorithm)?;
        Ok(())
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        r: &DeriveSharedSecretRequest,
    ) -> Result<DeriveSharedSecretResponse, KmsError> {
        let algorithm = KeyAgreementAlgorithm::parse(&r.key_agreement_algorithm)?;
        let shared_secret = entry
            .crypto
            .derive_shared_secret(algorithm, &r.public_key)?;
        Ok(DeriveSharedSecretResponse {
            key_id: entry.meta.arn.clone(),
            shared_secret: secret(shared_secret),
            key_agreement_algorithm: r.key_agreement_algorithm.clone(),
            key_origin: entry.meta.origin.as_str().to_owned(),
        })
    }
}
