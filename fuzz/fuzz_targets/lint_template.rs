//! Read arbitrary input as a CloudFormation template (JSON or YAML) and lint its key policies:
//! nothing may panic, every finding must point inside the input on character boundaries, and
//! every output format renders.
#![no_main]

use keyward_lint::output::{self, FileFindings};
use keyward_lint::{LintOptions, lint_file};
use keyward_templates::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Auto, Format::CloudFormation] {
        let findings = lint_file(text, &LintOptions::default(), format);
        for f in &findings {
            assert!(f.span.start <= f.span.end && f.span.end <= text.len());
            assert!(text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end));
        }
        let file = FileFindings {
            path: "fuzz.yaml",
            text,
            findings: &findings,
        };
        let _ = output::text(&file);
        let _ = output::json(&[file]);
        let _ = output::sarif(&[file]);
    }
});
