//! The cryptographic operations beyond Encrypt, Decrypt and GenerateDataKey: ReEncrypt,
//! GenerateDataKeyPair(+WithoutPlaintext), Sign, Verify, GetPublicKey, GenerateMac, VerifyMac,
//! DeriveSharedSecret and GenerateRandom. Same order as every call: resolve, context,
//! authorize, key state, validate, perform.

use crate::caller::Caller;
use crate::error::{ErrorCode, KmsError};
use crate::model::*;
use crate::ops::{dry_run, encryption_context, pairs};
use crate::service::{
    Call, KeyEntry, Kms, Named, StateClass, action, check_encryption_context, state_error,
};
use keyward_crypto::{
    DataKeyPairSpec, EncryptionAlgorithm, KeyAgreementAlgorithm, MacAlgorithm, MessageType,
    SigningAlgorithm,
};
use keyward_grants::key_grants::MAX_GRANT_TOKENS;
use serde_json::json;

/// The largest GenerateRandom request.
const MAX_RANDOM_BYTES: u64 = 1024;

impl Kms {
    /// Checks `tokens` against the grants of `keys`: each token must be one of theirs.
    fn check_tokens_any(&self, keys: &[&KeyEntry], tokens: &[String]) -> Result<(), KmsError> {
        if tokens.len() > MAX_GRANT_TOKENS {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to {MAX_GRANT_TOKENS}"
            )));
        }
        for token in tokens {
            if !keys.iter().any(|k| k.grants.resolve_token(token).is_ok()) {
                return Err(KmsError::new(
                    ErrorCode::InvalidGrantToken,
                    "The grant token is not valid",
                ));
            }
        }
        Ok(())
    }

    /// ReEncrypt: `kms:ReEncryptFrom` on the source key (with the source encryption context)
    /// and `kms:ReEncryptTo` on the destination key (with the destination context), both with
    /// `kms:ReEncryptOnSameKey`. The plaintext never leaves the crypto core.
    pub fn re_encrypt(
        &self,
        caller: &Caller,
        request: &ReEncryptRequest,
    ) -> Result<ReEncryptResponse, KmsError> {
        let source_algorithm = request
            .source_encryption_algorithm
            .as_deref()
            .unwrap_or("SYMMETRIC_DEFAULT");
        let destination_algorithm = request
            .destination_encryption_algorithm
            .as_deref()
            .unwrap_or("SYMMETRIC_DEFAULT");
        self.call(
            caller,
            Call::new(
                "ReEncrypt",
                json!({
                    "sourceKeyId": request.source_key_id,
                    "sourceEncryptionContext": request.source_encryption_context,
                    "sourceEncryptionAlgorithm": source_algorithm,
                    "destinationKeyId": request.destination_key_id,
                    "destinationEncryptionContext": request.destination_encryption_context,
                    "destinationEncryptionAlgorithm": destination_algorithm,
                }),
            ),
            |call| {
                check_encryption_context(
                    "sourceEncryptionContext",
                    &request.source_encryption_context,
                )?;
                check_encryption_context(
                    "destinationEncryptionContext",
                    &request.destination_encryption_context,
                )?;
                self.housekeeping()?;
                let from = action("kms:ReEncryptFrom")?;
                let to = action("kms:ReEncryptTo")?;
                let source_key_id = self.ciphertext_key(
                    caller,
                    &request.ciphertext_blob,
                    request.source_key_id.as_deref(),
                    source_algorithm,
                    from,
                )?;
                let state = self.read()?;
                let (source, source_named) = self.resolve(&state, caller, &source_key_id, from)?;
                let (destination, destination_named) =
                    self.resolve(&state, caller, &request.destination_key_id, to)?;
                call.resources.push(source.meta.arn.clone());
                if destination.meta.id != source.meta.id {
                    call.resources.push(destination.meta.arn.clone());
                }
                let same = if destination.meta.id == source.meta.id {
                    "true"
                } else {
                    "false"
                };
                let source_ec = pairs(&request.source_encryption_context);
                let context = self.context(
                    caller,
                    Some(source),
                    &source_named,
                    &source_ec,
                    &[
                        ("kms:EncryptionAlgorithm", source_algorithm),
                        ("kms:ReEncryptOnSameKey", same),
                    ],
                );
                self.authorize(call, caller, Some(source), from, &source_ec, context)?;
                let destination_ec = pairs(&request.destination_encryption_context);
                let context = self.context(
                    caller,
                    Some(destination),
                    &destination_named,
                    &destination_ec,
                    &[
                        ("kms:EncryptionAlgorithm", destination_algorithm),
                        ("kms:ReEncryptOnSameKey", same),
                    ],
                );
                self.authorize(
                    call,
                    caller,
                    Some(destination),
                    to,
                    &destination_ec,
                    context,
                )?;
                for entry in [source, destination] {
                    if let Some(error) = state_error(entry, StateClass::Cryptographic) {
                        return Err(error);
                    }
                }
                self.check_tokens_any(&[source, destination], &request.grant_tokens)?;
                let source_algorithm_parsed = EncryptionAlgorithm::parse(source_algorithm)?;
                let destination_algorithm_parsed =
                    EncryptionAlgorithm::parse(destination_algorithm)?;
                if request.dry_run {
                    return Err(dry_run());
                }
                let blob = source.crypto.re_encrypt(
                    &request.ciphertext_blob,
                    &encryption_context(&request.source_encryption_context),
                    source_algorithm_parsed,
                    &destination.crypto,
                    &encryption_context(&request.destination_encryption_context),
                    destination_algorithm_parsed,
                )?;
                Ok(ReEncryptResponse {
                    source_key_material_id: source.blob_material_id(&request.ciphertext_blob),
                    destination_key_material_id: destination.blob_material_id(&blob),
                    ciphertext_blob: blob,
                    source_key_id: source.meta.arn.clone(),
                    key_id: destination.meta.arn.clone(),
                    source_encryption_algorithm: source_algorithm.to_owned(),
                    destination_encryption_algorithm: destination_algorithm.to_owned(),
                })
            },
        )
    }

    /// The key a ciphertext names: for symmetric ciphertexts the key ID inside it (a
    /// `key_id` in the request must name the same key: `IncorrectKeyException` otherwise); an
    /// asymmetric ciphertext carries none, so `key_id` is required. A key that is not here (or
    /// that the caller may not see) gets the message AWS gives for both.
    pub(crate) fn ciphertext_key(
        &self,
        caller: &Caller,
        ciphertext: &[u8],
        key_id: Option<&str>,
        algorithm: &str,
        action_id: keyward_policy::catalog::ActionId,
    ) -> Result<String, KmsError> {
        if algorithm != "SYMMETRIC_DEFAULT" {
            return key_id.map(str::to_owned).ok_or_else(|| {
                KmsError::validation("KeyId is required when decrypting with an asymmetric key")
            });
        }
        let from_blob = keyward_crypto::ciphertext_key_id(ciphertext)?;
        let state = self.read()?;
        let Some(owner) = state.keys.get(from_blob) else {
            return Err(KmsError::new(
                ErrorCode::AccessDenied,
                "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.",
            ));
        };
        if let Some(named) = key_id {
            let (entry, _) = self.resolve(&state, caller, named, action_id)?;
            if entry.meta.id != from_blob {
                return Err(KmsError::new(
                    ErrorCode::IncorrectKey,
                    "The key ID in the request does not identify a CMK that can perform this operation.",
                ));
            }
            return Ok(named.to_owned());
        }
        Ok(owner.meta.arn.clone())
    }

    fn data_key_pair(
        &self,
        caller: &Caller,
        request: &GenerateDataKeyPairRequest,
        with_plaintext: bool,
    ) -> Result<GenerateDataKeyPairResponse, KmsError> {
        let (event, action_name) = if with_plaintext {
            ("GenerateDataKeyPair", "kms:GenerateDataKeyPair")
        } else {
            (
                "GenerateDataKeyPairWithoutPlaintext",
                "kms:GenerateDataKeyPairWithoutPlaintext",
            )
        };
        let ec = pairs(&request.encryption_context);
        self.call(
            caller,
            Call::new(
                event,
                json!({"keyId": request.key_id, "keyPairSpec": request.key_pair_spec, "encryptionContext": request.encryption_context}),
            ),
            |call| {
                check_encryption_context("encryptionContext", &request.encryption_context)?;
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    action_name,
                    StateClass::Cryptographic,
                    &ec,
                    &[
                        ("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"),
                        ("kms:DataKeyPairSpec", &request.key_pair_spec),
                    ],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let spec = DataKeyPairSpec::parse(&request.key_pair_spec)?;
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        let context = encryption_context(&request.encryption_context);
                        if with_plaintext {
                            let pair = e.crypto.generate_data_key_pair(spec, &context)?;
                            Ok(GenerateDataKeyPairResponse {
                                private_key_ciphertext_blob: pair.private_key_ciphertext_blob,
                                private_key_plaintext: Some(pair.private_key_plaintext),
                                public_key: pair.public_key,
                                key_id: e.meta.arn.clone(),
                                key_pair_spec: request.key_pair_spec.clone(),
                                key_material_id: e.current_material_id(),
                            })
                        } else {
                            let pair = e
                                .crypto
                                .generate_data_key_pair_without_plaintext(spec, &context)?;
                            Ok(GenerateDataKeyPairResponse {
                                private_key_ciphertext_blob: pair.private_key_ciphertext_blob,
                                private_key_plaintext: None,
                                public_key: pair.public_key,
                                key_id: e.meta.arn.clone(),
                                key_pair_spec: request.key_pair_spec.clone(),
                                key_material_id: e.current_material_id(),
                            })
                        }
                    },
                )
            },
        )
    }

    /// GenerateDataKeyPair: a key pair, its private key in plaintext and encrypted.
    pub fn generate_data_key_pair(
        &self,
        caller: &Caller,
        request: &GenerateDataKeyPairRequest,
    ) -> Result<GenerateDataKeyPairResponse, KmsError> {
        self.data_key_pair(caller, request, true)
    }

    /// GenerateDataKeyPairWithoutPlaintext.
    pub fn generate_data_key_pair_without_plaintext(
        &self,
        caller: &Caller,
        request: &GenerateDataKeyPairRequest,
    ) -> Result<GenerateDataKeyPairResponse, KmsError> {
        self.data_key_pair(caller, request, false)
    }

    /// Sign.
    pub fn sign(&self, caller: &Caller, request: &SignRequest) -> Result<SignResponse, KmsError> {
        let message_type = request.message_type.as_deref().unwrap_or("RAW");
        self.call(
            caller,
            Call::new(
                "Sign",
                json!({"keyId": request.key_id, "messageType": message_type, "signingAlgorithm": request.signing_algorithm}),
            ),
            |call| {
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:Sign",
                    StateClass::Cryptographic,
                    &[],
                    &[
                        ("kms:SigningAlgorithm", &request.signing_algorithm),
                        ("kms:MessageType", message_type),
                    ],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let algorithm = SigningAlgorithm::parse(&request.signing_algorithm)?;
                        let kind = MessageType::parse(message_type)?;
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        let signature = e.crypto.sign(&request.message, kind, algorithm)?;
                        Ok(SignResponse {
                            key_id: e.meta.arn.clone(),
                            signature,
                            signing_algorithm: request.signing_algorithm.clone(),
                        })
                    },
                )
            },
        )
    }

    /// Verify: a signature that does not match is `KMSInvalidSignatureException`.
    pub fn verify(
        &self,
        caller: &Caller,
        request: &VerifyRequest,
    ) -> Result<VerifyResponse, KmsError> {
        let message_type = request.message_type.as_deref().unwrap_or("RAW");
        self.call(
            caller,
            Call::new(
                "Verify",
                json!({"keyId": request.key_id, "messageType": message_type, "signingAlgorithm": request.signing_algorithm}),
            ),
            |call| {
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:Verify",
                    StateClass::Cryptographic,
                    &[],
                    &[
                        ("kms:SigningAlgorithm", &request.signing_algorithm),
                        ("kms:MessageType", message_type),
                    ],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let algorithm = SigningAlgorithm::parse(&request.signing_algorithm)?;
                        let kind = MessageType::parse(message_type)?;
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        e.crypto
                            .verify(&request.message, kind, algorithm, &request.signature)?;
                        Ok(VerifyResponse {
                            key_id: e.meta.arn.clone(),
                            signature_valid: true,
                            signing_algorithm: request.signing_algorithm.clone(),
                        })
                    },
                )
            },
        )
    }

    /// GetPublicKey.
    pub fn get_public_key(
        &self,
        caller: &Caller,
        key_id: &str,
        grant_tokens: &[String],
    ) -> Result<GetPublicKeyResponse, KmsError> {
        self.call(
            caller,
            Call::new("GetPublicKey", json!({"keyId": key_id})),
            |call| {
                self.read_key(
                    caller,
                    call,
                    key_id,
                    "kms:GetPublicKey",
                    StateClass::Cryptographic,
                    &[],
                    &[],
                    |e| {
                        self.check_grant_tokens(e, grant_tokens)?;
                        let public_key = e.crypto.public_key()?.to_vec();
                        let metadata = Self::metadata(e);
                        Ok(GetPublicKeyResponse {
                            key_id: e.meta.arn.clone(),
                            public_key,
                            key_spec: e.meta.spec.clone(),
                            key_usage: e.meta.usage.clone(),
                            encryption_algorithms: metadata.encryption_algorithms,
                            signing_algorithms: metadata.signing_algorithms,
                            key_agreement_algorithms: metadata.key_agreement_algorithms,
                        })
                    },
                )
            },
        )
    }

    /// GenerateMac.
    pub fn generate_mac(
        &self,
        caller: &Caller,
        request: &GenerateMacRequest,
    ) -> Result<GenerateMacResponse, KmsError> {
        self.call(
            caller,
            Call::new(
                "GenerateMac",
                json!({"keyId": request.key_id, "macAlgorithm": request.mac_algorithm}),
            ),
            |call| {
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:GenerateMac",
                    StateClass::Cryptographic,
                    &[],
                    &[("kms:MacAlgorithm", &request.mac_algorithm)],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let algorithm = MacAlgorithm::parse(&request.mac_algorithm)?;
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        let mac = e.crypto.generate_mac(&request.message, algorithm)?;
                        Ok(GenerateMacResponse {
                            key_id: e.meta.arn.clone(),
                            mac,
                            mac_algorithm: request.mac_algorithm.clone(),
                        })
                    },
                )
            },
        )
    }

    /// VerifyMac: a MAC that does not match is `KMSInvalidMacException`.
    pub fn verify_mac(
        &self,
        caller: &Caller,
        request: &VerifyMacRequest,
    ) -> Result<VerifyMacResponse, KmsError> {
        self.call(
            caller,
            Call::new(
                "VerifyMac",
                json!({"keyId": request.key_id, "macAlgorithm": request.mac_algorithm}),
            ),
            |call| {
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:VerifyMac",
                    StateClass::Cryptographic,
                    &[],
                    &[("kms:MacAlgorithm", &request.mac_algorithm)],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let algorithm = MacAlgorithm::parse(&request.mac_algorithm)?;
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        e.crypto
                            .verify_mac(&request.message, algorithm, &request.mac)?;
                        Ok(VerifyMacResponse {
                            key_id: e.meta.arn.clone(),
                            mac_valid: true,
                            mac_algorithm: request.mac_algorithm.clone(),
                        })
                    },
                )
            },
        )
    }

    /// DeriveSharedSecret: ECDH with a `KEY_AGREEMENT` key.
    pub fn derive_shared_secret(
        &self,
        caller: &Caller,
        request: &DeriveSharedSecretRequest,
    ) -> Result<DeriveSharedSecretResponse, KmsError> {
        self.call(
            caller,
            Call::new(
                "DeriveSharedSecret",
                json!({"keyId": request.key_id, "keyAgreementAlgorithm": request.key_agreement_algorithm}),
            ),
            |call| {
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:DeriveSharedSecret",
                    StateClass::Cryptographic,
                    &[],
                    &[("kms:KeyAgreementAlgorithm", &request.key_agreement_algorithm)],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let algorithm =
                            KeyAgreementAlgorithm::parse(&request.key_agreement_algorithm)?;
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        let shared_secret = e
                            .crypto
                            .derive_shared_secret(algorithm, &request.public_key)?;
                        Ok(DeriveSharedSecretResponse {
                            key_id: e.meta.arn.clone(),
                            shared_secret,
                            key_agreement_algorithm: request.key_agreement_algorithm.clone(),
                            key_origin: e.meta.origin.clone(),
                        })
                    },
                )
            },
        )
    }

    /// GenerateRandom: no key; identity policies alone decide (`kms:GenerateRandom` on `*`).
    pub fn generate_random(
        &self,
        caller: &Caller,
        number_of_bytes: u64,
    ) -> Result<keyward_crypto::Secret, KmsError> {
        self.call(
            caller,
            Call::new(
                "GenerateRandom",
                json!({"numberOfBytes": number_of_bytes}),
            ),
            |call| {
                // The request's shape is checked before it is authorized, with AWS's two
                // messages (one per bound).
                let bound = if number_of_bytes < 1 {
                    Some("greater than or equal to 1".to_owned())
                } else if number_of_bytes > MAX_RANDOM_BYTES {
                    Some(format!("less than or equal to {MAX_RANDOM_BYTES}"))
                } else {
                    None
                };
                if let Some(bound) = bound {
                    return Err(KmsError::validation(format!(
                        "1 validation error detected: Value '{number_of_bytes}' at 'numberOfBytes' failed to satisfy constraint: Member must have value {bound}"
                    )));
                }
                let action = action("kms:GenerateRandom")?;
                let context = self.context(caller, None, &Named::default(), &[], &[]);
                self.authorize(call, caller, None, action, &[], context)?;
                Ok(keyward_crypto::generate_random(number_of_bytes)?)
            },
        )
    }
}
