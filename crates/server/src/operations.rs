//! Every operation of the key service, by its KMS name: the PascalCase JSON input mapped to the
//! `keyward-kms` request, the result mapped back to the JSON KMS answers with.

use crate::protocol::{ApiError, Input, blob, timestamp};
use keyward_kms::model::{
    AliasListEntry, CreateGrantRequest, CreateKeyRequest, DecryptRequest,
    DeleteImportedKeyMaterialRequest, DeriveSharedSecretRequest, EnableKeyRotationRequest,
    EncryptRequest, GenerateDataKeyPairRequest, GenerateDataKeyRequest, GenerateMacRequest,
    GetParametersForImportRequest, GrantListEntry, ImportKeyMaterialRequest, KeyMetadata,
    ListGrantsRequest, ListKeyRotationsRequest, Page, Paging, ReEncryptRequest, RetireGrantRequest,
    SignRequest, VerifyMacRequest, VerifyRequest,
};
use keyward_kms::{Caller, Kms};
use serde_json::{Map, Value, json};

/// Declares the operations: the enum, their KMS names, and which change stored state (those
/// run off the request threads, as they wait for the disk).
macro_rules! operations {
    ($($name:ident => $writes:literal,)*) => {
        /// An operation of the key service, as named in `X-Amz-Target: TrentService.<Name>`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $($name,)* }

        impl Operation {
            /// Every operation served.
            pub const ALL: &'static [Operation] = &[$(Operation::$name,)*];

            /// The KMS name.
            pub const fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name),)* }
            }

            /// True when the operation changes stored state.
            pub const fn writes(self) -> bool {
                match self { $(Operation::$name => $writes,)* }
            }

            /// True when the call keeps a core busy for long (generating an RSA key pair):
            /// it runs on the blocking pool, a few at a time, never on the async workers.
            pub fn cpu_heavy(self, input: &Input) -> bool {
                let rsa = |member: &str| {
                    input
                        .string(member)
                        .ok()
                        .flatten()
                        .is_some_and(|spec| spec.starts_with("RSA_"))
                };
                match self {
                    Self::GenerateDataKeyPair | Self::GenerateDataKeyPairWithoutPlaintext => {
                        rsa("KeyPairSpec")
                    }
                    Self::CreateKey => rsa("KeySpec") || rsa("CustomerMasterKeySpec"),
                    Self::GetParametersForImport => true,
                    _ => false,
                }
            }
        }
    };
}

operations! {
    CreateKey => true,
    DescribeKey => false,
    ListKeys => false,
    EnableKey => true,
    DisableKey => true,
    ScheduleKeyDeletion => true,
    CancelKeyDeletion => true,
    UpdateKeyDescription => true,
    GetKeyPolicy => false,
    ListKeyPolicies => false,
    PutKeyPolicy => true,
    TagResource => true,
    UntagResource => true,
    ListResourceTags => false,
    Encrypt => false,
    Decrypt => false,
    ReEncrypt => false,
    GenerateDataKey => false,
    GenerateDataKeyWithoutPlaintext => false,
    GenerateDataKeyPair => false,
    GenerateDataKeyPairWithoutPlaintext => false,
    Sign => false,
    Verify => false,
    GetPublicKey => false,
    GenerateMac => false,
    VerifyMac => false,
    DeriveSharedSecret => false,
    GenerateRandom => false,
    CreateAlias => true,
    UpdateAlias => true,
    DeleteAlias => true,
    ListAliases => false,
    CreateGrant => true,
    ListGrants => false,
    RevokeGrant => true,
    RetireGrant => true,
    ListRetirableGrants => false,
    EnableKeyRotation => true,
    DisableKeyRotation => true,
    GetKeyRotationStatus => false,
    RotateKeyOnDemand => true,
    ListKeyRotations => false,
    GetParametersForImport => true,
    ImportKeyMaterial => true,
    DeleteImportedKeyMaterial => true,
}

/// Operations of the KMS API this server does not offer (custom key stores, multi-Region keys):
/// they are refused as unsupported rather than unknown.
pub const UNSUPPORTED: &[&str] = &[
    "ConnectCustomKeyStore",
    "CreateCustomKeyStore",
    "DeleteCustomKeyStore",
    "DescribeCustomKeyStores",
    "DisconnectCustomKeyStore",
    "UpdateCustomKeyStore",
    "ReplicateKey",
    "UpdatePrimaryRegion",
    "GetKeyLastUsage",
];

