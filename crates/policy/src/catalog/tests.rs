use super::*;

fn action(name: &str) -> &'static KmsAction {
    action_by_name(name)
        .map(ActionId::info)
        .unwrap_or_else(|| panic!("{name} is in the catalog"))
}

fn names(filter: impl Fn(&KmsAction) -> bool) -> Vec<&'static str> {
    actions()
        .iter()
        .filter(|a| filter(a))
        .map(|a| a.name)
        .collect()
}

#[test]
fn the_catalog_has_every_kms_action_once_sorted() {
    assert_eq!(actions().len(), 56);
    let mut sorted: Vec<_> = actions().iter().map(|a| a.name).collect();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, actions().iter().map(|a| a.name).collect::<Vec<_>>());
}

#[test]
fn create_key_and_other_resourceless_actions_are_iam_only() {
    assert_eq!(action("CreateKey").allow_in, AllowPlacement::IamOnly);
    assert_eq!(action("CreateKey").resource, ResourceScope::NoResource);
    assert_eq!(
        names(|a| a.resource == ResourceScope::NoResource),
        [
            "ConnectCustomKeyStore",
            "CreateCustomKeyStore",
            "CreateKey",
            "DeleteCustomKeyStore",
            "DescribeCustomKeyStores",
            "DisconnectCustomKeyStore",
            "GenerateRandom",
            "ListAliases",
            "ListKeys",
            "ListRetirableGrants",
            "UpdateCustomKeyStore",
        ]
    );
    assert!(
        names(|a| a.allow_in == AllowPlacement::IamOnly)
            .iter()
            .all(|n| action(n).resource == ResourceScope::NoResource)
    );
}

#[test]
fn grantable_operations_are_the_grant_operation_enum() {
    assert_eq!(
        names(|a| a.grantable),
        [
            "CreateGrant",
            "Decrypt",
            "DeriveSharedSecret",
            "DescribeKey",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateMac",
            "GetPublicKey",
            "ReEncryptFrom",
            "ReEncryptTo",
            "RetireGrant",
            "Sign",
            "Verify",
            "VerifyMac",
        ]
    );
}

#[test]
fn cross_account_operations_are_crypto_grants_and_a_few_reads() {
    assert_eq!(
        names(|a| a.cross_account == CrossAccount::Yes),
        [
            "CreateGrant",
            "Decrypt",
            "DeriveSharedSecret",
            "DescribeKey",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateMac",
            "GetKeyRotationStatus",
            "GetPublicKey",
            "ListGrants",
            "ReEncryptFrom",
            "ReEncryptTo",
            "RetireGrant",
            "RevokeGrant",
            "Sign",
            "Verify",
            "VerifyMac",
        ]
    );
    assert_eq!(action("PutKeyPolicy").cross_account, CrossAccount::No);
}

#[test]
fn alias_operations_need_the_alias_and_the_key() {
    assert_eq!(
        names(|a| a.resource == ResourceScope::AliasAndKey),
        ["CreateAlias", "DeleteAlias", "UpdateAlias"]
    );
    assert_eq!(action("RetireGrant").allow_in, AllowPlacement::GrantOnly);
}

#[test]
fn action_lookup_is_case_insensitive_and_needs_the_kms_prefix() {
    assert_eq!(kms_action("kms:Decrypt"), action_by_name("Decrypt"));
    assert_eq!(kms_action("KMS:decrypt"), action_by_name("Decrypt"));
    assert_eq!(kms_action("s3:Decrypt"), None);
    assert_eq!(kms_action("Decrypt"), None);
    assert_eq!(kms_action("kms:Decrypts"), None);
    let id = kms_action("kms:GenerateDataKey");
    assert_eq!(
        id.map(|a| a.to_string()).as_deref(),
        Some("kms:GenerateDataKey")
    );
}

#[test]
fn resource_aliases_is_multivalued_and_iam_only() {
    let key = condition_key("kms:ResourceAliases");
    assert_eq!(key.map(|k| k.is_multivalued()), Some(true));
    assert_eq!(
        key.map(|k| k.allowed_in),
        Some(KeyPlacement::IdentityPolicyOnly)
    );
    assert!(forbidden_in_key_policy("kms:resourcealiases"));
    assert!(forbidden_in_key_policy("aws:ResourceTag/Env"));
    assert!(!forbidden_in_key_policy("aws:ResourceTag/"));
    assert!(!forbidden_in_key_policy("aws:RequestTag/Env"));
    assert_eq!(
        condition_key("AWS:resourcetag/Env").map(|k| k.allowed_in),
        Some(KeyPlacement::IdentityPolicyOnly)
    );
}

