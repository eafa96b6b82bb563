//! What a request carries that the key service reads the same way whatever the operation:
//! the key it names, its grant tokens, whether it is a dry run, and its encryption context.

use crate::*;

/// The members a request has among those every operation reads the same way. A request
/// without one answers `None`, no tokens, or `false`.
pub trait RequestMembers {
    /// The key the request names (`KeyId`).
    fn key_id(&self) -> Option<&str> {
        None
    }

    /// The grant tokens (`GrantTokens`).
    fn grant_tokens(&self) -> &[String] {
        &[]
    }

    /// Whether the request asks for a dry run (`DryRun`).
    fn dry_run(&self) -> bool {
        false
    }

    /// The encryption context the request carries.
    fn encryption_context(&self) -> Option<&EncryptionContext> {
        None
    }
}

/// One accessor of [`RequestMembers`], reading the field of the same name.
macro_rules! member {
    (key_id) => {
        fn key_id(&self) -> Option<&str> {
            Some(&self.key_id)
        }
    };
    (optional_key_id) => {
        fn key_id(&self) -> Option<&str> {
            self.key_id.as_deref()
        }
    };
    (grant_tokens) => {
        fn grant_tokens(&self) -> &[String] {
            &self.grant_tokens
        }
    };
    (dry_run) => {
        fn dry_run(&self) -> bool {
            self.dry_run
        }
    };
    (encryption_context) => {
        fn encryption_context(&self) -> Option<&EncryptionContext> {
            Some(&self.encryption_context)
        }
    };
}

/// Which request has which members.
macro_rules! request_members {
    ($($request:ident: $($member:ident)*;)*) => {
        $(impl RequestMembers for $request { $(member!($member);)* })*
    };
}

request_members! {
    CreateKeyRequest: ;
    CreateCustomKeyStoreRequest: ;
    DescribeCustomKeyStoresRequest: ;
    ConnectCustomKeyStoreRequest: ;
    DisconnectCustomKeyStoreRequest: ;
    UpdateCustomKeyStoreRequest: ;
    DeleteCustomKeyStoreRequest: ;
    DescribeKeyRequest: key_id grant_tokens;
    ListKeysRequest: ;
    EnableKeyRequest: key_id;
    DisableKeyRequest: key_id;
    ScheduleKeyDeletionRequest: key_id;
    CancelKeyDeletionRequest: key_id;
    UpdateKeyDescriptionRequest: key_id;
    ReplicateKeyRequest: key_id;
    UpdatePrimaryRegionRequest: key_id;
    GetKeyPolicyRequest: key_id;
    ListKeyPoliciesRequest: key_id;
    PutKeyPolicyRequest: key_id;
    TagResourceRequest: key_id;
    UntagResourceRequest: key_id;
    ListResourceTagsRequest: key_id;
    CreateAliasRequest: ;
    UpdateAliasRequest: ;
    DeleteAliasRequest: ;
    ListAliasesRequest: optional_key_id;
    EncryptRequest: key_id grant_tokens dry_run encryption_context;
    DecryptRequest: optional_key_id grant_tokens dry_run encryption_context;
    ReEncryptRequest: grant_tokens;
    GenerateDataKeyRequest: key_id grant_tokens dry_run encryption_context;
    GenerateDataKeyWithoutPlaintextRequest: key_id grant_tokens dry_run encryption_context;
    GenerateDataKeyPairRequest: key_id grant_tokens dry_run encryption_context;
    GenerateDataKeyPairWithoutPlaintextRequest: key_id grant_tokens dry_run encryption_context;
    GenerateRandomRequest: ;
    SignRequest: key_id grant_tokens dry_run;
    VerifyRequest: key_id grant_tokens dry_run;
    GetPublicKeyRequest: key_id grant_tokens;
    GenerateMacRequest: key_id grant_tokens dry_run;
    VerifyMacRequest: key_id grant_tokens dry_run;
    DeriveSharedSecretRequest: key_id grant_tokens dry_run;
    ListGrantsRequest: key_id;
    RevokeGrantRequest: key_id;
    RetireGrantRequest: optional_key_id;
    ListRetirableGrantsRequest: ;
    EnableKeyRotationRequest: key_id;
    DisableKeyRotationRequest: key_id;
    GetKeyRotationStatusRequest: key_id;
    RotateKeyOnDemandRequest: key_id;
    ListKeyRotationsRequest: key_id;
    GetParametersForImportRequest: key_id;
    ImportKeyMaterialRequest: key_id;
    DeleteImportedKeyMaterialRequest: key_id;
}

/// CreateGrant's constraint is the encryption context its condition keys read
/// (`kms:EncryptionContext:*` in a CreateGrant policy statement refer to the grant's
/// constraint); `DryRun` is not acted on for CreateGrant, so it is not read here.
impl RequestMembers for CreateGrantRequest {
    fn key_id(&self) -> Option<&str> {
        Some(&self.key_id)
    }

    fn grant_tokens(&self) -> &[String] {
        &self.grant_tokens
    }

    fn encryption_context(&self) -> Option<&EncryptionContext> {
        let constraints = self.constraints.as_ref()?;
        constraints
            .encryption_context_equals
            .as_ref()
            .or(constraints.encryption_context_subset.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_where_a_request_has_them() {
        let encrypt = EncryptRequest::new("k", b"x".to_vec());
        assert_eq!(encrypt.key_id(), Some("k"));
        assert!(encrypt.encryption_context().is_some());
        assert_eq!(DecryptRequest::new(vec![1]).key_id(), None);
        assert!(!ListKeysRequest::default().dry_run());
        let grant = CreateGrantRequest {
            constraints: Some(GrantConstraints {
                encryption_context_subset: Some([("a".into(), "b".into())].into()),
                ..GrantConstraints::default()
            }),
            ..CreateGrantRequest::default()
        };
        assert_eq!(grant.encryption_context().map(|c| c.len()), Some(1));
    }
}
