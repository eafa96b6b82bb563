//! What a client of `keyward serve` controls, and what an operator writes: the config file,
//! the seed file,
//! the `Authorization` header, the request body, the target, and every operation run on the
//! body against a key service in memory. Nothing may panic, and errors are AWS-shaped.
#![no_main]

use keyward_kms::audit::NoAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::store::MemoryStore;
use keyward_kms::api::{ApiError, Operation};
use keyward_kms::{Caller, Kms, KmsConfig};
use keyward_server::sigv4::Authorization;
use keyward_server::seed::Seed;
use keyward_server::{Overrides, ServerConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fn service() -> &'static (Kms, Caller) {
    static SERVICE: OnceLock<(Kms, Caller)> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let kms = Kms::open(
            KmsConfig::new("us-east-1", "111122223333"),
            Box::new(MemoryStore::new()),
            keyward_crypto::RootKey::generate().unwrap(),
            Arc::new(NoAudit),
            Arc::new(SystemClock),
        )
        .unwrap();
        let admin = Caller::new(
            "arn:aws:iam::111122223333:user/admin",
            &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#],
        )
        .unwrap();
        (kms, admin)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ServerConfig::parse(text, "fuzz.toml", std::path::Path::new("/nonexistent"), &Overrides::default());
    let _ = Seed::parse(text, "fuzz-seed.toml", std::path::Path::new("/nonexistent"), "111122223333");
    if let Ok(auth) = Authorization::parse(text) {
        assert!(text.contains(auth.access_key_id) && text.contains(auth.signature));
    }
    let _ = Operation::from_target(text);
    let (kms, admin) = service();
    for op in Operation::ALL {
        // Deleting and disabling keys would only make later inputs less interesting.
        if matches!(op, Operation::ScheduleKeyDeletion | Operation::DisableKey) {
            continue;
        }
        let answer = op
            .parse(data)
            .and_then(|input| kms.handle(admin, &input).map_err(ApiError::from));
        match answer {
            Ok(output) => assert!(output.to_body().is_ok()),
            Err(e) => assert!(e.code.as_str().ends_with("Exception"), "{}", e.code),
        }
    }
});