#[test]
fn multivalued_keys_are_exactly_the_array_keys() {
    let multi: Vec<_> = kms_condition_keys()
        .iter()
        .chain(global_condition_keys())
        .filter(|k| k.is_multivalued())
        .map(|k| k.name)
        .collect();
    assert_eq!(
        multi,
        [
            "kms:EncryptionContextKeys",
            "kms:GrantOperations",
            "kms:ResourceAliases",
            "aws:CalledVia",
            "aws:PrincipalOrgPaths",
            "aws:PrincipalServiceNamesList",
            "aws:ResourceOrgPaths",
            "aws:SourceOrgPaths",
            "aws:TagKeys",
            "aws:VpceOrgPaths",
        ]
    );
}

#[test]
fn condition_keys_are_found_case_insensitively_with_templates() {
    assert_eq!(kms_condition_keys().len(), 39);
    assert_eq!(
        condition_key("kms:encryptioncontext:Dept").map(|k| k.name),
        Some("kms:EncryptionContext:${EncryptionContextKey}")
    );
    assert_eq!(condition_key("kms:EncryptionContext:"), None);
    assert_eq!(
        condition_key("kms:EncryptionContextKeys").map(|k| k.name),
        Some("kms:EncryptionContextKeys")
    );
    assert_eq!(
        condition_key("aws:SourceIP").map(|k| k.value_type),
        Some(KeyType::IpAddress)
    );
    assert_eq!(
        condition_key("kms:GrantIsForAWSResource").map(|k| k.value_type),
        Some(KeyType::Bool)
    );
    assert_eq!(condition_key("kms:CallerAcount"), None);
}

#[test]
fn the_index_finds_what_a_scan_of_the_catalog_finds() {
    let probes = [
        "kms:EncryptionContext:Dept",
        "KMS:ENCRYPTIONCONTEXTKEYS",
        "kms:EncryptionContext:",
        "aws:PrincipalTag/team",
        "aws:principaltag/",
        "aws:SourceIp",
        "aws:sourceip ",
        "kms:RecipientAttestation:PCR0",
        "x",
        "",
        "aws:userid",
        "kms:EncryptionContext:aws:cloudtrail:arn",
        "kms:ViaServic",
    ];
    for probe in probes {
        let scanned = kms_condition_keys()
            .iter()
            .chain(global_condition_keys())
            .find(|k| k.matches(probe));
        assert_eq!(
            condition_key(probe).map(|k| k.name),
            scanned.map(|k| k.name),
            "{probe}"
        );
    }
    let long = format!("kms:EncryptionContext:{}", "x".repeat(200));
    assert_eq!(
        condition_key(&long).map(|k| k.name),
        Some("kms:EncryptionContext:${EncryptionContextKey}")
    );
}

#[test]
fn every_key_an_action_names_is_in_the_key_catalog() {
    for a in actions() {
        for key in a.condition_keys.iter().chain(key_resource_condition_keys()) {
            let probe = key
                .replace("${EncryptionContextKey}", "k")
                .replace("${TagKey}", "k")
                .replace("${Measurement}", "PCR0");
            assert!(
                condition_key(&probe).is_some(),
                "{} names unknown key {key}",
                a.name
            );
        }
    }
}

#[test]
fn action_sets_are_exact() {
    let decrypt = action_by_name("Decrypt").unwrap_or_else(|| panic!("Decrypt"));
    let encrypt = action_by_name("Encrypt").unwrap_or_else(|| panic!("Encrypt"));
    let set = ActionSet::EMPTY.with(decrypt);
    assert!(set.contains(decrypt) && !set.contains(encrypt));
    assert_eq!(set.len(), 1);
    assert_eq!(set.complement().len(), 55);
    assert_eq!(ActionSet::all().len(), 56);
    assert_eq!(set.union(set.complement()), ActionSet::all());
}

