//! The Rust AWS SDK (`aws-sdk-kms`), unchanged, against `keyward serve`: key lifecycle,
//! cryptography, aliases, grants, rotation and tags, and AWS's errors as the SDK reports them.

use crate::common::*;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    GrantConstraints, GrantOperation, KeySpec, KeyUsageType, MacAlgorithmSpec,
    SigningAlgorithmSpec, Tag,
};

fn client(server: &TestServer, creds: Creds) -> Client {
    client_in(server, creds, REGION)
}

/// A client of `region`.
fn client_in(server: &TestServer, creds: Creds, region: &'static str) -> Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .endpoint_url(server.endpoint())
        .credentials_provider(Credentials::new(
            creds.key,
            creds.secret,
            None,
            None,
            "keyward-test",
        ))
        .build();
    Client::from_conf(config)
}

/// The code of an SDK error.
fn code<E: ProvideErrorMetadata, R: std::fmt::Debug>(
    e: aws_sdk_kms::error::SdkError<E, R>,
) -> (String, String) {
    (
        e.code().unwrap_or("").to_owned(),
        e.message().unwrap_or("").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_sdk_works_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let admin = client(&server, ADMIN);

    // Lifecycle.
    let key = admin
        .create_key()
        .description("sdk")
        .tags(
            Tag::builder()
                .tag_key("env")
                .tag_value("test")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(key.description(), Some("sdk"));
    assert!(key.creation_date().is_some());
    let key_id = key.key_id().to_owned();
    let described = admin.describe_key().key_id(&key_id).send().await.unwrap();
    assert_eq!(described.key_metadata.unwrap().arn(), key.arn());
    let listed = admin.list_keys().send().await.unwrap();
    assert_eq!(listed.keys().len(), 1);
    admin
        .update_key_description()
        .key_id(&key_id)
        .description("renamed")
        .send()
        .await
        .unwrap();

    // Cryptography with an encryption context.
    let encrypted = admin
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(b"hello sdk".to_vec()))
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap();
    let blob = encrypted.ciphertext_blob.unwrap();
    let decrypted = admin
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext.as_ref().unwrap().as_ref(), b"hello sdk");
    assert_eq!(decrypted.key_id(), key.arn());
    let (c, m) = code(
        admin
            .decrypt()
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((c.as_str(), m.as_str()), ("InvalidCiphertextException", ""));
    let data_key = admin
        .generate_data_key()
        .key_id(&key_id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    assert_eq!(data_key.plaintext.unwrap().as_ref().len(), 32);
    let random = admin
        .generate_random()
        .number_of_bytes(16)
        .send()
        .await
        .unwrap();
    assert_eq!(random.plaintext.unwrap().as_ref().len(), 16);

    // Signing and MACs.
    let signing = admin
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let signature = admin
        .sign()
        .key_id(&signing)
        .message(Blob::new(b"msg".to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();
    let verified = admin
        .verify()
        .key_id(&signing)
        .message(Blob::new(b"msg".to_vec()))
        .signature(signature)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid);
    let public = admin
        .get_public_key()
        .key_id(&signing)
        .send()
        .await
        .unwrap();
    assert!(public.public_key.unwrap().as_ref().len() > 60);
    let mac_key = admin
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let mac = admin
        .generate_mac()
        .key_id(&mac_key)
        .message(Blob::new(b"m".to_vec()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap()
        .mac
        .unwrap();
    let (c, _) = code(
        admin
            .verify_mac()
            .key_id(&mac_key)
            .message(Blob::new(b"other".to_vec()))
            .mac(mac)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(c, "KMSInvalidMacException");

    // Aliases.
    admin
        .create_alias()
        .alias_name("alias/sdk")
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap();
    let aliases = admin.list_aliases().send().await.unwrap();
    let mine: Vec<_> = aliases
        .aliases()
        .iter()
        .filter(|a| a.target_key_id().is_some())
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].alias_name(), Some("alias/sdk"));
    assert!(
        aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name() == Some("alias/aws/s3") && a.target_key_id().is_none()),
        "AWS's predefined aliases are listed without a target"
    );
    admin
        .encrypt()
        .key_id("alias/sdk")
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap();

    // Grants: alice has no permission until granted; the grant token works at once.
    let alice = client(&server, ALICE);
    let (c, m) = code(
        alice
            .decrypt()
            .ciphertext_blob(blob.clone())
            .encryption_context("purpose", "test")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(c, "AccessDeniedException");
    assert!(
        m.starts_with(
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt"
        ),
        "{m}"
    );
    let grant = admin
        .create_grant()
        .key_id(&key_id)
        .grantee_principal(ALICE.arn)
        .retiring_principal(ALICE.arn)
        .operations(GrantOperation::Decrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("purpose", "test")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plain = alice
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "test")
        .grant_tokens(grant.grant_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext.unwrap().as_ref(), b"hello sdk");
    let grants = admin.list_grants().key_id(&key_id).send().await.unwrap();
    assert_eq!(grants.grants().len(), 1);
    alice
        .retire_grant()
        .grant_token(grant.grant_token().unwrap())
        .send()
        .await
        .unwrap();
    let (c, _) = code(
        alice
            .decrypt()
            .ciphertext_blob(blob.clone())
            .encryption_context("purpose", "test")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(c, "AccessDeniedException");

    // Rotation, tags, policy.
    admin
        .enable_key_rotation()
        .key_id(&key_id)
        .rotation_period_in_days(180)
        .send()
        .await
        .unwrap();
    let status = admin
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert!(status.key_rotation_enabled);
    assert_eq!(status.rotation_period_in_days, Some(180));
    admin
        .rotate_key_on_demand()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    let rotations = admin
        .list_key_rotations()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    admin
        .tag_resource()
        .key_id(&key_id)
        .tags(
            Tag::builder()
                .tag_key("team")
                .tag_value("a")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let tags = admin
        .list_resource_tags()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 2);
    admin
        .untag_resource()
        .key_id(&key_id)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let policy = admin
        .get_key_policy()
        .key_id(&key_id)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert!(policy.contains("kms:*"));
    let names = admin
        .list_key_policies()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["default"]);

    // State: disabled, then scheduled for deletion and back.
    admin.disable_key().key_id(&key_id).send().await.unwrap();
    let (c, m) = code(
        admin
            .encrypt()
            .key_id(&key_id)
            .plaintext(Blob::new(b"x".to_vec()))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(c, "DisabledException");
    assert_eq!(m, format!("{} is disabled.", key.arn().unwrap()));
    let scheduled = admin
        .schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(scheduled.pending_window_in_days, Some(7));
    assert!(scheduled.deletion_date.is_some());
    let cancelled = admin
        .cancel_key_deletion()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.key_id(), key.arn());
    admin.enable_key().key_id(&key_id).send().await.unwrap();

    // Another account's principal cannot see this account's keys.
    let carol = client(&server, CAROL);
    let (c, _) = code(
        carol
            .describe_key()
            .key_id(key.arn().unwrap())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(c, "AccessDeniedException");
}

/// Multi-Region keys through the SDK: a primary in us-east-1, its replica in eu-west-1 with
/// the same key ID, a ciphertext of one Region decrypted by the other, DescribeKey's
/// configuration, and the primary moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_sdk_replicates_a_multi_region_key_and_decrypts_across_regions() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_configured(dir.path(), "regions = [\"us-east-1\", \"eu-west-1\"]");
    let us = client_in(&server, ADMIN, "us-east-1");
    let eu = client_in(&server, ADMIN, "eu-west-1");
    let primary = us
        .create_key()
        .multi_region(true)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let key_id = primary.key_id().to_owned();
    assert!(key_id.starts_with("mrk-"), "{key_id}");
    assert_eq!(primary.multi_region(), Some(true));
    let replica = us
        .replicate_key()
        .key_id(&key_id)
        .replica_region("eu-west-1")
        .description("replica")
        .send()
        .await
        .unwrap();
    let meta = replica.replica_key_metadata.unwrap();
    assert_eq!(meta.key_id(), key_id);
    assert!(meta.arn().unwrap().starts_with("arn:aws:kms:eu-west-1:"));
    let config = meta.multi_region_configuration.unwrap();
    assert_eq!(config.multi_region_key_type.unwrap().as_str(), "REPLICA");
    let blob = us
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(b"from us-east-1".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let plain = eu.decrypt().ciphertext_blob(blob).send().await.unwrap();
    assert_eq!(plain.plaintext.unwrap().as_ref(), b"from us-east-1");
    assert!(plain.key_id.unwrap().starts_with("arn:aws:kms:eu-west-1:"));
    us.update_primary_region()
        .key_id(&key_id)
        .primary_region("eu-west-1")
        .send()
        .await
        .unwrap();
    let described = eu
        .describe_key()
        .key_id(&key_id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let config = described.multi_region_configuration.unwrap();
    assert_eq!(
        config.multi_region_key_type().map(|t| t.as_str()),
        Some("PRIMARY")
    );
    assert_eq!(config.replica_keys().len(), 1);
    assert_eq!(config.replica_keys()[0].region(), Some("us-east-1"));
}
