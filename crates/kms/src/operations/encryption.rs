//! Encryption: Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
//! GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, GenerateRandom.

use super::{check_encryption_context, crypto_context, secret};
use crate::caller::Caller;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{
    Allowed, Call, KmsOperation, NoKey, Own, Read, ReadsKey, RunsItself, WithoutKey, action,
};
use crate::key_state::{self, StateClass};
use crate::service::Kms;
use keyward_api::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, EncryptionContext, ErrorCode,
    GenerateDataKeyPairRequest, GenerateDataKeyPairResponse,
    GenerateDataKeyPairWithoutPlaintextRequest, GenerateDataKeyPairWithoutPlaintextResponse,
    GenerateDataKeyRequest, GenerateDataKeyResponse, GenerateDataKeyWithoutPlaintextRequest,
    GenerateDataKeyWithoutPlaintextResponse, GenerateRandomRequest, GenerateRandomResponse,
    ReEncryptRequest, ReEncryptResponse, Unsupported,
};
use keyward_conditions::RequestContext;
use keyward_crypto::{DataKeyLength, DataKeyPairSpec, DataKeySpec, EncryptionAlgorithm};
use keyward_grants::store::MAX_GRANT_TOKENS;
use keyward_policy::catalog::ActionId;
use serde_json::{Value, json};
use std::borrow::Cow;

/// The largest GenerateRandom request.
const MAX_RANDOM_BYTES: u32 = 1024;

/// The algorithm a request names, `SYMMETRIC_DEFAULT` when it names none.
fn algorithm(name: Option<&str>) -> &str {
    name.unwrap_or("SYMMETRIC_DEFAULT")
}

/// Refuses a Nitro Enclaves `Recipient`: Keyward cannot attest an enclave, and must not
/// answer in plaintext what the caller asked to have encrypted for one.
fn refuse_recipient(recipient: &Unsupported) -> Result<(), KmsError> {
    match recipient {
        Some(_) => Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by Keyward.",
        )),
        None => Ok(()),
    }
}

pub(crate) struct Encrypt;

impl KmsOperation for Encrypt {
    type Request = EncryptRequest;
    type Response = EncryptResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("Encrypt");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &EncryptRequest) -> Value {
        json!({"keyId": r.key_id, "encryptionContext": r.encryption_context, "encryptionAlgorithm": algorithm(r.encryption_algorithm.as_deref())})
    }

    fn check(r: &EncryptRequest) -> Result<(), KmsError> {
        check_encryption_context("encryptionContext", &r.encryption_context)
    }

    fn context(r: &EncryptRequest, context: &mut RequestContext) {
        context.insert_single(
            "kms:EncryptionAlgorithm",
            algorithm(r.encryption_algorithm.as_deref()),
        );
    }

    fn encryption_context(r: &EncryptRequest) -> Option<&EncryptionContext> {
        Some(&r.encryption_context)
    }

    fn grant_tokens(r: &EncryptRequest) -> &[String] {
        &r.grant_tokens
    }

    fn dry_run(r: &EncryptRequest) -> bool {
        r.dry_run
    }
}

impl ReadsKey for Encrypt {
    fn key_id(r: &EncryptRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &EncryptRequest) -> Result<(), KmsError> {
        EncryptionAlgorithm::parse(algorithm(r.encryption_algorithm.as_deref()))?;
        Ok(())
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        r: &EncryptRequest,
    ) -> Result<EncryptResponse, KmsError> {
        let name = algorithm(r.encryption_algorithm.as_deref());
        let ciphertext_blob = entry.crypto.encrypt(
            r.plaintext.expose(),
            &crypto_context(&r.encryption_context),
            EncryptionAlgorithm::parse(name)?,
        )?;
        Ok(EncryptResponse {
            ciphertext_blob,
            key_id: entry.meta.arn.clone(),
            encryption_algorithm: name.to_owned(),
        })
    }
}

pub(crate) struct Decrypt;

