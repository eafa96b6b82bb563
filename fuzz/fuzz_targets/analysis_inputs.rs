//! Read arbitrary input as every saved `aws kms ...` output the analysis takes (list-grants,
//! describe-key with list-aliases and list-resource-tags) and as `aws iam
//! get-account-authorization-details` (gathering principals' policies), and as a level of SCPs;
//! diff it, as a key policy, against the AWS default key policy both ways and as an Access
//! Analyzer check, and ask who can use a key under it (as a key policy, and as an SCP over an
//! account): nothing may panic, a refusal is an error, and every finding's statements are
//! statements of the policy.
#![no_main]

use keyward_analysis::{
    AnalysisError, AuthorizationDetails, KeyFacts, PolicySet, WhoCanInputs,
    check_no_public_access, diff, read_grants, read_key, read_scp_level, who_can,
};
use libfuzzer_sys::fuzz_target;

const DEFAULT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn side(policy: &str) -> PolicySet {
    PolicySet {
        key_policy: policy.to_owned(),
        identity_policies: None,
        grants: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(grants) = read_grants(text) {
        for grant in &grants {
            assert!(!grant.id.is_empty());
        }
    }
    let _ = read_key(text, Some(text), Some(text));
    if let Ok(level) = read_scp_level(text, "fuzzed") {
        assert!(!level.is_empty());
    }
    if let Ok(details) = AuthorizationDetails::read(text) {
        for principal in [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:role/app",
            "arn:aws:sts::111122223333:assumed-role/app/s",
            "arn:aws:iam::111122223333:root",
        ] {
            let _ = details.policies_of(principal);
        }
    }
    // Diffs are bounded, but a large input is slow to enumerate; the readers above took it.
    if text.len() > 2048 {
        return;
    }
    let key = KeyFacts::symmetric(KEY);
    for (old, new) in [(DEFAULT, text), (text, DEFAULT)] {
        match diff(&side(old), &side(new), &key) {
            Ok(report) => {
                let statements = new.matches("Effect").count();
                for finding in &report.findings {
                    assert!(!finding.actions.is_empty());
                    for s in &finding.statements {
                        assert!(s.index < statements.max(1), "statement {} of {new}", s.index);
                    }
                }
            }
            Err(AnalysisError::Bug(why)) => panic!("the analysis contradicts authz: {why}"),
            Err(_) => {}
        }
    }
    if let Err(AnalysisError::Bug(why)) = check_no_public_access(&side(text), &key) {
        panic!("the analysis contradicts authz: {why}");
    }
    let details = AuthorizationDetails::read(DETAILS).ok();
    let mut inputs = WhoCanInputs {
        key,
        key_policy: text.to_owned(),
        grants: Vec::new(),
        details,
        scp_levels: Vec::new(),
        rcps: Vec::new(),
        actions: Vec::new(),
    };
    if let Err(AnalysisError::Bug(why)) = who_can(&inputs) {
        panic!("who-can contradicts authz: {why}");
    }
    if let Ok(level) = read_scp_level(text, "fuzzed") {
        inputs.key_policy = DEFAULT.to_owned();
        inputs.scp_levels = vec![level.clone()];
        if let Err(AnalysisError::Bug(why)) = who_can(&inputs) {
            panic!("who-can contradicts authz under an SCP: {why}");
        }
        inputs.scp_levels = Vec::new();
        inputs.rcps = level;
        if let Err(AnalysisError::Bug(why)) = who_can(&inputs) {
            panic!("who-can contradicts authz under an RCP: {why}");
        }
    }
});

/// An account of two principals, one with a policy that allows and one that denies.
const DETAILS: &str = r#"{"UserDetailList":[{"UserName":"alice","Arn":"arn:aws:iam::111122223333:user/alice",
"UserPolicyList":[{"PolicyName":"use","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}}]}],
"RoleDetailList":[{"RoleName":"app","Arn":"arn:aws:iam::111122223333:role/app",
"RolePolicyList":[{"PolicyName":"deny","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"},{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}}]}]}"#;
