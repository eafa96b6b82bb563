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

fn key() -> TokenKey {
    TokenKey::new([7; 32])
}

fn key_grants() -> KeyGrants {
    KeyGrants::new(KeyKind::SymmetricEncryption, "111122223333", key())
}

fn code(result: Result<CreatedGrant, KeyGrantsError>) -> &'static str {
    result.map_or_else(|e| e.code(), |_| "ok")
}

/// The API Reference: "To specify the grantee principal, use the Amazon Resource Name (ARN)
/// of an AWS principal". A bare account ID named the account without being the `:root` ARN
/// that account-wide rules are written against: refused, with how to name the account.
#[test]
fn a_bare_account_id_is_not_a_grantee_principal() {
    let mut s = key_grants();
    let mut r = request(&["Decrypt"]);
    r.grantee_principal = "111122223333".into();
    let error = s.create(&r).unwrap_err();
    assert_eq!(error.code(), "ValidationException");
    assert_eq!(
        error.to_string(),
        "granteePrincipal must be an ARN: to name account 111122223333, use arn:aws:iam::111122223333:root"
    );
    assert!(s.grants().is_empty());
}

/// An operation outside `GrantOperation` gets AWS's validation text for a list of enums, the
/// enumeration in the API model's order; every name there is one the catalog can grant.
#[test]
fn an_unknown_grant_operation_gets_awss_enum_validation_text() {
    let mut s = key_grants();
    let error = s.create(&request(&["Decrypt", "Dance"])).unwrap_err();
    assert_eq!(error.code(), "ValidationException");
    assert_eq!(
        error.to_string(),
        "1 validation error detected: Value '[Decrypt, Dance]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [Decrypt, Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom, ReEncryptTo, Sign, Verify, GetPublicKey, CreateGrant, RetireGrant, DescribeKey, GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, GenerateMac, VerifyMac, DeriveSharedSecret], Member must not be null]"
    );
    for name in super::GRANT_OPERATIONS {
        assert!(
            crate::parse_operations([*name]).is_ok(),
            "{name} is in the enumeration but not grantable"
        );
    }
}