impl KmsOperation for Decrypt {
    type Request = DecryptRequest;
    type Response = DecryptResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("Decrypt");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &DecryptRequest) -> Value {
        json!({"keyId": r.key_id, "encryptionContext": r.encryption_context, "encryptionAlgorithm": algorithm(r.encryption_algorithm.as_deref())})
    }

    fn check(r: &DecryptRequest) -> Result<(), KmsError> {
        refuse_recipient(&r.recipient)?;
        check_encryption_context("encryptionContext", &r.encryption_context)
    }

    fn context(r: &DecryptRequest, context: &mut RequestContext) {
        context.insert_single(
            "kms:EncryptionAlgorithm",
            algorithm(r.encryption_algorithm.as_deref()),
        );
    }

    fn encryption_context(r: &DecryptRequest) -> Option<&EncryptionContext> {
        Some(&r.encryption_context)
    }

    fn grant_tokens(r: &DecryptRequest) -> &[String] {
        &r.grant_tokens
    }

    fn dry_run(r: &DecryptRequest) -> bool {
        r.dry_run
    }
}

impl ReadsKey for Decrypt {
    fn key_id(r: &DecryptRequest) -> &str {
        r.key_id.as_deref().unwrap_or_default()
    }

    /// The key comes from the ciphertext (symmetric) or `KeyId` (required for RSA).
    fn locate<'r>(
        kms: &Kms,
        caller: &Caller,
        r: &'r DecryptRequest,
    ) -> Result<Cow<'r, str>, KmsError> {
        ciphertext_key(
            kms,
            caller,
            &r.ciphertext_blob,
            r.key_id.as_deref(),
            algorithm(r.encryption_algorithm.as_deref()),
            Self::ACTION,
        )
    }

    fn validate(_: &KeyEntry, r: &DecryptRequest) -> Result<(), KmsError> {
        EncryptionAlgorithm::parse(algorithm(r.encryption_algorithm.as_deref()))?;
        Ok(())
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        r: &DecryptRequest,
    ) -> Result<DecryptResponse, KmsError> {
        let name = algorithm(r.encryption_algorithm.as_deref());
        let plaintext = entry.crypto.decrypt(
            &r.ciphertext_blob,
            &crypto_context(&r.encryption_context),
            EncryptionAlgorithm::parse(name)?,
        )?;
        Ok(DecryptResponse {
            key_id: entry.meta.arn.clone(),
            plaintext: secret(plaintext),
            encryption_algorithm: name.to_owned(),
            key_material_id: entry.blob_material_id(&r.ciphertext_blob),
        })
    }
}

/// The key a ciphertext names: for symmetric ciphertexts the key ID inside it (a `key_id` in
/// the request must name the same key: `IncorrectKeyException` otherwise); an asymmetric
/// ciphertext carries none, so `key_id` is required. A key that is not here (or that the
/// caller may not see) gets the message AWS gives for both.
fn ciphertext_key<'r>(
    kms: &Kms,
    caller: &Caller,
    ciphertext: &[u8],
    key_id: Option<&'r str>,
    algorithm: &str,
    action: ActionId,
) -> Result<Cow<'r, str>, KmsError> {
    if algorithm != "SYMMETRIC_DEFAULT" {
        return key_id.map(Cow::Borrowed).ok_or_else(|| {
            KmsError::validation("KeyId is required when decrypting with an asymmetric key")
        });
    }
    let from_blob = keyward_crypto::ciphertext_key_id(ciphertext)?;
    let state = kms.read()?;
    let Some(owner) = state.keys.get(from_blob) else {
        return Err(KmsError::refused(
            ErrorCode::AccessDenied,
            "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.",
        ));
    };
    if let Some(named) = key_id {
        let (entry, _) = kms.resolve(&state, caller, named, action)?;
        if entry.meta.id != from_blob {
            return Err(KmsError::refused(
                ErrorCode::IncorrectKey,
                "The key ID in the request does not identify a CMK that can perform this operation.",
            ));
        }
        return Ok(Cow::Borrowed(named));
    }
    Ok(Cow::Owned(owner.meta.arn.clone()))
}

pub(crate) struct ReEncrypt;

impl KmsOperation for ReEncrypt {
    type Request = ReEncryptRequest;
    type Response = ReEncryptResponse;
    type Pipeline = Own;
    /// The source side; the destination side is `kms:ReEncryptTo`.
    const ACTION: ActionId = action!("ReEncryptFrom");
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &ReEncryptRequest) -> Value {
        json!({
            "sourceKeyId": r.source_key_id,
            "sourceEncryptionContext": r.source_encryption_context,
            "sourceEncryptionAlgorithm": algorithm(r.source_encryption_algorithm.as_deref()),
            "destinationKeyId": r.destination_key_id,
            "destinationEncryptionContext": r.destination_encryption_context,
            "destinationEncryptionAlgorithm": algorithm(r.destination_encryption_algorithm.as_deref()),
        })
    }

    fn check(r: &ReEncryptRequest) -> Result<(), KmsError> {
        check_encryption_context("sourceEncryptionContext", &r.source_encryption_context)?;
        check_encryption_context(
            "destinationEncryptionContext",
            &r.destination_encryption_context,
        )
    }
}