impl Operation {
    /// The operation a target names (`TrentService.Encrypt`).
    pub fn from_target(target: &str) -> Result<Self, ApiError> {
        let name = target.strip_prefix("TrentService.").unwrap_or("");
        if let Some(op) = Self::ALL.iter().find(|op| op.name() == name) {
            return Ok(*op);
        }
        if UNSUPPORTED.contains(&name) {
            return Err(ApiError::new(
                "UnsupportedOperationException",
                format!(
                    "{name} is not supported by keyward serve (no custom key stores or multi-Region keys)."
                ),
            ));
        }
        Err(ApiError {
            status: 400,
            code: "UnknownOperationException".into(),
            message: None,
        })
    }

    /// Runs the operation for `caller`.
    pub fn call(self, kms: &Kms, caller: &Caller, input: &Input) -> Result<Value, ApiError> {
        match self {
            Self::CreateKey => create_key(kms, caller, input),
            Self::DescribeKey => {
                let meta = kms.describe_key(caller, &input.required_string("KeyId")?)?;
                Ok(json!({ "KeyMetadata": key_metadata(&meta) }))
            }
            Self::ListKeys => {
                let keys = kms.list_keys(caller)?;
                let (keys, next) = paged(keys, input, 100, |(id, _)| id.clone())?;
                let keys: Vec<Value> = keys
                    .into_iter()
                    .map(|(id, arn)| json!({"KeyId": id, "KeyArn": arn}))
                    .collect();
                Ok(listing("Keys", keys, next))
            }
            Self::EnableKey => {
                kms.enable_key(caller, &input.required_string("KeyId")?)?;
                Ok(empty())
            }
            Self::DisableKey => {
                kms.disable_key(caller, &input.required_string("KeyId")?)?;
                Ok(empty())
            }
            Self::ScheduleKeyDeletion => {
                let meta = kms.schedule_key_deletion(
                    caller,
                    &input.required_string("KeyId")?,
                    input.integer("PendingWindowInDays")?,
                )?;
                let mut out = Map::new();
                out.insert("KeyId".into(), meta.arn.clone().into());
                out.insert("KeyState".into(), meta.key_state.as_str().into());
                if let Some(date) = meta.deletion_date {
                    out.insert("DeletionDate".into(), timestamp(date));
                }
                if let Some(days) = meta.pending_deletion_window_in_days {
                    out.insert("PendingWindowInDays".into(), days.into());
                }
                Ok(Value::Object(out))
            }
            Self::CancelKeyDeletion => {
                let arn = kms.cancel_key_deletion(caller, &input.required_string("KeyId")?)?;
                Ok(json!({ "KeyId": arn }))
            }
            Self::UpdateKeyDescription => {
                kms.update_key_description(
                    caller,
                    &input.required_string("KeyId")?,
                    &input.required_string("Description")?,
                )?;
                Ok(empty())
            }
            Self::GetKeyPolicy => {
                let name = input.string("PolicyName")?;
                let policy =
                    kms.get_key_policy(caller, &input.required_string("KeyId")?, name.as_deref())?;
                Ok(json!({"Policy": policy, "PolicyName": name.as_deref().unwrap_or("default")}))
            }
            Self::ListKeyPolicies => {
                let names = kms.list_key_policies(caller, &input.required_string("KeyId")?)?;
                let (names, next) = paged(names, input, 100, Clone::clone)?;
                Ok(listing(
                    "PolicyNames",
                    names.into_iter().map(Value::from).collect(),
                    next,
                ))
            }
            Self::PutKeyPolicy => {
                kms.put_key_policy(
                    caller,
                    &input.required_string("KeyId")?,
                    &input.required_string("Policy")?,
                    input.string("PolicyName")?.as_deref(),
                    input.boolean("BypassPolicyLockoutSafetyCheck")?,
                )?;
                Ok(empty())
            }
            Self::TagResource => {
                let tags = input.tags("Tags")?;
                if !input.has("Tags") {
                    return Err(ApiError::missing("Tags"));
                }
                kms.tag_resource(caller, &input.required_string("KeyId")?, &tags)?;
                Ok(empty())
            }
            Self::UntagResource => {
                let keys = input.string_list("TagKeys")?;
                if !input.has("TagKeys") {
                    return Err(ApiError::missing("TagKeys"));
                }
                kms.untag_resource(caller, &input.required_string("KeyId")?, &keys)?;
                Ok(empty())
            }
            Self::ListResourceTags => {
                let tags = kms.list_resource_tags(caller, &input.required_string("KeyId")?)?;
                let (tags, next) = paged(tags, input, 50, |(k, _)| k.clone())?;
                let tags: Vec<Value> = tags
                    .into_iter()
                    .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
                    .collect();
                Ok(listing("Tags", tags, next))
            }
            Self::Encrypt => {
                let mut request = EncryptRequest {
                    key_id: input.required_string("KeyId")?,
                    plaintext: input.required_blob("Plaintext")?,
                    encryption_context: context(input, "EncryptionContext")?,
                    encryption_algorithm: input.string("EncryptionAlgorithm")?,
                    grant_tokens: input.string_list("GrantTokens")?,
                    dry_run: dry_run(input)?,
                };
                let out = kms.encrypt(caller, &request);
                zeroize::Zeroize::zeroize(&mut request.plaintext);
                let out = out?;
                Ok(json!({
                    "CiphertextBlob": blob(&out.ciphertext_blob),
                    "KeyId": out.key_id,
                    "EncryptionAlgorithm": out.encryption_algorithm,
                }))
            }
            Self::Decrypt => {
                if input.has("Recipient") {
                    return Err(ApiError::new(
                        "UnsupportedOperationException",
                        "Recipient (Nitro Enclaves attestation) is not supported by keyward serve.",
                    ));
                }
                let out = kms.decrypt(
                    caller,
                    &DecryptRequest {
                        ciphertext_blob: input.required_blob("CiphertextBlob")?,
                        key_id: input.string("KeyId")?,
                        encryption_context: context(input, "EncryptionContext")?,
                        encryption_algorithm: input.string("EncryptionAlgorithm")?,
                        grant_tokens: input.string_list("GrantTokens")?,
                        dry_run: dry_run(input)?,
                    },
                )?;
                let mut body = Map::new();
                body.insert("KeyId".into(), out.key_id.clone().into());
                body.insert("Plaintext".into(), blob(out.plaintext.expose()));
                body.insert(
                    "EncryptionAlgorithm".into(),
                    out.encryption_algorithm.clone().into(),
                );
                optional(&mut body, "KeyMaterialId", out.key_material_id.clone());
                Ok(Value::Object(body))
            }
            Self::ReEncrypt => {
                let out = kms.re_encrypt(
                    caller,
                    &ReEncryptRequest {
                        ciphertext_blob: input.required_blob("CiphertextBlob")?,
                        source_key_id: input.string("SourceKeyId")?,
                        source_encryption_context: context(input, "SourceEncryptionContext")?,
                        source_encryption_algorithm: input.string("SourceEncryptionAlgorithm")?,
                        destination_key_id: input.required_string("DestinationKeyId")?,
                        destination_encryption_context: context(
                            input,
                            "DestinationEncryptionContext",
                        )?,
                        destination_encryption_algorithm: input
                            .string("DestinationEncryptionAlgorithm")?,
                        grant_tokens: input.string_list("GrantTokens")?,
                        dry_run: dry_run(input)?,
                    },
                )?;
                let mut body = Map::new();
                body.insert("CiphertextBlob".into(), blob(&out.ciphertext_blob));
                body.insert("SourceKeyId".into(), out.source_key_id.into());
                body.insert("KeyId".into(), out.key_id.into());
                body.insert(
                    "SourceEncryptionAlgorithm".into(),
                    out.source_encryption_algorithm.into(),
                );
                body.insert(
                    "DestinationEncryptionAlgorithm".into(),
                    out.destination_encryption_algorithm.into(),
                );
                optional(&mut body, "SourceKeyMaterialId", out.source_key_material_id);
                optional(
                    &mut body,
                    "DestinationKeyMaterialId",
                    out.destination_key_material_id,
                );
                Ok(Value::Object(body))
            }
            Self::GenerateDataKey | Self::GenerateDataKeyWithoutPlaintext => {
                let request = GenerateDataKeyRequest {
                    key_id: input.required_string("KeyId")?,
                    key_spec: input.string("KeySpec")?,
                    number_of_bytes: input.integer("NumberOfBytes")?.map(u64::from),
                    encryption_context: context(input, "EncryptionContext")?,
                    grant_tokens: input.string_list("GrantTokens")?,
                    dry_run: dry_run(input)?,
                };
                let out = if self == Self::GenerateDataKey {
                    kms.generate_data_key(caller, &request)?
                } else {
                    kms.generate_data_key_without_plaintext(caller, &request)?
                };
                let mut body = json!({
                    "CiphertextBlob": blob(&out.ciphertext_blob),
                    "KeyId": out.key_id,
                });
                if let Value::Object(map) = &mut body {
                    if let Some(plaintext) = &out.plaintext {
                        map.insert("Plaintext".into(), blob(plaintext.expose()));
                    }
                    optional(map, "KeyMaterialId", out.key_material_id.clone());
                }
                Ok(body)
            }
            Self::GenerateDataKeyPair | Self::GenerateDataKeyPairWithoutPlaintext => {
                let request = GenerateDataKeyPairRequest {
                    key_id: input.required_string("KeyId")?,
                    key_pair_spec: input.required_string("KeyPairSpec")?,
                    encryption_context: context(input, "EncryptionContext")?,
                    grant_tokens: input.string_list("GrantTokens")?,
                    dry_run: dry_run(input)?,
                };
                let out = if self == Self::GenerateDataKeyPair {
                    kms.generate_data_key_pair(caller, &request)?
                } else {
                    kms.generate_data_key_pair_without_plaintext(caller, &request)?
                };
                let mut body = json!({
                    "PrivateKeyCiphertextBlob": blob(&out.private_key_ciphertext_blob),
                    "PublicKey": blob(&out.public_key),
                    "KeyId": out.key_id,
                    "KeyPairSpec": out.key_pair_spec,
                });
                if let Value::Object(map) = &mut body {
                    if let Some(private) = &out.private_key_plaintext {
                        map.insert("PrivateKeyPlaintext".into(), blob(private.expose()));
                    }
                    optional(map, "KeyMaterialId", out.key_material_id.clone());
                }
                Ok(body)
            }
            Self::Sign => {
                let out = kms.sign(
                    caller,
                    &SignRequest {
                        key_id: input.required_string("KeyId")?,
                        message: input.required_blob("Message")?,
                        message_type: input.string("MessageType")?,
                        signing_algorithm: input.required_string("SigningAlgorithm")?,
                        grant_tokens: input.string_list("GrantTokens")?,
                        dry_run: dry_run(input)?,
                    },
                )?;
                Ok(json!({
                    "KeyId": out.key_id,
                    "Signature": blob(&out.signature),
                    "SigningAlgorithm": out.signing_algorithm,
                }))
            }
            Self::Verify => {
                let out = kms.verify(
                    caller,
                    &VerifyRequest {
                        key_id: input.required_string("KeyId")?,
                        message: input.required_blob("Message")?,
                        message_type: input.string("MessageType")?,
                        signature: input.required_blob("Signature")?,
                        signing_algorithm: input.required_string("SigningAlgorithm")?,
                        grant_tokens: input.string_list("GrantTokens")?,
                        dry_run: dry_run(input)?,
                    },
                )?;
                Ok(json!({
                    "KeyId": out.key_id,
                    "SignatureValid": out.signature_valid,
                    "SigningAlgorithm": out.signing_algorithm,
                }))
            }
            Self::GetPublicKey => {
                let out = kms.get_public_key(
                    caller,
                    &input.required_string("KeyId")?,
                    &input.string_list("GrantTokens")?,
                )?;
                let mut body = json!({
                    "KeyId": out.key_id,
                    "PublicKey": blob(&out.public_key),
                    "KeySpec": out.key_spec,
                    "CustomerMasterKeySpec": out.key_spec,
                    "KeyUsage": out.key_usage,
                });
                if let Value::Object(map) = &mut body {
                    for (name, list) in [
                        ("EncryptionAlgorithms", &out.encryption_algorithms),
                        ("SigningAlgorithms", &out.signing_algorithms),
                        ("KeyAgreementAlgorithms", &out.key_agreement_algorithms),
                    ] {
                        if !list.is_empty() {
                            map.insert(name.into(), json!(list));
                        }
                    }
                }
                Ok(body)
            }
            Self::GenerateMac => {
                let out = kms.generate_mac(
                    caller,
                    &GenerateMacRequest {
                        key_id: input.required_string("KeyId")?,
                        message: input.required_blob("Message")?,
                        mac_algorithm: input.required_string("MacAlgorithm")?,
                        grant_tokens: input.string_list("GrantTokens")?,
                        dry_run: dry_run(input)?,
                    },
                )?;
                Ok(json!({
                    "KeyId": out.key_id,
                    "Mac": blob(&out.mac),
                    "MacAlgorithm": out.mac_algorithm,
                }))
            }
            Self::VerifyMac => {
                let out = kms.verify_mac(
                    caller,
                    &VerifyMacRequest {
                        key_id: input.required_string("KeyId")?,
                        message: input.required_blob("Message")?,
                        mac: input.required_blob("Mac")?,
                        mac_algorithm: input.required_string("MacAlgorithm")?,
                        grant_tokens: input.string_list("GrantTokens")?,
                        dry_run: dry_run(input)?,
                    },
                )?;
                Ok(json!({
                    "KeyId": out.key_id,
                    "MacValid": out.mac_valid,
                    "MacAlgorithm": out.mac_algorithm,
                }))
            }
            Self::DeriveSharedSecret => {
                if input.has("Recipient") {
                    return Err(ApiError::new(
                        "UnsupportedOperationException",
                        "Recipient (Nitro Enclaves attestation) is not supported by keyward serve.",
                    ));
                }
                let out = kms.derive_shared_secret(
                    caller,
                    &DeriveSharedSecretRequest {
                        key_id: input.required_string("KeyId")?,
                        key_agreement_algorithm: input.required_string("KeyAgreementAlgorithm")?,
                        public_key: input.required_blob("PublicKey")?,
                        grant_tokens: input.string_list("GrantTokens")?,
                        dry_run: dry_run(input)?,
                    },
                )?;
                Ok(json!({
                    "KeyId": out.key_id,
                    "SharedSecret": blob(out.shared_secret.expose()),
                    "KeyAgreementAlgorithm": out.key_agreement_algorithm,
                    "KeyOrigin": out.key_origin,
                }))
            }
            Self::GenerateRandom => {
                if input.has("CustomKeyStoreId") {
                    return Err(ApiError::new(
                        "UnsupportedOperationException",
                        "CustomKeyStoreId is not supported by keyward serve.",
                    ));
                }
                let Some(n) = input.integer("NumberOfBytes")? else {
                    return Err(ApiError::new(
                        "ValidationException",
                        "NumberOfBytes is required.",
                    ));
                };
                let random = kms.generate_random(caller, u64::from(n))?;
                Ok(json!({ "Plaintext": blob(random.expose()) }))
            }
            Self::CreateAlias => {
                kms.create_alias(
                    caller,
                    &input.required_string("AliasName")?,
                    &input.required_string("TargetKeyId")?,
                )?;
                Ok(empty())
            }
            Self::UpdateAlias => {
                kms.update_alias(
                    caller,
                    &input.required_string("AliasName")?,
                    &input.required_string("TargetKeyId")?,
                )?;
                Ok(empty())
            }
            Self::DeleteAlias => {
                kms.delete_alias(caller, &input.required_string("AliasName")?)?;
                Ok(empty())
            }
            Self::ListAliases => {
                let aliases = kms.list_aliases(caller, input.string("KeyId")?.as_deref())?;
                let (aliases, next) = paged(aliases, input, 50, |a| a.alias_name.clone())?;
                Ok(listing(
                    "Aliases",
                    aliases.iter().map(alias).collect(),
                    next,
                ))
            }
            Self::CreateGrant => create_grant(kms, caller, input),
            Self::ListGrants => {
                let page = kms.list_grants(
                    caller,
                    &ListGrantsRequest {
                        key_id: input.required_string("KeyId")?,
                        grant_id: input.string("GrantId")?,
                        grantee_principal: input.string("GranteePrincipal")?,
                        paging: paging(input)?,
                    },
                )?;
                Ok(grant_page(&page))
            }
            Self::RevokeGrant => {
                if dry_run(input)? {
                    return Err(dry_run_unsupported());
                }
                kms.revoke_grant(
                    caller,
                    &input.required_string("KeyId")?,
                    &input.required_string("GrantId")?,
                )?;
                Ok(empty())
            }
            Self::RetireGrant => {
                if dry_run(input)? {
                    return Err(dry_run_unsupported());
                }
                kms.retire_grant(
                    caller,
                    &RetireGrantRequest {
                        grant_token: input.string("GrantToken")?,
                        key_id: input.string("KeyId")?,
                        grant_id: input.string("GrantId")?,
                    },
                )?;
                Ok(empty())
            }
            Self::ListRetirableGrants => {
                let page = kms.list_retirable_grants(
                    caller,
                    &input.required_string("RetiringPrincipal")?,
                    &paging(input)?,
                )?;
                Ok(grant_page(&page))
            }
            Self::EnableKeyRotation => {
                kms.enable_key_rotation(
                    caller,
                    &EnableKeyRotationRequest {
                        key_id: input.required_string("KeyId")?,
                        rotation_period_in_days: input.integer("RotationPeriodInDays")?,
                    },
                )?;
                Ok(empty())
            }
            Self::DisableKeyRotation => {
                kms.disable_key_rotation(caller, &input.required_string("KeyId")?)?;
                Ok(empty())
            }
            Self::GetKeyRotationStatus => {
                let status =
                    kms.get_key_rotation_status(caller, &input.required_string("KeyId")?)?;
                let mut out = Map::new();
                out.insert("KeyId".into(), status.key_id.into());
                out.insert(
                    "KeyRotationEnabled".into(),
                    status.key_rotation_enabled.into(),
                );
                if let Some(days) = status.rotation_period_in_days {
                    out.insert("RotationPeriodInDays".into(), days.into());
                }
                if let Some(date) = status.next_rotation_date {
                    out.insert("NextRotationDate".into(), timestamp(date));
                }
                if let Some(date) = status.on_demand_rotation_start_date {
                    out.insert("OnDemandRotationStartDate".into(), timestamp(date));
                }
                Ok(Value::Object(out))
            }
            Self::RotateKeyOnDemand => {
                let key = kms.rotate_key_on_demand(caller, &input.required_string("KeyId")?)?;
                Ok(json!({ "KeyId": key }))
            }
            Self::ListKeyRotations => {
                let page = kms.list_key_rotations(
                    caller,
                    &ListKeyRotationsRequest {
                        key_id: input.required_string("KeyId")?,
                        include_key_material: input.string("IncludeKeyMaterial")?,
                        paging: paging(input)?,
                    },
                )?;
                let rotations = page
                    .items
                    .iter()
                    .map(|r| {
                        let mut out = Map::new();
                        out.insert("KeyId".into(), r.key_id.clone().into());
                        out.insert("KeyMaterialId".into(), r.key_material_id.clone().into());
                        out.insert("KeyMaterialState".into(), r.key_material_state.into());
                        optional(
                            &mut out,
                            "KeyMaterialDescription",
                            r.key_material_description.clone(),
                        );
                        optional(&mut out, "ImportState", r.import_state);
                        optional(&mut out, "ExpirationModel", r.expiration_model);
                        optional(&mut out, "ValidTo", r.valid_to.map(timestamp));
                        optional(&mut out, "RotationDate", r.rotation_date.map(timestamp));
                        optional(&mut out, "RotationType", r.rotation_type);
                        Value::Object(out)
                    })
                    .collect();
                Ok(listing("Rotations", rotations, page.next_marker.clone()))
            }
            Self::GetParametersForImport => {
                let out = kms.get_parameters_for_import(
                    caller,
                    &GetParametersForImportRequest {
                        key_id: input.required_string("KeyId")?,
                        wrapping_algorithm: input.required_string("WrappingAlgorithm")?,
                        wrapping_key_spec: input.required_string("WrappingKeySpec")?,
                    },
                )?;
                Ok(json!({
                    "KeyId": out.key_id,
                    "ImportToken": blob(&out.import_token),
                    "PublicKey": blob(&out.public_key),
                    "ParametersValidTo": timestamp(out.parameters_valid_to),
                }))
            }
            Self::ImportKeyMaterial => {
                let out = kms.import_key_material(
                    caller,
                    &ImportKeyMaterialRequest {
                        key_id: input.required_string("KeyId")?,
                        import_token: input.required_blob("ImportToken")?,
                        encrypted_key_material: input.required_blob("EncryptedKeyMaterial")?,
                        expiration_model: input.string("ExpirationModel")?,
                        valid_to: input.timestamp("ValidTo")?,
                        import_type: input.string("ImportType")?,
                        key_material_id: input.string("KeyMaterialId")?,
                        key_material_description: input.string("KeyMaterialDescription")?,
                    },
                )?;
                Ok(json!({"KeyId": out.key_id, "KeyMaterialId": out.key_material_id}))
            }
            Self::DeleteImportedKeyMaterial => {
                let out = kms.delete_imported_key_material(
                    caller,
                    &DeleteImportedKeyMaterialRequest {
                        key_id: input.required_string("KeyId")?,
                        key_material_id: input.string("KeyMaterialId")?,
                    },
                )?;
                let mut body = Map::new();
                body.insert("KeyId".into(), out.key_id.into());
                optional(&mut body, "KeyMaterialId", out.key_material_id);
                Ok(Value::Object(body))
            }
        }
    }
}

