//! Parse, validate, compile (the compiled policy: matchers, conditions, resource templates) and
//! print arbitrary input as both policy kinds; nothing may panic, every error must point inside
//! the input, and a valid document must survive printing.
#![no_main]

use keyward_conditions::CompiledPolicy;
use keyward_policy::{LineIndex, PolicyKind, parse_and_validate, parse_policy, print_policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [PolicyKind::KeyPolicy, PolicyKind::IdentityPolicy] {
        match parse_and_validate(text, kind) {
            Ok(document) => {
                let _ = CompiledPolicy::from_document(&document, kind);
            }
            Err(diags) => {
                let index = LineIndex::new(text);
                for e in diags.errors() {
                    assert!(e.span.start <= e.span.end && e.span.end <= text.len());
                    let _ = e.render("fuzz", &index);
                }
            }
        }
    }
    if let Ok(document) = parse_policy(text) {
        let printed = print_policy(&document);
        let reparsed = parse_policy(&printed).expect("the printed form parses");
        assert!(reparsed == document, "printing changed the document");
    }
});