impl RunsItself for ReEncrypt {
    /// `kms:ReEncryptFrom` on the source key (with the source encryption context) and
    /// `kms:ReEncryptTo` on the destination key (with the destination context), both with
    /// `kms:ReEncryptOnSameKey`. The plaintext never leaves the crypto core.
    fn run(
        kms: &Kms,
        caller: &Caller,
        call: &mut Call,
        r: &ReEncryptRequest,
    ) -> Result<ReEncryptResponse, KmsError> {
        Self::check(r)?;
        kms.housekeeping()?;
        let from = Self::ACTION;
        let to = action!("ReEncryptTo");
        let source_algorithm = algorithm(r.source_encryption_algorithm.as_deref());
        let destination_algorithm = algorithm(r.destination_encryption_algorithm.as_deref());
        let source_key_id = ciphertext_key(
            kms,
            caller,
            &r.ciphertext_blob,
            r.source_key_id.as_deref(),
            source_algorithm,
            from,
        )?;
        let state = kms.read()?;
        let (source, source_named) = kms.resolve(&state, caller, &source_key_id, from)?;
        let (destination, destination_named) =
            kms.resolve(&state, caller, &r.destination_key_id, to)?;
        call.resources.push(source.meta.arn.clone());
        let same = destination.meta.id == source.meta.id;
        if !same {
            call.resources.push(destination.meta.arn.clone());
        }
        for (entry, named, action, name, pairs) in [
            (
                source,
                &source_named,
                from,
                source_algorithm,
                &r.source_encryption_context,
            ),
            (
                destination,
                &destination_named,
                to,
                destination_algorithm,
                &r.destination_encryption_context,
            ),
        ] {
            let mut context = kms.context(caller, Some(entry), named);
            context.insert_encryption_context(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            context.insert_single("kms:EncryptionAlgorithm", name);
            context.insert_single("kms:ReEncryptOnSameKey", super::bool_text(same));
            kms.authorize(call, caller, Some(entry), action, Some(pairs), context)?;
        }
        for entry in [source, destination] {
            key_state::check(entry, Self::STATE)?;
        }
        check_tokens_of_either(&[source, destination], &r.grant_tokens)?;
        let source_algorithm_parsed = EncryptionAlgorithm::parse(source_algorithm)?;
        let destination_algorithm_parsed = EncryptionAlgorithm::parse(destination_algorithm)?;
        if r.dry_run {
            return Err(KmsError::dry_run());
        }
        let ciphertext_blob = source.crypto.re_encrypt(
            &r.ciphertext_blob,
            &crypto_context(&r.source_encryption_context),
            source_algorithm_parsed,
            &destination.crypto,
            &crypto_context(&r.destination_encryption_context),
            destination_algorithm_parsed,
        )?;
        Ok(ReEncryptResponse {
            source_key_material_id: source.blob_material_id(&r.ciphertext_blob),
            destination_key_material_id: destination.blob_material_id(&ciphertext_blob),
            ciphertext_blob,
            source_key_id: source.meta.arn.clone(),
            key_id: destination.meta.arn.clone(),
            source_encryption_algorithm: source_algorithm.to_owned(),
            destination_encryption_algorithm: destination_algorithm.to_owned(),
        })
    }
}

/// Checks `tokens` against the grants of `keys`: each token must be one of theirs.
fn check_tokens_of_either(keys: &[&KeyEntry], tokens: &[String]) -> Result<(), KmsError> {
    if tokens.len() > MAX_GRANT_TOKENS {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to {MAX_GRANT_TOKENS}"
        )));
    }
    for token in tokens {
        if !keys.iter().any(|k| k.grants.resolve_token(token).is_ok()) {
            return Err(KmsError::refused(
                ErrorCode::InvalidGrantToken,
                "The grant token is not valid",
            ));
        }
    }
    Ok(())
}

