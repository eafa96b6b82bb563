//! No escalation through a grant's CreateGrant (KMS Developer Guide, "Creating grants":
//! principals who get CreateGrant from a grant "can only delegate the permissions that they
//! were granted"). The service test walks every combination of a parent grant (operations and
//! constraint) and a child grant its grantee asks for, against the documented rule written
//! here independently of the implementation; a policy that allows CreateGrant is unrestricted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_crypto::RootKey;
use keyward_kms::audit::MemoryAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::model::*;
use keyward_kms::store::MemoryStore;
use keyward_kms::{Caller, Kms, KmsConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const GRANTEE: &str = "arn:aws:iam::111122223333:role/Grantee";
const OTHER: &str = "arn:aws:iam::111122223333:role/Other";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

fn kms() -> Kms {
    Kms::open(
        KmsConfig {
            region: "us-east-1".into(),
            account: "111122223333".into(),
        },
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
        Arc::new(MemoryAudit::new()),
        Arc::new(SystemClock),
    )
    .unwrap()
}

/// A key whose policy names only the admin (no delegation to IAM), so grants are the grantee's
/// only authority, plus `extra` statements.
fn key(kms: &Kms, admin: &Caller, extra: &str) -> String {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"{ADMIN}"}},"Action":"kms:*","Resource":"*"}}{extra}]}}"#
    );
    kms.create_key(
        admin,
        &CreateKeyRequest {
            policy: Some(policy),
            ..CreateKeyRequest::default()
        },
    )
    .unwrap()
    .key_id
}