/// Grant IDs are random 64-hex strings, as AWS's are: two grants never share one, and an ID
/// says nothing about how many grants came before.
#[test]
fn grant_ids_are_random_64_hex_strings() {
    let mut s = key_grants();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..50 {
        s.create(&request(&["Decrypt"])).unwrap();
    }
    for g in s.grants() {
        assert_eq!(g.id.len(), 64);
        assert!(
            g.id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(ids.insert(g.id.clone()));
    }
    assert!(
        !s.grants()
            .iter()
            .any(|g| g.id.trim_start_matches('0').len() < 40)
    );
}

#[test]
fn a_valid_grant_is_created_with_a_64_hex_id() {
    let mut s = key_grants();
    assert_eq!(
        s.create(&request(&["Decrypt", "RetireGrant"]))
            .map(|c| c.created),
        Ok(Created::New(0))
    );
    let g = &s.grants()[0];
    assert_eq!(g.id.len(), 64);
    assert!(g.id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(g.issuing_account.as_deref(), Some("111122223333"));
}

#[test]
fn operations_must_be_non_empty_and_grantable() {
    let mut s = key_grants();
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
    let mut symmetric = key_grants();
    assert_eq!(
        code(symmetric.create(&request(&["Sign"]))),
        "ValidationException",
        "no Sign on a symmetric key"
    );
    let mut signing = KeyGrants::new(KeyKind::Signing, "111122223333", key());
    assert_eq!(
        code(signing.create(&request(&["GenerateDataKey"]))),
        "ValidationException",
        "no data keys on an asymmetric key"
    );
    assert_eq!(
        code(signing.create(&request(&["Sign", "Verify", "GetPublicKey", "DescribeKey"]))),
        "ok"
    );
    let mut mac = KeyGrants::new(KeyKind::Mac, "111122223333", key());
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
    assert_eq!(code(key_grants().create(&r)), "ValidationException");
}

#[test]
fn constraint_limits_are_eight_pairs_and_384_characters() {
    let mut r = request(&["Decrypt"]);
    let nine: Vec<(String, String)> = (0..9).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    r.encryption_context_subset = Some(nine[..8].to_vec());
    assert_eq!(code(key_grants().create(&r)), "ok");
    r.encryption_context_subset = Some(nine);
    assert_eq!(code(key_grants().create(&r)), "ValidationException");
    r.encryption_context_subset = Some(vec![("k".into(), "é".repeat(384))]);
    assert_eq!(
        code(key_grants().create(&r)),
        "ok",
        "384 characters, not bytes"
    );
    r.encryption_context_subset = Some(vec![("k".into(), "x".repeat(385))]);
    assert_eq!(code(key_grants().create(&r)), "ValidationException");
}

#[test]
fn encryption_context_constraints_only_on_symmetric_encryption_keys() {
    // Fail closed: the documentation is silent; a non-symmetric key takes no encryption context.
    let mut r = request(&["Sign"]);
    r.encryption_context_subset = Some(pairs(&[("a", "1")]));
    assert_eq!(
        code(KeyGrants::new(KeyKind::Signing, "111122223333", key()).create(&r)),
        "ValidationException"
    );
}

#[test]
fn an_empty_constraint_map_is_no_constraint() {
    let mut s = key_grants();
    let mut r = request(&["Decrypt"]);
    r.encryption_context_subset = Some(Vec::new());
    assert_eq!(code(s.create(&r)), "ok");
    assert_eq!(s.grants()[0].constraint, None);
}

#[test]
fn principals_and_names_follow_the_api_patterns() {
    let mut s = key_grants();
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
    let mut r = request(&["Decrypt"]);
    r.retiring_principal = Some("111122223333".into());
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
    let mut s = key_grants();
    let mut r = request(&["Decrypt", "Encrypt"]);
    r.name = Some("app".into());
    r.encryption_context_subset = Some(pairs(&[("Dept", "finance")]));
    assert_eq!(s.create(&r).map(|c| c.created), Ok(Created::New(0)));
    let mut retry = r.clone();
    retry.operations.reverse();
    retry.encryption_context_subset = Some(pairs(&[("dept", "finance")]));
    assert_eq!(
        s.create(&retry).map(|c| c.created),
        Ok(Created::Retry(0)),
        "same properties in another order and key case"
    );
    let mut other = r.clone();
    other.operations = vec!["Decrypt".into()];
    assert_eq!(
        s.create(&other).map(|c| c.created),
        Ok(Created::New(1)),
        "the same name with other properties is a new grant"
    );
    let unnamed = request(&["Decrypt", "Encrypt"]);
    assert_eq!(s.create(&unnamed).map(|c| c.created), Ok(Created::New(2)));
    assert_eq!(
        s.create(&unnamed).map(|c| c.created),
        Ok(Created::New(3)),
        "without a name every call creates a grant"
    );
}

#[test]
fn a_key_holds_at_most_50000_grants() {
    let mut s = key_grants();
    let r = request(&["Decrypt"]);
    for _ in 0..MAX_GRANTS_PER_KEY {
        assert!(s.create(&r).is_ok());
    }
    assert_eq!(
        s.create(&r).map(|c| c.created),
        Err(KeyGrantsError::LimitExceeded)
    );
    assert_eq!(
        KeyGrantsError::LimitExceeded.code(),
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
        key: None,
        created_at: None,
        operations: parse_operations(ops.iter().copied()).unwrap_or_default(),
        constraint,
    }
}

#[test]
fn a_child_grant_gets_only_a_subset_of_the_parents_operations() {
    let p = parent(&["Decrypt", "CreateGrant"], None);
    let mut s = key_grants();
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
    let mut s = key_grants();
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

#[test]
fn tokens_resolve_to_their_grant_and_every_call_gets_a_new_one() {
    let mut s = key_grants();
    let mut r = request(&["Decrypt"]);
    r.name = Some("app".into());
    let first = s.create(&r).unwrap();
    let retry = s.create(&r).unwrap();
    assert_ne!(first.token, retry.token);
    assert_eq!(s.resolve_token(&first.token), Ok(0));
    assert_eq!(
        s.resolve_token(&retry.token),
        Ok(0),
        "all tokens of a grant are interchangeable"
    );
}

#[test]
fn a_tampered_or_foreign_token_is_invalid() {
    let mut s = key_grants();
    let token = s.create(&request(&["Decrypt"])).unwrap().token;
    let mut forged: Vec<char> = token.chars().collect();
    for i in "kwgt1.".len()..forged.len() {
        let original = forged[i];
        forged[i] = if original == 'A' { 'B' } else { 'A' };
        let text: String = forged.iter().collect();
        assert_eq!(
            s.resolve_token(&text),
            Err(KeyGrantsError::InvalidGrantToken),
            "changed at {i}"
        );
        forged[i] = original;
    }
    for bad in [
        "",
        "kwgt1.",
        "not-a-token",
        &token[..token.len() - 4],
        &format!("{token}AAAA"),
    ] {
        assert_eq!(
            s.resolve_token(bad),
            Err(KeyGrantsError::InvalidGrantToken),
            "{bad:?}"
        );
    }
    let other = KeyGrants::new(
        KeyKind::SymmetricEncryption,
        "111122223333",
        TokenKey::new([8; 32]),
    );
    assert_eq!(
        other.resolve_token(&token),
        Err(KeyGrantsError::InvalidGrantToken),
        "another key's grants"
    );
    assert_eq!(
        KeyGrantsError::InvalidGrantToken.code(),
        "InvalidGrantTokenException"
    );
}

#[test]
fn at_most_ten_tokens_per_request() {
    let mut s = key_grants();
    let token = s.create(&request(&["Decrypt"])).unwrap().token;
    assert_eq!(
        s.resolve_tokens(&vec![token.clone(); 10]).map(|v| v.len()),
        Ok(10)
    );
    assert_eq!(
        s.resolve_tokens(&vec![token; 11]).map_err(|e| e.code()),
        Err("ValidationException")
    );
}

fn retirer<'a>(arn: &'a str, role: Option<&'a str>, account: &'a str, iam: bool) -> Retirer<'a> {
    Retirer {
        arn,
        role,
        account,
        identity_allows_retire: iam,
    }
}

/// Grants holding one grant made from `r`, and that grant's ID.
fn holding(r: &CreateGrant) -> (KeyGrants, String) {
    let mut s = key_grants();
    s.create(r).unwrap();
    let id = s.grants()[0].id.clone();
    (s, id)
}

#[test]
fn who_may_retire_a_grant() {
    let admin = "arn:aws:iam::111122223333:role/Admin";
    let mut r = request(&["Decrypt"]);
    r.retiring_principal = Some(admin.into());
    let outcome = |r: &CreateGrant, who: Retirer<'_>| {
        let (mut s, id) = holding(r);
        s.retire(RetireTarget::GrantId(&id), who)
            .map(|_| ())
            .map_err(|e| e.code())
    };
    let denied = Err("AccessDeniedException");
    // The retiring principal (or a session of it).
    let admin_session = retirer(
        "arn:aws:sts::111122223333:assumed-role/Admin/x",
        Some(admin),
        "111122223333",
        false,
    );
    assert_eq!(outcome(&r, admin_session), Ok(()));
    // The grantee only when the grant includes RetireGrant.
    let grantee = retirer(APP, None, "111122223333", false);
    assert_eq!(outcome(&r, grantee), denied);
    let mut with_retire = r.clone();
    with_retire.operations.push("RetireGrant".into());
    assert_eq!(outcome(&with_retire, grantee), Ok(()));
    // The issuing account: its root user, or a principal its IAM policies allow.
    let bob = |iam| {
        retirer(
            "arn:aws:iam::111122223333:user/bob",
            None,
            "111122223333",
            iam,
        )
    };
    assert_eq!(outcome(&r, bob(false)), denied);
    assert_eq!(outcome(&r, bob(true)), Ok(()));
    assert_eq!(
        outcome(
            &r,
            retirer(
                "arn:aws:iam::111122223333:root",
                None,
                "111122223333",
                false
            )
        ),
        Ok(())
    );
    // Nobody else.
    assert_eq!(
        outcome(
            &r,
            retirer(
                "arn:aws:iam::444455556666:role/Admin",
                None,
                "444455556666",
                true
            )
        ),
        denied
    );
}

