//! `keyward who-can` on the bundled accounts: `fixtures/account/` (small, with a permissions
//! boundary) and `fixtures/who-can/` (201 roles, 20 grants, two SCP
//! levels). The JSON contract, the witnesses through `keyward authorize`, the DOT graph, the
//! flags scripts rely on, and errors at their place.

use crate::common::{fixtures, run_in, scratch, stderr, stdout};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn who_can(extra: &[&str]) -> Output {
    let mut args = vec![
        "who-can",
        "--key-policy",
        "key-policy.json",
        "--authorization-details",
        "authorization-details.json",
        "--grants",
        "grants.json",
        "--describe-key",
        "describe-key.json",
        "--scp",
        "scp-root.json",
        "--scp",
        "scp-account.json",
    ];
    args.extend_from_slice(extra);
    run_in(&fixtures("who-can"), &args, "")
}

fn json(extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let o = who_can(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Progress goes to a terminal only: none here, where stderr is a pipe.
    assert_eq!(stderr(&o), "", "progress on a pipe");
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

/// The decision `keyward authorize` gives a row's witness completed with the key's policy and
/// grants.
fn authorize(witness: &Value) -> String {
    let dir = fixtures("who-can");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("key-policy.json")).unwrap())
            .unwrap();
    let grants: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("grants.json")).unwrap()).unwrap();
    let mut request = witness.clone();
    request["key_policy"] = saved["Policy"].clone();
    request["grants"] = Value::Array(
        grants["Grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let mut grant = serde_json::json!({
                    "grant_id": g["GrantId"],
                    "grantee_principal": g["GranteePrincipal"],
                    "operations": g["Operations"],
                });
                if let Some(c) = g.get("Constraints") {
                    if let Some(e) = c.get("EncryptionContextEquals") {
                        grant["constraints"] = serde_json::json!({"encryption_context_equals": e});
                    }
                    if let Some(s) = c.get("EncryptionContextSubset") {
                        grant["constraints"] = serde_json::json!({"encryption_context_subset": s});
                    }
                }
                grant
            })
            .collect(),
    );
    let o = run_in(
        &dir,
        &["authorize", "--format", "json"],
        &request.to_string(),
    );
    let decision: Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    decision["decision"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn the_json_contract_has_the_key_and_rows_with_every_member() {
    let answer = json(&[]);
    assert_eq!(
        answer["key"],
        "arn:aws:kms:us-east-1:111122223333:key/0b6e7f2a-6a44-4c8e-9a1b-5d3c2e1f0a99"
    );
    let rows = answer["rows"].as_array().unwrap();
    assert!(rows.len() > 100, "{}", rows.len());
    for row in rows {
        for member in [
            "principal",
            "kind",
            "actions",
            "via",
            "condition",
            "shadowed_by",
            "witness",
        ] {
            assert!(row.get(member).is_some(), "{member} missing: {row:#}");
        }
        assert!(row["witness"].get("key_policy").is_none());
        assert!(row["witness"].get("grants").is_none());
    }
    // Every kind of class: the partner's account, the auditor named by ARN, a service.
    let principals: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["principal"].as_str())
        .collect();
    for expected in [
        "arn:aws:iam::444455556666:root",
        "arn:aws:iam::777788889999:role/auditor",
        "cloudtrail.amazonaws.com",
        "arn:aws:iam::111122223333:role/key-admin",
    ] {
        assert!(
            principals.contains(&expected),
            "{expected} not in {principals:?}"
        );
    }
}

