//! What no fixture of the lint corpus can show: a policy over 1 MiB does not belong in the
//! repository.

use keyward_lint::{LintOptions, lint};

#[test]
fn input_over_one_mebibyte_is_one_finding() {
    let mut text = String::from(r#"{"Version": "2012-10-17", "Statement": [], "Id": ""#);
    text.push_str(&"a".repeat(1 << 20));
    text.push_str("\"}");
    let findings = lint(&text, &LintOptions::default());
    let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["input-too-large"]);
}