#[test]
fn retiring_by_token_and_the_token_then_names_nothing() {
    let mut s = key_grants();
    let mut r = request(&["Decrypt", "RetireGrant"]);
    r.name = Some("app".into());
    let token = s.create(&r).unwrap().token;
    let retired = s
        .retire(
            RetireTarget::Token(&token),
            retirer(APP, None, "111122223333", false),
        )
        .unwrap();
    assert_eq!(retired.name.as_deref(), Some("app"));
    assert!(s.grants().is_empty());
    assert_eq!(
        s.resolve_token(&token),
        Err(KeyGrantsError::InvalidGrantToken)
    );
}

#[test]
fn revoking_and_grant_id_errors() {
    let mut s = key_grants();
    s.create(&request(&["Decrypt"])).unwrap();
    let id = s.grants()[0].id.clone();
    assert_eq!(
        s.revoke("nope").map(|_| ()).map_err(|e| e.code()),
        Err("InvalidGrantIdException")
    );
    assert_eq!(
        s.revoke(&"f".repeat(64)).map(|_| ()).map_err(|e| e.code()),
        Err("NotFoundException")
    );
    assert!(s.revoke(&id).is_ok());
    assert_eq!(
        s.revoke(&id).map(|_| ()).map_err(|e| e.code()),
        Err("NotFoundException")
    );
}

