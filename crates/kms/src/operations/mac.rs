//! HMAC: GenerateMac, VerifyMac.

use crate::error::KmsError;
use crate::gate::operation;
use keyward_api::{GenerateMacRequest, GenerateMacResponse, VerifyMacRequest, VerifyMacResponse};
use keyward_crypto::MacAlgorithm;
use serde_json::json;

/// The MAC algorithm a request names, parsed with AWS's error.
fn mac_algorithm(name: &str) -> Result<MacAlgorithm, KmsError> {
    Ok(MacAlgorithm::parse(name)?)
}

operation! {
    /// GenerateMac.
    GenerateMac(GenerateMacRequest) -> GenerateMacResponse, via Read, action "GenerateMac", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "macAlgorithm": r.mac_algorithm});
    context |r, keys| keys.insert_single("kms:MacAlgorithm", &r.mac_algorithm);
    validate |_, r| mac_algorithm(&r.mac_algorithm).map(drop);
    perform |_, entry, r| {
        let mac = entry.crypto.generate_mac(&r.message, mac_algorithm(&r.mac_algorithm)?)?;
        let key_id = entry.meta.arn.clone();
        Ok(GenerateMacResponse { key_id, mac, mac_algorithm: r.mac_algorithm.clone() })
    }
}

operation! {
    /// VerifyMac: a MAC that does not match is `KMSInvalidMacException`.
    VerifyMac(VerifyMacRequest) -> VerifyMacResponse, via Read, action "VerifyMac", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "macAlgorithm": r.mac_algorithm});
    context |r, keys| keys.insert_single("kms:MacAlgorithm", &r.mac_algorithm);
    validate |_, r| mac_algorithm(&r.mac_algorithm).map(drop);
    perform |_, entry, r| {
        entry.crypto.verify_mac(&r.message, mac_algorithm(&r.mac_algorithm)?, &r.mac)?;
        let key_id = entry.meta.arn.clone();
        Ok(VerifyMacResponse { key_id, mac_valid: true, mac_algorithm: r.mac_algorithm.clone() })
    }
}
