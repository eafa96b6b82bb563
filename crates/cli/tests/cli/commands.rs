//! `keyward validate`, `fmt` and `authorize` as a user runs them: output formats and exit
//! statuses.

use crate::common::{fixtures, run_in, scratch, stderr, stdout};
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};
use std::process::Output;

/// `keyward ARGS` in `fixtures/policies`, fed `stdin`.
fn keyward(args: &[&str], stdin: Option<&str>) -> Output {
    run_in(&fixtures("policies"), args, stdin.unwrap_or(""))
}

#[test]
fn validate_prints_ok_per_valid_file_and_exits_0() {
    let o = keyward(
        &[
            "validate",
            "valid/key/default-programmatic.json",
            "valid/key/cloudtrail.json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "valid/key/default-programmatic.json: OK\nvalid/key/cloudtrail.json: OK\n"
    );
}

#[test]
fn validate_prints_file_line_column_code_message_and_exits_1() {
    let o = keyward(
        &[
            "validate",
            "valid/key/default-programmatic.json",
            "invalid/effect-lowercase.json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "valid/key/default-programmatic.json: OK\n\
         invalid/effect-lowercase.json:12:17: error[invalid-effect]: Effect \"allow\" is not valid; use \"Allow\" or \"Deny\"; did you mean \"Allow\"?\n"
    );
}

#[test]
fn validate_kind_changes_the_rules() {
    let path = "invalid/identity-principal.json";
    assert_eq!(
        keyward(&["validate", "--kind", "key", path], None)
            .status
            .code(),
        Some(0)
    );
    let o = keyward(&["validate", "--kind", "identity", path], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains(":6:7: error[principal-not-allowed]"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn validate_reads_standard_input_for_dash() {
    let o = keyward(
        &["validate", "-"],
        Some("{\"Statement\": {\"Effect\": \"Allow\"}}"),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.starts_with("<stdin>:1:15: error[missing-element]"),
        "{out}"
    );
    let ok = keyward(
        &["validate", "-"],
        Some(
            &std::fs::read_to_string(fixtures("policies").join("valid/key/aws-managed-ebs.json"))
                .unwrap(),
        ),
    );
    assert_eq!(
        (ok.status.code(), stdout(&ok).as_str()),
        (Some(0), "<stdin>: OK\n")
    );
}

#[test]
fn io_errors_exit_2_and_name_the_file() {
    let o = keyward(
        &[
            "validate",
            "does/not/exist.json",
            "valid/key/default-programmatic.json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read does/not/exist.json"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("default-programmatic.json: OK"),
        "the other files are still checked"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(keyward(&["validate"], None).status.code(), Some(2));
    assert_eq!(
        keyward(&["validate", "--kind", "bucket", "x.json"], None)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(keyward(&["frobnicate"], None).status.code(), Some(2));
    assert_eq!(keyward(&["--help"], None).status.code(), Some(0));
}

#[test]
fn non_utf8_input_is_an_io_error_with_the_offset() {
    let dir = std::env::temp_dir().join(format!("keyward-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latin1.json");
    std::fs::write(&path, b"{\"Sid\": \"caf\xe9\"}").unwrap();
    let o = keyward(&["validate", path.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not UTF-8 text (invalid byte at offset 12)"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fmt_prints_the_canonical_form_and_check_detects_drift() {
    let o = keyward(
        &["fmt", "valid/key/single-statement-object-no-version.json"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let canonical = stdout(&o);
    assert_eq!(
        canonical,
        "{\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Principal\": {\n        \"AWS\": \"arn:aws:iam::111122223333:root\"\n      },\n      \"Action\": \"kms:*\",\n      \"Resource\": \"*\"\n    }\n  ]\n}\n"
    );
    let again = keyward(&["fmt", "-"], Some(&canonical));
    assert_eq!(stdout(&again), canonical, "formatting is idempotent");
    assert_eq!(
        keyward(&["fmt", "--check", "-"], Some(&canonical))
            .status
            .code(),
        Some(0)
    );
    let drift = keyward(
        &[
            "fmt",
            "--check",
            "valid/key/single-statement-object-no-version.json",
        ],
        None,
    );
    assert_eq!(drift.status.code(), Some(1));
    assert!(stdout(&drift).contains("not in canonical form"));
}

#[test]
fn fmt_reports_parse_errors_with_positions() {
    let o = keyward(&["fmt", "invalid/duplicate-effect.json"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid/duplicate-effect.json:16:7: error[duplicate-key]"),
        "{}",
        stderr(&o)
    );
}

/// The request of the case `case` of the scenario file `fixtures/requests/TOPIC_FILE.json`, as
/// `keyward authorize` reads it.
fn request(topic_file: &str, case: &str) -> String {
    let path = fixtures("requests").join(format!("{topic_file}.json"));
    Scenario::<serde::de::IgnoredAny>::load(&path)
        .and_then(|scenario| scenario.request_of(case))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The request of `case` as one line of a batch.
fn request_line(topic_file: &str, case: &str) -> String {
    let request: serde_json::Value = serde_json::from_str(&request(topic_file, case)).unwrap();
    request.to_string()
}

/// A scratch directory named `name` holding each case of `cases` (`(TOPIC_FILE, CASE)`) as
/// `CASE.json`.
fn requests(name: &str, cases: &[(&str, &str)]) -> PathBuf {
    let dir = scratch(name);
    for (topic_file, case) in cases {
        std::fs::write(dir.join(format!("{case}.json")), request(topic_file, case)).unwrap();
    }
    dir
}

/// `keyward authorize ARGS` in `dir`, fed `stdin`.
fn authorize(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut full = vec!["authorize"];
    full.extend_from_slice(args);
    run_in(dir, &full, stdin.unwrap_or(""))
}

#[test]
fn authorize_exits_0_for_allow_1_for_deny_2_for_errors() {
    let dir = requests(
        "authorize-exit-statuses",
        &[
            ("principals/named-role", "direct-role"),
            (
                "delegation/account-principal",
                "delegation-without-identity-allow",
            ),
            (
                "deny/deny-in-key-policy-beats-direct-allow",
                "deny-in-key-policy-beats-direct-allow",
            ),
            ("errors/without-key-policy", "error-unknown-field"),
        ],
    );
    let authorize = |args: &[&str], stdin| authorize(&dir, args, stdin);
    let allow = authorize(&["direct-role.json"], None);
    assert_eq!(allow.status.code(), Some(0), "{}", stderr(&allow));
    let text = stdout(&allow);
    assert!(text.starts_with("ALLOW\nAllowed: statement 'AllowUse' (#1) of the key policy allows kms:Decrypt for arn:aws:iam::111122223333:role/App"), "{text}");
    let implicit = authorize(&["delegation-without-identity-allow.json"], None);
    assert_eq!(implicit.status.code(), Some(1));
    assert!(stdout(&implicit).starts_with("IMPLICIT DENY\n"));
    assert!(
        stdout(&implicit)
            .contains("because no identity-based policy allows the kms:Decrypt action")
    );
    let explicit = authorize(&["deny-in-key-policy-beats-direct-allow.json"], None);
    assert_eq!(explicit.status.code(), Some(1));
    assert!(stdout(&explicit).starts_with("EXPLICIT DENY\n"));
    let error = authorize(&["error-unknown-field.json"], None);
    assert_eq!(error.status.code(), Some(2));
    assert!(
        stderr(&error).contains("error-unknown-field.json:4:3: error: unknown field `resouce`"),
        "{}",
        stderr(&error)
    );
    assert_eq!(
        authorize(&["does-not-exist.json"], None).status.code(),
        Some(2)
    );
}

#[test]
fn authorize_json_follows_the_contract() {
    let dir = requests(
        "authorize-json",
        &[
            (
                "delegation/account-principal",
                "delegation-with-identity-allow",
            ),
            (
                "conditions/encryption-context-condition",
                "encryption-context-condition-missing",
            ),
        ],
    );
    let authorize = |args: &[&str], stdin| authorize(&dir, args, stdin);
    let o = authorize(
        &["--format", "json", "delegation-with-identity-allow.json"],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["decision"], "Allow");
    assert_eq!(
        v["reasons"],
        serde_json::json!([
            {"effect": "Allow", "source": "key_policy", "statement": 0, "sid": "Enable IAM User Permissions"},
            {"effect": "Allow", "source": "identity_policy:0", "statement": 0, "sid": "UseKeys"}
        ])
    );
    assert!(
        v["explanation"]
            .as_str()
            .unwrap()
            .contains("delegates kms:Decrypt to account 111122223333")
    );
    assert_eq!(v["trace"][0]["matched"], true);
    let miss = authorize(
        &[
            "--format",
            "json",
            "encryption-context-condition-missing.json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&miss)).unwrap();
    assert_eq!(v["decision"], "ImplicitDeny");
    assert_eq!(v["reasons"], serde_json::json!([]));
    assert_eq!(v["trace"][0]["failed"], "condition");
    assert_eq!(
        v["trace"][0]["condition"]["key"],
        "kms:EncryptionContext:dept"
    );
    assert_eq!(v["trace"][0]["condition"]["actual"], "missing");
}

#[test]
fn authorize_reads_standard_input_and_points_into_embedded_policies() {
    let request = request(
        "errors/error-invalid-key-policy",
        "error-invalid-key-policy",
    );
    let o = authorize(&fixtures("requests"), &["-"], Some(&request));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("<stdin>:8:19: error[invalid-effect]: key_policy:"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn authorize_batch_answers_each_line_with_its_number() {
    let line = request_line;
    let direct_role = line("principals/named-role", "direct-role");
    let input = format!(
        "{}\n\n{}\n{}\n",
        direct_role,
        line(
            "delegation/account-principal",
            "delegation-without-identity-allow"
        ),
        line("errors/without-key-policy", "error-unknown-field")
    );
    let dir = fixtures("requests");
    let authorize = |args: &[&str], stdin| authorize(&dir, args, stdin);
    let o = authorize(&["--batch", "-"], Some(&input));
    assert_eq!(o.status.code(), Some(2), "a line could not be evaluated");
    let results: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 3);
    assert_eq!(
        (results[0]["line"].as_u64(), results[0]["decision"].as_str()),
        (Some(1), Some("Allow"))
    );
    assert_eq!(
        (results[1]["line"].as_u64(), results[1]["decision"].as_str()),
        (Some(3), Some("ImplicitDeny"))
    );
    assert_eq!(results[2]["line"].as_u64(), Some(4));
    assert!(
        results[2]["error"].as_str().unwrap().contains("<stdin>:4:"),
        "{}",
        results[2]
    );
    let ok = authorize(&["--batch", "-"], Some(&format!("{direct_role}\n")));
    assert_eq!(ok.status.code(), Some(0));
}

/// More lines than one chunk of the parallel batch: every result comes back once, in input
/// order, each the same bytes as deciding its line alone with `--format json` (plus its line
/// number), and a policy set that recurs on both threads is one authorizer.
#[test]
fn authorize_batch_keeps_input_order_across_threads() {
    let line = request_line;
    let allow = line("principals/named-role", "direct-role");
    let deny = line(
        "delegation/account-principal",
        "delegation-without-identity-allow",
    );
    let dir = fixtures("requests");
    let single = |text: &str| {
        let o = authorize(&dir, &["--format", "json", "-"], Some(text));
        serde_json::from_str::<serde_json::Value>(stdout(&o).trim()).unwrap()
    };
    let (allowed, denied) = (single(&allow), single(&deny));
    // Every seventh line denied, every 1000th blank, every 997th not JSON: 5,000 lines, three
    // chunks, blanks and errors inside a worker's stages of parsed lines.
    let mut input = String::new();
    let mut expected = Vec::new();
    for n in 1..=5000usize {
        if n % 1000 == 0 {
            input.push('\n');
            continue;
        }
        if n % 997 == 0 {
            input.push_str("{not json\n");
            expected.push(format!("error at <stdin>:{n}:"));
            continue;
        }
        let (text, result) = if n % 7 == 0 {
            (&deny, &denied)
        } else {
            (&allow, &allowed)
        };
        input.push_str(text);
        input.push('\n');
        let mut result = result.clone();
        result["line"] = n.into();
        expected.push(result.to_string());
    }
    let o = authorize(&dir, &["--batch", "-"], Some(&input));
    assert_eq!(
        o.status.code(),
        Some(2),
        "some lines are errors: {}",
        stderr(&o)
    );
    // Read from a file the blocks are full ones, not a pipe's pieces: the same bytes.
    let file_dir = scratch("authorize-batch-order");
    std::fs::write(file_dir.join("batch.jsonl"), &input).unwrap();
    let from_file = authorize(&file_dir, &["--batch", "batch.jsonl"], None);
    assert_eq!(from_file.status.code(), Some(2));
    assert_eq!(
        stdout(&from_file).replace("batch.jsonl:", "<stdin>:"),
        stdout(&o)
    );
    let got: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        if let Some(at) = e.strip_prefix("error at ") {
            let v: serde_json::Value = serde_json::from_str(g).unwrap();
            let n: u64 = at
                .trim_start_matches("<stdin>:")
                .trim_end_matches(':')
                .parse()
                .unwrap();
            assert_eq!(v["line"].as_u64(), Some(n), "{g}");
            assert!(v["error"].as_str().unwrap().contains(at), "{g}");
        } else {
            assert_eq!(g, e);
        }
    }
}

/// `keyward authorize --batch` over the file at `path`, run among the request fixtures.
fn authorize_batch_file(path: &Path) -> Output {
    let path = path.to_str().unwrap();
    run_in(&fixtures("requests"), &["authorize", "--batch", path], "")
}

/// The error of line 2 in a batch's output of three lines whose first and third are allowed
/// (decided around the error), after checking that the status says a line could not be.
fn error_between_two_allows(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    let results: Vec<serde_json::Value> = stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 3, "{}", stdout(o));
    assert_eq!(
        (results[0]["line"].as_u64(), results[0]["decision"].as_str()),
        (Some(1), Some("Allow"))
    );
    assert_eq!(
        (results[2]["line"].as_u64(), results[2]["decision"].as_str()),
        (Some(3), Some("Allow"))
    );
    assert_eq!(results[1]["line"], 2);
    results[1]["error"].as_str().unwrap().to_owned()
}

/// A batch line that is not UTF-8 text is that line's error (naming the line and the offset
/// of the bad byte); the lines around it are decided, and the status says a line could not be.
#[test]
fn authorize_batch_answers_a_line_not_utf8_with_its_error() {
    let allow = request_line("principals/named-role", "direct-role");
    let dir = scratch("authorize-batch-not-utf8");
    let mut input = format!("{allow}\n").into_bytes();
    input.extend_from_slice(b"{\"action\": \"caf\xe9\"}\n");
    input.extend_from_slice(format!("{allow}\n").as_bytes());
    std::fs::write(dir.join("latin1.jsonl"), input).unwrap();
    let error = error_between_two_allows(&authorize_batch_file(&dir.join("latin1.jsonl")));
    assert!(
        error.ends_with(
            "latin1.jsonl:2: error: not UTF-8 text (invalid byte at offset 15 of the line)"
        ),
        "{error}"
    );
}

/// A batch line over 8 MiB (the longest a batch keeps) is that line's error, naming its
/// length and the limit, without being held; the lines around it are decided. Fed through a
/// pipe in pieces as well as from a file.
#[test]
fn authorize_batch_answers_a_line_over_the_limit_with_its_error() {
    let allow = request_line("principals/named-role", "direct-role");
    let long = 8 * 1024 * 1024 + 5;
    let mut input = format!("{allow}\n").into_bytes();
    input.extend(std::iter::repeat_n(b' ', long));
    input.extend_from_slice(format!("\n{allow}\n").as_bytes());
    let dir = scratch("authorize-batch-long-line");
    std::fs::write(dir.join("long.jsonl"), &input).unwrap();
    let from_file = authorize_batch_file(&dir.join("long.jsonl"));
    let from_pipe = run_in(
        &fixtures("requests"),
        &["authorize", "--batch", "-"],
        std::str::from_utf8(&input).unwrap(),
    );
    for o in [&from_file, &from_pipe] {
        let error = error_between_two_allows(o);
        assert!(
            error.ends_with(&format!(
                ":2: error: a line of {long} bytes, over the 8388608 bytes a line may have (not read)"
            )),
            "{error}"
        );
    }
}

/// A batch is read as it goes: the result of a line fed through a pipe comes out while the
/// pipe is still open, before the input ends.
#[test]
fn authorize_batch_answers_a_line_before_its_input_ends() {
    use std::io::{BufRead, Write};
    let allow = request_line("principals/named-role", "direct-role");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["authorize", "--batch", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(format!("{allow}\n").as_bytes()).unwrap();
    input.flush().unwrap();
    let output = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let _ = std::io::BufReader::new(output).read_line(&mut first);
        let _ = sender.send(first);
    });
    let first = receiver.recv_timeout(std::time::Duration::from_secs(30));
    drop(input);
    let status = child.wait().unwrap();
    let first = first.expect("no result while the input was open");
    let result: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(
        (result["line"].as_u64(), result["decision"].as_str()),
        (Some(1), Some("Allow"))
    );
    assert_eq!(status.code(), Some(0));
}

/// `--policies FILE`: a line's `{"ref": NAME}` stands for the named document, and the answer
/// is the one the embedded document gives; a name the file lacks, a reference without the
/// flag, and a file that is not a JSON object are errors that say so.
#[test]
fn authorize_batch_reads_named_policies() {
    let embedded: serde_json::Value = serde_json::from_str(&request(
        "delegation/account-principal",
        "delegation-with-identity-allow",
    ))
    .unwrap();
    let dir = scratch("authorize-policies");
    let library = serde_json::json!({
        "payroll": embedded["key_policy"],
        "app": embedded["identity_policies"][0],
    });
    std::fs::write(dir.join("policies.json"), library.to_string()).unwrap();
    let mut referring = embedded.clone();
    referring["key_policy"] = serde_json::json!({"ref": "payroll"});
    referring["identity_policies"] = serde_json::json!([{"ref": "app"}]);
    let mut unknown = referring.clone();
    unknown["key_policy"] = serde_json::json!({"ref": "nope"});
    let input = format!("{embedded}\n{referring}\n{unknown}\n");
    let o = authorize(
        &dir,
        &["--batch", "--policies", "policies.json", "-"],
        Some(&input),
    );
    assert_eq!(o.status.code(), Some(2), "the third line cannot be decided");
    let results: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results[0]["decision"], "Allow", "{}", results[0]);
    let mut second = results[1].clone();
    second["line"] = 1.into();
    assert_eq!(
        second, results[0],
        "a reference decides as the document does"
    );
    let error = results[2]["error"].as_str().unwrap();
    assert!(
        error.contains("no policy named \"nope\" in the --policies file"),
        "{error}"
    );
    // Without the flag, the reference is an error that names the flag.
    let o = authorize(&dir, &["--batch", "-"], Some(&format!("{referring}\n")));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("--policies file, and none was given"),
        "{}",
        stdout(&o)
    );
    // A library that is not an object of documents: file:line:column, nothing decided.
    std::fs::write(dir.join("bad.json"), "{\n  \"payroll\": [1]\n}\n").unwrap();
    let o = authorize(
        &dir,
        &["--batch", "--policies", "bad.json", "-"],
        Some(&input),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("bad.json"), "{}", stderr(&o));
}