#[test]
fn a_witness_completed_with_the_keys_policy_and_grants_is_allowed_by_authorize() {
    let answer = json(&["--action", "kms:Decrypt", "--action", "kms:Sign"]);
    let rows = answer["rows"].as_array().unwrap();
    let (mut allowed, mut grant_paths) = (0, 0);
    for row in rows
        .iter()
        .filter(|r| r["shadowed_by"] == serde_json::json!([]))
    {
        for action in row["actions"].as_array().unwrap() {
            assert!(
                action == "kms:Decrypt" || action == "kms:Sign",
                "--action narrows the rows: {row:#}"
            );
        }
        // The SCPs are not part of the request format: a governed row's witness is allowed by
        // the key policy, grants and identity policies alone.
        assert_eq!(authorize(&row["witness"]), "Allow", "{row:#}");
        allowed += 1;
        if row["via"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str().unwrap().starts_with("grant:"))
        {
            grant_paths += 1;
        }
    }
    assert!(allowed > 20 && grant_paths > 0, "{allowed} {grant_paths}");
}

#[test]
fn a_row_shadowed_by_an_identity_deny_names_it_and_its_witness_is_denied() {
    let answer = json(&["--action", "kms:Decrypt"]);
    let shadowed: Vec<&Value> = answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let by = r["shadowed_by"].as_array().unwrap();
            by.len() == 1
                && by[0]
                    .as_str()
                    .unwrap()
                    .contains("DenyDecryptOutsideTheNetwork")
        })
        .collect();
    assert!(!shadowed.is_empty());
    for row in shadowed {
        assert!(
            row["condition"].as_str().unwrap().contains("aws:SourceIp"),
            "{row:#}"
        );
        assert_ne!(authorize(&row["witness"]), "Allow", "{row:#}");
    }
}

#[test]
fn an_scp_shadows_key_deletion_for_everyone_but_the_key_admin() {
    let answer = json(&["--action", "kms:DisableKey"]);
    let rows = answer["rows"].as_array().unwrap();
    let by_scp: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["shadowed_by"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.as_str().unwrap().contains("ProtectKeys"))
        })
        .collect();
    assert!(!by_scp.is_empty(), "{answer:#}");
    let admin = rows
        .iter()
        .find(|r| r["principal"] == "arn:aws:iam::111122223333:role/key-admin")
        .unwrap();
    assert_eq!(admin["shadowed_by"], serde_json::json!([]));
    assert_eq!(admin["scope"], "same-account");
}

