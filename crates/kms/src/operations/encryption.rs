//! Encryption: Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
//! GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, GenerateRandom.

use super::{check_encryption_context, crypto_context, refuse_recipient, secret};
use crate::caller::Caller;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Call, KmsOperation, action, operation};
use crate::key_state;
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
use keyward_crypto::limits::MAX_RANDOM_BYTES;
use keyward_crypto::{DataKeyLength, DataKeyPairSpec, DataKeySpec, EncryptionAlgorithm};
use keyward_grants::key_grants::MAX_GRANT_TOKENS;
use keyward_policy::catalog::ActionId;
use serde_json::json;
use std::borrow::Cow;

/// The algorithm a request names, `SYMMETRIC_DEFAULT` when it names none.
fn algorithm(name: Option<&str>) -> &str {
    name.unwrap_or("SYMMETRIC_DEFAULT")
}

/// The condition key every symmetric encryption operation sets.
fn encryption_algorithm(name: Option<&str>, keys: &mut RequestContext) {
    keys.insert_single("kms:EncryptionAlgorithm", algorithm(name));
}

/// An algorithm the request names, checked.
fn valid_algorithm(name: Option<&str>) -> Result<(), KmsError> {
    EncryptionAlgorithm::parse(algorithm(name))?;
    Ok(())
}

operation! {
    /// Encrypt.
    Encrypt(EncryptRequest) -> EncryptResponse, via Read, action "Encrypt", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "encryptionContext": r.encryption_context, "encryptionAlgorithm": algorithm(r.encryption_algorithm.as_deref())});
    check |r| check_encryption_context("encryptionContext", &r.encryption_context);
    context |r, keys| encryption_algorithm(r.encryption_algorithm.as_deref(), keys);
    validate |_, r| valid_algorithm(r.encryption_algorithm.as_deref());
    perform |_, entry, r| {
        let name = algorithm(r.encryption_algorithm.as_deref());
        let context = crypto_context(&r.encryption_context);
        let algorithm = EncryptionAlgorithm::parse(name)?;
        let ciphertext_blob = entry.crypto.encrypt(r.plaintext.expose(), &context, algorithm)?;
        Ok(EncryptResponse { ciphertext_blob, key_id: entry.meta.arn.clone(), encryption_algorithm: name.to_owned() })
    }
}

operation! {
    /// Decrypt: the key comes from the ciphertext (symmetric) or `KeyId` (required for RSA).
    Decrypt(DecryptRequest) -> DecryptResponse, via Read, action "Decrypt", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "encryptionContext": r.encryption_context, "encryptionAlgorithm": algorithm(r.encryption_algorithm.as_deref())});
    check |r| {
        refuse_recipient(&r.recipient)?;
        check_encryption_context("encryptionContext", &r.encryption_context)
    };
    context |r, keys| encryption_algorithm(r.encryption_algorithm.as_deref(), keys);
    locate |kms, caller, r| ciphertext_key(
        kms,
        caller,
        &r.ciphertext_blob,
        r.key_id.as_deref(),
        algorithm(r.encryption_algorithm.as_deref()),
        Decrypt::ACTION,
    );
    validate |_, r| valid_algorithm(r.encryption_algorithm.as_deref());
    perform |_, entry, r| {
        let name = algorithm(r.encryption_algorithm.as_deref());
        let context = crypto_context(&r.encryption_context);
        let plaintext = entry.crypto.decrypt(&r.ciphertext_blob, &context, EncryptionAlgorithm::parse(name)?)?;
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
    kms.load_missing_key(from_blob)?;
    if let Some(named) = key_id {
        kms.fill(caller, named, action)?;
    }
    let state = kms.read()?;
    let Some(owner) = state.slot(from_blob) else {
        return Err(KmsError::refused(
            ErrorCode::AccessDenied,
            "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.",
        ));
    };
    if let Some(named) = key_id {
        let (slot, _) = kms.resolve_in(&state, caller, named, action)?;
        if slot.id != from_blob {
            return Err(KmsError::refused(
                ErrorCode::IncorrectKey,
                "The key ID in the request does not identify a CMK that can perform this operation.",
            ));
        }
        return Ok(Cow::Borrowed(named));
    }
    Ok(Cow::Owned(owner.arn.clone()))
}

operation! {
    /// ReEncrypt: `kms:ReEncryptFrom` on the source key (with the source encryption context)
    /// and `kms:ReEncryptTo` on the destination key (with the destination context), both with
    /// `kms:ReEncryptOnSameKey`. The plaintext never leaves the crypto core.
    ReEncrypt(ReEncryptRequest) -> ReEncryptResponse, via Own, action "ReEncryptFrom", state Cryptographic;
    audit |r| json!({
        "sourceKeyId": r.source_key_id,
        "sourceEncryptionContext": r.source_encryption_context,
        "sourceEncryptionAlgorithm": algorithm(r.source_encryption_algorithm.as_deref()),
        "destinationKeyId": r.destination_key_id,
        "destinationEncryptionContext": r.destination_encryption_context,
        "destinationEncryptionAlgorithm": algorithm(r.destination_encryption_algorithm.as_deref()),
    });
    check |r| {
        check_encryption_context("sourceEncryptionContext", &r.source_encryption_context)?;
        check_encryption_context("destinationEncryptionContext", &r.destination_encryption_context)
    };
    run |kms, caller, call, r| re_encrypt(kms, caller, call, r)
}

