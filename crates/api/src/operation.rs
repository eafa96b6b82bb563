//! The operations of the KMS API that Keyward serves, listed once: [`kms_operations!`] hands
//! the list to a macro of the caller's, which is how the key service declares its methods and
//! its dispatch. Here it gives [`Operation`], [`Request`] and [`Response`].

use crate::error::{ApiError, ErrorCode};
use crate::wire;

/// Calls `$callback!` with every operation: its name, the key service's method, its request
/// and response types, and whether it changes stored state. The one list of operations.
#[macro_export]
macro_rules! kms_operations {
    ($callback:ident) => {
        $callback! {
            // Keys
            CreateKey(create_key, $crate::CreateKeyRequest, $crate::CreateKeyResponse, true),
            DescribeKey(describe_key, $crate::DescribeKeyRequest, $crate::DescribeKeyResponse, false),
            ListKeys(list_keys, $crate::ListKeysRequest, $crate::ListKeysResponse, false),
            EnableKey(enable_key, $crate::EnableKeyRequest, $crate::Empty, true),
            DisableKey(disable_key, $crate::DisableKeyRequest, $crate::Empty, true),
            ScheduleKeyDeletion(schedule_key_deletion, $crate::ScheduleKeyDeletionRequest, $crate::ScheduleKeyDeletionResponse, true),
            CancelKeyDeletion(cancel_key_deletion, $crate::CancelKeyDeletionRequest, $crate::CancelKeyDeletionResponse, true),
            UpdateKeyDescription(update_key_description, $crate::UpdateKeyDescriptionRequest, $crate::Empty, true),
            // Multi-Region keys
            ReplicateKey(replicate_key, $crate::ReplicateKeyRequest, $crate::ReplicateKeyResponse, true),
            UpdatePrimaryRegion(update_primary_region, $crate::UpdatePrimaryRegionRequest, $crate::Empty, true),
            // Key policies
            GetKeyPolicy(get_key_policy, $crate::GetKeyPolicyRequest, $crate::GetKeyPolicyResponse, false),
            ListKeyPolicies(list_key_policies, $crate::ListKeyPoliciesRequest, $crate::ListKeyPoliciesResponse, false),
            PutKeyPolicy(put_key_policy, $crate::PutKeyPolicyRequest, $crate::Empty, true),
            // Tags
            TagResource(tag_resource, $crate::TagResourceRequest, $crate::Empty, true),
            UntagResource(untag_resource, $crate::UntagResourceRequest, $crate::Empty, true),
            ListResourceTags(list_resource_tags, $crate::ListResourceTagsRequest, $crate::ListResourceTagsResponse, false),
            // Aliases
            CreateAlias(create_alias, $crate::CreateAliasRequest, $crate::Empty, true),
            UpdateAlias(update_alias, $crate::UpdateAliasRequest, $crate::Empty, true),
            DeleteAlias(delete_alias, $crate::DeleteAliasRequest, $crate::Empty, true),
            ListAliases(list_aliases, $crate::ListAliasesRequest, $crate::ListAliasesResponse, false),
            // Encryption
            Encrypt(encrypt, $crate::EncryptRequest, $crate::EncryptResponse, false),
            Decrypt(decrypt, $crate::DecryptRequest, $crate::DecryptResponse, false),
            ReEncrypt(re_encrypt, $crate::ReEncryptRequest, $crate::ReEncryptResponse, false),
            GenerateDataKey(generate_data_key, $crate::GenerateDataKeyRequest, $crate::GenerateDataKeyResponse, false),
            GenerateDataKeyWithoutPlaintext(generate_data_key_without_plaintext, $crate::GenerateDataKeyWithoutPlaintextRequest, $crate::GenerateDataKeyWithoutPlaintextResponse, false),
            GenerateDataKeyPair(generate_data_key_pair, $crate::GenerateDataKeyPairRequest, $crate::GenerateDataKeyPairResponse, false),
            GenerateDataKeyPairWithoutPlaintext(generate_data_key_pair_without_plaintext, $crate::GenerateDataKeyPairWithoutPlaintextRequest, $crate::GenerateDataKeyPairWithoutPlaintextResponse, false),
            GenerateRandom(generate_random, $crate::GenerateRandomRequest, $crate::GenerateRandomResponse, false),
            // Signing
            Sign(sign, $crate::SignRequest, $crate::SignResponse, false),
            Verify(verify, $crate::VerifyRequest, $crate::VerifyResponse, false),
            GetPublicKey(get_public_key, $crate::GetPublicKeyRequest, $crate::GetPublicKeyResponse, false),
            // HMAC
            GenerateMac(generate_mac, $crate::GenerateMacRequest, $crate::GenerateMacResponse, false),
            VerifyMac(verify_mac, $crate::VerifyMacRequest, $crate::VerifyMacResponse, false),
            // Key agreement
            DeriveSharedSecret(derive_shared_secret, $crate::DeriveSharedSecretRequest, $crate::DeriveSharedSecretResponse, false),
            // Grants
            CreateGrant(create_grant, $crate::CreateGrantRequest, $crate::CreateGrantResponse, true),
            ListGrants(list_grants, $crate::ListGrantsRequest, $crate::ListGrantsResponse, false),
            RevokeGrant(revoke_grant, $crate::RevokeGrantRequest, $crate::Empty, true),
            RetireGrant(retire_grant, $crate::RetireGrantRequest, $crate::Empty, true),
            ListRetirableGrants(list_retirable_grants, $crate::ListRetirableGrantsRequest, $crate::ListGrantsResponse, false),
            // Rotation
            EnableKeyRotation(enable_key_rotation, $crate::EnableKeyRotationRequest, $crate::Empty, true),
            DisableKeyRotation(disable_key_rotation, $crate::DisableKeyRotationRequest, $crate::Empty, true),
            GetKeyRotationStatus(get_key_rotation_status, $crate::GetKeyRotationStatusRequest, $crate::GetKeyRotationStatusResponse, false),
            RotateKeyOnDemand(rotate_key_on_demand, $crate::RotateKeyOnDemandRequest, $crate::RotateKeyOnDemandResponse, true),
            ListKeyRotations(list_key_rotations, $crate::ListKeyRotationsRequest, $crate::ListKeyRotationsResponse, false),
            // Imported key material
            GetParametersForImport(get_parameters_for_import, $crate::GetParametersForImportRequest, $crate::GetParametersForImportResponse, true),
            ImportKeyMaterial(import_key_material, $crate::ImportKeyMaterialRequest, $crate::ImportKeyMaterialResponse, true),
            DeleteImportedKeyMaterial(delete_imported_key_material, $crate::DeleteImportedKeyMaterialRequest, $crate::DeleteImportedKeyMaterialResponse, true),
            // Custom key stores
            CreateCustomKeyStore(create_custom_key_store, $crate::CreateCustomKeyStoreRequest, $crate::CreateCustomKeyStoreResponse, true),
            DescribeCustomKeyStores(describe_custom_key_stores, $crate::DescribeCustomKeyStoresRequest, $crate::DescribeCustomKeyStoresResponse, false),
            ConnectCustomKeyStore(connect_custom_key_store, $crate::ConnectCustomKeyStoreRequest, $crate::Empty, true),
            DisconnectCustomKeyStore(disconnect_custom_key_store, $crate::DisconnectCustomKeyStoreRequest, $crate::Empty, true),
            UpdateCustomKeyStore(update_custom_key_store, $crate::UpdateCustomKeyStoreRequest, $crate::Empty, true),
            DeleteCustomKeyStore(delete_custom_key_store, $crate::DeleteCustomKeyStoreRequest, $crate::Empty, true),
        }
    };
}