#[derive(Debug, Clone, PartialEq)]
enum Constraint {
    None,
    Subset(Vec<(&'static str, &'static str)>),
    Equals(Vec<(&'static str, &'static str)>),
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn request(
    key: &str,
    grantee: &str,
    operations: &[&str],
    constraint: &Constraint,
) -> CreateGrantRequest {
    let (equals, subset) = match constraint {
        Constraint::None => (None, None),
        Constraint::Subset(p) => (None, Some(map(p))),
        Constraint::Equals(p) => (Some(map(p)), None),
    };
    CreateGrantRequest {
        key_id: key.into(),
        grantee_principal: grantee.into(),
        operations: operations.iter().map(|o| (*o).to_owned()).collect(),
        encryption_context_equals: equals,
        encryption_context_subset: subset,
        ..CreateGrantRequest::default()
    }
}

/// The documented rule, written out: the child's operations are a subset of the parent's;
/// under a Subset parent the child keeps every parent pair (as Subset or Equals); under an
/// Equals parent the child is the same Equals; an unconstrained parent allows any constraint.
fn allowed(
    parent_ops: &[&str],
    parent: &Constraint,
    child_ops: &[&str],
    child: &Constraint,
) -> bool {
    let within = child_ops.iter().all(|op| parent_ops.contains(op));
    let has_all = |child: &[(&str, &str)], parent: &[(&str, &str)]| {
        parent.iter().all(|pair| child.contains(pair))
    };
    let stricter = match (parent, child) {
        (Constraint::None, _) => true,
        (Constraint::Subset(p), Constraint::Subset(c) | Constraint::Equals(c)) => has_all(c, p),
        (Constraint::Equals(p), Constraint::Equals(c)) => p.len() == c.len() && has_all(c, p),
        (Constraint::Equals(_), Constraint::Subset(_)) | (_, Constraint::None) => false,
    };
    within && stricter
}

#[test]
fn a_grant_can_delegate_only_what_it_gives_in_every_combination() {
    let kms = kms();
    let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
    let grantee = Caller::new(GRANTEE, &[]).unwrap();
    let parents_ops: [&[&str]; 3] = [
        &["CreateGrant"],
        &["CreateGrant", "Decrypt"],
        &["CreateGrant", "Decrypt", "Encrypt", "GenerateDataKey"],
    ];
    let constraints = [
        Constraint::None,
        Constraint::Subset(vec![("tenant", "a")]),
        Constraint::Subset(vec![("tenant", "a"), ("app", "x")]),
        Constraint::Equals(vec![("tenant", "a")]),
        Constraint::Equals(vec![("tenant", "a"), ("app", "x")]),
        Constraint::Subset(vec![("app", "x")]),
    ];
    let children_ops: [&[&str]; 5] = [
        &["Decrypt"],
        &["CreateGrant"],
        &["Decrypt", "Encrypt"],
        &["Encrypt", "Decrypt", "GenerateDataKey"],
        &["CreateGrant", "ReEncryptFrom"],
    ];
    let mut cases = 0;
    let mut allowed_cases = 0;
    let mut wrong = Vec::new();
    for parent_ops in parents_ops {
        for parent in &constraints[..4] {
            let key = key(&kms, &admin, "");
            kms.create_grant(&admin, &request(&key, GRANTEE, parent_ops, parent))
                .unwrap();
            for child_ops in children_ops {
                for child in &constraints {
                    cases += 1;
                    let expected = allowed(parent_ops, parent, child_ops, child);
                    let got = kms.create_grant(&grantee, &request(&key, OTHER, child_ops, child));
                    match (&got, expected) {
                        (Ok(_), true) => allowed_cases += 1,
                        (Err(e), false) if e.code() == "AccessDeniedException" => {}
                        _ => wrong.push(format!(
                            "parent {parent_ops:?} {parent:?}, child {child_ops:?} {child:?}: expected {}, got {:?}",
                            if expected { "created" } else { "AccessDenied" },
                            got.map(|r| r.grant_id)
                        )),
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cases} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cases, 3 * 4 * 5 * 6);
    assert!(
        allowed_cases > 20 && allowed_cases < cases / 2,
        "{allowed_cases}"
    );
}

/// The review's repro: a grantee whose only operation is CreateGrant made itself a grant for
/// Decrypt and decrypted. Now refused, and it still cannot decrypt.
#[test]
fn a_create_grant_only_grantee_cannot_grant_itself_decrypt() {
    let kms = kms();
    let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
    let grantee = Caller::new(GRANTEE, &[]).unwrap();
    let key = key(&kms, &admin, "");
    let blob = kms
        .encrypt(
            &admin,
            &EncryptRequest {
                key_id: key.clone(),
                plaintext: b"secret".to_vec(),
                ..EncryptRequest::default()
            },
        )
        .unwrap()
        .ciphertext_blob;
    kms.create_grant(
        &admin,
        &request(&key, GRANTEE, &["CreateGrant"], &Constraint::None),
    )
    .unwrap();
    let escalation = kms
        .create_grant(
            &grantee,
            &request(
                &key,
                GRANTEE,
                &["Decrypt", "Encrypt", "GenerateDataKey"],
                &Constraint::None,
            ),
        )
        .unwrap_err();
    assert_eq!(escalation.code(), "AccessDeniedException");
    assert!(
        escalation
            .message
            .as_deref()
            .is_some_and(|m| m.contains("Decrypt") && m.contains("kms:CreateGrant")),
        "{escalation:?}"
    );
    let denied = kms
        .decrypt(
            &grantee,
            &DecryptRequest {
                ciphertext_blob: blob,
                ..DecryptRequest::default()
            },
        )
        .unwrap_err();
    assert_eq!(denied.code(), "AccessDeniedException");
    // Nothing was created.
    let grants = kms
        .list_grants(
            &admin,
            &ListGrantsRequest {
                key_id: key,
                ..ListGrantsRequest::default()
            },
        )
        .unwrap();
    assert_eq!(grants.items.len(), 1);
}

/// The second repro: under an EncryptionContextEquals parent, a child with
/// EncryptionContextSubset (and operations the parent lacks) was created.
#[test]
fn an_equals_parent_cannot_give_a_subset_child() {
    let kms = kms();
    let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
    let grantee = Caller::new(GRANTEE, &[]).unwrap();
    let key = key(&kms, &admin, "");
    let parent = Constraint::Equals(vec![("tenant", "a")]);
    kms.create_grant(
        &admin,
        &request(&key, GRANTEE, &["CreateGrant", "Decrypt"], &parent),
    )
    .unwrap();
    for (ops, child) in [
        (&["Decrypt"][..], Constraint::Subset(vec![("tenant", "a")])),
        (
            &["Decrypt", "Encrypt"][..],
            Constraint::Equals(vec![("tenant", "a")]),
        ),
    ] {
        let e = kms
            .create_grant(&grantee, &request(&key, OTHER, ops, &child))
            .unwrap_err();
        assert_eq!(e.code(), "AccessDeniedException", "{ops:?} {child:?}");
    }
    kms.create_grant(&grantee, &request(&key, OTHER, &["Decrypt"], &parent))
        .unwrap();
}

/// Principals who get CreateGrant from a policy "can create grants for any grant operation on
/// the KMS key": the rule applies only when a grant is the sole authority.
#[test]
fn a_policy_that_allows_create_grant_is_not_limited_by_the_callers_grants() {
    let kms = kms();
    let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
    let grantee = Caller::new(GRANTEE, &[]).unwrap();
    let key = key(
        &kms,
        &admin,
        &format!(
            r#",{{"Sid":"Delegate","Effect":"Allow","Principal":{{"AWS":"{GRANTEE}"}},"Action":"kms:CreateGrant","Resource":"*"}}"#
        ),
    );
    kms.create_grant(
        &admin,
        &request(&key, GRANTEE, &["CreateGrant"], &Constraint::None),
    )
    .unwrap();
    kms.create_grant(
        &grantee,
        &request(&key, OTHER, &["Decrypt", "Encrypt"], &Constraint::None),
    )
    .unwrap();
}
