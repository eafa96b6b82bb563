//! `fixtures/conditions/FAMILY.json`: condition blocks evaluated against a request context, each
//! with whether the block holds. Trials: `conditions/FAMILY/CASE`.

use crate::support::{Collected, corpus_dir, duplicate_names, list, load, settle_json, stem};
use keyward_conditions::{CompiledCondition, RequestContext};
use keyward_policy::parse_condition_block;
use libtest_mimic::Failed;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[allow(
        dead_code,
        reason = "kept for the case of a corpus file that needs it; not every file does"
    )]
    about: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The policy's Version: `2012-10-17` (the default) substitutes policy variables,
    /// `2008-10-17` and `none` do not.
    #[serde(default)]
    version: Option<String>,
    /// The `Condition` block, as written.
    condition: Box<RawValue>,
    /// The request's condition keys: a string, number or boolean is a single value (compared by
    /// its text), an array a multivalued key; an absent key is missing.
    context: Map<String, Value>,
    /// Whether the whole block holds.
    expect: bool,
}

pub(crate) fn collect(out: &mut Collected) {
    let dir = corpus_dir("conditions");
    let files = match list(&dir, &["json"]) {
        Ok(files) => files,
        Err(problems) => return problems.into_iter().for_each(|p| out.problem(p)),
    };
    let mut count = 0;
    for path in files {
        let file: File = match load(&path) {
            Ok(file) => file,
            Err(e) => {
                out.problem(e);
                continue;
            }
        };
        for problem in duplicate_names(&path, file.cases.iter().map(|c| c.name.as_str())) {
            out.problem(problem);
        }
        let family = stem(&dir, &path);
        for case in file.cases {
            count += 1;
            let variables = match case.version.as_deref() {
                None | Some("2012-10-17") => true,
                Some("2008-10-17" | "none") => false,
                Some(other) => {
                    out.problem(format!(
                        "{}: case {:?}: unknown version {other}",
                        crate::support::shown(&path),
                        case.name
                    ));
                    continue;
                }
            };
            let file = path.clone();
            out.trial(format!("conditions/{family}/{}", case.name), move || {
                run(&file, &case, variables)
            });
        }
    }
    out.at_least("fixtures/conditions", count, 150);
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn context(keys: &Map<String, Value>) -> RequestContext {
    let mut ctx = RequestContext::new();
    for (key, v) in keys {
        match v {
            Value::Array(items) => {
                let texts: Vec<String> = items.iter().map(text_of).collect();
                ctx.insert_multi(key, texts.iter().map(String::as_str));
            }
            other => ctx.insert_single(key, &text_of(other)),
        }
    }
    ctx
}

fn run(file: &Path, case: &Case, variables: bool) -> Result<(), Failed> {
    let block = parse_condition_block(case.condition.get())
        .map_err(|e| format!("the condition does not parse: {e}"))?;
    let condition = CompiledCondition::new(&block, variables)
        .map_err(|e| format!("the condition does not compile: {e}"))?;
    let ctx = context(&case.context);
    let actual = condition.evaluate(&ctx);
    settle_json(
        file,
        &case.name,
        &case.expect,
        &actual,
        actual == case.expect,
        || {
            let why: Vec<String> = condition
                .explain(&ctx)
                .iter()
                .map(|o| format!("    {o}"))
                .collect();
            format!("every test of the block:\n{}", why.join("\n"))
        },
    )
}
