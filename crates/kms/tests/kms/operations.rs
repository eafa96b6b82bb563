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

use crate::common::{
    self, ACCOUNT, DENIED, Fixture, Kind, OTHER, USER, alias, caller, ec, fixture, grant,
    grants_of, import_request, parameters_for_import, tag,
};
use keyward_kms::api::{
    CancelKeyDeletionRequest, ConnectCustomKeyStoreRequest, CreateCustomKeyStoreRequest,
    CreateGrantRequest, CreateKeyRequest, DeleteAliasRequest, DeleteCustomKeyStoreRequest,
    DeleteImportedKeyMaterialRequest, DeriveSharedSecretRequest, DescribeCustomKeyStoresRequest,
    DescribeKeyRequest, DisableKeyRequest, DisableKeyRotationRequest,
    DisconnectCustomKeyStoreRequest, EnableKeyRequest, EnableKeyRotationRequest, ErrorCode,
    GenerateDataKeyPairRequest, GenerateDataKeyPairWithoutPlaintextRequest, GenerateDataKeyRequest,
    GenerateDataKeyWithoutPlaintextRequest, GenerateMacRequest, GenerateRandomRequest,
    GetKeyPolicyRequest, GetKeyRotationStatusRequest, GetPublicKeyRequest,
    ImportKeyMaterialRequest, ListAliasesRequest, ListKeyPoliciesRequest, ListKeyRotationsRequest,
    ListKeysRequest, ListResourceTagsRequest, ListRetirableGrantsRequest, Operation,
    PutKeyPolicyRequest, ReEncryptRequest, RevokeGrantRequest, RotateKeyOnDemandRequest,
    ScheduleKeyDeletionRequest, SignRequest, UntagResourceRequest, UpdateAliasRequest,
    UpdateCustomKeyStoreRequest, UpdateKeyDescriptionRequest, VerifyMacRequest, VerifyRequest,
};
use keyward_kms::{Caller, KmsError};

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
    f: Fixture,
    key: String,
    /// A second key of the same kind (UpdateAlias's new target).
    other: String,
    blob: Vec<u8>,
    signature: Vec<u8>,
    mac: Vec<u8>,
    peer_public_key: Vec<u8>,
    grant_id: String,
    /// The import that gave the key its material (ImportKeyMaterial repeats it).
    import: ImportKeyMaterialRequest,
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
const TENANT: &[(&str, &str)] = &[("tenant", "acme")];

fn sign_request(key: &str) -> SignRequest {
    SignRequest {
        key_id: key.into(),
        message: MESSAGE.to_vec(),
        signing_algorithm: "ECDSA_SHA_256".into(),
        ..SignRequest::default()
    }
}

