//! No escalation through a grant's CreateGrant (KMS Developer Guide, "Creating grants":
//! principals who get CreateGrant from a grant "can only delegate the permissions that they
//! were granted"). The service test walks every combination of a parent grant (operations and
//! constraint) and a child grant its grantee asks for, against the documented rule written
//! here independently of the implementation; a policy that allows CreateGrant is unrestricted.

use crate::common::{OTHER, caller, decrypt, ec, encrypt, fixture, grant, grants_of};
use keyward_kms::api::{CreateGrantRequest, ErrorCode, GrantConstraints};

const GRANTEE: &str = "arn:aws:iam::111122223333:role/Grantee";

#[derive(Debug, Clone, PartialEq)]
enum Constraint {
    None,
    Subset(Vec<(&'static str, &'static str)>),
    Equals(Vec<(&'static str, &'static str)>),
}

fn request(
    key: &str,
    grantee: &str,
    operations: &[&str],
    constraint: &Constraint,
) -> CreateGrantRequest {
    let constraints = match constraint {
        Constraint::None => None,
        Constraint::Subset(p) => Some(GrantConstraints {
            encryption_context_subset: Some(ec(p)),
            ..GrantConstraints::default()
        }),
        Constraint::Equals(p) => Some(GrantConstraints {
            encryption_context_equals: Some(ec(p)),
            ..GrantConstraints::default()
        }),
    };
    CreateGrantRequest {
        constraints,
        ..grant(key, grantee, operations)
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
    let f = fixture();
    let grantee = caller(GRANTEE, &[]);
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
            // The key policy names only the admin (no delegation to IAM), so grants are the
            // grantee's only authority.
            let key = f.symmetric("");
            f.kms
                .create_grant(&f.admin, &request(&key, GRANTEE, parent_ops, parent))
                .unwrap();
            for child_ops in children_ops {
                for child in &constraints {
                    cases += 1;
                    let expected = allowed(parent_ops, parent, child_ops, child);
                    let got = f
                        .kms
                        .create_grant(&grantee, &request(&key, OTHER, child_ops, child));
                    match (&got, expected) {
                        (Ok(_), true) => allowed_cases += 1,
                        (Err(e), false) if e.code() == ErrorCode::AccessDenied => {}
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
    let f = fixture();
    let grantee = caller(GRANTEE, &[]);
    let key = f.symmetric("");
    let blob = encrypt(&f.kms, &f.admin, &key, b"secret", &[])
        .unwrap()
        .ciphertext_blob;
    f.kms
        .create_grant(&f.admin, &grant(&key, GRANTEE, &["CreateGrant"]))
        .unwrap();
    let escalation = f
        .kms
        .create_grant(
            &grantee,
            &grant(&key, GRANTEE, &["Decrypt", "Encrypt", "GenerateDataKey"]),
        )
        .unwrap_err();
    assert_eq!(escalation.code(), ErrorCode::AccessDenied);
    assert!(
        escalation
            .message()
            .is_some_and(|m| m.contains("Decrypt") && m.contains("kms:CreateGrant")),
        "{escalation:?}"
    );
    let denied = decrypt(&f.kms, &grantee, &blob, &[]).unwrap_err();
    assert_eq!(denied.code(), ErrorCode::AccessDenied);
    // Nothing was created.
    let grants = f.kms.list_grants(&f.admin, &grants_of(&key)).unwrap();
    assert_eq!(grants.grants.len(), 1);
}

/// The second repro: under an EncryptionContextEquals parent, a child with
/// EncryptionContextSubset (and operations the parent lacks) was created.
#[test]
fn an_equals_parent_cannot_give_a_subset_child() {
    let f = fixture();
    let grantee = caller(GRANTEE, &[]);
    let key = f.symmetric("");
    let parent = Constraint::Equals(vec![("tenant", "a")]);
    f.kms
        .create_grant(
            &f.admin,
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
        let e = f
            .kms
            .create_grant(&grantee, &request(&key, OTHER, ops, &child))
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::AccessDenied, "{ops:?} {child:?}");
    }
    f.kms
        .create_grant(&grantee, &request(&key, OTHER, &["Decrypt"], &parent))
        .unwrap();
}

/// Principals who get CreateGrant from a policy "can create grants for any grant operation on
/// the KMS key": the rule applies only when a grant is the sole authority.
#[test]
fn a_policy_that_allows_create_grant_is_not_limited_by_the_callers_grants() {
    let f = fixture();
    let grantee = caller(GRANTEE, &[]);
    let key = f.symmetric(&format!(
        r#"{{"Sid":"Delegate","Effect":"Allow","Principal":{{"AWS":"{GRANTEE}"}},"Action":"kms:CreateGrant","Resource":"*"}}"#
    ));
    f.kms
        .create_grant(&f.admin, &grant(&key, GRANTEE, &["CreateGrant"]))
        .unwrap();
    f.kms
        .create_grant(&grantee, &grant(&key, OTHER, &["Decrypt", "Encrypt"]))
        .unwrap();
}