fn empty() -> Value {
    Value::Object(Map::new())
}

/// Sets `name` when there is a value; AWS omits absent members rather than sending null.
fn optional<T: Into<Value>>(out: &mut Map<String, Value>, name: &str, value: Option<T>) {
    if let Some(value) = value {
        out.insert(name.to_owned(), value.into());
    }
}

fn dry_run(input: &Input) -> Result<bool, ApiError> {
    Ok(input.boolean("DryRun")?.unwrap_or(false))
}

/// Fail-closed: a dry run this server cannot perform without acting is refused, never acted on.
fn dry_run_unsupported() -> ApiError {
    ApiError::new(
        "UnsupportedOperationException",
        "DryRun is not supported for this operation by keyward serve; nothing was done.",
    )
}

fn context(
    input: &Input,
    member: &str,
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    Ok(input.string_map(member)?.unwrap_or_default())
}

fn paging(input: &Input) -> Result<Paging, ApiError> {
    Ok(Paging {
        limit: input.integer("Limit")?,
        marker: input.string("Marker")?,
    })
}

/// One page of a list the key service returns whole: `Limit` (1–1000, `default` when absent)
/// items after the one named by `Marker`; the next marker names the last item returned.
fn paged<T>(
    items: Vec<T>,
    input: &Input,
    default: u32,
    key: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let Paging { limit, marker } = paging(input)?;
    let limit = limit.unwrap_or(default);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000"
            ),
        ));
    }
    let start = match marker {
        None => 0,
        Some(marker) => {
            items
                .iter()
                .position(|item| key(item) == marker)
                .ok_or_else(|| ApiError::new("InvalidMarkerException", "Invalid marker"))?
                + 1
        }
    };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > start.saturating_add(limit);
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = if more { page.last().map(&key) } else { None };
    Ok((page, next))
}