fn mac_request(key: &str) -> GenerateMacRequest {
    GenerateMacRequest {
        key_id: key.into(),
        message: MESSAGE.to_vec(),
        mac_algorithm: "HMAC_SHA_256".into(),
        ..GenerateMacRequest::default()
    }
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
            |c, u| {
                c.f.kms
                    .describe_key(u, &DescribeKeyRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op("EnableKey", &["kms:EnableKey"], Symmetric, &[], |c, u| {
            c.f.kms
                .enable_key(u, &EnableKeyRequest::new(&c.key))
                .map(drop)
        }),
        op("DisableKey", &["kms:DisableKey"], Symmetric, &[], |c, u| {
            c.f.kms
                .disable_key(u, &DisableKeyRequest::new(&c.key))
                .map(drop)
        }),
        op(
            "ScheduleKeyDeletion",
            &["kms:ScheduleKeyDeletion"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .schedule_key_deletion(
                        u,
                        &ScheduleKeyDeletionRequest {
                            key_id: c.key.clone(),
                            pending_window_in_days: Some(7),
                        },
                    )
                    .map(drop)
            },
        ),
        Op {
            pending_deletion: true,
            ..op(
                "CancelKeyDeletion",
                &["kms:CancelKeyDeletion"],
                Symmetric,
                &[],
                |c, u| {
                    c.f.kms
                        .cancel_key_deletion(u, &CancelKeyDeletionRequest::new(&c.key))
                        .map(drop)
                },
            )
        },
        op(
            "UpdateKeyDescription",
            &["kms:UpdateKeyDescription"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .update_key_description(
                        u,
                        &UpdateKeyDescriptionRequest {
                            key_id: c.key.clone(),
                            description: "new words".into(),
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "GetKeyPolicy",
            &["kms:GetKeyPolicy"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .get_key_policy(u, &GetKeyPolicyRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op(
            "ListKeyPolicies",
            &["kms:ListKeyPolicies"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .list_key_policies(u, &ListKeyPoliciesRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op(
            "PutKeyPolicy",
            &["kms:PutKeyPolicy"],
            Symmetric,
            &[],
            |c, u| {
                let same =
                    c.f.kms
                        .get_key_policy(&c.f.admin, &GetKeyPolicyRequest::new(&c.key))
                        .unwrap()
                        .policy;
                c.f.kms
                    .put_key_policy(
                        u,
                        &PutKeyPolicyRequest {
                            key_id: c.key.clone(),
                            policy: same,
                            ..PutKeyPolicyRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "TagResource",
            &["kms:TagResource"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .tag_resource(u, &tag(&c.key, "env", "test"))
                    .map(drop)
            },
        ),
        op(
            "UntagResource",
            &["kms:UntagResource"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .untag_resource(
                        u,
                        &UntagResourceRequest {
                            key_id: c.key.clone(),
                            tag_keys: vec!["env".into()],
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "ListResourceTags",
            &["kms:ListResourceTags"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .list_resource_tags(u, &ListResourceTagsRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op(
            "Encrypt",
            &["kms:Encrypt"],
            Symmetric,
            &["Encrypt"],
            |c, u| common::encrypt(&c.f.kms, u, &c.key, b"secret", TENANT).map(drop),
        ),
        op(
            "Decrypt",
            &["kms:Decrypt"],
            Symmetric,
            &["Decrypt"],
            |c, u| {
                let r = common::decrypt(&c.f.kms, u, &c.blob, TENANT)?;
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
                c.f.kms
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
                c.f.kms
                    .generate_data_key_without_plaintext(
                        u,
                        &GenerateDataKeyWithoutPlaintextRequest {
                            key_id: c.key.clone(),
                            number_of_bytes: Some(32),
                            ..GenerateDataKeyWithoutPlaintextRequest::default()
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
                let r = c.f.kms.generate_data_key_pair(
                    u,
                    &GenerateDataKeyPairRequest {
                        key_id: c.key.clone(),
                        key_pair_spec: "ECC_NIST_P256".into(),
                        ..GenerateDataKeyPairRequest::default()
                    },
                )?;
                assert!(!r.private_key_plaintext.expose().is_empty() && !r.public_key.is_empty());
                Ok(())
            },
        ),
        op(
            "GenerateDataKeyPairWithoutPlaintext",
            &["kms:GenerateDataKeyPairWithoutPlaintext"],
            Symmetric,
            &["GenerateDataKeyPairWithoutPlaintext"],
            |c, u| {
                let r = c.f.kms.generate_data_key_pair_without_plaintext(
                    u,
                    &GenerateDataKeyPairWithoutPlaintextRequest {
                        key_id: c.key.clone(),
                        key_pair_spec: "ECC_NIST_P256".into(),
                        ..GenerateDataKeyPairWithoutPlaintextRequest::default()
                    },
                )?;
                // The answer's type has no plaintext member; neither has what it sends.
                let sent = serde_json::to_value(&r).unwrap();
                assert!(sent.get("PrivateKeyPlaintext").is_none(), "{sent}");
                Ok(())
            },
        ),
        op(
            "ReEncrypt",
            &["kms:ReEncryptFrom", "kms:ReEncryptTo"],
            Symmetric,
            &["ReEncryptFrom", "ReEncryptTo"],
            |c, u| {
                let r = c.f.kms.re_encrypt(
                    u,
                    &ReEncryptRequest {
                        ciphertext_blob: c.blob.clone(),
                        source_encryption_context: ec(TENANT),
                        destination_key_id: c.key.clone(),
                        ..ReEncryptRequest::default()
                    },
                )?;
                let back = common::decrypt(&c.f.kms, &c.f.admin, &r.ciphertext_blob, &[]).unwrap();
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
                c.f.kms
                    .create_grant(u, &grant(&c.key, OTHER, &["Decrypt"]))
                    .map(drop)
            },
        ),
        op("ListGrants", &["kms:ListGrants"], Symmetric, &[], |c, u| {
            c.f.kms.list_grants(u, &grants_of(&c.key)).map(drop)
        }),
        op(
            "RevokeGrant",
            &["kms:RevokeGrant"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .revoke_grant(
                        u,
                        &RevokeGrantRequest {
                            key_id: c.key.clone(),
                            grant_id: c.grant_id.clone(),
                            ..RevokeGrantRequest::default()
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "EnableKeyRotation",
            &["kms:EnableKeyRotation"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .enable_key_rotation(
                        u,
                        &EnableKeyRotationRequest {
                            key_id: c.key.clone(),
                            rotation_period_in_days: Some(90),
                        },
                    )
                    .map(drop)
            },
        ),
        op(
            "DisableKeyRotation",
            &["kms:DisableKeyRotation"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .disable_key_rotation(u, &DisableKeyRotationRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op(
            "GetKeyRotationStatus",
            &["kms:GetKeyRotationStatus"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .get_key_rotation_status(u, &GetKeyRotationStatusRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op(
            "RotateKeyOnDemand",
            &["kms:RotateKeyOnDemand"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .rotate_key_on_demand(u, &RotateKeyOnDemandRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op(
            "ListKeyRotations",
            &["kms:ListKeyRotations"],
            Symmetric,
            &[],
            |c, u| {
                c.f.kms
                    .list_key_rotations(u, &ListKeyRotationsRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op("Sign", &["kms:Sign"], Sign, &["Sign"], |c, u| {
            c.f.kms.sign(u, &sign_request(&c.key)).map(drop)
        }),
        op("Verify", &["kms:Verify"], Sign, &["Verify"], |c, u| {
            c.f.kms
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
            |c, u| {
                c.f.kms
                    .get_public_key(u, &GetPublicKeyRequest::new(&c.key))
                    .map(drop)
            },
        ),
        op(
            "GenerateMac",
            &["kms:GenerateMac"],
            Hmac,
            &["GenerateMac"],
            |c, u| c.f.kms.generate_mac(u, &mac_request(&c.key)).map(drop),
        ),
        op(
            "VerifyMac",
            &["kms:VerifyMac"],
            Hmac,
            &["VerifyMac"],
            |c, u| {
                c.f.kms
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
                c.f.kms
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
                c.f.kms
                    .get_parameters_for_import(u, &parameters_for_import(&c.key))
                    .map(drop)
            },
        ),
        op(
            "ImportKeyMaterial",
            &["kms:ImportKeyMaterial"],
            External,
            &[],
            |c, u| c.f.kms.import_key_material(u, &c.import).map(drop),
        ),
        op(
            "DeleteImportedKeyMaterial",
            &["kms:DeleteImportedKeyMaterial"],
            External,
            &[],
            |c, u| {
                c.f.kms
                    .delete_imported_key_material(u, &DeleteImportedKeyMaterialRequest::new(&c.key))
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
                |c, u| {
                    c.f.kms
                        .create_alias(u, &alias("alias/new", &c.key))
                        .map(drop)
                },
            )
        },
        Op {
            scope: Scope::Alias,
            ..op(
                "UpdateAlias",
                &["kms:UpdateAlias"],
                Symmetric,
                &[],
                |c, u| {
                    c.f.kms
                        .update_alias(
                            u,
                            &UpdateAliasRequest {
                                alias_name: "alias/current".into(),
                                target_key_id: c.other.clone(),
                            },
                        )
                        .map(drop)
                },
            )
        },
        Op {
            scope: Scope::Alias,
            ..op(
                "DeleteAlias",
                &["kms:DeleteAlias"],
                Symmetric,
                &[],
                |c, u| {
                    c.f.kms
                        .delete_alias(
                            u,
                            &DeleteAliasRequest {
                                alias_name: "alias/current".into(),
                            },
                        )
                        .map(drop)
                },
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op("CreateKey", &["kms:CreateKey"], Symmetric, &[], |c, u| {
                c.f.kms
                    .create_key(u, &CreateKeyRequest::default())
                    .map(drop)
            })
        },
        Op {
            scope: Scope::NoKey,
            ..op("ListKeys", &["kms:ListKeys"], Symmetric, &[], |c, u| {
                c.f.kms.list_keys(u, &ListKeysRequest::default()).map(drop)
            })
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "ListAliases",
                &["kms:ListAliases"],
                Symmetric,
                &[],
                |c, u| {
                    c.f.kms
                        .list_aliases(u, &ListAliasesRequest::default())
                        .map(drop)
                },
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
                    let r = c.f.kms.generate_random(
                        u,
                        &GenerateRandomRequest {
                            number_of_bytes: Some(32),
                            ..GenerateRandomRequest::default()
                        },
                    )?;
                    assert_eq!(r.plaintext.expose().len(), 32);
                    Ok(())
                },
            )
        },
        // The custom key store operations, on a service with none: allowed, each answers as
        // it does after its authorization (no such store; the configuration's stores only).
        Op {
            scope: Scope::NoKey,
            ..op(
                "DescribeCustomKeyStores",
                &["kms:DescribeCustomKeyStores"],
                Symmetric,
                &[],
                |c, u| {
                    let r = c.f.kms.describe_custom_key_stores(
                        u,
                        &DescribeCustomKeyStoresRequest::default(),
                    )?;
                    assert!(r.custom_key_stores.is_empty());
                    Ok(())
                },
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "ConnectCustomKeyStore",
                &["kms:ConnectCustomKeyStore"],
                Symmetric,
                &[],
                |c, u| {
                    past_authorization(c.f.kms.connect_custom_key_store(
                        u,
                        &ConnectCustomKeyStoreRequest {
                            custom_key_store_id: NO_STORE.into(),
                        },
                    ))
                },
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "DisconnectCustomKeyStore",
                &["kms:DisconnectCustomKeyStore"],
                Symmetric,
                &[],
                |c, u| {
                    past_authorization(c.f.kms.disconnect_custom_key_store(
                        u,
                        &DisconnectCustomKeyStoreRequest {
                            custom_key_store_id: NO_STORE.into(),
                        },
                    ))
                },
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "UpdateCustomKeyStore",
                &["kms:UpdateCustomKeyStore"],
                Symmetric,
                &[],
                |c, u| {
                    past_authorization(c.f.kms.update_custom_key_store(
                        u,
                        &UpdateCustomKeyStoreRequest {
                            custom_key_store_id: NO_STORE.into(),
                            ..UpdateCustomKeyStoreRequest::default()
                        },
                    ))
                },
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "DeleteCustomKeyStore",
                &["kms:DeleteCustomKeyStore"],
                Symmetric,
                &[],
                |c, u| {
                    past_authorization(c.f.kms.delete_custom_key_store(
                        u,
                        &DeleteCustomKeyStoreRequest {
                            custom_key_store_id: NO_STORE.into(),
                        },
                    ))
                },
            )
        },
        Op {
            scope: Scope::NoKey,
            ..op(
                "CreateCustomKeyStore",
                &["kms:CreateCustomKeyStore"],
                Symmetric,
                &[],
                |c, u| {
                    // No pkcs11_module in this service's configuration: refused once allowed.
                    let refused = c.f.kms.create_custom_key_store(
                        u,
                        &CreateCustomKeyStoreRequest {
                            custom_key_store_name: "hsm".into(),
                            cloud_hsm_cluster_id: Some("token".into()),
                            key_store_password: Some("a-pin-1234".into()),
                            trust_anchor_certificate: Some("certificate".into()),
                            ..CreateCustomKeyStoreRequest::default()
                        },
                    );
                    match refused {
                        Err(e) if e.code() == ErrorCode::UnsupportedOperation => Ok(()),
                        other => other.map(drop),
                    }
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
                    c.f.kms
                        .list_retirable_grants(
                            u,
                            &ListRetirableGrantsRequest {
                                retiring_principal: USER.into(),
                                ..ListRetirableGrantsRequest::default()
                            },
                        )
                        .map(drop)
                },
            )
        },
    ]
}

/// A custom key store no service of these tests has.
const NO_STORE: &str = "cks-1234567890abcdef0";

/// A custom key store operation on [`NO_STORE`] once authorized: `CustomKeyStoreNotFoundException`
/// (a denial comes first, as `AccessDeniedException`).
fn past_authorization<T>(result: Result<T, KmsError>) -> Result<(), KmsError> {
    match result {
        Err(e) if e.code() == ErrorCode::CustomKeyStoreNotFound => Ok(()),
        other => other.map(drop),
    }
}

fn actions_json(actions: &[&str]) -> String {
    serde_json::to_string(actions).unwrap()
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

/// A service with a key of `op`'s kind under a key policy of the admin's statement and
/// `statements`, everything the operation needs made by the admin, and the grants of
/// `grants` given to the user.
fn setup(op: &Op, statements: &[String], grants: &[&str]) -> Ctx {
    let f = fixture();
    let statements = statements.join(",");
    let key = f.key(op.kind, &statements);
    let mut ctx = Ctx {
        other: key.clone(),
        key,
        blob: Vec::new(),
        signature: Vec::new(),
        mac: Vec::new(),
        peer_public_key: Vec::new(),
        grant_id: String::new(),
        import: ImportKeyMaterialRequest::default(),
        f,
    };
    let (kms, admin, key) = (&ctx.f.kms, &ctx.f.admin, ctx.key.clone());
    match op.kind {
        Kind::Symmetric => {
            ctx.other = ctx.f.symmetric(&statements);
            kms.create_alias(admin, &alias("alias/current", &key))
                .unwrap();
            ctx.blob = common::encrypt(kms, admin, &key, b"secret", TENANT)
                .unwrap()
                .ciphertext_blob;
            ctx.grant_id = kms
                .create_grant(
                    admin,
                    &CreateGrantRequest {
                        retiring_principal: Some(USER.into()),
                        ..grant(&key, OTHER, &["Encrypt"])
                    },
                )
                .unwrap()
                .grant_id;
            kms.tag_resource(admin, &tag(&key, "env", "test")).unwrap();
            kms.enable_key_rotation(admin, &EnableKeyRotationRequest::new(&key))
                .unwrap();
        }
        Kind::Sign => {
            ctx.signature = kms.sign(admin, &sign_request(&key)).unwrap().signature;
        }
        Kind::Hmac => {
            ctx.mac = kms.generate_mac(admin, &mac_request(&key)).unwrap().mac;
        }
        Kind::Agreement => {
            let peer = ctx.f.key(Kind::Agreement, "");
            ctx.peer_public_key = kms
                .get_public_key(admin, &GetPublicKeyRequest::new(peer))
                .unwrap()
                .public_key;
        }
        Kind::External => {
            let import = ImportKeyMaterialRequest {
                expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
                ..import_request(kms, admin, &key, &[0x42; 32])
            };
            kms.import_key_material(admin, &import).unwrap();
            ctx.import = import;
        }
    }
    if !grants.is_empty() {
        kms.create_grant(admin, &grant(&key, USER, grants)).unwrap();
    }
    if op.pending_deletion {
        kms.schedule_key_deletion(
            admin,
            &ScheduleKeyDeletionRequest {
                key_id: key.clone(),
                pending_window_in_days: Some(7),
            },
        )
        .unwrap();
    }
    ctx
}

fn user(identity_policies: &[String]) -> Caller {
    let texts: Vec<&str> = identity_policies.iter().map(String::as_str).collect();
    caller(USER, &texts)
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
        Err(e) => format!("{}: {}", e.code(), e.message().unwrap_or_default()),
    }
}

/// One operation's scenarios, and the failures noted so far.
struct Check<'a> {
    op: &'a Op,
    failures: &'a mut Vec<String>,
}

impl Check<'_> {
    /// Runs the operation on `ctx` as the user with `identity_policies`, and notes a failure
    /// when the outcome is not `want` (`ok`, or the error code).
    fn expect(&mut self, scenario: &str, ctx: &Ctx, identity_policies: &[String], want: &str) {
        let got = outcome((self.op.run)(ctx, &user(identity_policies)));
        let matches = if want == "ok" {
            got == "ok"
        } else {
            got.starts_with(want)
        };
        if !matches {
            self.failures.push(format!(
                "{} / {scenario}: expected {want}, got {got}",
                self.op.name
            ));
        }
    }
}

fn key_scoped(check: &mut Check<'_>) {
    let op = check.op;
    let allow = [identity("Allow", op.actions, "*")];
    let deny = [identity("Deny", op.actions, "*")];
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    // No permission at all.
    let ctx = setup(op, &[], &[]);
    check.expect("no permission", &ctx, &[], DENIED);
    // An identity policy alone does not open a key whose policy does not delegate.
    check.expect("identity policy without delegation", &ctx, &allow, DENIED);
    // The key policy names the caller.
    let ctx = setup(op, &[statement("User", "Allow", USER, op.actions)], &[]);
    check.expect("key policy", &ctx, &[], "ok");
    // The key policy delegates to the account: an identity policy must allow.
    let delegate = [statement("Account", "Allow", &root, &["kms:*"])];
    let ctx = setup(op, &delegate, &[]);
    check.expect("delegation alone", &ctx, &[], DENIED);
    let ctx = setup(op, &delegate, &[]);
    check.expect("delegation and identity policy", &ctx, &allow, "ok");
    // Grants.
    if op.grant.is_empty() {
        let ctx = setup(op, &[], all_grantable(op.kind));
        check.expect("grant of everything grantable", &ctx, &[], DENIED);
    } else {
        let ctx = setup(op, &[], op.grant);
        check.expect("grant", &ctx, &[], "ok");
    }
    // An explicit deny in the key policy beats the key policy's allow, the identity
    // policy's allow and any grant.
    let ctx = setup(
        op,
        &[
            statement("User", "Allow", USER, op.actions),
            statement("Account", "Allow", &root, &["kms:*"]),
            statement("Deny", "Deny", USER, op.actions),
        ],
        op.grant,
    );
    check.expect("explicit deny in the key policy", &ctx, &allow, DENIED);
    // And one in an identity policy beats the key policy naming the caller.
    let ctx = setup(
        op,
        &[statement("User", "Allow", USER, op.actions)],
        op.grant,
    );
    check.expect("explicit deny in an identity policy", &ctx, &deny, DENIED);
}

fn alias_scoped(check: &mut Check<'_>) {
    let op = check.op;
    let allow = [identity("Allow", op.actions, "*")];
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    let on_aliases = [identity(
        "Allow",
        op.actions,
        &format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/*"),
    )];
    let on_aliases_and_deny = [on_aliases[0].clone(), identity("Deny", op.actions, "*")];
    let ctx = setup(op, &[], &[]);
    check.expect("no permission", &ctx, &[], DENIED);
    // The key side alone is not enough: the alias needs an identity policy.
    let by_key = [statement("User", "Allow", USER, op.actions)];
    let ctx = setup(op, &by_key, &[]);
    check.expect("key policy without the alias", &ctx, &[], DENIED);
    // Nor the alias side alone.
    let ctx = setup(op, &[], &[]);
    check.expect("alias without the key policy", &ctx, &on_aliases, DENIED);
    let ctx = setup(op, &by_key, &[]);
    check.expect(
        "key policy and alias identity policy",
        &ctx,
        &on_aliases,
        "ok",
    );
    let delegate = [statement("Account", "Allow", &root, &["kms:*"])];
    let ctx = setup(op, &delegate, &[]);
    check.expect("delegation and identity policy", &ctx, &allow, "ok");
    let ctx = setup(op, &[], all_grantable(op.kind));
    check.expect("grant of everything grantable", &ctx, &on_aliases, DENIED);
    let ctx = setup(
        op,
        &[
            statement("User", "Allow", USER, op.actions),
            statement("Deny", "Deny", USER, op.actions),
        ],
        &[],
    );
    check.expect("explicit deny in the key policy", &ctx, &on_aliases, DENIED);
    let ctx = setup(op, &by_key, &[]);
    check.expect(
        "explicit deny in an identity policy",
        &ctx,
        &on_aliases_and_deny,
        DENIED,
    );
}

fn unscoped(check: &mut Check<'_>) {
    let op = check.op;
    let allow = [identity("Allow", op.actions, "*")];
    let allow_and_deny = [
        identity("Allow", op.actions, "*"),
        identity("Deny", op.actions, "*"),
    ];
    let ctx = setup(op, &[], &[]);
    check.expect("no permission", &ctx, &[], DENIED);
    // A key policy does not decide an operation without a key.
    let ctx = setup(
        op,
        &[statement("User", "Allow", USER, op.actions)],
        all_grantable(op.kind),
    );
    check.expect("key policy and grants", &ctx, &[], DENIED);
    check.expect("identity policy", &ctx, &allow, "ok");
    check.expect(
        "explicit deny in an identity policy",
        &ctx,
        &allow_and_deny,
        DENIED,
    );
}

#[test]
fn every_operation_is_denied_without_permission_allowed_with_it_and_an_explicit_deny_wins() {
    let mut failures = Vec::new();
    let ops = ops();
    for op in &ops {
        let mut check = Check {
            op,
            failures: &mut failures,
        };
        match op.scope {
            Scope::Key => key_scoped(&mut check),
            Scope::Alias => alias_scoped(&mut check),
            Scope::NoKey => unscoped(&mut check),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The table covers every operation the service has (RetireGrant has its own test, and the
/// multi-Region operations, which need two Regions, theirs in `multi_region.rs`).
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
        "CreateCustomKeyStore",
        "DescribeCustomKeyStores",
        "ConnectCustomKeyStore",
        "DisconnectCustomKeyStore",
        "UpdateCustomKeyStore",
        "DeleteCustomKeyStore",
    ] {
        assert!(
            names.contains(&operation),
            "{operation} is not in the table"
        );
    }
    // And so does the service's own list of the operations it serves.
    for operation in Operation::ALL {
        if !matches!(
            operation,
            Operation::RetireGrant | Operation::ReplicateKey | Operation::UpdatePrimaryRegion
        ) {
            assert!(
                names.contains(&operation.name()),
                "{} is not in the table",
                operation.name()
            );
        }
    }
}
