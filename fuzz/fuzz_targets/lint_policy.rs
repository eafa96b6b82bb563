//! Lint arbitrary input as both policy kinds and render every output format, and read it as a
//! `keyward-lint.toml`: nothing may panic, every finding must point inside the input, and
//! findings come in source order.
#![no_main]

use keyward_lint::output::{self, FileFindings};
use keyward_lint::{LintOptions, Suppressions, lint};
use keyward_policy::PolicyKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(suppressions) = Suppressions::parse(text, "keyward-lint.toml") {
        for entry in &suppressions.entries {
            assert!(!entry.reason.trim().is_empty());
        }
    }
    for kind in [PolicyKind::KeyPolicy, PolicyKind::IdentityPolicy] {
        let options = LintOptions {
            kind,
            account: None,
            trusted_accounts: vec!["444455556666".into()],
            key_arn: None,
        };
        let findings = lint(text, &options);
        let mut previous = 0;
        for f in &findings {
            assert!(f.span.start <= f.span.end && f.span.end <= text.len());
            assert!(f.span.start >= previous, "findings out of order");
            previous = f.span.start;
        }
        let file = FileFindings {
            path: "fuzz.json",
            text,
            findings: &findings,
        };
        let _ = output::text(&file);
        let _ = output::json(&[file]);
        let _ = output::sarif(&[file]);
    }
});