fn listing(member: &str, items: Vec<Value>, next_marker: Option<String>) -> Value {
    let mut out = Map::new();
    out.insert(member.into(), Value::Array(items));
    out.insert("Truncated".into(), next_marker.is_some().into());
    if let Some(marker) = next_marker {
        out.insert("NextMarker".into(), marker.into());
    }
    Value::Object(out)
}

fn create_key(kms: &Kms, caller: &Caller, input: &Input) -> Result<Value, ApiError> {
    for (member, what) in [
        ("CustomKeyStoreId", "custom key stores"),
        ("XksKeyId", "external key stores"),
    ] {
        if input.has(member) {
            return Err(ApiError::new(
                "UnsupportedOperationException",
                format!("{member}: {what} are not supported by keyward serve."),
            ));
        }
    }
    if input.boolean("MultiRegion")? == Some(true) {
        return Err(ApiError::new(
            "UnsupportedOperationException",
            "MultiRegion: multi-Region keys are not supported by keyward serve.",
        ));
    }
    let key_spec = match input.string("KeySpec")? {
        Some(spec) => Some(spec),
        None => input.string("CustomerMasterKeySpec")?,
    };
    let meta = kms.create_key(
        caller,
        &CreateKeyRequest {
            key_spec,
            key_usage: input.string("KeyUsage")?,
            origin: input.string("Origin")?,
            description: input.string("Description")?,
            policy: input.string("Policy")?,
            bypass_policy_lockout_safety_check: input.boolean("BypassPolicyLockoutSafetyCheck")?,
            tags: input.tags("Tags")?,
        },
    )?;
    Ok(json!({ "KeyMetadata": key_metadata(&meta) }))
}