/// The operations of the KMS API that Keyward does not serve: key usage history. They are
/// refused as unsupported, not as unknown.
pub const UNSUPPORTED: &[&str] = &["GetKeyLastUsage"];

macro_rules! define_operations {
    ($($name:ident($method:ident, $request:ty, $response:ty, $writes:literal),)*) => {
        /// An operation, as named in `X-Amz-Target: TrentService.<Name>`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name,
            )*
        }

        impl Operation {
            /// Every operation served, in the order of the list.
            pub const ALL: &'static [Operation] = &[$(Operation::$name,)*];

            /// The name: `Encrypt`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Operation::$name => stringify!($name),)*
                }
            }

            /// Whether the operation changes stored state.
            pub const fn writes(self) -> bool {
                match self {
                    $(Operation::$name => $writes,)*
                }
            }

            /// Reads `body` as this operation's input.
            pub fn parse(self, body: &[u8]) -> Result<Request, ApiError> {
                match self {
                    $(Operation::$name => wire::parse::<$request>(body).map(Request::$name),)*
                }
            }
        }

        /// The input of an operation.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name($request),
            )*
        }

        impl Request {
            /// The operation.
            pub const fn operation(&self) -> Operation {
                match self {
                    $(Request::$name(_) => Operation::$name,)*
                }
            }
        }

        /// The output of an operation.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Response {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name($response),
            )*
        }

        impl Response {
            /// The JSON body (zeroized when dropped: it may hold a plaintext).
            pub fn to_body(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
                match self {
                    $(Response::$name(output) => wire::to_body(output),)*
                }
            }
        }
    };
}

