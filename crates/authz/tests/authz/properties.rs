//! Properties of decisions over generated key policies, identity policies, grants and requests.

use keyward_authz::{Authorizer, PolicySource, Request, Source, Verdict};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

const ACCT: &str = "111122223333";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn principal_element() -> impl Strategy<Value = (&'static str, Value)> {
    let principals = vec![
        json!("*"),
        json!({"AWS": "arn:aws:iam::111122223333:root"}),
        json!({"AWS": "111122223333"}),
        json!({"AWS": "arn:aws:iam::111122223333:role/App"}),
        json!({"AWS": ["arn:aws:iam::111122223333:user/bob", "arn:aws:iam::444455556666:root"]}),
        json!({"AWS": "arn:aws:sts::111122223333:assumed-role/App/s1"}),
    ];
    (
        select(vec!["Principal", "Principal", "Principal", "NotPrincipal"]),
        select(principals),
    )
}

fn action_element() -> impl Strategy<Value = (&'static str, Value)> {
    let actions = vec![
        json!("kms:*"),
        json!("kms:Decrypt"),
        json!(["kms:Encrypt", "kms:Decrypt"]),
        json!("kms:Get*"),
        json!("kms:PutKeyPolicy"),
        json!("kms:List*"),
    ];
    (
        select(vec!["Action", "Action", "Action", "NotAction"]),
        select(actions),
    )
}

fn condition() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(select(vec![
        json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}),
        json!({"StringEquals": {"kms:CallerAccount": ACCT}}),
        json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
        json!({"StringEquals": {"kms:EncryptionContext:dept": "finance"}}),
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        json!({"Null": {"kms:EncryptionContextKeys": "true"}}),
    ]))
}

fn key_statement() -> impl Strategy<Value = Value> {
    (
        select(vec!["Allow", "Allow", "Deny"]),
        principal_element(),
        action_element(),
        condition(),
    )
        .prop_map(
            |(effect, (p_name, principal), (a_name, action), condition)| {
                let mut s = json!({"Effect": effect, "Resource": "*"});
                s[p_name] = principal;
                s[a_name] = action;
                if let Some(c) = condition {
                    s["Condition"] = c;
                }
                s
            },
        )
}

fn identity_statement() -> impl Strategy<Value = Value> {
    (
        select(vec!["Allow", "Allow", "Deny"]),
        action_element(),
        select(vec![
            json!("*"),
            json!(KEY),
            json!("arn:aws:kms:*:111122223333:key/*"),
            json!("arn:aws:kms:*:999999999999:key/*"),
        ]),
        condition(),
    )
        .prop_map(|(effect, (a_name, action), resource, condition)| {
            let mut s = json!({"Effect": effect, "Resource": resource});
            s[a_name] = action;
            if let Some(c) = condition {
                s["Condition"] = c;
            }
            s
        })
}

#[derive(Debug, Clone)]
struct Scenario {
    key_statements: Vec<Value>,
    identity_statements: Vec<Value>,
    grants: Vec<Value>,
    principal: &'static str,
    action: &'static str,
    context: Value,
    encryption_context: Value,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        vec(key_statement(), 1..6),
        vec(identity_statement(), 0..4),
        vec(
            (select(vec!["arn:aws:iam::111122223333:role/App", "arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:role/Reader"]), any::<bool>()),
            0..3,
        ),
        select(vec![
            "arn:aws:iam::111122223333:user/bob",
            "arn:aws:iam::111122223333:role/App",
            "arn:aws:sts::111122223333:assumed-role/App/s1",
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::444455556666:role/Reader",
        ]),
        select(vec!["kms:Decrypt", "kms:Encrypt", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:ListKeys", "kms:DescribeKey"]),
        select(vec![
            json!({}),
            json!({"kms:ViaService": "s3.us-east-1.amazonaws.com"}),
            json!({"aws:PrincipalOrgID": "o-a1b2c3d4e5", "aws:SecureTransport": "true"}),
        ]),
        select(vec![json!({}), json!({"dept": "finance"}), json!({"dept": "Finance", "app": "x"})]),
    )
        .prop_map(|(key_statements, identity_statements, grants, principal, action, context, encryption_context)| Scenario {
            key_statements,
            identity_statements,
            grants: grants
                .into_iter()
                .enumerate()
                .map(|(i, (grantee, constrained))| {
                    let mut g = json!({"grant_id": format!("g-{i}"), "grantee_principal": grantee, "operations": ["Decrypt", "Encrypt"]});
                    if constrained {
                        g["constraints"] = json!({"encryption_context_subset": {"dept": "finance"}});
                    }
                    g
                })
                .collect(),
            principal,
            action,
            context,
            encryption_context,
        })
}

impl Scenario {
    fn request(&self) -> String {
        let mut r = json!({
            "principal": self.principal,
            "action": self.action,
            "key_policy": {"Version": "2012-10-17", "Statement": self.key_statements},
            "grants": self.grants,
            "context": self.context,
            "encryption_context": self.encryption_context,
        });
        if self.action != "kms:ListKeys" {
            r["resource"] = json!(KEY);
        } else {
            r.as_object_mut().unwrap().remove("key_policy");
            r.as_object_mut().unwrap().remove("grants");
        }
        if !self.identity_statements.is_empty() {
            r["identity_policies"] =
                json!([{"Version": "2012-10-17", "Statement": self.identity_statements}]);
        }
        r.to_string()
    }