#[test]
fn text_lists_access_then_what_is_shadowed_and_dot_is_a_graph() {
    let o = who_can(&[
        "--action",
        "kms:DescribeKey",
        "--action",
        "kms:GetKeyPolicy",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Who can use arn:aws:kms:us-east-1:111122223333:key/"));
    // The auditor's key-policy statement also names GetKeyPolicy, which KMS does not allow
    // across accounts: DescribeKey only.
    let auditor = text
        .split("\n\n")
        .find(|block| {
            block.starts_with("arn:aws:iam::777788889999:role/auditor (role, other-account)")
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        auditor.contains("actions:     kms:DescribeKey\n"),
        "{auditor}"
    );
    let o = who_can(&["--action", "kms:GetKeyPolicy", "--format", "dot"]);
    let dot = stdout(&o);
    assert!(dot.starts_with("digraph who_can {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    assert!(dot.contains("-> key;"));
    assert!(dot.contains("key-policy:KeyAdministrators"));
    // Every quote in a label is escaped: the graph parses.
    for line in dot.lines().filter(|l| l.contains("label=")) {
        let unescaped = line.replace("\\\"", "");
        assert_eq!(unescaped.matches('"').count() % 2, 0, "{line}");
    }
}

#[test]
fn a_permissions_boundary_shadows_what_it_does_not_allow() {
    let o = run_in(
        &fixtures("account"),
        &[
            "who-can",
            "--key-policy",
            "key-policy.json",
            "--authorization-details",
            "authorization-details.json",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let answer: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let bounded: Vec<&Value> = answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["principal"] == "arn:aws:iam::111122223333:role/bounded")
        .collect();
    let access = bounded
        .iter()
        .find(|r| r["shadowed_by"] == serde_json::json!([]))
        .unwrap_or_else(|| panic!("{bounded:#?}"));
    assert_eq!(access["actions"], serde_json::json!(["kms:Encrypt"]));
    let shadowed = bounded
        .iter()
        .find(|r| r["shadowed_by"] != serde_json::json!([]))
        .unwrap_or_else(|| panic!("{bounded:#?}"));
    assert_eq!(
        shadowed["actions"],
        serde_json::json!(["kms:Decrypt", "kms:GenerateDataKey"])
    );
    assert_eq!(
        shadowed["shadowed_by"],
        serde_json::json!([
            "boundary: not allowed by the permissions boundary arn:aws:iam::111122223333:policy/Boundary"
        ])
    );
}

#[test]
fn bad_inputs_are_errors_at_their_place() {
    let dir = scratch("who-can-errors");
    let key_policy = fixtures("who-can").join("key-policy.json");
    // `who-can` on the fixture's key policy with `extra`, run in the scratch directory.
    let run = |extra: &[&str]| {
        let mut args = vec!["who-can", "--key-policy", key_policy.to_str().unwrap()];
        args.extend_from_slice(extra);
        run_in(&dir, &args, "")
    };
    std::fs::write(dir.join("scp.json"), "{\n  \"Policy\": 3\n}").unwrap();
    let o = run(&["--scp", "scp.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("scp.json"), "{}", stderr(&o));
    std::fs::write(dir.join("details.json"), "{\n  \"RoleDetailList\": 7\n}").unwrap();
    let o = run(&["--authorization-details", "details.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("details.json:2:"), "{}", stderr(&o));
    let o = run(&["--action", "kms:CreateKey"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a KMS action on a key"),
        "{}",
        stderr(&o)
    );
    // A level of SCPs that only denies denies everything, as in AWS: a warning says so.
    std::fs::write(
        dir.join("deny-only.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#,
    )
    .unwrap();
    let details = fixtures("who-can").join("authorization-details.json");
    let o = run(&[
        "--authorization-details",
        details.to_str().unwrap(),
        "--scp",
        "deny-only.json",
        "--action",
        "kms:Encrypt",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has no Allow statement"),
        "{}",
        stderr(&o)
    );
    let answer: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        answer["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["scope"] == "same-account")
            .all(|r| r["shadowed_by"] != serde_json::json!([])),
        "{answer:#}"
    );
}

#[test]
fn can_with_the_same_scps_answers_the_point_question_alike() {
    let can = |principal: &str| {
        run_in(
            &fixtures("who-can"),
            &[
                "can",
                principal,
                "kms:DisableKey",
                "--key-policy",
                "key-policy.json",
                "--authorization-details",
                "authorization-details.json",
                "--describe-key",
                "describe-key.json",
                "--scp",
                "scp-root.json",
                "--scp",
                "scp-account.json",
            ],
            "",
        )
    };
    // KmsAdmin through IAM, but the SCP keeps DisableKey to the key-admin role.
    let o = can("arn:aws:sts::111122223333:assumed-role/app-019/s");
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("Refused by the organization's policies: denied by statement 0 (NoKeyDeletion) of the service control policy ProtectKeys"),
        "{}",
        stdout(&o)
    );
    let o = can("arn:aws:sts::111122223333:assumed-role/key-admin/s");
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // who-can says the same of both.
    let answer = json(&["--action", "kms:DisableKey"]);
    let row = |principal: &str| {
        answer["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["principal"] == principal)
            .map(|r| r["shadowed_by"].as_array().unwrap().is_empty())
            .collect::<Vec<bool>>()
    };
    assert_eq!(row("arn:aws:iam::111122223333:role/app-019"), [false]);
    assert_eq!(row("arn:aws:iam::111122223333:role/key-admin"), [true]);
}

#[test]
fn without_the_authorization_details_the_scps_still_govern_the_accounts_classes() {
    let args = [
        "who-can",
        "--key-policy",
        "key-policy.json",
        "--describe-key",
        "describe-key.json",
        "--action",
        "kms:DisableKey",
        "--format",
        "json",
    ];
    let o = run_in(&fixtures("who-can"), &args, "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let without: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let mut governed = args.to_vec();
    governed.extend(["--scp", "scp-root.json", "--scp", "scp-account.json"]);
    let o = run_in(&fixtures("who-can"), &governed, "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let with: Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The account's principals (a class, their IAM assumed) may disable the key without the
    // SCPs; with them, only the key administrator may, and the class's access is shadowed.
    let access = |answer: &Value, principal: &str| -> Vec<bool> {
        answer["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["principal"] == principal)
            .map(|r| r["shadowed_by"] == serde_json::json!([]))
            .collect()
    };
    let account = "arn:aws:iam::111122223333:root";
    assert_eq!(access(&without, account), [true], "{without:#}");
    assert_eq!(access(&with, account), [false], "{with:#}");
    assert_eq!(
        access(&with, "arn:aws:iam::111122223333:role/key-admin"),
        [true]
    );
}

#[test]
fn an_rcp_keeps_the_key_in_the_organization_for_every_caller_but_services() {
    let answer = json(&["--rcp", "rcp-perimeter.json", "--action", "kms:Decrypt"]);
    let rows = answer["rows"].as_array().unwrap();
    let partner: Vec<&Value> = rows
        .iter()
        .filter(|r| r["principal"] == "arn:aws:iam::444455556666:root")
        .collect();
    // The partner decrypts through S3 only as a member of the organization; otherwise the RCP
    // shadows it.
    let access = partner
        .iter()
        .find(|r| r["shadowed_by"] == serde_json::json!([]))
        .unwrap_or_else(|| panic!("{partner:#?}"));
    assert!(
        access["condition"]
            .as_str()
            .unwrap()
            .contains("aws:PrincipalOrgID"),
        "{access:#}"
    );
    assert_eq!(authorize(&access["witness"]), "Allow");
    let shadowed = partner
        .iter()
        .find(|r| r["shadowed_by"] != serde_json::json!([]))
        .unwrap_or_else(|| panic!("{partner:#?}"));
    assert!(
        shadowed["shadowed_by"][0]
            .as_str()
            .unwrap()
            .starts_with("rcp: denied by statement 0 (OrganizationOnly) of the resource control policy KeysStayInTheOrganization"),
        "{shadowed:#}"
    );
    // CloudTrail, a service, is not held back (the RCP exempts services).
    let services = json(&[
        "--rcp",
        "rcp-perimeter.json",
        "--action",
        "kms:GenerateDataKey",
    ]);
    assert!(
        services["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["principal"] == "cloudtrail.amazonaws.com"
                && r["shadowed_by"] == serde_json::json!([])),
        "{services:#}"
    );
}

/// The DOT output renders with Graphviz (`dot -Tsvg`): every principal, path and the key are in
/// the picture. Without `dot` the test says so and passes, unless `KEYWARD_REQUIRE_DOT=1`
/// (set by `.ci/run`, which installs Graphviz), when it fails.
#[test]
fn the_dot_graph_renders_with_graphviz() {
    let found = Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var("KEYWARD_REQUIRE_DOT").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "KEYWARD_REQUIRE_DOT=1 but no `dot` (.ci/run installs Graphviz)"
        );
        eprintln!("SKIPPED: install Graphviz (`dot`) to render the who-can graph");
        return;
    }
    let o = who_can(&["--format", "dot"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut render = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    render.stdin.take().unwrap().write_all(&o.stdout).unwrap();
    let svg = render.wait_with_output().unwrap();
    assert!(
        svg.status.success(),
        "{}",
        String::from_utf8_lossy(&svg.stderr)
    );
    let svg = String::from_utf8(svg.stdout).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    // (Graphviz writes `-` as `&#45;` in SVG text.)
    assert!(svg.contains("role/auditor"), "the principals are drawn");
    assert!(svg.contains("KeyAdministrators"), "the paths are drawn");
}
