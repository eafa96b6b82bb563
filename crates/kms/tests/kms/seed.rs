//! Seeding (`Kms::seed`): keys with given IDs, specs, policies, aliases, tags and material,
//! created at start, idempotently.

use crate::common::{
    ACCOUNT, APP, Fixture, admin_policy, all_aliases, caller, code, decrypt, encrypt, fixture,
    start,
};
use keyward_crypto::{RootKey, Secret};
use keyward_kms::api::{
    GetKeyPolicyRequest, GetPublicKeyRequest, ListResourceTagsRequest, PutKeyPolicyRequest,
};
use keyward_kms::clock::ManualClock;
use keyward_kms::seed::{SeedKey, Seeded};
use keyward_kms::store::MemoryStore;
use std::collections::BTreeMap;
use std::sync::Arc;

const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const OTHER_ID: &str = "0987dcba-09fe-87dc-65ba-ab0987654321";

fn payments() -> SeedKey {
    SeedKey {
        id: ID.into(),
        account: ACCOUNT.into(),
        description: Some("payments".into()),
        policy: Some(admin_policy(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:Encrypt","Resource":"*"}}"#
        ))),
        aliases: vec!["alias/payments".into()],
        tags: BTreeMap::from([("team".into(), "payments".into())]),
        material: Some(Secret::from_slice(&[42; 32])),
        ..SeedKey::default()
    }
}

#[test]
fn a_seeded_key_has_its_id_policy_aliases_tags_and_material() {
    let f = fixture();
    assert_eq!(f.kms.seed(&[payments()]).unwrap(), [Seeded::Created]);
    let meta = f.describe("alias/payments");
    assert_eq!(meta.key_id, ID);
    assert_eq!(meta.description, "payments");
    assert_eq!(meta.key_manager, "CUSTOMER");
    // The seeded policy is the one enforced: the app may encrypt, not decrypt.
    let app = caller(APP, &[]);
    let blob = encrypt(&f.kms, &app, "alias/payments", b"seeded", &[])
        .unwrap()
        .ciphertext_blob;
    assert_eq!(
        code(decrypt(&f.kms, &app, &blob, &[])),
        "AccessDeniedException"
    );
    let tags = f
        .kms
        .list_resource_tags(
            &f.admin,
            &ListResourceTagsRequest {
                key_id: ID.into(),
                ..ListResourceTagsRequest::default()
            },
        )
        .unwrap()
        .tags;
    assert_eq!(tags.len(), 1);
    assert_eq!(
        (tags[0].tag_key.as_str(), tags[0].tag_value.as_str()),
        ("team", "payments")
    );
    // The material is the seed's: another service, with another root key, seeded the same,
    // decrypts what this one encrypted.
    let other = Fixture::over(
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
        Arc::new(ManualClock::new(start())),
    );
    other.kms.seed(&[payments()]).unwrap();
    let plain = decrypt(&other.kms, &other.admin, &blob, &[]).unwrap();
    assert_eq!(plain.plaintext.expose(), b"seeded");
}

#[test]
fn seeding_again_keeps_what_calls_changed_and_adds_what_is_missing() {
    let f = fixture();
    f.kms.seed(&[payments()]).unwrap();
    let changed = admin_policy("");
    f.kms
        .put_key_policy(
            &f.admin,
            &PutKeyPolicyRequest {
                key_id: ID.into(),
                policy: changed.clone(),
                ..PutKeyPolicyRequest::default()
            },
        )
        .unwrap();
    let mut again = payments();
    again.aliases.push("alias/payments-2".into());
    again.tags.insert("env".into(), "ci".into());
    assert_eq!(f.kms.seed(&[again.clone()]).unwrap(), [Seeded::Kept]);
    assert_eq!(f.kms.seed(&[again]).unwrap(), [Seeded::Kept]);
    let policy = f
        .kms
        .get_key_policy(
            &f.admin,
            &GetKeyPolicyRequest {
                key_id: ID.into(),
                ..GetKeyPolicyRequest::default()
            },
        )
        .unwrap()
        .policy;
    assert_eq!(policy, changed, "the seed never overwrites a call's change");
    let aliases: Vec<String> = all_aliases(&f.kms, &f.admin, Some(ID))
        .into_iter()
        .map(|a| a.alias_name)
        .collect();
    assert_eq!(aliases, ["alias/payments", "alias/payments-2"]);
    let tags = f
        .kms
        .list_resource_tags(
            &f.admin,
            &ListResourceTagsRequest {
                key_id: ID.into(),
                ..ListResourceTagsRequest::default()
            },
        )
        .unwrap()
        .tags;
    assert_eq!(tags.len(), 2);
}

