//! HMAC: GenerateMac, VerifyMac.

use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Allowed, KmsOperation, Read, ReadsKey, action};
use crate::key_state::StateClass;
use keyward_api::{GenerateMacRequest, GenerateMacResponse, VerifyMacRequest, VerifyMacResponse};
use keyward_conditions::RequestContext;
use keyward_crypto::MacAlgorithm;
use keyward_policy::catalog::ActionId;
use serde_json::{Value, json};

pub(crate) struct GenerateMac;

impl KmsOperation for GenerateMac {
    type Request = GenerateMacRequest;
    type Response = GenerateMacResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("GenerateMac");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &GenerateMacRequest) -> Value {
        json!({"keyId": r.key_id, "macAlgorithm": r.mac_algorithm})
    }

    fn context(r: &GenerateMacRequest, context: &mut RequestContext) {
        context.insert_single("kms:MacAlgorithm", &r.mac_algorithm);
    }

    fn grant_tokens(r: &GenerateMacRequest) -> &[String] {
        &r.grant_tokens
    }

    fn dry_run(r: &GenerateMacRequest) -> bool {
        r.dry_run
    }
}

impl ReadsKey for GenerateMac {
    fn key_id(r: &GenerateMacRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &GenerateMacRequest) -> Result<(), KmsError> {
        MacAlgorithm::parse(&r.mac_algorithm)?;
        Ok(())
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        r: &GenerateMacRequest,
    ) -> Result<GenerateMacResponse, KmsError> {
        let mac = entry
            .crypto
            .generate_mac(&r.message, MacAlgorithm::parse(&r.mac_algorithm)?)?;
        Ok(GenerateMacResponse {
            key_id: entry.meta.arn.clone(),
            mac,
            mac_algorithm: r.mac_algorithm.clone(),
        })
    }
}

pub(crate) struct VerifyMac;

impl KmsOperation for VerifyMac {
    type Request = VerifyMacRequest;
    type Response = VerifyMacResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("VerifyMac");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &VerifyMacRequest) -> Value {
        json!({"keyId": r.key_id, "macAlgorithm": r.mac_algorithm})
    }

    fn context(r: &VerifyMacRequest, context: &mut RequestContext) {
        context.insert_single("kms:MacAlgorithm", &r.mac_algorithm);
    }

    fn grant_tokens(r: &VerifyMacRequest) -> &[String] {
        &r.grant_tokens
    }

    fn dry_run(r: &VerifyMacRequest) -> bool {
        r.dry_run
    }
}

impl ReadsKey for VerifyMac {
    fn key_id(r: &VerifyMacRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &VerifyMacRequest) -> Result<(), KmsError> {
        MacAlgorithm::parse(&r.mac_algorithm)?;
        Ok(())
    }

    /// A MAC that does not match is `KMSInvalidMacException`.
    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        r: &VerifyMacRequest,
    ) -> Result<VerifyMacResponse, KmsError> {
        entry
            .crypto
            .verify_mac(&r.message, MacAlgorithm::parse(&r.mac_algorithm)?, &r.mac)?;
        Ok(VerifyMacResponse {
            key_id: entry.meta.arn.clone(),
            mac_valid: true,
            mac_algorithm: r.mac_algorithm.clone(),
        })
    }
}