fn create_grant(kms: &Kms, caller: &Caller, input: &Input) -> Result<Value, ApiError> {
    if dry_run(input)? {
        return Err(dry_run_unsupported());
    }
    let constraints = input.structure("Constraints")?;
    let (equals, subset) = match &constraints {
        Some(c) => (
            c.string_map("EncryptionContextEquals")?,
            c.string_map("EncryptionContextSubset")?,
        ),
        None => (None, None),
    };
    if !input.has("Operations") {
        return Err(ApiError::missing("Operations"));
    }
    let out = kms.create_grant(
        caller,
        &CreateGrantRequest {
            key_id: input.required_string("KeyId")?,
            grantee_principal: input.required_string("GranteePrincipal")?,
            retiring_principal: input.string("RetiringPrincipal")?,
            operations: input.string_list("Operations")?,
            encryption_context_equals: equals,
            encryption_context_subset: subset,
            name: input.string("Name")?,
            grant_tokens: input.string_list("GrantTokens")?,
        },
    )?;
    Ok(json!({"GrantId": out.grant_id, "GrantToken": out.grant_token}))
}

fn key_metadata(meta: &KeyMetadata) -> Value {
    let mut out = Map::new();
    let mut put = |name: &str, value: Value| {
        out.insert(name.to_owned(), value);
    };
    put("AWSAccountId", meta.aws_account_id.clone().into());
    put("KeyId", meta.key_id.clone().into());
    put("Arn", meta.arn.clone().into());
    put("CreationDate", timestamp(meta.creation_date));
    put("Enabled", meta.enabled.into());
    put("Description", meta.description.clone().into());
    put("KeyUsage", meta.key_usage.clone().into());
    put("KeyState", meta.key_state.as_str().into());
    put("Origin", meta.origin.clone().into());
    put("KeyManager", meta.key_manager.into());
    put("CustomerMasterKeySpec", meta.key_spec.clone().into());
    put("KeySpec", meta.key_spec.clone().into());
    put("MultiRegion", false.into());
    if let Some(date) = meta.deletion_date {
        put("DeletionDate", timestamp(date));
    }
    if let Some(days) = meta.pending_deletion_window_in_days {
        put("PendingDeletionWindowInDays", days.into());
    }
    for (name, list) in [
        ("EncryptionAlgorithms", &meta.encryption_algorithms),
        ("SigningAlgorithms", &meta.signing_algorithms),
        ("MacAlgorithms", &meta.mac_algorithms),
        ("KeyAgreementAlgorithms", &meta.key_agreement_algorithms),
    ] {
        if !list.is_empty() {
            put(name, json!(list));
        }
    }
    if let Some(model) = &meta.expiration_model {
        put("ExpirationModel", model.clone().into());
    }
    if let Some(valid_to) = meta.valid_to {
        put("ValidTo", timestamp(valid_to));
    }
    if let Some(id) = &meta.current_key_material_id {
        put("CurrentKeyMaterialId", id.clone().into());
    }
    Value::Object(out)
}