#[test]
fn a_seed_that_contradicts_the_key_or_is_invalid_is_refused_naming_the_key() {
    let f = fixture();
    f.kms.seed(&[payments()]).unwrap();
    let cases: Vec<(SeedKey, &str)> = vec![
        (
            SeedKey {
                key_spec: Some("HMAC_256".into()),
                key_usage: Some("GENERATE_VERIFY_MAC".into()),
                material: None,
                ..payments()
            },
            "it exists as SYMMETRIC_DEFAULT",
        ),
        (
            SeedKey {
                material: Some(Secret::from_slice(&[7; 32])),
                ..payments()
            },
            "other key material",
        ),
        (
            SeedKey {
                account: "444455556666".into(),
                ..payments()
            },
            "it exists in account 111122223333",
        ),
        (
            SeedKey {
                id: OTHER_ID.into(),
                material: None,
                ..payments()
            },
            "alias alias/payments already points at key",
        ),
        (
            SeedKey {
                id: "not-a-key-id".into(),
                ..payments()
            },
            "is not a key ID",
        ),
        (
            SeedKey {
                id: OTHER_ID.into(),
                account: "12".into(),
                ..SeedKey::default()
            },
            "not a 12-digit account ID",
        ),
        (
            SeedKey {
                id: OTHER_ID.into(),
                account: ACCOUNT.into(),
                aliases: vec!["payments".into()],
                ..SeedKey::default()
            },
            "Alias must start with the prefix",
        ),
        (
            SeedKey {
                id: OTHER_ID.into(),
                account: ACCOUNT.into(),
                policy: Some("{\"Version\":\"2012-10-17\"}".into()),
                ..SeedKey::default()
            },
            "Statement",
        ),
        (
            SeedKey {
                id: OTHER_ID.into(),
                account: ACCOUNT.into(),
                key_spec: Some("RSA_2048".into()),
                ..SeedKey::default()
            },
            "KeyUsage",
        ),
        (
            SeedKey {
                id: OTHER_ID.into(),
                account: ACCOUNT.into(),
                material: Some(Secret::from_slice(&[1; 16])),
                ..SeedKey::default()
            },
            "its material",
        ),
    ];
    for (seed, problem) in cases {
        let e = f.kms.seed(std::slice::from_ref(&seed)).unwrap_err();
        assert_eq!(e.key, seed.id);
        assert!(e.problem.contains(problem), "{seed:?}: {e}");
    }
    // Nothing half-made: the other key does not exist.
    assert!(
        f.kms
            .describe_key(
                &f.admin,
                &keyward_kms::api::DescribeKeyRequest::new(OTHER_ID)
            )
            .is_err()
    );
}

#[test]
fn an_asymmetric_key_is_seeded_from_its_pkcs8_and_a_disabled_key_stays_disabled() {
    let f = fixture();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &rng,
    )
    .unwrap();
    let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8.as_ref(),
    )
    .unwrap();
    let seed = SeedKey {
        id: OTHER_ID.into(),
        account: ACCOUNT.into(),
        key_spec: Some("ECC_NIST_P256".into()),
        key_usage: Some("SIGN_VERIFY".into()),
        material: Some(Secret::from_slice(pkcs8.as_ref())),
        ..SeedKey::default()
    };
    let disabled = SeedKey {
        id: ID.into(),
        account: ACCOUNT.into(),
        enabled: false,
        ..SeedKey::default()
    };
    assert_eq!(
        f.kms.seed(&[seed, disabled]).unwrap(),
        [Seeded::Created, Seeded::Created]
    );
    let public = f
        .kms
        .get_public_key(
            &f.admin,
            &GetPublicKeyRequest {
                key_id: OTHER_ID.into(),
                ..GetPublicKeyRequest::default()
            },
        )
        .unwrap()
        .public_key;
    use aws_lc_rs::signature::KeyPair;
    assert!(public.ends_with(pair.public_key().as_ref()));
    assert!(!f.describe(ID).enabled);
}
