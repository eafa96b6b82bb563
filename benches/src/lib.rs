//! Shared inputs for the benchmarks in `benches/` and the instruction-count examples, and
//! the allocator they all run with: the one the `keyward` binary ships with, so that a figure
//! here is the figure a user of the command sees. Every bench and example links this library
//! (`use keyward_benches as _;` where it needs nothing else from it).

/// The `keyward` binary's allocator (crates/cli/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use keyward_conditions::{CompiledCondition, RequestContext};
use keyward_policy::parse_condition_block;

/// The 3-operator condition block of the `conditions` benchmark: a string, an IP and a date
/// test, as a hardened key policy might combine them.
pub const THREE_OPERATOR_BLOCK: &str = r#"{
  "StringEquals": {"kms:CallerAccount": ["111122223333", "444455556666"]},
  "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
  "DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}
}"#;

/// [`THREE_OPERATOR_BLOCK`] compiled (policy version 2012-10-17).
pub fn three_operator_condition() -> Option<CompiledCondition> {
    let block = parse_condition_block(THREE_OPERATOR_BLOCK).ok()?;
    CompiledCondition::new(&block, true).ok()
}

/// A request in which every test of [`THREE_OPERATOR_BLOCK`] holds (so all are evaluated).
pub fn matching_request() -> RequestContext {
    let mut ctx = RequestContext::new();
    ctx.insert_single("kms:CallerAccount", "444455556666");
    ctx.insert_single("aws:SourceIp", "203.0.113.7");
    ctx.insert_single("aws:CurrentTime", "2026-11-23T10:00:00Z");
    ctx.insert_single("kms:ViaService", "s3.us-east-1.amazonaws.com");
    ctx.insert_single("aws:PrincipalArn", "arn:aws:iam::444455556666:role/App");
    ctx
}

