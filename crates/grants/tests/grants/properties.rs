//! No escalation: a grant created under a parent grant never allows what the parent would not.

use keyward_grants::key_grants::{CreateGrant, Created, KeyGrants, KeyKind, TokenKey};
use keyward_grants::{Grant, GrantConstraint, parse_operations};
use keyward_policy::catalog::kms_action;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

/// Encryption-context pairs.
type Pairs = Vec<(String, String)>;

const OPS: [&str; 6] = [
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "DescribeKey",
    "CreateGrant",
    "RetireGrant",
];

fn context() -> impl Strategy<Value = Pairs> {
    btree_map(
        select(vec!["dept", "Dept", "app", "team"]),
        select(vec!["finance", "Finance", "x"]),
        0..4,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    })
}

fn constraint() -> impl Strategy<Value = (Option<Pairs>, Option<Pairs>)> {
    prop_oneof![
        Just((None, None)),
        context().prop_map(|c| (Some(c), None)),
        context().prop_map(|c| (None, Some(c))),
    ]
}

fn request() -> impl Strategy<Value = CreateGrant> {
    (subsequence(OPS.to_vec(), 1..=OPS.len()), constraint()).prop_map(|(ops, (equals, subset))| {
        CreateGrant {
            grantee_principal: "arn:aws:iam::111122223333:role/App".into(),
            operations: ops.into_iter().map(str::to_owned).collect(),
            encryption_context_equals: equals,
            encryption_context_subset: subset,
            ..CreateGrant::default()
        }
    })
}

fn as_parent(r: &CreateGrant) -> Grant {
    let pairs = |p: &Option<Pairs>| p.clone().filter(|p| !p.is_empty());
    Grant {
        id: "parent".into(),
        name: None,
        grantee: r.grantee_principal.clone(),
        retiring_principal: None,
        issuing_account: None,
        key: None,
        created_at: None,
        operations: parse_operations(r.operations.iter().map(String::as_str)).unwrap(),
        constraint: pairs(&r.encryption_context_equals)
            .map(GrantConstraint::EncryptionContextEquals)
            .or_else(|| {
                pairs(&r.encryption_context_subset).map(GrantConstraint::EncryptionContextSubset)
            }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn a_child_grant_never_allows_what_its_parent_would_not(
        parent in request(),
        child in request(),
        probes in vec((select(OPS.to_vec()), context()), 1..12),
    ) {
        let parent = as_parent(&parent);
        let mut key_grants = KeyGrants::new(KeyKind::SymmetricEncryption, "111122223333", TokenKey::new([1; 32]));
        if let Ok(Created::New(i)) = key_grants.create_under(&parent, &child).map(|c| c.created) {
            let child = &key_grants.grants()[i];
            for (op, ctx) in &probes {
                let action = kms_action(&format!("kms:{op}")).unwrap();
                if child.refusal(action, ctx).is_none() {
                    prop_assert!(parent.refusal(action, ctx).is_none(), "child {:?} allows {} with {:?}, parent {:?} does not", child, op, ctx, parent);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn retiring_a_grant_never_allows_anything_new(
        requests in vec(request(), 1..6),
        retire in 0usize..6,
        probes in vec((select(OPS.to_vec()), context()), 1..12),
    ) {
        use keyward_grants::resolver::{Caller, GrantSet};
        use keyward_grants::key_grants::{RetireTarget, Retirer};
        let mut key_grants = KeyGrants::new(KeyKind::SymmetricEncryption, "111122223333", TokenKey::new([1; 32]));
        for r in &requests {
            let _ = key_grants.create(r);
        }
        prop_assume!(!key_grants.grants().is_empty());
        let before = GrantSet::new(key_grants.grants().to_vec());
        let id = key_grants.grants()[retire % key_grants.grants().len()].id.clone();
        let root = Retirer { arn: "arn:aws:iam::111122223333:root", role: None, account: "111122223333", identity_allows_retire: false };
        prop_assert!(key_grants.retire(RetireTarget::GrantId(&id), root).is_ok());
        let after = GrantSet::new(key_grants.grants().to_vec());
        let caller = Caller::of("arn:aws:iam::111122223333:role/App", None, "111122223333");
        for (op, ctx) in &probes {
            let action = kms_action(&format!("kms:{op}")).unwrap();
            let ids = |set: &GrantSet| -> Vec<String> {
                set.applying(caller, action, ctx).iter().map(|a| set.grants()[a.index].id.clone()).collect()
            };
            let (b, a) = (ids(&before), ids(&after));
            prop_assert!(a.iter().all(|id| b.contains(id)), "after retiring, {:?} applies but before only {:?}", a, b);
            prop_assert!(!a.contains(&id), "the retired grant no longer applies");
        }
    }
}
