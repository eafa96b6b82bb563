//! Report mode (`enforcement = "report"`): every call is decided as in enforce mode, a denial
//! is recorded in the audit trail with AWS's message and the engine's full explanation and
//! `"enforced": false`, and the call proceeds. What is not a permission decision (a key that
//! does not exist, a key state, a parameter) fails as always.

use crate::common::{
    self, APP, DENIED, OTHER, caller, code, decrypt, encrypt, fixture, grant, grants_of,
    reporting_fixture,
};
use keyward_kms::api::{
    DisableKeyRequest, ListRetirableGrantsRequest, RetireGrantRequest, ScheduleKeyDeletionRequest,
};
use serde_json::Value;

/// The last audit record's decisions.
fn last_decisions(f: &common::Fixture) -> (Value, Vec<Value>) {
    let records = f.audit.records();
    let last = records.last().cloned().unwrap();
    let decisions = last["keyward"]["decisions"].as_array().cloned().unwrap();
    (last, decisions)
}

#[test]
fn report_mode_lets_a_denied_call_proceed_and_audits_the_denial_in_full() {
    let f = reporting_fixture();
    let key = f.symmetric("");
    let app = caller(APP, &[]);
    let blob = encrypt(&f.kms, &app, &key, b"report", &[("app", "a")])
        .expect("report mode lets the denied Encrypt through")
        .ciphertext_blob;
    let (record, decisions) = last_decisions(&f);
    assert_eq!(record["eventName"], "Encrypt");
    assert_eq!(record["errorCode"], Value::Null, "the call succeeded");
    assert_eq!(decisions.len(), 1);
    let d = &decisions[0];
    assert_eq!(d["verdict"], "ImplicitDeny");
    assert_eq!(d["enforced"], false);
    let message = d["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "User: {APP} is not authorized to perform: kms:Encrypt"
        )),
        "{message}"
    );
    let explanation = d["explanation"].as_str().unwrap();
    assert!(
        explanation.contains(APP) && explanation.contains("kms:Encrypt"),
        "the explanation says who and what: {explanation}"
    );
    // The ciphertext is real: the admin, who is allowed, decrypts it.
    let plain = decrypt(&f.kms, &f.admin, &blob, &[("app", "a")]).unwrap();
    assert_eq!(plain.plaintext.expose(), b"report");
    let (_, decisions) = last_decisions(&f);
    assert_eq!(decisions[0]["verdict"], "Allow");
    assert_eq!(decisions[0]["enforced"], true);
    assert!(
        decisions[0].get("explanation").is_none(),
        "an allow is not explained"
    );
}

#[test]
fn enforce_mode_stops_the_call_and_audits_the_same_explanation() {
    let f = fixture();
    let key = f.symmetric("");
    let app = caller(APP, &[]);
    assert_eq!(code(encrypt(&f.kms, &app, &key, b"x", &[])), DENIED);
    let (record, decisions) = last_decisions(&f);
    assert_eq!(record["errorCode"], DENIED);
    assert_eq!(decisions[0]["enforced"], true);
    assert_eq!(
        decisions[0]["message"], record["errorMessage"],
        "the audited message is the one sent"
    );
    assert!(
        decisions[0]["explanation"]
            .as_str()
            .is_some_and(|e| e.contains(APP))
    );
}

#[test]
fn report_mode_does_not_hide_what_is_not_a_permission_decision() {
    let f = reporting_fixture();
    let app = caller(APP, &[]);
    // A key that does not exist.
    let missing = "1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_eq!(
        code(encrypt(&f.kms, &app, missing, b"x", &[])),
        "NotFoundException"
    );
    // A disabled key: the denial is reported, then the key state refuses.
    let key = f.symmetric("");
    f.kms
        .disable_key(
            &f.admin,
            &DisableKeyRequest {
                key_id: key.clone(),
            },
        )
        .unwrap();
    assert_eq!(
        code(encrypt(&f.kms, &app, &key, b"x", &[])),
        "DisabledException"
    );
    let (_, decisions) = last_decisions(&f);
    assert_eq!(decisions[0]["enforced"], false);
    // A parameter out of range is refused before anything is decided.
    let refused = f.kms.schedule_key_deletion(
        &app,
        &ScheduleKeyDeletionRequest {
            key_id: key,
            pending_window_in_days: Some(3),
        },
    );
    assert_eq!(code(refused), "ValidationException");
}

