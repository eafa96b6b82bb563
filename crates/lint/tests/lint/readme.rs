//! The README's rule table is the rule catalogue: every rule, its severity and summary, in
//! catalogue order. `KEYWARD_BLESS=1 cargo test -p keyward-lint --test readme` rewrites it.

use keyward_lint::RULES;
use std::path::Path;

const START: &str = "<!-- rules:start -->\n";
const END: &str = "<!-- rules:end -->";

fn table() -> String {
    let mut out = String::from("| Rule | Severity | What it finds |\n|---|---|---|\n");
    for rule in RULES {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            rule.id,
            rule.severity,
            rule.summary.replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn readme_rule_table_matches_the_catalogue() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(START).expect("README has <!-- rules:start -->") + START.len();
    let end = readme.find(END).expect("README has <!-- rules:end -->");
    let expected = table();
    if readme[start..end] != expected {
        if std::env::var_os("KEYWARD_BLESS").is_some() {
            let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, updated).unwrap();
        } else {
            panic!("README rule table is stale; rerun with KEYWARD_BLESS=1:\n{expected}");
        }
    }
}
