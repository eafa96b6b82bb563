//! The gated key service in a program: `cargo run -p keyward-kms --example key_service`.
use keyward_kms::api::{CreateKeyRequest, DecryptRequest, EncryptRequest};
use keyward_kms::{Caller, Kms, KmsConfig, KmsError, audit::MemoryAudit};
use std::sync::Arc;

const ADMIN: &str = r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
const KEY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:Encrypt","Resource":"*"}]}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let audit = Arc::new(MemoryAudit::new());
    // On disk instead: Kms::open_in(config, dir) (SQLite store, root key file, audit log).
    let kms = Kms::in_memory(KmsConfig::new("us-east-1", "111122223333"), audit.clone())?;
    // Callers are built once (their identity policies compiled) and reused.
    let admin = Caller::new("arn:aws:iam::111122223333:role/Admin", &[ADMIN])?;
    let app = Caller::new("arn:aws:iam::111122223333:role/App", &[])?;
    let policy = Some(KEY_POLICY.to_owned());
    let create = CreateKeyRequest {
        policy,
        ..Default::default()
    };
    let key_id = kms.create_key(&admin, &create)?.key_metadata.key_id;
    let encrypt = EncryptRequest::new(key_id, b"card 4111".to_vec());
    let decrypt = DecryptRequest::new(kms.encrypt(&app, &encrypt)?.ciphertext_blob);
    match kms.decrypt(&app, &decrypt) {
        Err(KmsError::Denied(denial)) => println!("App may not Decrypt: {}", denial.message),
        other => return Err(format!("expected a denial, got {other:?}").into()),
    }
    let plaintext = kms.decrypt(&admin, &decrypt)?.plaintext;
    let audited = audit.len();
    println!(
        "the admin may: {}",
        String::from_utf8_lossy(plaintext.expose())
    );
    println!("{audited} calls audited, allowed or not");
    Ok(())
}