/// What GenerateDataKey and GenerateDataKeyWithoutPlaintext share: the request's members, and
/// what the data key's answer is made of.
pub(crate) trait DataKeyRequest {
    /// The answer.
    type Response;
    /// The action.
    const ACTION: ActionId;
    /// The key.
    fn key_id(&self) -> &str;
    /// `KeySpec`.
    fn key_spec(&self) -> Option<&str>;
    /// `NumberOfBytes`.
    fn number_of_bytes(&self) -> Option<u32>;
    /// The encryption context.
    fn context(&self) -> &EncryptionContext;
    /// The grant tokens.
    fn grant_tokens(&self) -> &[String];
    /// Whether it is a dry run.
    fn dry_run(&self) -> bool;
    /// Refuses what Keyward does not offer.
    fn check_unsupported(&self) -> Result<(), KmsError>;
    /// Generates the data key and answers.
    fn generate(
        &self,
        entry: &KeyEntry,
        length: DataKeyLength,
        context: &keyward_crypto::EncryptionContext,
    ) -> Result<Self::Response, KmsError>;
}

/// The data key's length: `KeySpec` or `NumberOfBytes`, exactly one.
fn data_key_length(r: &impl DataKeyRequest) -> Result<DataKeyLength, KmsError> {
    match (r.key_spec(), r.number_of_bytes()) {
        (Some(spec), None) => Ok(DataKeyLength::Spec(DataKeySpec::parse(spec)?)),
        (None, Some(n)) => Ok(DataKeyLength::Bytes(u64::from(n))),
        (Some(_), Some(_)) | (None, None) => Err(KmsError::validation(
            "Please specify either number of bytes or key spec.",
        )),
    }
}

/// GenerateDataKey (`R = GenerateDataKeyRequest`) and GenerateDataKeyWithoutPlaintext.
pub(crate) struct DataKey<R>(std::marker::PhantomData<R>);

/// GenerateDataKey.
pub(crate) type GenerateDataKey = DataKey<GenerateDataKeyRequest>;
/// GenerateDataKeyWithoutPlaintext.
pub(crate) type GenerateDataKeyWithoutPlaintext = DataKey<GenerateDataKeyWithoutPlaintextRequest>;