#[test]
fn listing_filters_and_pages() {
    let mut s = key_grants();
    for i in 0..7 {
        let mut r = request(&["Decrypt"]);
        if i % 2 == 0 {
            r.grantee_principal = "arn:aws:iam::111122223333:role/Other".into();
            r.retiring_principal = Some("arn:aws:iam::111122223333:role/Admin".into());
        }
        s.create(&r).unwrap();
    }
    let first = s.list(ListFilter::default(), Some(3), None).unwrap();
    assert_eq!(first.grants.len(), 3);
    let second = s
        .list(ListFilter::default(), Some(3), first.next_marker.as_deref())
        .unwrap();
    let third = s
        .list(
            ListFilter::default(),
            Some(3),
            second.next_marker.as_deref(),
        )
        .unwrap();
    assert_eq!(
        (second.grants.len(), third.grants.len(), third.next_marker),
        (3, 1, None)
    );
    let all: Vec<_> = [first.grants, second.grants, third.grants]
        .concat()
        .iter()
        .map(|g| g.id.clone())
        .collect();
    assert_eq!(
        all,
        s.grants().iter().map(|g| g.id.clone()).collect::<Vec<_>>()
    );
    let app = ListFilter {
        grantee_principal: Some(APP),
        ..ListFilter::default()
    };
    assert_eq!(s.list(app, None, None).unwrap().grants.len(), 3);
    let one = ListFilter {
        grant_id: Some(&s.grants()[4].id),
        ..ListFilter::default()
    };
    assert_eq!(s.list(one, None, None).unwrap().grants.len(), 1);
    assert_eq!(
        s.list(ListFilter::default(), Some(0), None)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("ValidationException")
    );
    assert_eq!(
        s.list(ListFilter::default(), Some(101), None)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("ValidationException")
    );
    assert_eq!(
        s.list(ListFilter::default(), None, Some("bogus"))
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("InvalidMarkerException")
    );
    assert_eq!(
        s.retirable_by("arn:aws:iam::111122223333:role/Admin").len(),
        4
    );
}

#[test]
fn the_token_key_is_never_printed() {
    let printed = format!("{:?}", key_grants());
    assert!(printed.contains("TokenKey(..)"));
    assert!(!printed.contains("7, 7, 7"));
}

#[test]
fn a_grant_records_its_key_and_creation_time() {
    let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let mut s = key_grants().with_key_arn(arn);
    let mut r = request(&["Decrypt"]);
    r.name = Some("app".into());
    s.create_at(&r, 1_795_428_000).unwrap();
    assert_eq!(s.grants()[0].key.as_deref(), Some(arn));
    assert_eq!(s.grants()[0].created_at, Some(1_795_428_000));
    s.create_at(&r, 1_795_429_000).unwrap();
    assert_eq!(
        s.grants()[0].created_at,
        Some(1_795_428_000),
        "a retry keeps the original creation time"
    );
}