fn re_encrypt(
    kms: &Kms,
    caller: &Caller,
    call: &mut Call,
    r: &ReEncryptRequest,
) -> Result<ReEncryptResponse, KmsError> {
    ReEncrypt::check(r)?;
    kms.housekeeping()?;
    let from = ReEncrypt::ACTION;
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
    let (source_slot, source_named) = kms.resolve(caller, &source_key_id, from)?;
    let (destination_slot, destination_named) = kms.resolve(caller, &r.destination_key_id, to)?;
    kms.fresh_for_tokens(&[&source_slot, &destination_slot], &r.grant_tokens)?;
    let (source_guard, destination_guard) =
        crate::entry::KeySlot::read_both(&source_slot, &destination_slot)?;
    let source = &*source_guard;
    let destination = destination_guard.as_deref().unwrap_or(source);
    call.resources.push(source.meta.arn.clone());
    let same = destination.meta.id == source.meta.id;
    if !same {
        call.resources.push(destination.meta.arn.clone());
    }
    let sides = [
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
    ];
    for (entry, named, action, name, pairs) in sides {
        let mut context = kms.context(caller, Some(entry), named);
        context.insert_encryption_context(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        context.insert_single("kms:EncryptionAlgorithm", name);
        context.insert_single("kms:ReEncryptOnSameKey", super::bool_text(same));
        kms.authorize(call, caller, Some(entry), action, Some(pairs), context)?;
    }
    for entry in [source, destination] {
        key_state::check(entry, ReEncrypt::STATE)?;
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

/// A data key's length: `KeySpec` or `NumberOfBytes`, exactly one.
fn data_key_length(spec: Option<&str>, count: Option<u32>) -> Result<DataKeyLength, KmsError> {
    match (spec, count) {
        (Some(spec), None) => Ok(DataKeyLength::Spec(DataKeySpec::parse(spec)?)),
        (None, Some(n)) => Ok(DataKeyLength::Bytes(u64::from(n))),
        (Some(_), Some(_)) | (None, None) => Err(KmsError::validation(
            "Please specify either number of bytes or key spec.",
        )),
    }
}

/// What a data key request checks first: what Keyward does not offer, then its context.
fn check_data_key(recipient: &Unsupported, context: &EncryptionContext) -> Result<(), KmsError> {
    refuse_recipient(recipient)?;
    check_encryption_context("encryptionContext", context)
}

/// The condition keys of a data key pair request.
fn data_key_pair_context(spec: &str, keys: &mut RequestContext) {
    keys.insert_single("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    keys.insert_single("kms:DataKeyPairSpec", spec);
}

operation! {
    /// GenerateDataKey: a data key, in plaintext and encrypted under the key.
    GenerateDataKey(GenerateDataKeyRequest) -> GenerateDataKeyResponse, via Read,
        action "GenerateDataKey", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "keySpec": r.key_spec, "numberOfBytes": r.number_of_bytes, "encryptionContext": r.encryption_context});
    check |r| check_data_key(&r.recipient, &r.encryption_context);
    context |_, keys| encryption_algorithm(None, keys);
    validate |_, r| data_key_length(r.key_spec.as_deref(), r.number_of_bytes).map(drop);
    perform |_, entry, r| {
        let length = data_key_length(r.key_spec.as_deref(), r.number_of_bytes)?;
        let key = entry.crypto.generate_data_key(length, &crypto_context(&r.encryption_context))?;
        Ok(GenerateDataKeyResponse {
            key_material_id: entry.blob_material_id(&key.ciphertext_blob),
            ciphertext_blob: key.ciphertext_blob,
            plaintext: secret(key.plaintext),
            key_id: entry.meta.arn.clone(),
        })
    }
}

operation! {
    /// GenerateDataKeyWithoutPlaintext: a data key, encrypted under the key only.
    GenerateDataKeyWithoutPlaintext(GenerateDataKeyWithoutPlaintextRequest)
        -> GenerateDataKeyWithoutPlaintextResponse, via Read,
        action "GenerateDataKeyWithoutPlaintext", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "keySpec": r.key_spec, "numberOfBytes": r.number_of_bytes, "encryptionContext": r.encryption_context});
    check |r| check_encryption_context("encryptionContext", &r.encryption_context);
    context |_, keys| encryption_algorithm(None, keys);
    validate |_, r| data_key_length(r.key_spec.as_deref(), r.number_of_bytes).map(drop);
    perform |_, entry, r| {
        let length = data_key_length(r.key_spec.as_deref(), r.number_of_bytes)?;
        let context = crypto_context(&r.encryption_context);
        let blob = entry.crypto.generate_data_key_without_plaintext(length, &context)?;
        Ok(GenerateDataKeyWithoutPlaintextResponse {
            key_material_id: entry.blob_material_id(&blob),
            ciphertext_blob: blob,
            key_id: entry.meta.arn.clone(),
        })
    }
}