    fn verdict(&self) -> Verdict {
        let text = self.request();
        let request = Request::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let authorizer =
            Authorizer::for_request(&request).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let fast = authorizer.verdict(&request);
        assert_eq!(
            fast,
            authorizer.decide(&request).verdict,
            "fast and explained paths agree:\n{text}"
        );
        let judged = authorizer.judge(&request);
        let decided = authorizer.decide(&request);
        assert_eq!(
            (judged.verdict, &judged.reasons),
            (decided.verdict, &decided.reasons),
            "judge and decide agree:\n{text}"
        );
        fast
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn adding_a_deny_statement_never_turns_a_denial_into_an_allow(s in scenario(), deny in key_statement(), in_identity in any::<bool>(), ideny in identity_statement()) {
        let before = s.verdict();
        let mut after = s.clone();
        if in_identity {
            let mut d = ideny;
            d["Effect"] = json!("Deny");
            after.identity_statements.push(d);
        } else {
            let mut d = deny;
            d["Effect"] = json!("Deny");
            after.key_statements.push(d);
        }
        if before != Verdict::Allow {
            prop_assert_ne!(after.verdict(), Verdict::Allow);
        }
    }

    #[test]
    fn adding_an_allow_statement_never_turns_an_allow_into_a_denial(s in scenario(), allow in key_statement(), in_identity in any::<bool>(), iallow in identity_statement()) {
        let before = s.verdict();
        let mut after = s.clone();
        if in_identity {
            let mut a = iallow;
            a["Effect"] = json!("Allow");
            after.identity_statements.push(a);
        } else {
            let mut a = allow;
            a["Effect"] = json!("Allow");
            after.key_statements.push(a);
        }
        if before == Verdict::Allow {
            prop_assert_eq!(after.verdict(), Verdict::Allow);
        }
    }

    #[test]
    fn statement_order_never_changes_the_decision(s in scenario(), rotate_key in 0usize..6, rotate_identity in 0usize..4) {
        let before = s.verdict();
        let mut after = s.clone();
        let n = after.key_statements.len();
        after.key_statements.rotate_left(rotate_key % n);
        after.key_statements.reverse();
        if !after.identity_statements.is_empty() {
            let m = after.identity_statements.len();
            after.identity_statements.rotate_left(rotate_identity % m);
        }
        after.grants.reverse();
        prop_assert_eq!(after.verdict(), before);
    }

    #[test]
    fn one_prepared_authorizer_answers_as_fresh_ones_do(s in scenario(), principals in vec(select(vec![
        "arn:aws:iam::111122223333:user/bob", "arn:aws:iam::111122223333:role/App",
        "arn:aws:sts::111122223333:assumed-role/App/s2", "arn:aws:iam::444455556666:role/Reader"]), 1..6)) {
        let shared = Authorizer::for_request(&Request::parse(&s.request()).unwrap()).unwrap();
        for principal in principals {
            let mut one = s.clone();
            one.principal = principal;
            let request = Request::parse(&one.request()).unwrap();
            prop_assert_eq!(shared.verdict(&request), one.verdict());
        }
    }

    /// The batch's direct JSON writer gives the bytes `to_json` prints, with or without a line
    /// number, whatever a Sid or a grant ID holds: quotes, backslashes, control characters,
    /// text beyond ASCII.
    #[test]
    fn written_json_is_to_json_byte_for_byte(
        s in scenario(),
        // What a key policy may hold (tab, line feed, carriage return, U+0020 to U+00FF).
        sids in vec("[\"\\\\\t\n\ra-z é\u{7f}]{0,12}", 8),
        // A grant ID is not a policy: anything.
        ids in vec("[\"\\\\\u{0}-\u{1f}a-z é✓]{0,12}", 8),
        line in any::<Option<usize>>(),
    ) {
        let mut s = s;
        for (statement, sid) in s.key_statements.iter_mut().zip(&sids) {
            statement["Sid"] = json!(sid);
        }
        for (grant, id) in s.grants.iter_mut().zip(&ids) {
            grant["grant_id"] = json!(format!("g-{id}"));
        }
        let request = Request::parse(&s.request()).unwrap();
        let decision = Authorizer::for_request(&request).unwrap().decide(&request);
        let mut expected = decision.to_json();
        if let Some(line) = line {
            expected["line"] = json!(line);
        }
        let mut written = Vec::new();
        decision.write_json(&mut written, line).unwrap();
        prop_assert_eq!(String::from_utf8(written).unwrap(), expected.to_string());
    }

    /// A decision written over another (`decide_into`, reusing its entries and texts) is the
    /// decision made afresh, whatever the one before: longer or shorter traces and reason
    /// lists, conditions explained over other conditions or none, grants over statements.
    #[test]
    fn a_decision_written_over_another_is_the_fresh_one(before in scenario(), after in scenario()) {
        let first = Request::parse(&before.request()).unwrap();
        let second = Request::parse(&after.request()).unwrap();
        let mut decision = Authorizer::for_request(&first).unwrap().decide(&first);
        let authorizer = Authorizer::for_request(&second).unwrap();
        authorizer.decide_into(&second, &mut decision);
        prop_assert_eq!(decision, authorizer.decide(&second));
    }

    /// `covering` says which key-policy statements and grants can decide a caller's
    /// requests: one it leaves out never takes part in a decision, and removing every one it
    /// leaves out never changes the verdict.
    #[test]
    fn what_covering_leaves_out_never_decides(s in scenario()) {
        prop_assume!(s.action != "kms:ListKeys");
        let text = s.request();
        let request = Request::parse(&text).unwrap();
        let authorizer = Authorizer::for_request(&request).unwrap();
        let covering = authorizer.covering(&request);
        prop_assert_eq!(covering.key_policy.len(), s.key_statements.len());
        prop_assert_eq!(covering.grants.len(), s.grants.len());
        let decided = authorizer.decide(&request);
        for reason in &decided.reasons {
            match &reason.source {
                Source::Policy(PolicySource::KeyPolicy) => {
                    let i = reason.statement.unwrap();
                    prop_assert!(covering.key_policy[i], "statement {i} decided:\n{text}");
                }
                Source::Grant(id) => {
                    let i = s.grants.iter().position(|g| g["grant_id"] == json!(id)).unwrap();
                    prop_assert!(covering.grants[i], "grant {id} decided:\n{text}");
                }
                Source::Policy(PolicySource::IdentityPolicy(_)) => {}
            }
        }
        let mut kept = s.clone();
        kept.key_statements = s
            .key_statements
            .iter()
            .zip(&covering.key_policy)
            .filter(|(_, c)| **c)
            .map(|(st, _)| st.clone())
            .collect();
        kept.grants = s
            .grants
            .iter()
            .zip(&covering.grants)
            .filter(|(_, c)| **c)
            .map(|(g, _)| g.clone())
            .collect();
        // A key policy needs a statement: one that names nobody who calls here.
        if kept.key_statements.is_empty() {
            kept.key_statements.push(json!({
                "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                "Action": "kms:Decrypt", "Resource": "*"
            }));
        }
        prop_assert_eq!(kept.verdict(), s.verdict(), "{}", text);
    }
}

/// The key-policy statements of the account, of a role and of everyone cover a session of
/// the role; a statement of another account does not; a grant to the role covers it.
#[test]
fn covering_names_the_caller_its_role_its_account_and_everyone() {
    let text = json!({
        "principal": "arn:aws:sts::111122223333:assumed-role/App/s1",
        "action": "kms:Decrypt",
        "resource": KEY,
        "key_policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Other"}, "Action": "kms:Decrypt", "Resource": "*"}
        ]},
        "grants": [
            {"grant_id": "g-0", "grantee_principal": "arn:aws:iam::111122223333:role/App", "operations": ["Decrypt"]},
            {"grant_id": "g-1", "grantee_principal": "arn:aws:iam::444455556666:role/Reader", "operations": ["Decrypt"]}
        ]
    }).to_string();
    let request = Request::parse(&text).unwrap();
    let covering = Authorizer::for_request(&request)
        .unwrap()
        .covering(&request);
    assert_eq!(covering.key_policy, vec![true, true, true, false, false]);
    assert_eq!(covering.grants, vec![true, false]);
}

/// A request keeps its resource's parse for its decisions; a resource changed afterwards is
/// parsed afresh, so a statement for one key never allows another through a stale parse.
#[test]
fn a_resource_changed_after_parsing_is_decided_as_changed() {
    let text = json!({
        "principal": "arn:aws:iam::111122223333:role/App",
        "action": "kms:Decrypt",
        "resource": KEY,
        "key_policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:Decrypt", "Resource": KEY}
        ]}
    })
    .to_string();
    let request = Request::parse(&text).unwrap();
    let authorizer = Authorizer::for_request(&request).unwrap();
    assert_eq!(authorizer.verdict(&request), Verdict::Allow);
    let mut other = request.clone();
    other.resource = KEY.replace("1234abcd", "99999999");
    assert_eq!(authorizer.verdict(&other), Verdict::ImplicitDeny);
}