/// The denials that are not `authz`'s own (a grant that cannot give what CreateGrant asks, a
/// RetireGrant the grant does not allow, ListRetirableGrants for another account) go through
/// the same refusal: reported and let through.
#[test]
fn report_mode_reports_the_grant_rules_denials_too() {
    let f = reporting_fixture();
    let key = f.symmetric("");
    let grantee = caller(OTHER, &[]);
    f.kms
        .create_grant(&f.admin, &grant(&key, OTHER, &["CreateGrant"]))
        .unwrap();
    // A CreateGrant-only grantee asks for Decrypt: an escalation, reported, created.
    f.kms
        .create_grant(&grantee, &grant(&key, OTHER, &["Decrypt"]))
        .expect("report mode creates the grant");
    let (_, decisions) = last_decisions(&f);
    let refused: Vec<&Value> = decisions
        .iter()
        .filter(|d| d["enforced"] == false)
        .collect();
    assert_eq!(refused.len(), 1, "{decisions:?}");
    assert!(
        refused[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("a grant can delegate only what it gives")),
        "{refused:?}"
    );
    let grants = f
        .kms
        .list_grants(&f.admin, &grants_of(&key))
        .unwrap()
        .grants;
    assert_eq!(grants.len(), 2);
    // RetireGrant by a principal the grant does not name: reported, retired.
    let stranger = caller(APP, &[]);
    let target = grants[1].grant_id.clone();
    f.kms
        .retire_grant(
            &stranger,
            &RetireGrantRequest {
                key_id: Some(key.clone()),
                grant_id: Some(target.clone()),
                ..RetireGrantRequest::default()
            },
        )
        .expect("report mode retires it");
    let (_, decisions) = last_decisions(&f);
    assert_eq!(
        decisions.last().unwrap()["enforced"],
        false,
        "{decisions:?}"
    );
    let left = f
        .kms
        .list_grants(&f.admin, &grants_of(&key))
        .unwrap()
        .grants;
    assert!(left.iter().all(|g| g.grant_id != target));
    // ListRetirableGrants for another account's principal.
    f.kms
        .list_retirable_grants(
            &f.admin,
            &ListRetirableGrantsRequest {
                retiring_principal: "arn:aws:iam::444455556666:role/Elsewhere".into(),
                ..ListRetirableGrantsRequest::default()
            },
        )
        .expect("report mode lists");
    let (_, decisions) = last_decisions(&f);
    assert_eq!(
        decisions.last().unwrap()["enforced"],
        false,
        "{decisions:?}"
    );
}

/// The same three in enforce mode: refused, each audited with its explanation.
#[test]
fn enforce_mode_refuses_the_grant_rules_denials_with_an_explanation() {
    let f = fixture();
    let key = f.symmetric("");
    let grantee = caller(OTHER, &[]);
    f.kms
        .create_grant(&f.admin, &grant(&key, OTHER, &["CreateGrant"]))
        .unwrap();
    assert_eq!(
        code(
            f.kms
                .create_grant(&grantee, &grant(&key, OTHER, &["Decrypt"]))
        ),
        DENIED
    );
    let (_, decisions) = last_decisions(&f);
    let last = decisions.last().unwrap();
    assert_eq!(last["enforced"], true);
    assert!(last["explanation"].as_str().is_some_and(|e| !e.is_empty()));
    let grants = f
        .kms
        .list_grants(&f.admin, &grants_of(&key))
        .unwrap()
        .grants;
    assert_eq!(grants.len(), 1, "nothing was created");
    let stranger = caller(APP, &[]);
    assert_eq!(
        code(f.kms.retire_grant(
            &stranger,
            &RetireGrantRequest {
                key_id: Some(key.clone()),
                grant_id: Some(grants[0].grant_id.clone()),
                ..RetireGrantRequest::default()
            },
        )),
        DENIED
    );
    assert_eq!(
        f.kms
            .list_grants(&f.admin, &grants_of(&key))
            .unwrap()
            .grants
            .len(),
        1
    );
    assert_eq!(
        code(f.kms.list_retirable_grants(
            &f.admin,
            &ListRetirableGrantsRequest {
                retiring_principal: "arn:aws:iam::444455556666:role/Elsewhere".into(),
                ..ListRetirableGrantsRequest::default()
            },
        )),
        DENIED
    );
}