operation! {
    /// GenerateDataKeyPair: a key pair, its private key in plaintext and encrypted.
    GenerateDataKeyPair(GenerateDataKeyPairRequest) -> GenerateDataKeyPairResponse, via Read,
        action "GenerateDataKeyPair", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "keyPairSpec": r.key_pair_spec, "encryptionContext": r.encryption_context});
    check |r| check_data_key(&r.recipient, &r.encryption_context);
    context |r, keys| data_key_pair_context(&r.key_pair_spec, keys);
    validate |_, r| DataKeyPairSpec::parse(&r.key_pair_spec).map(drop).map_err(KmsError::from);
    perform |_, entry, r| {
        let spec = DataKeyPairSpec::parse(&r.key_pair_spec)?;
        let pair = entry.crypto.generate_data_key_pair(spec, &crypto_context(&r.encryption_context))?;
        Ok(GenerateDataKeyPairResponse {
            private_key_ciphertext_blob: pair.private_key_ciphertext_blob,
            private_key_plaintext: secret(pair.private_key_plaintext),
            public_key: pair.public_key,
            key_id: entry.meta.arn.clone(),
            key_pair_spec: r.key_pair_spec.clone(),
            key_material_id: entry.current_material_id(),
        })
    }
}

operation! {
    /// GenerateDataKeyPairWithoutPlaintext: a key pair, its private key encrypted only.
    GenerateDataKeyPairWithoutPlaintext(GenerateDataKeyPairWithoutPlaintextRequest)
        -> GenerateDataKeyPairWithoutPlaintextResponse, via Read,
        action "GenerateDataKeyPairWithoutPlaintext", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "keyPairSpec": r.key_pair_spec, "encryptionContext": r.encryption_context});
    check |r| check_encryption_context("encryptionContext", &r.encryption_context);
    context |r, keys| data_key_pair_context(&r.key_pair_spec, keys);
    validate |_, r| DataKeyPairSpec::parse(&r.key_pair_spec).map(drop).map_err(KmsError::from);
    perform |_, entry, r| {
        let spec = DataKeyPairSpec::parse(&r.key_pair_spec)?;
        let context = crypto_context(&r.encryption_context);
        let pair = entry.crypto.generate_data_key_pair_without_plaintext(spec, &context)?;
        Ok(GenerateDataKeyPairWithoutPlaintextResponse {
            private_key_ciphertext_blob: pair.private_key_ciphertext_blob,
            public_key: pair.public_key,
            key_id: entry.meta.arn.clone(),
            key_pair_spec: r.key_pair_spec.clone(),
            key_material_id: entry.current_material_id(),
        })
    }
}

/// GenerateRandom's shape, checked before it is authorized, with AWS's two messages (one per
/// bound).
fn check_random(r: &GenerateRandomRequest) -> Result<(), KmsError> {
    refuse_recipient(&r.recipient)?;
    let Some(count) = r.number_of_bytes else {
        return Err(KmsError::validation("NumberOfBytes is required."));
    };
    let bound = if count < 1 {
        "greater than or equal to 1".to_owned()
    } else if u64::from(count) > MAX_RANDOM_BYTES {
        format!("less than or equal to {MAX_RANDOM_BYTES}")
    } else {
        return Ok(());
    };
    Err(KmsError::validation(format!(
        "1 validation error detected: Value '{count}' at 'numberOfBytes' failed to satisfy constraint: Member must have value {bound}"
    )))
}

operation! {
    /// GenerateRandom: no key; identity policies alone decide (`kms:GenerateRandom` on `*`).
    GenerateRandom(GenerateRandomRequest) -> GenerateRandomResponse, via NoKey, action "GenerateRandom", state Any;
    audit |r| json!({"numberOfBytes": r.number_of_bytes, "customKeyStoreId": r.custom_key_store_id});
    check |r| check_random(r);
    perform |op, r| {
        let count = u64::from(r.number_of_bytes.unwrap_or_default());
        let Some(store_id) = &r.custom_key_store_id else {
            return Ok(GenerateRandomResponse { plaintext: secret(keyward_crypto::generate_random(count)?) });
        };
        // From the key store's token, which must be connected (AWS's rule).
        let store = super::custom_key_stores::store(op.kms, store_id)?;
        if store.state() != crate::key_stores::ConnectionState::Connected {
            return Err(KmsError::refused(
                keyward_api::ErrorCode::CustomKeyStoreInvalidState,
                format!("Custom key store {store_id} is {}: GenerateRandom needs a CONNECTED custom key store.", store.state().as_str()),
            ));
        }
        let len = usize::try_from(count).map_err(|_| KmsError::Internal("a random length".into()))?;
        let bytes = keyward_crypto::KeyToken::random(&*store.token, len)
            .map_err(keyward_crypto::CryptoError::Token)?;
        Ok(GenerateRandomResponse { plaintext: secret(bytes) })
    }
}