/// The three requests of the `decision` benchmark, in the contract's format.
pub mod decision {
    use serde_json::{Value, json};

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn root_statement() -> Value {
        json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
               "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"})
    }

    /// (a) The programmatic default key policy with one identity policy: delegation.
    pub fn default_policy() -> String {
        json!({
            "principal": "arn:aws:iam::111122223333:user/bob",
            "action": "kms:Decrypt",
            "resource": KEY,
            "key_policy": {"Version": "2012-10-17", "Statement": [root_statement()]},
            "identity_policies": [{"Version": "2012-10-17", "Statement": [
                {"Sid": "UseKeys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"],
                 "Resource": "arn:aws:kms:*:111122223333:key/*"}]}]
        })
        .to_string()
    }

    /// (b) A console-style policy of four statements with conditions, a session caller.
    pub fn console_policy() -> String {
        json!({
            "principal": "arn:aws:sts::111122223333:assumed-role/PaymentsApp/i-0abc",
            "action": "kms:Decrypt",
            "resource": KEY,
            "key_policy": {"Version": "2012-10-17", "Statement": [
                root_statement(),
                {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::111122223333:role/KMSKeyAdmin"},
                 "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                            "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion"],
                 "Resource": "*"},
                {"Sid": "Allow use of the key", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::111122223333:role/PaymentsApp"},
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                 "Resource": "*",
                 "Condition": {"StringEquals": {"kms:EncryptionContext:service": "payments",
                                                "kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"}}},
                {"Sid": "Deny outside the organization", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
            ]},
            "encryption_context": {"service": "payments", "tenant": "t-42"},
            "context": {"kms:ViaService": "dynamodb.eu-west-1.amazonaws.com", "aws:PrincipalOrgID": "o-a1b2c3d4e5",
                        "aws:SourceIp": "203.0.113.7"}
        })
        .to_string()
    }

    /// (c) A 30-statement key policy, 3 identity policies and 1,000 grants on the key; the
    /// caller is allowed by one of the grants.
    pub fn large_policy() -> String {
        let mut statements = vec![root_statement()];
        for i in 0..28 {
            statements.push(json!({"Sid": format!("Team{i}"), "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::111122223333:role/team-{i}")},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                "Condition": {"StringEquals": {"kms:EncryptionContext:team": format!("team-{i}")}}}));
        }
        statements.push(json!({"Sid": "DenyBypass", "Effect": "Deny", "Principal": "*", "Action": "kms:PutKeyPolicy",
            "Resource": "*", "Condition": {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": "true"}}}));
        let identity: Vec<Value> = (0..3)
            .map(|i| json!({"Version": "2012-10-17", "Statement": [
                {"Sid": format!("S{i}"), "Effect": "Allow", "Action": format!("s3:Get{i}*"), "Resource": "*"},
                {"Sid": format!("D{i}"), "Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}]}))
            .collect();
        let grants: Vec<Value> = (0..1000)
            .map(|i| {
                json!({"grant_id": format!("g-{i}"),
                "grantee_principal": format!("arn:aws:iam::111122223333:role/worker-{}", i % 500),
                "operations": ["Decrypt", "GenerateDataKey"],
                "constraints": {"encryption_context_subset": {"job": format!("job-{i}")}}})
            })
            .collect();
        json!({
            "principal": "arn:aws:sts::111122223333:assumed-role/worker-7/job-507",
            "action": "kms:Decrypt",
            "resource": KEY,
            "key_policy": {"Version": "2012-10-17", "Statement": statements},
            "identity_policies": identity,
            "grants": grants,
            "encryption_context": {"job": "job-507"}
        })
        .to_string()
    }

    /// The request context of case (b), built as `Request::parse` derives it: the caller's
    /// keys (a session, read through its role), the key's, the two encryption-context pairs
    /// and the request's three context keys (`kms:ViaService`, `aws:PrincipalOrgID`,
    /// `aws:SourceIp`).
    pub fn context_b() -> keyward_conditions::RequestContext {
        let mut ctx = keyward_conditions::RequestContext::new();
        let tags = std::collections::BTreeMap::new();
        keyward_authz::insert_caller_and_key(
            &mut ctx,
            "arn:aws:iam::111122223333:role/PaymentsApp",
            "111122223333",
            Some(&keyward_authz::KeyAttributes {
                spec: "SYMMETRIC_DEFAULT",
                usage: "ENCRYPT_DECRYPT",
                origin: "AWS_KMS",
                multi_region: false,
                multi_region_key_type: None,
                aliases: &[],
                tags: &tags,
            }),
        );
        ctx.insert_encryption_context([("service", "payments"), ("tenant", "t-42")]);
        ctx.insert_single("kms:ViaService", "dynamodb.eu-west-1.amazonaws.com");
        ctx.insert_single("aws:PrincipalOrgID", "o-a1b2c3d4e5");
        ctx.insert_single("aws:SourceIp", "203.0.113.7");
        ctx
    }
}

/// The pair of the `analysis` benchmark and the `diff_latency` example: the corpus case
/// `fixtures/diff/realistic-2kb-review`, two 2.5 KB key policies.
pub mod diff {
    use keyward_analysis::{KeyFacts, PolicySet};

    /// The key policy before the change.
    pub const OLD: &str = include_str!("../../fixtures/diff/realistic-2kb-review/old.json");
    /// The key policy after the change.
    pub const NEW: &str = include_str!("../../fixtures/diff/realistic-2kb-review/new.json");

    /// A side: the key policy alone, the identity policies assumed, no grants.
    pub fn side(policy: &str) -> PolicySet {
        PolicySet {
            key_policy: policy.to_owned(),
            identity_policies: None,
            grants: Vec::new(),
        }
    }

    /// The key both sides are about.
    pub fn key() -> KeyFacts {
        KeyFacts::symmetric(
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        )
    }
}

/// `who-can` over the fixture account (`fixtures/who-can/`) scaled to 1,000 principals: its
/// 201 roles repeated under new names until there are 1,000 roles and users.
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "bench inputs bundled with the crate: a broken fixture fails the bench at once"
)]
pub mod who_can {
    use keyward_analysis::{AuthorizationDetails, WhoCanInputs};
    use serde_json::Value;

    const DETAILS: &str = include_str!("../../fixtures/who-can/authorization-details.json");
    const KEY_POLICY: &str = include_str!("../../fixtures/who-can/key-policy.json");
    const GRANTS: &str = include_str!("../../fixtures/who-can/grants.json");
    const DESCRIBE_KEY: &str = include_str!("../../fixtures/who-can/describe-key.json");
    const SCP_ROOT: &str = include_str!("../../fixtures/who-can/scp-root.json");
    const SCP_ACCOUNT: &str = include_str!("../../fixtures/who-can/scp-account.json");

    /// The inputs, with the account's roles repeated until it has `principals` users and
    /// roles (its root aside).
    pub fn inputs(principals: usize) -> WhoCanInputs {
        let mut details: Value = serde_json::from_str(DETAILS).unwrap();
        let users = details["UserDetailList"].as_array().unwrap().len();
        let roles: Vec<Value> = details["RoleDetailList"].as_array().unwrap().clone();
        let mut all = Vec::new();
        let mut copy = 0;
        while users + all.len() < principals {
            for role in &roles {
                if users + all.len() >= principals {
                    break;
                }
                let mut role = role.clone();
                if copy > 0 {
                    let name = format!("{}-copy{copy}", role["RoleName"].as_str().unwrap());
                    let arn = format!("{}-copy{copy}", role["Arn"].as_str().unwrap());
                    role["RoleName"] = Value::String(name);
                    role["Arn"] = Value::String(arn);
                }
                all.push(role);
            }
            copy += 1;
        }
        details["RoleDetailList"] = Value::Array(all);
        let details = AuthorizationDetails::read(&details.to_string()).unwrap();
        let key_policy: Value = serde_json::from_str(KEY_POLICY).unwrap();
        WhoCanInputs {
            key: keyward_analysis::read_key(DESCRIBE_KEY, None, None).unwrap(),
            key_policy: key_policy["Policy"].as_str().unwrap().to_owned(),
            grants: keyward_analysis::read_grants(GRANTS).unwrap(),
            details: Some(details),
            scp_levels: vec![
                keyward_analysis::read_scp_level(SCP_ROOT, "scp-root.json").unwrap(),
                keyward_analysis::read_scp_level(SCP_ACCOUNT, "scp-account.json").unwrap(),
            ],
            rcps: Vec::new(),
            actions: Vec::new(),
        }
    }
}
