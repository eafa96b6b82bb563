//! Authorization in a program: compile once, decide per request.
//! `cargo run -p keyward-authz --example authorize`
use keyward_authz::{Authorizer, PolicyText, Request, Verdict};
use keyward_policy::catalog::kms_action;

const KEY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"acme"}}}]}"#;
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const APP: &str = "arn:aws:sts::111122223333:assumed-role/App/worker-1";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key_policy = PolicyText::new(KEY_POLICY.to_owned());
    // Compiled once; share it (it is Send + Sync) and answer any number of requests.
    let authorizer = Authorizer::new(Some(&key_policy), &[], Vec::new())?;
    let decrypt = kms_action("kms:Decrypt").ok_or("kms:Decrypt is in the catalog")?;
    for tenant in ["acme", "globex"] {
        let mut request = Request::new(APP, decrypt, KEY, &[("tenant", tenant)])?;
        request.context.insert_single("aws:SourceIp", "10.0.0.7");
        // The fast path: the verdict alone, nothing allocated.
        let allowed = authorizer.verdict(&request) == Verdict::Allow;
        assert_eq!(allowed, tenant == "acme");
        // When it is wanted: the deciding statements, and AWS's message for a denial.
        let decision = authorizer.decide(&request);
        let why = decision
            .message
            .unwrap_or_else(|| format!("{:?}", decision.reasons));
        println!("tenant {tenant}: {:?}: {why}", decision.verdict);
    }
    Ok(())
}
