//! Writes the batch workloads of `keyward authorize --batch` into a directory (default
//! `target/batch`): 100,000 requests each, as JSON Lines.
//!
//! - `mixed.jsonl`: one key policy and one identity policy embedded in every line, mixed
//!   principals (users, roles, sessions, another account's role), actions and encryption
//!   contexts: the batch figure of `benches/README.md`.
//! - `console.jsonl`: the console-style request of the `decision` group's case (b) (four
//!   statements with conditions, a session caller), its encryption context varying.
//! - `console-refs.jsonl` with `policies.json`: the same requests naming their key policy
//!   `{"ref": "console"}` (`--policies policies.json`).
//!
//! Then, for instance: `keyward authorize --batch DIR/mixed.jsonl > /dev/null`, beside
//! `batch_parse_only DIR/mixed.jsonl` (the same-run floor).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_benches::decision;
use serde_json::{Value, json};
use std::io::Write;

const LINES: usize = 100_000;
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/batch").to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| std::path::Path::new(&dir).join(name);
    let key_policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Apps", "Effect": "Allow",
         "Principal": {"AWS": ["arn:aws:iam::111122223333:role/App", "arn:aws:iam::444455556666:role/Partner"]},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": ["t-1", "t-2", "t-3"]}}},
        {"Sid": "NoDeletion", "Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion",
         "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]});
    let identity = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "UseKeys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"],
         "Resource": "arn:aws:kms:*:111122223333:key/*"}]});
    let principals = [
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:role/App",
        "arn:aws:sts::111122223333:assumed-role/App/worker-1",
        "arn:aws:iam::444455556666:role/Partner",
        "arn:aws:iam::111122223333:user/bob",
    ];
    let actions = [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
        "kms:ScheduleKeyDeletion",
    ];
    let mut mixed = std::io::BufWriter::new(std::fs::File::create(path("mixed.jsonl")).unwrap());
    for i in 0..LINES {
        let line = json!({
            "principal": principals[i % principals.len()],
            "action": actions[(i / 5) % actions.len()],
            "resource": KEY,
            "key_policy": key_policy,
            "identity_policies": [identity],
            "encryption_context": {"tenant": format!("t-{}", i % 4)},
            "context": {"aws:MultiFactorAuthPresent": if i % 3 == 0 { "true" } else { "false" }},
        });
        writeln!(mixed, "{line}").unwrap();
    }
    mixed.flush().unwrap();
    let console: Value = serde_json::from_str(&decision::console_policy()).unwrap();
    let mut plain = std::io::BufWriter::new(std::fs::File::create(path("console.jsonl")).unwrap());
    let mut refs =
        std::io::BufWriter::new(std::fs::File::create(path("console-refs.jsonl")).unwrap());
    for i in 0..LINES {
        let mut line = console.clone();
        line["encryption_context"]["tenant"] = format!("t-{}", i % 1000).into();
        writeln!(plain, "{line}").unwrap();
        line["key_policy"] = json!({"ref": "console"});
        writeln!(refs, "{line}").unwrap();
    }
    plain.flush().unwrap();
    refs.flush().unwrap();
    std::fs::write(
        path("policies.json"),
        json!({"console": console["key_policy"]}).to_string(),
    )
    .unwrap();
    println!(
        "wrote {LINES} lines each to {dir}/mixed.jsonl, console.jsonl, console-refs.jsonl (with policies.json)"
    );
}