fn alias(entry: &AliasListEntry) -> Value {
    let mut out = Map::new();
    out.insert("AliasName".into(), entry.alias_name.clone().into());
    out.insert("AliasArn".into(), entry.alias_arn.clone().into());
    // A predefined alias whose AWS managed key does not exist yet has no target.
    if let Some(target) = &entry.target_key_id {
        out.insert("TargetKeyId".into(), target.clone().into());
    }
    Value::Object(out)
}

fn grant_page(page: &Page<GrantListEntry>) -> Value {
    let grants = page
        .items
        .iter()
        .map(|g| {
            let mut out = Map::new();
            out.insert("KeyId".into(), g.key_id.clone().into());
            out.insert("GrantId".into(), g.grant_id.clone().into());
            out.insert(
                "GranteePrincipal".into(),
                g.grantee_principal.clone().into(),
            );
            out.insert("Operations".into(), json!(g.operations));
            if let Some(name) = &g.name {
                out.insert("Name".into(), name.clone().into());
            }
            if let Some(retiring) = &g.retiring_principal {
                out.insert("RetiringPrincipal".into(), retiring.clone().into());
            }
            if let Some(account) = &g.issuing_account {
                out.insert("IssuingAccount".into(), account.clone().into());
            }
            Value::Object(out)
        })
        .collect();
    listing("Grants", grants, page.next_marker.clone())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    #[test]
    fn every_operation_is_found_by_its_target_and_others_are_refused() {
        assert_eq!(Operation::ALL.len(), 45);
        for op in Operation::ALL {
            assert_eq!(
                Operation::from_target(&format!("TrentService.{}", op.name())).unwrap(),
                *op
            );
        }
        assert_eq!(
            Operation::from_target("TrentService.Nope")
                .unwrap_err()
                .code,
            "UnknownOperationException"
        );
        assert_eq!(
            Operation::from_target("Encrypt").unwrap_err().code,
            "UnknownOperationException"
        );
        assert_eq!(
            Operation::from_target("TrentService.ReplicateKey")
                .unwrap_err()
                .code,
            "UnsupportedOperationException"
        );
    }

    #[test]
    fn paging_walks_a_list_and_refuses_a_forged_marker() {
        let items: Vec<String> = (0..5).map(|i| format!("k{i}")).collect();
        let input = Input::parse(br#"{"Limit":2}"#).unwrap();
        let (page, next) = paged(items.clone(), &input, 100, Clone::clone).unwrap();
        assert_eq!(
            (page, next.as_deref()),
            (vec!["k0".to_owned(), "k1".to_owned()], Some("k1"))
        );
        let input = Input::parse(br#"{"Limit":2,"Marker":"k3"}"#).unwrap();
        let (page, next) = paged(items.clone(), &input, 100, Clone::clone).unwrap();
        assert_eq!((page, next), (vec!["k4".to_owned()], None));
        let input = Input::parse(br#"{"Limit":2,"Marker":"forged"}"#).unwrap();
        assert_eq!(
            paged(items.clone(), &input, 100, Clone::clone)
                .unwrap_err()
                .code,
            "InvalidMarkerException"
        );
        let input = Input::parse(br#"{"Limit":0}"#).unwrap();
        assert_eq!(
            paged(items, &input, 100, Clone::clone).unwrap_err().code,
            "ValidationException"
        );
    }
}
