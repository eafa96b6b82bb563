//! Every operation of the key service, gated. For each operation, on a fresh key of the kind
//! it needs, a caller (`role/User`):
//!
//! * with no permission is denied (`AccessDeniedException`);
//! * is allowed by a key-policy statement naming it;
//! * is allowed by a key policy that delegates to the account, with an identity policy
//!   allowing the action (and denied with the delegation alone);
//! * is allowed by a grant when the operation is grantable, and not by a grant of everything
//!   grantable when it is not;
//! * is denied by an explicit deny, whatever else allows it.
//!
//! Operations without a key (CreateKey, ListKeys, ListAliases, GenerateRandom,
//! ListRetirableGrants) are decided by identity policies alone; alias operations need an
//! identity policy on the alias and the key policy on the key. RetireGrant, authorized by the
//! grant itself, has its own test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};
use keyward_crypto::RootKey;
use keyward_kms::audit::MemoryAudit;
use keyward_kms::clock::ManualClock;
use keyward_kms::model::*;
use keyward_kms::store::MemoryStore;
use keyward_kms::{Caller, Kms, KmsConfig, KmsError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const ACCOUNT: &str = "111122223333";
const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const USER: &str = "arn:aws:iam::111122223333:role/User";
const OTHER: &str = "arn:aws:iam::111122223333:role/Other";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Symmetric,
    External,
    Sign,
    Hmac,
    Agreement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Authorized on the key: key policy, delegated identity policies, grants.
    Key,
    /// Authorized on the alias by identity policies and on the key by its key policy.
    Alias,
    /// No key: identity policies alone.
    NoKey,
}

/// What a fixture prepared (as the admin) for the operation under test.
struct Ctx {
    kms: Kms,
    admin: Caller,
    key: String,
    /// A second key of the same kind (UpdateAlias's new target).
    other: String,
    blob: Vec<u8>,
    signature: Vec<u8>,
    mac: Vec<u8>,
    peer_public_key: Vec<u8>,
    grant_id: String,
    import_token: Vec<u8>,
    wrapped: Vec<u8>,
}

type Run = fn(&Ctx, &Caller) -> Result<(), KmsError>;

struct Op {
    name: &'static str,
    actions: &'static [&'static str],
    kind: Kind,
    scope: Scope,
    /// The grant operations that allow it; empty when it is not grantable.
    grant: &'static [&'static str],
    /// Put the key pending deletion first (CancelKeyDeletion).
    pending_deletion: bool,
    run: Run,
}

const MESSAGE: &[u8] = b"a message to sign";

fn ec() -> BTreeMap<String, String> {
    [("tenant".to_owned(), "acme".to_owned())].into()
}

