//! Read arbitrary input as every saved `aws kms ...` output the analysis takes (list-grants,
//! describe-key with list-aliases and list-resource-tags) and as `aws iam
//! get-account-authorization-details` (gathering principals' policies), and diff it, as a key policy,
//! against the AWS default key policy both ways and as an Access Analyzer check: nothing may
//! panic, a refusal is an error, and every finding's statements are statements of the policy.
#![no_main]

use keyward_analysis::{
    AnalysisError, AuthorizationDetails, KeyFacts, PolicySet, check_no_public_access, diff,
    read_grants, read_key,
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
});