kms_operations!(define_operations);

impl Operation {
    /// The operation an `X-Amz-Target` header names (`TrentService.Encrypt`):
    /// `UnsupportedOperationException` for an operation of the KMS API that Keyward does not
    /// serve, `UnknownOperationException` for anything else.
    pub fn from_target(target: &str) -> Result<Self, ApiError> {
        let name = target.strip_prefix("TrentService.").unwrap_or("");
        if let Some(operation) = Self::ALL.iter().find(|op| op.name() == name) {
            return Ok(*operation);
        }
        if UNSUPPORTED.contains(&name) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedOperation,
                format!(
                    "{name} is not supported by Keyward (no custom key stores or key usage history)."
                ),
            ));
        }
        Err(ApiError {
            code: ErrorCode::UnknownOperation,
            message: None,
        })
    }
}

impl Request {
    /// Whether the call keeps a core busy for long (generating an RSA key pair, or the RSA
    /// wrapping key of GetParametersForImport): a server runs it off its request threads, a
    /// few at a time.
    pub fn cpu_heavy(&self) -> bool {
        let rsa = |spec: Option<&str>| spec.is_some_and(|s| s.starts_with("RSA_"));
        match self {
            Self::GenerateDataKeyPair(r) => rsa(Some(&r.key_pair_spec)),
            Self::GenerateDataKeyPairWithoutPlaintext(r) => rsa(Some(&r.key_pair_spec)),
            Self::CreateKey(r) => {
                rsa(r.key_spec.as_deref()) || rsa(r.customer_master_key_spec.as_deref())
            }
            Self::GetParametersForImport(_) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use super::*;

    #[test]
    fn every_operation_is_found_by_its_target_and_others_are_refused() {
        assert_eq!(Operation::ALL.len(), 53);
        for op in Operation::ALL {
            assert_eq!(
                Operation::from_target(&format!("TrentService.{}", op.name())).unwrap(),
                *op
            );
        }
        for (target, code) in [
            ("TrentService.Nope", ErrorCode::UnknownOperation),
            ("Encrypt", ErrorCode::UnknownOperation),
            (
                "TrentService.GetKeyLastUsage",
                ErrorCode::UnsupportedOperation,
            ),
        ] {
            assert_eq!(Operation::from_target(target).unwrap_err().code, code);
        }
    }

    #[test]
    fn no_operation_is_both_served_and_unsupported() {
        for op in Operation::ALL {
            assert!(!UNSUPPORTED.contains(&op.name()), "{op:?}");
        }
    }

    #[test]
    fn a_body_is_read_as_the_operations_input() {
        let request = Operation::Encrypt
            .parse(br#"{"KeyId":"alias/a","Plaintext":"aGk="}"#)
            .unwrap();
        assert_eq!(request.operation(), Operation::Encrypt);
        let Request::Encrypt(input) = request else {
            unreachable!("parsed as Encrypt")
        };
        assert_eq!(input.key_id, "alias/a");
        assert_eq!(input.plaintext.expose(), b"hi");
        assert!(!Request::Encrypt(input).cpu_heavy());
        let heavy = Operation::GenerateDataKeyPair
            .parse(br#"{"KeyId":"k","KeyPairSpec":"RSA_4096"}"#)
            .unwrap();
        assert!(heavy.cpu_heavy());
    }

    #[test]
    fn the_readme_lists_the_operations_of_this_list() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("<!-- operations -->")
            .expect("the README marks its list of operations");
        let end = readme
            .find("<!-- /operations -->")
            .expect("the README ends its list of operations");
        // The list without its code spans (parameter names such as `ImportType`).
        let text: String = readme
            .get(start..end)
            .unwrap()
            .split('`')
            .step_by(2)
            .collect();
        let listed: std::collections::BTreeSet<&str> = text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| word.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
            .filter(|word| word.chars().skip(1).any(|c| c.is_ascii_lowercase()))
            .filter(|word| !GROUP_WORDS.contains(word))
            .collect();
        let served: std::collections::BTreeSet<&str> =
            Operation::ALL.iter().map(|op| op.name()).collect();
        assert_eq!(listed, served);
    }

    /// The words of the README's list that name groups, not operations.
    const GROUP_WORDS: &[&str] = &[
        "Keys",
        "Key",
        "Custom",
        "Tags",
        "Aliases",
        "Encryption",
        "Signing",
        "HMAC",
        "Grants",
        "Rotation",
        "Imported",
        "Policies",
        "Agreement",
        "Multi",
        "Region",
    ];
}