fn ops() -> Vec<Op> {
    let op = |name, actions, kind, grant, run| Op {
        name,
        actions,
        kind,
        scope: Scope::Key,
        grant,
        pending_deletion: false,
        run,
    };
    use Kind::*;
    vec![
        op(
            "DescribeKey",
            &["kms:DescribeKey"],
            Symmetric,
            &["DescribeKey"],
            |c, u| c.kms.describe_key(u, &c.key).map(drop),
        ),
        op("EnableKey", &["kms:EnableKey"], Symmetric, &[], |c, u| {
            c.kms.enable_key(u, &c.key)
        }),
        op("DisableKey", &["kms:DisableKey"], Symmetric, &[], |c, u| {
            c.kms.disable_key(u, &c.key)
        }),
        op(
            "ScheduleKeyDeletion",
            &["kms:ScheduleKeyDeletion"],
            Symmetric,
            &[],
            |c, u| c.kms.schedule_key_deletion(u, &c.key, Some(7)).map(drop),
        ),
        Op {
            pending_deletion: true,
            ..op(
                "CancelKeyDeletion",
                &["kms:CancelKeyDeletion"],
                Symmetric,
                &[],
                |c, u| c.kms.cancel_key_deletion(u, &c.key).map(drop),
            )
        },
        op(
            "UpdateKeyDescription",
            &["kms:UpdateKeyDescription"],
            Symmetric,
            &[],
            |c, u| c.kms.update_key_description(u, &c.key, "new words"),
        ),
        op(
            "GetKeyPolicy",
            &["kms:GetKeyPolicy"],
            Symmetric,
            &[],
            |c, u| c.kms.get_key_policy(u, &c.key, None).map(drop),
        ),
        op(
            "ListKeyPolicies",
            &["kms:ListKeyPolicies"],
            Symmetric,
            &[],
            |c, u| c.kms.list_key_policies(u, &c.key).map(drop),
        ),
        op(
            "PutKeyPolicy",
            &["kms:PutKeyPolicy"],
            Symmetric,
            &[],
            |c, u| {
                let same = c.kms.get_key_policy(&c.admin, &c.key, None).unwrap();
                c.kms.put_key_policy(u, &c.key, &same, None, None)
            },
        ),
        op(
            "TagResource",
            &["kms:TagResource"],
            Symmetric,
            &[],
            |c, u| {
                c.kms
                    .tag_resource(u, &c.key, &[("env".into(), "test".into())])
            },
        ),
        op(
            "UntagResource",
            &["kms:UntagResource"],
            Symmetric,
            &[],
            |c, u| c.kms.untag_resource(u, &c.key, &["env".into()]),
        ),
        op(
            "ListResourceTags",
            &["kms:ListResourceTags"],
            Symmetric,
            &[],
            |c, u| c.kms.list_resource_tags(u, &c.key).map(drop),
        ),
        op(
            "Encrypt",
            &["kms:Encrypt"],
            Symmetric,
            &["Encrypt"],
            |c, u| {
                c.kms
                    .encrypt(
                        u,
                        &EncryptRequest {
                            key_id: c.key.clone(),
                            plaintext: b"secret".to_vec(),
                            encryption_context: ec(),
                            ..EncryptRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "Decrypt",
            &["kms:Decrypt"],
            Symmetric,
            &["Decrypt"],
            |c, u| {
                let r = c.kms.decrypt(
                    u,
                    &DecryptRequest {
                        ciphertext_blob: c.blob.clone(),
                        encryption_context: ec(),
                        ..DecryptRequest::default()
                    },
                )?;
                assert_eq!(r.plaintext.expose(), b"secret");
                Ok(())
            },
        ),
        op(
            "GenerateDataKey",
            &["kms:GenerateDataKey"],
            Symmetric,
            &["GenerateDataKey"],
            |c, u| {
                c.kms
                    .generate_data_key(
                        u,
                        &GenerateDataKeyRequest {
                            key_id: c.key.clone(),
                            key_spec: Some("AES_256".into()),
                            ..GenerateDataKeyRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "GenerateDataKeyWithoutPlaintext",
            &["kms:GenerateDataKeyWithoutPlaintext"],
            Symmetric,
            &["GenerateDataKeyWithoutPlaintext"],
            |c, u| {
                c.kms
                    .generate_data_key_without_plaintext(
                        u,
                        &GenerateDataKeyRequest {
                            key_id: c.key.clone(),
                            number_of_bytes: Some(32),
                            ..GenerateDataKeyRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "GenerateDataKeyPair",
            &["kms:GenerateDataKeyPair"],
            Symmetric,
            &["GenerateDataKeyPair"],
            |c, u| {
                let r = c.kms.generate_data_key_pair(
                    u,
                    &GenerateDataKeyPairRequest {
                        key_id: c.key.clone(),
                        key_pair_spec: "ECC_NIST_P256".into(),
                        ..GenerateDataKeyPairRequest::default()
                    },
                )?;
                assert!(r.private_key_plaintext.is_some() && !r.public_key.is_empty());
                Ok(())
            },
        ),
        op(
            "GenerateDataKeyPairWithoutPlaintext",
            &["kms:GenerateDataKeyPairWithoutPlaintext"],
            Symmetric,
            &["GenerateDataKeyPairWithoutPlaintext"],
            |c, u| {
                let r = c.kms.generate_data_key_pair_without_plaintext(
                    u,
                    &GenerateDataKeyPairRequest {
                        key_id: c.key.clone(),
                        key_pair_spec: "ECC_NIST_P256".into(),
                        ..GenerateDataKeyPairRequest::default()
                    },
                )?;
                assert!(r.private_key_plaintext.is_none());
                Ok(())
            },
        ),
        op(
            "ReEncrypt",
            &["kms:ReEncryptFrom", "kms:ReEncryptTo"],
            Symmetric,
            &["ReEncryptFrom", "ReEncryptTo"],
            |c, u| {
                let r = c.kms.re_encrypt(
                    u,
                    &ReEncryptRequest {
                        ciphertext_blob: c.blob.clone(),
                        source_encryption_context: ec(),
                        destination_key_id: c.key.clone(),
                        ..ReEncryptRequest::default()
                    },
                )?;
                let back = c
                    .kms
                    .decrypt(
                        &c.admin,
                        &DecryptRequest {
                            ciphertext_blob: r.ciphertext_blob,
                            ..DecryptRequest::default()
                        },
                    )
                    .unwrap();
                assert_eq!(back.plaintext.expose(), b"secret");
                Ok(())
            },
        ),
        op(
            "CreateGrant",
            &["kms:CreateGrant"],
            Symmetric,
            &["CreateGrant", "Decrypt"],
            |c, u| {
                c.kms
                    .create_grant(
                        u,
                        &CreateGrantRequest {
                            key_id: c.key.clone(),
                            grantee_principal: OTHER.into(),
                            operations: vec!["Decrypt".into()],
                            ..CreateGrantRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op("ListGrants", &["kms:ListGrants"], Symmetric, &[], |c, u| {
            c.kms
                .list_grants(
                    u,
                    &ListGrantsRequest {
                        key_id: c.key.clone(),
                        ..ListGrantsRequest::default()
                    },
                )
                .map(drop)
        }),
        op(
            "RevokeGrant",
            &["kms:RevokeGrant"],
            Symmetric,
            &[],
            |c, u| c.kms.revoke_grant(u, &c.key, &c.grant_id),
        ),
        op(
            "EnableKeyRotation",
            &["kms:EnableKeyRotation"],
            Symmetric,
            &[],
            |c, u| {
                c.kms.enable_key_rotation(
                    u,
                    &EnableKeyRotationRequest {
                        key_id: c.key.clone(),
                        rotation_period_in_days: Some(90),
                    },
                )
            },
        ),
        op(
            "DisableKeyRotation",
            &["kms:DisableKeyRotation"],
            Symmetric,
            &[],
            |c, u| c.kms.disable_key_rotation(u, &c.key),
        ),
        op(
            "GetKeyRotationStatus",
            &["kms:GetKeyRotationStatus"],
            Symmetric,
            &[],
            |c, u| c.kms.get_key_rotation_status(u, &c.key).map(drop),
        ),
        op(
            "RotateKeyOnDemand",
            &["kms:RotateKeyOnDemand"],
            Symmetric,
            &[],
            |c, u| c.kms.rotate_key_on_demand(u, &c.key).map(drop),
        ),
        op(
            "ListKeyRotations",
            &["kms:ListKeyRotations"],
            Symmetric,
            &[],
            |c, u| {
                c.kms
                    .list_key_rotations(
                        u,
                        &ListKeyRotationsRequest {
                            key_id: c.key.clone(),
                            ..ListKeyRotationsRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op("Sign", &["kms:Sign"], Sign, &["Sign"], |c, u| {
            c.kms
                .sign(
                    u,
                    &SignRequest {
                        key_id: c.key.clone(),
                        message: MESSAGE.to_vec(),
                        signing_algorithm: "ECDSA_SHA_256".into(),
                        ..SignRequest::default()
                    },
                )
                .map(drop)
        }),
        op("Verify", &["kms:Verify"], Sign, &["Verify"], |c, u| {
            c.kms
                .verify(
                    u,
                    &VerifyRequest {
                        key_id: c.key.clone(),
                        message: MESSAGE.to_vec(),
                        signature: c.signature.clone(),
                        signing_algorithm: "ECDSA_SHA_256".into(),
                        ..VerifyRequest::default()
                    },
                )
                .map(drop)
        }),
        op(
            "GetPublicKey",
            &["kms:GetPublicKey"],
            Sign,
            &["GetPublicKey"],
            |c, u| c.kms.get_public_key(u, &c.key, &[]).map(drop),
        ),
        op(
            "GenerateMac",
            &["kms:GenerateMac"],
            Hmac,
            &["GenerateMac"],
            |c, u| {
                c.kms
                    .generate_mac(
                        u,
                        &GenerateMacRequest {
                            key_id: c.key.clone(),
                            message: MESSAGE.to_vec(),
                            mac_algorithm: "HMAC_SHA_256".into(),
                            ..GenerateMacRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "VerifyMac",
            &["kms:VerifyMac"],
            Hmac,
            &["VerifyMac"],
            |c, u| {
                c.kms
                    .verify_mac(
                        u,
                        &VerifyMacRequest {
                            key_id: c.key.clone(),
                            message: MESSAGE.to_vec(),
                            mac: c.mac.clone(),
                            mac_algorithm: "HMAC_SHA_256".into(),
                            ..VerifyMacRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "DeriveSharedSecret",
            &["kms:DeriveSharedSecret"],
            Agreement,
            &["DeriveSharedSecret"],
            |c, u| {
                c.kms
                    .derive_shared_secret(
                        u,
                        &DeriveSharedSecretRequest {
                            key_id: c.key.clone(),
                            key_agreement_algorithm: "ECDH".into(),
                            public_key: c.peer_public_key.clone(),
                            ..DeriveSharedSecretRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "GetParametersForImport",
            &["kms:GetParametersForImport"],
            External,
            &[],
            |c, u| {
                c.kms
                    .get_parameters_for_import(
                        u,
                        &GetParametersForImportRequest {
                            key_id: c.key.clone(),
                            wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
                            wrapping_key_spec: "RSA_2048".into(),
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "ImportKeyMaterial",
            &["kms:ImportKeyMaterial"],
            External,
            &[],
            |c, u| {
                c.kms
                    .import_key_material(
                        u,
                        &ImportKeyMaterialRequest {
                            key_id: c.key.clone(),
                            import_token: c.import_token.clone(),
                            encrypted_key_material: c.wrapped.clone(),
                            expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
                            ..ImportKeyMaterialRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "DeleteImportedKeyMaterial",
            &["kms:DeleteImportedKeyMaterial"],
            External,
            &[],
            |c, u| {
                c.kms
                    .delete_imported_key_material(
                        u,
                        &DeleteImportedKeyMaterialRequest {
                            key_id: c.key.clone(),
                            key_material_id: None,
                        },
                    )
                    .map(drop)
            },
        ),
        Op {
            scope: Scope::Alias,
            ..op(
                "CreateAlias",
                &["kms:CreateAlias"],
                Symmetric,
                &[],
                |c, u| c.kms.create_alias(u, "alias/new", &c.key),
            )
        },
        Op {
            scope: Scope::Alias,
            ..op(
                "UpdateAlias",
                &["kms:UpdateAlias"],
                Symmetric,
                &[],
                |c, u| c.kms.update_alias(u, "alias/current", &c.other),
            )
        },
        Op {
            scope: Scope::Alias,
            ..op(
                "DeleteAlias",
                &["kms:DeleteAlias"],
                Symmetric,
                &[],
                |c, u| c.kms.delete_alias(u, "alias/current"),
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op("CreateKey", &["kms:CreateKey"], Symmetric, &[], |c, u| {
                c.kms.create_key(u, &CreateKeyRequest::default()).map(drop)
            })
        },
        Op {
            scope: Scope::NoKey,
            ..op("ListKeys", &["kms:ListKeys"], Symmetric, &[], |c, u| {
                c.kms.list_keys(u).map(drop)
            })
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "ListAliases",
                &["kms:ListAliases"],
                Symmetric,
                &[],
                |c, u| c.kms.list_aliases(u, None).map(drop),
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "GenerateRandom",
                &["kms:GenerateRandom"],
                Symmetric,
                &[],
                |c, u| {
                    let r = c.kms.generate_random(u, 32)?;
                    assert_eq!(r.len(), 32);
                    Ok(())
                },
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "ListRetirableGrants",
                &["kms:ListRetirableGrants"],
                Symmetric,
                &[],
                |c, u| {
                    c.kms
                        .list_retirable_grants(u, USER, &Paging::default())
                        .map(drop)
                },
            )
        },
    ]
}

fn actions_json(actions: &[&str]) -> String {
    serde_json::to_string(actions).unwrap()
}

fn key_policy(extra: &[String]) -> String {
    let mut statements = vec![format!(
        r#"{{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"{ADMIN}"}},"Action":"kms:*","Resource":"*"}}"#
    )];
    statements.extend(extra.iter().cloned());
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

fn statement(sid: &str, effect: &str, principal: &str, actions: &[&str]) -> String {
    format!(
        r#"{{"Sid":"{sid}","Effect":"{effect}","Principal":{{"AWS":"{principal}"}},"Action":{},"Resource":"*"}}"#,
        actions_json(actions)
    )
}

fn identity(effect: &str, actions: &[&str], resource: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":{},"Resource":"{resource}"}}]}}"#,
        actions_json(actions)
    )
}

fn create(kms: &Kms, admin: &Caller, kind: Kind, policy: &str) -> String {
    let (spec, usage, origin) = match kind {
        Kind::Symmetric => ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "AWS_KMS"),
        Kind::External => ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL"),
        Kind::Sign => ("ECC_NIST_P256", "SIGN_VERIFY", "AWS_KMS"),
        Kind::Hmac => ("HMAC_256", "GENERATE_VERIFY_MAC", "AWS_KMS"),
        Kind::Agreement => ("ECC_NIST_P256", "KEY_AGREEMENT", "AWS_KMS"),
    };
    kms.create_key(
        admin,
        &CreateKeyRequest {
            key_spec: Some(spec.into()),
            key_usage: Some(usage.into()),
            origin: Some(origin.into()),
            policy: Some(policy.to_owned()),
            ..CreateKeyRequest::default()
        },
    )
    .unwrap()
    .key_id
}

/// Wraps `material` with RSAES_OAEP_SHA_256 under the wrapping key, as a key owner would.
fn wrap(public_key_der: &[u8], material: &[u8]) -> Vec<u8> {
    let public =
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(public_key_der).unwrap())
            .unwrap();
    let mut out = vec![0; public.ciphertext_size()];
    let n = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, material, &mut out, None)
        .unwrap()
        .len();
    out.truncate(n);
    out
}

/// A service with a key of `op`'s kind under `policy`, everything the operation needs made
/// by the admin, and the grants of `grant` given to the user.
fn setup(op: &Op, policy: &str, grant: &[&str]) -> Ctx {
    let kms = Kms::open(
        KmsConfig {
            region: "us-east-1".into(),
            account: ACCOUNT.into(),
        },
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
        Arc::new(MemoryAudit::new()),
        Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        )),
    )
    .unwrap();
    let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
    let key = create(&kms, &admin, op.kind, policy);
    let mut ctx = Ctx {
        other: key.clone(),
        key,
        blob: Vec::new(),
        signature: Vec::new(),
        mac: Vec::new(),
        peer_public_key: Vec::new(),
        grant_id: String::new(),
        import_token: Vec::new(),
        wrapped: Vec::new(),
        kms,
        admin,
    };
    let (kms, admin, key) = (&ctx.kms, &ctx.admin, ctx.key.clone());
    match op.kind {
        Kind::Symmetric => {
            ctx.other = create(kms, admin, Kind::Symmetric, policy);
            kms.create_alias(admin, "alias/current", &key).unwrap();
            ctx.blob = kms
                .encrypt(
                    admin,
                    &EncryptRequest {
                        key_id: key.clone(),
                        plaintext: b"secret".to_vec(),
                        encryption_context: ec(),
                        ..EncryptRequest::default()
                    },
                )
                .unwrap()
                .ciphertext_blob;
            ctx.grant_id = kms
                .create_grant(
                    admin,
                    &CreateGrantRequest {
                        key_id: key.clone(),
                        grantee_principal: OTHER.into(),
                        retiring_principal: Some(USER.into()),
                        operations: vec!["Encrypt".into()],
                        ..CreateGrantRequest::default()
                    },
                )
                .unwrap()
                .grant_id;
            kms.tag_resource(admin, &key, &[("env".into(), "test".into())])
                .unwrap();
            kms.enable_key_rotation(
                admin,
                &EnableKeyRotationRequest {
                    key_id: key.clone(),
                    rotation_period_in_days: None,
                },
            )
            .unwrap();
        }
        Kind::Sign => {
            ctx.signature = kms
                .sign(
                    admin,
                    &SignRequest {
                        key_id: key.clone(),
                        message: MESSAGE.to_vec(),
                        signing_algorithm: "ECDSA_SHA_256".into(),
                        ..SignRequest::default()
                    },
                )
                .unwrap()
                .signature;
        }
        Kind::Hmac => {
            ctx.mac = kms
                .generate_mac(
                    admin,
                    &GenerateMacRequest {
                        key_id: key.clone(),
                        message: MESSAGE.to_vec(),
                        mac_algorithm: "HMAC_SHA_256".into(),
                        ..GenerateMacRequest::default()
                    },
                )
                .unwrap()
                .mac;
        }
        Kind::Agreement => {
            let peer = create(kms, admin, Kind::Agreement, &key_policy(&[]));
            ctx.peer_public_key = kms.get_public_key(admin, &peer, &[]).unwrap().public_key;
        }
        Kind::External => {
            let parameters = kms
                .get_parameters_for_import(
                    admin,
                    &GetParametersForImportRequest {
                        key_id: key.clone(),
                        wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
                        wrapping_key_spec: "RSA_2048".into(),
                    },
                )
                .unwrap();
            ctx.wrapped = wrap(&parameters.public_key, &[0x42; 32]);
            ctx.import_token = parameters.import_token;
            kms.import_key_material(
                admin,
                &ImportKeyMaterialRequest {
                    key_id: key.clone(),
                    import_token: ctx.import_token.clone(),
                    encrypted_key_material: ctx.wrapped.clone(),
                    expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
                    ..ImportKeyMaterialRequest::default()
                },
            )
            .unwrap();
        }
    }
    if !grant.is_empty() {
        kms.create_grant(
            admin,
            &CreateGrantRequest {
                key_id: key.clone(),
                grantee_principal: USER.into(),
                operations: grant.iter().map(|s| (*s).to_owned()).collect(),
                ..CreateGrantRequest::default()
            },
        )
        .unwrap();
    }
    if op.pending_deletion {
        kms.schedule_key_deletion(admin, &key, Some(7)).unwrap();
    }
    ctx
}

fn user(identity_policies: &[String]) -> Caller {
    let texts: Vec<&str> = identity_policies.iter().map(String::as_str).collect();
    Caller::new(USER, &texts).unwrap()
}

/// Every grant operation a grant on a key of `kind` may carry.
fn all_grantable(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Symmetric | Kind::External => &[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
        Kind::Sign => &[
            "Sign",
            "Verify",
            "GetPublicKey",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
        Kind::Hmac => &[
            "GenerateMac",
            "VerifyMac",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
        Kind::Agreement => &[
            "DeriveSharedSecret",
            "GetPublicKey",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
        ],
    }
}

fn outcome(r: Result<(), KmsError>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("{}: {}", e.code(), e.message.unwrap_or_default()),
    }
}

/// Runs one scenario and notes a failure when the outcome is not the expected one
/// (`ok`, or the error code).
fn expect(
    failures: &mut Vec<String>,
    op: &Op,
    scenario: &str,
    ctx: &Ctx,
    caller: &Caller,
    want: &str,
) {
    let got = outcome((op.run)(ctx, caller));
    let matches = if want == "ok" {
        got == "ok"
    } else {
        got.starts_with(want)
    };
    if !matches {
        failures.push(format!(
            "{} / {scenario}: expected {want}, got {got}",
            op.name
        ));
    }
}

const DENIED: &str = "AccessDeniedException";

fn key_scoped(op: &Op, failures: &mut Vec<String>) {
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    // No permission at all.
    let ctx = setup(op, &key_policy(&[]), &[]);
    expect(failures, op, "no permission", &ctx, &user(&[]), DENIED);
    // An identity policy alone does not open a key whose policy does not delegate.
    expect(
        failures,
        op,
        "identity policy without delegation",
        &ctx,
        &user(&[identity("Allow", op.actions, "*")]),
        DENIED,
    );
    // The key policy names the caller.
    let ctx = setup(
        op,
        &key_policy(&[statement("User", "Allow", USER, op.actions)]),
        &[],
    );
    expect(failures, op, "key policy", &ctx, &user(&[]), "ok");
    // The key policy delegates to the account: an identity policy must allow.
    let delegate = key_policy(&[statement("Account", "Allow", &root, &["kms:*"])]);
    let ctx = setup(op, &delegate, &[]);
    expect(failures, op, "delegation alone", &ctx, &user(&[]), DENIED);
    let ctx = setup(op, &delegate, &[]);
    expect(
        failures,
        op,
        "delegation and identity policy",
        &ctx,
        &user(&[identity("Allow", op.actions, "*")]),
        "ok",
    );
    // Grants.
    if op.grant.is_empty() {
        let ctx = setup(op, &key_policy(&[]), all_grantable(op.kind));
        expect(
            failures,
            op,
            "grant of everything grantable",
            &ctx,
            &user(&[]),
            DENIED,
        );
    } else {
        let ctx = setup(op, &key_policy(&[]), op.grant);
        expect(failures, op, "grant", &ctx, &user(&[]), "ok");
    }
    // An explicit deny in the key policy beats the key policy's allow, the identity
    // policy's allow and any grant.
    let ctx = setup(
        op,
        &key_policy(&[
            statement("User", "Allow", USER, op.actions),
            statement("Account", "Allow", &root, &["kms:*"]),
            statement("Deny", "Deny", USER, op.actions),
        ]),
        op.grant,
    );
    expect(
        failures,
        op,
        "explicit deny in the key policy",
        &ctx,
        &user(&[identity("Allow", op.actions, "*")]),
        DENIED,
    );
    // And one in an identity policy beats the key policy naming the caller.
    let ctx = setup(
        op,
        &key_policy(&[statement("User", "Allow", USER, op.actions)]),
        op.grant,
    );
    expect(
        failures,
        op,
        "explicit deny in an identity policy",
        &ctx,
        &user(&[identity("Deny", op.actions, "*")]),
        DENIED,
    );
}

fn alias_scoped(op: &Op, failures: &mut Vec<String>) {
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    let on_aliases = identity(
        "Allow",
        op.actions,
        &format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/*"),
    );
    let ctx = setup(op, &key_policy(&[]), &[]);
    expect(failures, op, "no permission", &ctx, &user(&[]), DENIED);
    // The key side alone is not enough: the alias needs an identity policy.
    let by_key = key_policy(&[statement("User", "Allow", USER, op.actions)]);
    let ctx = setup(op, &by_key, &[]);
    expect(
        failures,
        op,
        "key policy without the alias",
        &ctx,
        &user(&[]),
        DENIED,
    );
    // Nor the alias side alone.
    let ctx = setup(op, &key_policy(&[]), &[]);
    expect(
        failures,
        op,
        "alias without the key policy",
        &ctx,
        &user(std::slice::from_ref(&on_aliases)),
        DENIED,
    );
    let ctx = setup(op, &by_key, &[]);
    expect(
        failures,
        op,
        "key policy and alias identity policy",
        &ctx,
        &user(std::slice::from_ref(&on_aliases)),
        "ok",
    );
    let delegate = key_policy(&[statement("Account", "Allow", &root, &["kms:*"])]);
    let ctx = setup(op, &delegate, &[]);
    expect(
        failures,
        op,
        "delegation and identity policy",
        &ctx,
        &user(&[identity("Allow", op.actions, "*")]),
        "ok",
    );
    let ctx = setup(op, &key_policy(&[]), all_grantable(op.kind));
    expect(
        failures,
        op,
        "grant of everything grantable",
        &ctx,
        &user(std::slice::from_ref(&on_aliases)),
        DENIED,
    );
    let ctx = setup(
        op,
        &key_policy(&[
            statement("User", "Allow", USER, op.actions),
            statement("Deny", "Deny", USER, op.actions),
        ]),
        &[],
    );
    expect(
        failures,
        op,
        "explicit deny in the key policy",
        &ctx,
        &user(std::slice::from_ref(&on_aliases)),
        DENIED,
    );
    let ctx = setup(op, &by_key, &[]);
    expect(
        failures,
        op,
        "explicit deny in an identity policy",
        &ctx,
        &user(&[on_aliases, identity("Deny", op.actions, "*")]),
        DENIED,
    );
}

fn unscoped(op: &Op, failures: &mut Vec<String>) {
    let ctx = setup(op, &key_policy(&[]), &[]);
    expect(failures, op, "no permission", &ctx, &user(&[]), DENIED);
    // A key policy does not decide an operation without a key.
    let ctx = setup(
        op,
        &key_policy(&[statement("User", "Allow", USER, op.actions)]),
        all_grantable(op.kind),
    );
    expect(
        failures,
        op,
        "key policy and grants",
        &ctx,
        &user(&[]),
        DENIED,
    );
    expect(
        failures,
        op,
        "identity policy",
        &ctx,
        &user(&[identity("Allow", op.actions, "*")]),
        "ok",
    );
    expect(
        failures,
        op,
        "explicit deny in an identity policy",
        &ctx,
        &user(&[
            identity("Allow", op.actions, "*"),
            identity("Deny", op.actions, "*"),
        ]),
        DENIED,
    );
}

#[test]
fn every_operation_is_denied_without_permission_allowed_with_it_and_an_explicit_deny_wins() {
    let mut failures = Vec::new();
    let ops = ops();
    for op in &ops {
        match op.scope {
            Scope::Key => key_scoped(op, &mut failures),
            Scope::Alias => alias_scoped(op, &mut failures),
            Scope::NoKey => unscoped(op, &mut failures),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The table covers every operation the service has (RetireGrant has its own test).
#[test]
fn the_table_names_every_operation() {
    let names: Vec<&str> = ops().iter().map(|o| o.name).collect();
    for operation in [
        "CreateKey",
        "DescribeKey",
        "ListKeys",
        "EnableKey",
        "DisableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "UpdateKeyDescription",
        "GetKeyPolicy",
        "ListKeyPolicies",
        "PutKeyPolicy",
        "TagResource",
        "UntagResource",
        "ListResourceTags",
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "Sign",
        "Verify",
        "GetPublicKey",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
        "GenerateRandom",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "ListAliases",
        "CreateGrant",
        "ListGrants",
        "RevokeGrant",
        "ListRetirableGrants",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "GetKeyRotationStatus",
        "RotateKeyOnDemand",
        "ListKeyRotations",
        "GetParametersForImport",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
    ] {
        assert!(
            names.contains(&operation),
            "{operation} is not in the table"
        );
    }
}
