//! The policy corpus in `fixtures/policies/`, through every check `keyward validate` runs
//! ([`check`]: validation, then the compiled policy): every valid policy passes, compiles and
//! round-trips through the printer; every invalid one reports exactly its expected errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_conditions::CompiledPolicy;
use keyward_policy::{
    Diagnostics, LineIndex, PolicyDocument, PolicyKind, parse_and_validate, parse_policy,
    print_policy,
};
use std::fs;
use std::path::{Path, PathBuf};

/// What `keyward validate` checks: the document valid as a policy of `kind`, and the compiled
/// policy built from it. The document, for the warnings.
fn check(text: &str, kind: PolicyKind) -> Result<PolicyDocument, Diagnostics> {
    let document = parse_and_validate(text, kind)?;
    CompiledPolicy::from_document(&document, kind)?;
    Ok(document)
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/policies")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn check_valid(kind: PolicyKind, dir: &str) -> usize {
    let files = json_files(&corpus().join(dir));
    let mut failures = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        match check(&text, kind) {
            Err(diags) => {
                let index = LineIndex::new(&text);
                for e in diags.errors() {
                    failures.push(e.render(&name, &index));
                }
            }
            Ok(document) => {
                let printed = print_policy(&document);
                match parse_policy(&printed) {
                    Ok(reparsed) if reparsed == document => {}
                    Ok(_) => {
                        failures.push(format!("{name}: printing changed the document:\n{printed}"))
                    }
                    Err(e) => failures.push(format!(
                        "{name}: printed form does not parse: {e}\n{printed}"
                    )),
                }
                if print_policy(&parse_policy(&printed).unwrap()) != printed {
                    failures.push(format!("{name}: the canonical form is not stable"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "valid {dir} policies failed:\n{}",
        failures.join("\n")
    );
    files.len()
}

#[test]
fn valid_key_policies_validate_compile_and_round_trip() {
    let n = check_valid(PolicyKind::KeyPolicy, "valid/key");
    assert!(n >= 30, "only {n} valid key policies");
}

#[test]
fn valid_identity_policies_validate_compile_and_round_trip() {
    let n = check_valid(PolicyKind::IdentityPolicy, "valid/identity");
    assert!(n >= 8, "only {n} valid identity policies");
}

struct Expected {
    kind: PolicyKind,
    errors: Vec<String>,
}

fn read_expected(path: &Path) -> Expected {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut kind = None;
    let mut errors = Vec::new();
    for line in text.lines() {
        if let Some(k) = line.strip_prefix("# kind: ") {
            kind = Some(match k.trim() {
                "key" => PolicyKind::KeyPolicy,
                "identity" => PolicyKind::IdentityPolicy,
                other => panic!("{}: unknown kind {other}", path.display()),
            });
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            errors.push(line.trim().to_owned());
        }
    }
    let kind = kind.unwrap_or_else(|| panic!("{}: no '# kind:' line", path.display()));
    assert!(!errors.is_empty(), "{}: expects no error", path.display());
    Expected { kind, errors }
}

#[test]
fn invalid_policies_report_exactly_their_expected_errors() {
    let files = json_files(&corpus().join("invalid"));
    assert!(files.len() >= 30, "only {} invalid policies", files.len());
    let mut failures = Vec::new();
    let mut codes_seen = std::collections::BTreeSet::new();
    for path in &files {
        let expected = read_expected(&path.with_extension("expected"));
        let text = fs::read_to_string(path).unwrap();
        let index = LineIndex::new(&text);
        let actual: Vec<String> = match check(&text, expected.kind) {
            Ok(_) => vec!["(valid)".to_owned()],
            Err(diags) => diags
                .errors()
                .iter()
                .map(|e| {
                    codes_seen.insert(e.code());
                    format!("{} {}", index.start(e.span), e.code())
                })
                .collect(),
        };
        if actual != expected.errors {
            failures.push(format!(
                "{}:\n  expected: {:?}\n  actual:   {:?}",
                path.file_name().unwrap().to_string_lossy(),
                expected.errors,
                actual
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every error the corpus can exercise is exercised (input-too-large and invalid-pattern are
    // covered by unit tests: the first needs a 1 MiB file, the second cannot be written).
    let untested: Vec<_> = keyward_policy::error::ERROR_CODES
        .iter()
        .filter(|c| {
            !codes_seen.contains(**c)
                && !["input-too-large", "invalid-pattern"].contains(c)
                && !keyward_policy::error::WARNING_CODES.contains(c)
        })
        .collect();
    assert!(
        untested.is_empty(),
        "no invalid fixture exercises {untested:?}"
    );
}

/// `warning/NAME.json`: policies KMS accepts (they validate) but that are almost certainly
/// mistakes; `keyward validate` reports exactly the expected warnings and still says OK.
#[test]
fn policies_with_warnings_validate_and_report_exactly_their_warnings() {
    let files = json_files(&corpus().join("warning"));
    assert!(!files.is_empty(), "no policy with warnings");
    let mut failures = Vec::new();
    let mut codes_seen = std::collections::BTreeSet::new();
    for path in &files {
        let expected = read_expected(&path.with_extension("expected"));
        let text = fs::read_to_string(path).unwrap();
        let index = LineIndex::new(&text);
        let actual: Vec<String> = match check(&text, expected.kind) {
            Err(diags) => diags
                .errors()
                .iter()
                .map(|e| format!("error {}", e.render("", &index)))
                .collect(),
            Ok(document) => keyward_policy::validate::warnings(&document, expected.kind)
                .errors()
                .iter()
                .map(|w| {
                    codes_seen.insert(w.code());
                    format!("{} {}", index.start(w.span), w.code())
                })
                .collect(),
        };
        if actual != expected.errors {
            failures.push(format!(
                "{}:\n  expected: {:?}\n  actual:   {:?}",
                path.file_name().unwrap().to_string_lossy(),
                expected.errors,
                actual
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let untested: Vec<_> = keyward_policy::error::WARNING_CODES
        .iter()
        .filter(|c| !codes_seen.contains(**c))
        .collect();
    assert!(
        untested.is_empty(),
        "no warning fixture exercises {untested:?}"
    );
}