#[test]
fn every_action_is_found_by_its_exact_name_at_compile_time() {
    const DECRYPT: Option<ActionId> = ActionId::named("Decrypt");
    assert_eq!(DECRYPT.map(|a| a.info().name), Some("Decrypt"));
    for id in ActionId::all() {
        assert_eq!(ActionId::named(id.info().name), Some(id));
    }
    assert_eq!(ActionId::named("decrypt"), None);
    assert_eq!(ActionId::named("Decryp"), None);
    assert_eq!(ActionId::named(""), None);
}

#[test]
fn an_action_sets_its_own_keys_the_key_resource_keys_and_the_global_ones() {
    let decrypt = kms_action("kms:Decrypt").unwrap();
    let describe = kms_action("kms:DescribeKey").unwrap();
    let tag = kms_action("kms:TagResource").unwrap();
    assert!(decrypt.sets_key("kms:EncryptionContext:Tenant"));
    assert!(decrypt.sets_key("KMS:EncryptionAlgorithm"));
    assert!(!describe.sets_key("kms:EncryptionContext:Tenant"));
    assert!(!describe.sets_key("kms:GrantOperations"));
    assert!(describe.sets_key("kms:KeySpec"), "a key-resource key");
    assert!(describe.sets_key("aws:SourceIp"), "a global key");
    assert!(!describe.sets_key("aws:RequestTag/team"));
    assert!(tag.sets_key("aws:RequestTag/team"));
}

#[test]
fn a_dollar_in_a_catalog_key_name_only_ever_opens_a_variable() {
    // `sets_key` looks for `$` alone, taking it for the start of `${...}`.
    let names = ActionId::all()
        .flat_map(|a| a.info().condition_keys.iter())
        .chain(key_resource_condition_keys());
    for name in names {
        for (i, _) in name.match_indices('$') {
            assert!(name[i..].starts_with("${"), "{name}");
        }
    }
}

#[test]
fn the_actions_on_a_key_leave_out_alias_operations_and_actions_without_a_resource() {
    let on_a_key: Vec<&str> = ActionId::on_a_key().map(|a| a.info().name).collect();
    assert!(on_a_key.contains(&"Decrypt") && on_a_key.contains(&"PutKeyPolicy"));
    for other in [
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "ListAliases",
        "CreateKey",
    ] {
        assert!(!on_a_key.contains(&other), "{other}");
    }
    assert!(ActionId::on_a_key().all(ActionId::is_on_a_key));
    let involving: Vec<&str> = ActionId::involving_a_key().map(|a| a.info().name).collect();
    for alias in ["CreateAlias", "UpdateAlias", "DeleteAlias"] {
        assert!(involving.contains(&alias), "{alias}");
    }
    assert_eq!(involving.len(), on_a_key.len() + 3);
    assert!(!involving.contains(&"CreateKey") && !involving.contains(&"ListAliases"));
}

/// `is_multivalued` (which compares names) says what the catalog lookup says, for every key
/// of the catalog in any case, every template with a suffix, and keys the catalog lacks.
#[test]
fn is_multivalued_agrees_with_the_catalog() {
    let mut names: Vec<String> = Vec::new();
    for info in super::keys::KMS_KEYS.iter().chain(super::keys::GLOBAL_KEYS) {
        match info.template_prefix() {
            Some(prefix) => {
                names.push(format!("{prefix}Dept"));
                names.push(format!("{}X", prefix.to_ascii_uppercase()));
                names.push(prefix.to_owned());
            }
            None => {
                names.push(info.name.to_owned());
                names.push(info.name.to_ascii_uppercase());
                names.push(format!("{}s", info.name));
            }
        }
    }
    names.extend(
        [
            "",
            "kms:",
            "aws:",
            "nothing:atall",
            "kms:EncryptionContextKeysX",
        ]
        .map(String::from),
    );
    let mut multivalued = 0;
    for name in &names {
        let looked_up = super::condition_key(name).is_some_and(|k| k.is_multivalued());
        assert_eq!(super::is_multivalued(name), looked_up, "{name}");
        multivalued += usize::from(looked_up);
    }
    assert!(
        multivalued >= 4,
        "the catalog has multivalued keys: {multivalued}"
    );
}
