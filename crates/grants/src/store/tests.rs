use super::*;

const APP: &str = "arn:aws:iam::111122223333:role/App";

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn request(ops: &[&str]) -> CreateGrant {
    CreateGrant {
        grantee_principal: APP.into(),
        operations: ops.iter().map(|s| (*s).to_owned()).collect(),
        ..CreateGrant::default()
    }
}

fn store() -> GrantStore {
    GrantStore::new(KeyKind::SymmetricEncryption, "111122223333")
}

fn code(result: Result<Created, CreateGrantError>) -> &'static str {
    result.map_or_else(|e| e.code(), |_| "ok")
}

#[test]
fn a_valid_grant_is_created_with_a_64_hex_id() {
    let mut s = store();
    assert_eq!(
        s.create(&request(&["Decrypt", "RetireGrant"])),
        Ok(Created::New(0))
    );
    let g = &s.grants()[0];
    assert_eq!(g.id.len(), 64);
    assert!(g.id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(g.issuing_account.as_deref(), Some("111122223333"));
}

#[test]
fn operations_must_be_non_empty_and_grantable() {
    let mut s = store();
    assert_eq!(code(s.create(&request(&[]))), "ValidationException");
    assert_eq!(
        code(s.create(&request(&["PutKeyPolicy"]))),
        "ValidationException"
    );
    assert_eq!(
        code(s.create(&request(&["kms:Decrypt"]))),
        "ValidationException"
    );
}

#[test]
fn operations_must_suit_the_key() {
    let mut symmetric = store();
    assert_eq!(
        code(symmetric.create(&request(&["Sign"]))),
        "ValidationException",
        "no Sign on a symmetric key"
    );
    let mut signing = GrantStore::new(KeyKind::Signing, "111122223333");
    assert_eq!(
        code(signing.create(&request(&["GenerateDataKey"]))),
        "ValidationException",
        "no data keys on an asymmetric key"
    );
    assert_eq!(
        code(signing.create(&request(&["Sign", "Verify", "GetPublicKey", "DescribeKey"]))),
        "ok"
    );
    let mut mac = GrantStore::new(KeyKind::Mac, "111122223333");
    assert_eq!(
        code(mac.create(&request(&["Encrypt"]))),
        "ValidationException"
    );
    assert_eq!(
        KeyKind::of("HMAC_256", "GENERATE_VERIFY_MAC"),
        Some(KeyKind::Mac)
    );
    assert_eq!(
        KeyKind::of("RSA_2048", "ENCRYPT_DECRYPT"),
        Some(KeyKind::AsymmetricEncryption)
    );
    assert_eq!(
        KeyKind::of("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
        Some(KeyKind::Signing)
    );
    assert_eq!(KeyKind::of("HMAC_256", "ENCRYPT_DECRYPT"), None);
}

#[test]
fn at_most_one_constraint_type() {
    let mut r = request(&["Decrypt"]);
    r.encryption_context_equals = Some(pairs(&[("a", "1")]));
    r.encryption_context_subset = Some(pairs(&[("a", "1")]));
    assert_eq!(code(store().create(&r)), "ValidationException");
}

#[test]
fn constraint_limits_are_eight_pairs_and_384_characters() {
    let mut r = request(&["Decrypt"]);
    let nine: Vec<(String, String)> = (0..9).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    r.encryption_context_subset = Some(nine[..8].to_vec());
    assert_eq!(code(store().create(&r)), "ok");
    r.encryption_context_subset = Some(nine);
    assert_eq!(code(store().create(&r)), "ValidationException");
    r.encryption_context_subset = Some(vec![("k".into(), "é".repeat(384))]);
    assert_eq!(code(store().create(&r)), "ok", "384 characters, not bytes");
    r.encryption_context_subset = Some(vec![("k".into(), "x".repeat(385))]);
    assert_eq!(code(store().create(&r)), "ValidationException");
}

#[test]
fn encryption_context_constraints_only_on_symmetric_encryption_keys() {
    // Fail closed: the notes are silent; a non-symmetric key takes no encryption context.
    let mut r = request(&["Sign"]);
    r.encryption_context_subset = Some(pairs(&[("a", "1")]));
    assert_eq!(
        code(GrantStore::new(KeyKind::Signing, "111122223333").create(&r)),
        "ValidationException"
    );
}

#[test]
fn an_empty_constraint_map_is_no_constraint() {
    let mut s = store();
    let mut r = request(&["Decrypt"]);
    r.encryption_context_subset = Some(Vec::new());
    assert_eq!(code(s.create(&r)), "ok");
    assert_eq!(s.grants()[0].constraint, None);
}

#[test]
fn principals_and_names_follow_the_api_patterns() {
    let mut s = store();
    for bad in [
        "",
        "*",
        "not an arn",
        "arn:aws:iam::111122223333:group/Devs",
        "arn:aws:iam::111122223333:role/App*",
        "s3.amazonaws.com",
    ] {
        let mut r = request(&["Decrypt"]);
        r.grantee_principal = bad.into();
        assert_eq!(code(s.create(&r)), "ValidationException", "{bad:?}");
    }
    for good in [
        "111122223333",
        "arn:aws:iam::111122223333:root",
        "arn:aws:sts::111122223333:assumed-role/App/s1",
        "arn:aws:sts::111122223333:federated-user/carol",
    ] {
        let mut r = request(&["Decrypt"]);
        r.grantee_principal = good.into();
        assert_eq!(code(s.create(&r)), "ok", "{good}");
    }
    let mut r = request(&["Decrypt"]);
    r.retiring_principal = Some("nope".into());
    assert_eq!(code(s.create(&r)), "ValidationException");
    for (name, ok) in [
        ("app-grant:1/x_y", true),
        ("has space", false),
        ("", false),
        (&"n".repeat(257)[..], false),
    ] {
        let mut r = request(&["Decrypt"]);
        r.name = Some(name.into());
        assert_eq!(code(s.create(&r)) == "ok", ok, "{name:?}");
    }
}

#[test]
fn a_retry_with_the_same_name_and_properties_returns_the_same_grant() {
    let mut s = store();
    let mut r = request(&["Decrypt", "Encrypt"]);
    r.name = Some("app".into());
    r.encryption_context_subset = Some(pairs(&[("Dept", "finance")]));
    assert_eq!(s.create(&r), Ok(Created::New(0)));
    let mut retry = r.clone();
    retry.operations.reverse();
    retry.encryption_context_subset = Some(pairs(&[("dept", "finance")]));
    assert_eq!(
        s.create(&retry),
        Ok(Created::Retry(0)),
        "same properties in another order and key case"
    );
    let mut other = r.clone();
    other.operations = vec!["Decrypt".into()];
    assert_eq!(
        s.create(&other),
        Ok(Created::New(1)),
        "the same name with other properties is a new grant"
    );
    let unnamed = request(&["Decrypt", "Encrypt"]);
    assert_eq!(s.create(&unnamed), Ok(Created::New(2)));
    assert_eq!(
        s.create(&unnamed),
        Ok(Created::New(3)),
        "without a name every call creates a grant"
    );
}

#[test]
fn a_key_holds_at_most_50000_grants() {
    let mut s = store();
    let r = request(&["Decrypt"]);
    for _ in 0..MAX_GRANTS_PER_KEY {
        assert!(s.create(&r).is_ok());
    }
    assert_eq!(s.create(&r), Err(CreateGrantError::LimitExceeded));
    assert_eq!(
        CreateGrantError::LimitExceeded.code(),
        "LimitExceededException"
    );
}

fn parent(ops: &[&str], constraint: Option<GrantConstraint>) -> Grant {
    Grant {
        id: "p".into(),
        name: None,
        grantee: APP.into(),
        retiring_principal: None,
        issuing_account: None,
        operations: parse_operations(ops.iter().copied()).unwrap_or_default(),
        constraint,
    }
}

#[test]
fn a_child_grant_gets_only_a_subset_of_the_parents_operations() {
    let p = parent(&["Decrypt", "CreateGrant"], None);
    let mut s = store();
    assert_eq!(code(s.create_under(&p, &request(&["Decrypt"]))), "ok");
    assert_eq!(
        code(s.create_under(&p, &request(&["Decrypt", "CreateGrant"]))),
        "ok"
    );
    assert_eq!(
        code(s.create_under(&p, &request(&["Encrypt"]))),
        "AccessDeniedException"
    );
}

#[test]
fn a_child_constraint_is_at_least_as_strict() {
    let subset = parent(
        &["Decrypt"],
        Some(GrantConstraint::EncryptionContextSubset(pairs(&[(
            "dept", "finance",
        )]))),
    );
    let equals = parent(
        &["Decrypt"],
        Some(GrantConstraint::EncryptionContextEquals(pairs(&[(
            "dept", "finance",
        )]))),
    );
    let child = |equals_pairs: Option<&[(&str, &str)]>, subset_pairs: Option<&[(&str, &str)]>| {
        let mut r = request(&["Decrypt"]);
        r.encryption_context_equals = equals_pairs.map(pairs);
        r.encryption_context_subset = subset_pairs.map(pairs);
        r
    };
    let mut s = store();
    assert_eq!(
        code(s.create_under(
            &subset,
            &child(None, Some(&[("dept", "finance"), ("app", "x")]))
        )),
        "ok",
        "Subset may gain pairs"
    );
    assert_eq!(
        code(s.create_under(&subset, &child(Some(&[("DEPT", "finance")]), None))),
        "ok",
        "Subset may become Equals"
    );
    assert_eq!(
        code(s.create_under(&subset, &child(None, Some(&[("app", "x")])))),
        "AccessDeniedException",
        "Subset may not lose pairs"
    );
    assert_eq!(
        code(s.create_under(&subset, &child(None, Some(&[("dept", "Finance")])))),
        "AccessDeniedException",
        "values keep their case"
    );
    assert_eq!(
        code(s.create_under(&subset, &child(None, None))),
        "AccessDeniedException",
        "a constraint may not be dropped"
    );
    assert_eq!(
        code(s.create_under(&equals, &child(Some(&[("dept", "finance")]), None))),
        "ok",
        "Equals stays Equals"
    );
    assert_eq!(
        code(s.create_under(
            &equals,
            &child(Some(&[("dept", "finance"), ("app", "x")]), None)
        )),
        "AccessDeniedException"
    );
    assert_eq!(
        code(s.create_under(&equals, &child(None, Some(&[("dept", "finance")])))),
        "AccessDeniedException",
        "Equals may not become Subset"
    );
}