impl<R: DataKeyRequest> KmsOperation for DataKey<R> {
    type Request = R;
    type Response = R::Response;
    type Pipeline = Read;
    const ACTION: ActionId = R::ACTION;
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &R) -> Value {
        json!({"keyId": r.key_id(), "keySpec": r.key_spec(), "numberOfBytes": r.number_of_bytes(), "encryptionContext": r.context()})
    }

    fn check(r: &R) -> Result<(), KmsError> {
        r.check_unsupported()?;
        check_encryption_context("encryptionContext", r.context())
    }

    fn context(_: &R, context: &mut RequestContext) {
        context.insert_single("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    }

    fn encryption_context(r: &R) -> Option<&EncryptionContext> {
        Some(r.context())
    }

    fn grant_tokens(r: &R) -> &[String] {
        r.grant_tokens()
    }

    fn dry_run(r: &R) -> bool {
        r.dry_run()
    }
}

impl<R: DataKeyRequest> ReadsKey for DataKey<R> {
    fn key_id(r: &R) -> &str {
        r.key_id()
    }

    fn validate(_: &KeyEntry, r: &R) -> Result<(), KmsError> {
        data_key_length(r).map(drop)
    }

    fn perform(_: &mut Allowed<'_>, entry: &KeyEntry, r: &R) -> Result<R::Response, KmsError> {
        r.generate(entry, data_key_length(r)?, &crypto_context(r.context()))
    }
}

/// The members both data key requests have, the same way.
macro_rules! data_key_members {
    () => {
        fn key_id(&self) -> &str {
            &self.key_id
        }
        fn key_spec(&self) -> Option<&str> {
            self.key_spec.as_deref()
        }
        fn number_of_bytes(&self) -> Option<u32> {
            self.number_of_bytes
        }
        fn context(&self) -> &EncryptionContext {
            &self.encryption_context
        }
        fn grant_tokens(&self) -> &[String] {
            &self.grant_tokens
        }
        fn dry_run(&self) -> bool {
            self.dry_run
        }
    };
}

impl DataKeyRequest for GenerateDataKeyRequest {
    type Response = GenerateDataKeyResponse;
    const ACTION: ActionId = action!("GenerateDataKey");
    data_key_members!();

    fn check_unsupported(&self) -> Result<(), KmsError> {
        refuse_recipient(&self.recipient)
    }

    fn generate(
        &self,
        entry: &KeyEntry,
        length: DataKeyLength,
        context: &keyward_crypto::EncryptionContext,
    ) -> Result<GenerateDataKeyResponse, KmsError> {
        let key = entry.crypto.generate_data_key(length, context)?;
        Ok(GenerateDataKeyResponse {
            key_material_id: entry.blob_material_id(&key.ciphertext_blob),
            ciphertext_blob: key.ciphertext_blob,
            plaintext: secret(key.plaintext),
            key_id: entry.meta.arn.clone(),
        })
    }
}

impl DataKeyRequest for GenerateDataKeyWithoutPlaintextRequest {
    type Response = GenerateDataKeyWithoutPlaintextResponse;
    const ACTION: ActionId = action!("GenerateDataKeyWithoutPlaintext");
    data_key_members!();

    fn check_unsupported(&self) -> Result<(), KmsError> {
        Ok(())
    }

    fn generate(
        &self,
        entry: &KeyEntry,
        length: DataKeyLength,
        context: &keyward_crypto::EncryptionContext,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse, KmsError> {
        let blob = entry
            .crypto
            .generate_data_key_without_plaintext(length, context)?;
        Ok(GenerateDataKeyWithoutPlaintextResponse {
            key_material_id: entry.blob_material_id(&blob),
            ciphertext_blob: blob,
            key_id: entry.meta.arn.clone(),
        })
    }
}

/// What GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext share.
pub(crate) trait DataKeyPairRequest {
    /// The answer.
    type Response;
    /// The action.
    const ACTION: ActionId;
    /// The key.
    fn key_id(&self) -> &str;
    /// `KeyPairSpec`.
    fn key_pair_spec(&self) -> &str;
    /// The encryption context.
    fn context(&self) -> &EncryptionContext;
    /// The grant tokens.
    fn grant_tokens(&self) -> &[String];
    /// Whether it is a dry run.
    fn dry_run(&self) -> bool;
    /// Refuses what Keyward does not offer.
    fn check_unsupported(&self) -> Result<(), KmsError>;
    /// Generates the pair and answers.
    fn generate(
        &self,
        entry: &KeyEntry,
        spec: DataKeyPairSpec,
        context: &keyward_crypto::EncryptionContext,
    ) -> Result<Self::Response, KmsError>;
}

/// GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext.
pub(crate) struct DataKeyPair<R>(std::marker::PhantomData<R>);

/// GenerateDataKeyPair.
pub(crate) type GenerateDataKeyPair = DataKeyPair<GenerateDataKeyPairRequest>;
/// GenerateDataKeyPairWithoutPlaintext.
pub(crate) type GenerateDataKeyPairWithoutPlaintext =
    DataKeyPair<GenerateDataKeyPairWithoutPlaintextRequest>;

impl<R: DataKeyPairRequest> KmsOperation for DataKeyPair<R> {
    type Request = R;
    type Response = R::Response;
    type Pipeline = Read;
    const ACTION: ActionId = R::ACTION;
    const STATE: StateClass = StateClass::Cryptographic;

    fn audit(r: &R) -> Value {
        json!({"keyId": r.key_id(), "keyPairSpec": r.key_pair_spec(), "encryptionContext": r.context()})
    }

    fn check(r: &R) -> Result<(), KmsError> {
        r.check_unsupported()?;
        check_encryption_context("encryptionContext", r.context())
    }

    fn context(r: &R, context: &mut RequestContext) {
        context.insert_single("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        context.insert_single("kms:DataKeyPairSpec", r.key_pair_spec());
    }

    fn encryption_context(r: &R) -> Option<&EncryptionContext> {
        Some(r.context())
    }

    fn grant_tokens(r: &R) -> &[String] {
        r.grant_tokens()
    }

    fn dry_run(r: &R) -> bool {
        r.dry_run()
    }
}

impl<R: DataKeyPairRequest> ReadsKey for DataKeyPair<R> {
    fn key_id(r: &R) -> &str {
        r.key_id()
    }

    fn validate(_: &KeyEntry, r: &R) -> Result<(), KmsError> {
        DataKeyPairSpec::parse(r.key_pair_spec())?;
        Ok(())
    }

    fn perform(_: &mut Allowed<'_>, entry: &KeyEntry, r: &R) -> Result<R::Response, KmsError> {
        let spec = DataKeyPairSpec::parse(r.key_pair_spec())?;
        r.generate(entry, spec, &crypto_context(r.context()))
    }
}

/// The members both data key pair requests have, the same way.
macro_rules! data_key_pair_members {
    () => {
        fn key_id(&self) -> &str {
            &self.key_id
        }
        fn key_pair_spec(&self) -> &str {
            &self.key_pair_spec
        }
        fn context(&self) -> &EncryptionContext {
            &self.encryption_context
        }
        fn grant_tokens(&self) -> &[String] {
            &self.grant_tokens
        }
        fn dry_run(&self) -> bool {
            self.dry_run
        }
    };
}

impl DataKeyPairRequest for GenerateDataKeyPairRequest {
    type Response = GenerateDataKeyPairResponse;
    const ACTION: ActionId = action!("GenerateDataKeyPair");
    data_key_pair_members!();

    fn check_unsupported(&self) -> Result<(), KmsError> {
        refuse_recipient(&self.recipient)
    }

    fn generate(
        &self,
        entry: &KeyEntry,
        spec: DataKeyPairSpec,
        context: &keyward_crypto::EncryptionContext,
    ) -> Result<GenerateDataKeyPairResponse, KmsError> {
        let pair = entry.crypto.generate_data_key_pair(spec, context)?;
        Ok(GenerateDataKeyPairResponse {
            private_key_ciphertext_blob: pair.private_key_ciphertext_blob,
            private_key_plaintext: secret(pair.private_key_plaintext),
            public_key: pair.public_key,
            key_id: entry.meta.arn.clone(),
            key_pair_spec: self.key_pair_spec.clone(),
            key_material_id: entry.current_material_id(),
        })
    }
}

impl DataKeyPairRequest for GenerateDataKeyPairWithoutPlaintextRequest {
    type Response = GenerateDataKeyPairWithoutPlaintextResponse;
    const ACTION: ActionId = action!("GenerateDataKeyPairWithoutPlaintext");
    data_key_pair_members!();

    fn check_unsupported(&self) -> Result<(), KmsError> {
        Ok(())
    }

    fn generate(
        &self,
        entry: &KeyEntry,
        spec: DataKeyPairSpec,
        context: &keyward_crypto::EncryptionContext,
    ) -> Result<GenerateDataKeyPairWithoutPlaintextResponse, KmsError> {
        let pair = entry
            .crypto
            .generate_data_key_pair_without_plaintext(spec, context)?;
        Ok(GenerateDataKeyPairWithoutPlaintextResponse {
            private_key_ciphertext_blob: pair.private_key_ciphertext_blob,
            public_key: pair.public_key,
            key_id: entry.meta.arn.clone(),
            key_pair_spec: self.key_pair_spec.clone(),
            key_material_id: entry.current_material_id(),
        })
    }
}

pub(crate) struct GenerateRandom;

impl KmsOperation for GenerateRandom {
    type Request = GenerateRandomRequest;
    type Response = GenerateRandomResponse;
    type Pipeline = NoKey;
    const ACTION: ActionId = action!("GenerateRandom");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &GenerateRandomRequest) -> Value {
        json!({"numberOfBytes": r.number_of_bytes})
    }

    /// The request's shape is checked before it is authorized, with AWS's two messages (one
    /// per bound).
    fn check(r: &GenerateRandomRequest) -> Result<(), KmsError> {
        if r.custom_key_store_id.is_some() {
            return Err(KmsError::unsupported(
                "CustomKeyStoreId is not supported by Keyward.",
            ));
        }
        refuse_recipient(&r.recipient)?;
        let Some(count) = r.number_of_bytes else {
            return Err(KmsError::validation("NumberOfBytes is required."));
        };
        let bound = if count < 1 {
            Some("greater than or equal to 1".to_owned())
        } else if count > MAX_RANDOM_BYTES {
            Some(format!("less than or equal to {MAX_RANDOM_BYTES}"))
        } else {
            None
        };
        match bound {
            Some(bound) => Err(KmsError::validation(format!(
                "1 validation error detected: Value '{count}' at 'numberOfBytes' failed to satisfy constraint: Member must have value {bound}"
            ))),
            None => Ok(()),
        }
    }
}

impl WithoutKey for GenerateRandom {
    fn perform(
        _: &mut Allowed<'_>,
        r: &GenerateRandomRequest,
    ) -> Result<GenerateRandomResponse, KmsError> {
        let count = r.number_of_bytes.unwrap_or_default();
        Ok(GenerateRandomResponse {
            plaintext: secret(keyward_crypto::generate_random(u64::from(count))?),
        })
    }
}