#[test]
fn restored_key_grants_keep_grants_tokens_and_id_sequence() {
    let mut original = key_grants();
    let first = original.create(&request(&["Decrypt"])).unwrap();
    original.create(&request(&["Encrypt"])).unwrap();
    let saved = original.grants().to_vec();
    let mut restored = KeyGrants::restore(
        KeyKind::SymmetricEncryption,
        "111122223333",
        key(),
        saved.clone(),
    );
    assert_eq!(restored.grants(), saved.as_slice());
    // A token issued before the restart still resolves to its grant.
    let Created::New(index) = first.created else {
        panic!("new grant")
    };
    assert_eq!(restored.resolve_token(&first.token), Ok(index));
    // New grants continue the ID sequence instead of reusing an ID.
    let third = restored.create(&request(&["GenerateDataKey"])).unwrap();
    let Created::New(i) = third.created else {
        panic!("new grant")
    };
    let id = &restored.grants()[i].id;
    assert!(saved.iter().all(|g| &g.id != id), "{id} reused");
    // Another token key does not accept the old tokens.
    let other = KeyGrants::restore(
        KeyKind::SymmetricEncryption,
        "111122223333",
        TokenKey::new([9; 32]),
        saved,
    );
    assert_eq!(
        other.resolve_token(&first.token),
        Err(KeyGrantsError::InvalidGrantToken)
    );
}

/// A token names the grant of its own key only, even where two keys' grants share an ID
/// (grant IDs were once numbered per key, and grants saved then keep those IDs; found by
/// RetireGrant through the keyward server, where a token of one key retired another key's
/// grant).
#[test]
fn a_token_is_bound_to_its_key() {
    let named = CreateGrant {
        name: Some("shared".into()),
        ..request(&["Decrypt"])
    };
    let mut seed = key_grants();
    seed.create(&named).unwrap();
    let mut saved = seed.grants()[0].clone();
    saved.id = format!("{:064x}", 1);
    let restore = |arn: &str| {
        KeyGrants::restore(
            KeyKind::SymmetricEncryption,
            "111122223333",
            key(),
            vec![saved.clone()],
        )
        .with_key_arn(arn)
    };
    let mut a = restore("arn:aws:kms:us-east-1:111122223333:key/a");
    let mut b = restore("arn:aws:kms:us-east-1:111122223333:key/b");
    let token_a = a.create(&named).unwrap().token;
    let token_b = b.create(&named).unwrap().token;
    assert_eq!(
        a.grants()[0].id,
        b.grants()[0].id,
        "the same ID on both keys"
    );
    assert_eq!(a.resolve_token(&token_a), Ok(0));
    assert_eq!(b.resolve_token(&token_b), Ok(0));
    assert_eq!(
        a.resolve_token(&token_b),
        Err(KeyGrantsError::InvalidGrantToken)
    );
    assert_eq!(
        b.resolve_token(&token_a),
        Err(KeyGrantsError::InvalidGrantToken)
    );
}

/// An EncryptionContextEquals parent that names one key twice in different cases admits only
/// a child of the same pairs: a child that matches each parent pair with one of its own and
/// adds another (`{dept: x, team: Finance}` under `{Dept: x, dept: x}`, as long) would allow a
/// context the parent refuses. Found by the property `a_child_grant_never_allows_what_its_
/// parent_would_not`.
#[test]
fn an_equals_child_must_hold_no_pair_its_parent_does_not() {
    let equals = parent(
        &["Decrypt", "CreateGrant"],
        Some(GrantConstraint::EncryptionContextEquals(pairs(&[
            ("Dept", "x"),
            ("dept", "x"),
        ]))),
    );
    let mut r = request(&["Decrypt"]);
    r.encryption_context_equals = Some(pairs(&[("dept", "x"), ("team", "Finance")]));
    let mut s = key_grants();
    assert_eq!(code(s.create_under(&equals, &r)), "AccessDeniedException");
    r.encryption_context_equals = Some(pairs(&[("dept", "x"), ("Dept", "x")]));
    assert_eq!(code(s.create_under(&equals, &r)), "ok");
}
