//! `keyward who-can`: every principal that can use the key, how, and when. From the account's
//! IAM data, the key's policy, grants and properties, and the organization's SCPs, each as
//! the aws CLI prints it.

use super::Outcome;
use super::diff::{key, read_grants};
use crate::input;
use keyward_analysis::{AuthorizationDetails, NamedPolicy, WhoCanInputs, WhoCanReport};
use keyward_policy::catalog::{ActionId, kms_action};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};

/// Output formats of `who-can`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhoCanFormat {
    Text,
    Json,
    Dot,
}

/// What `keyward who-can` is asked.
#[derive(Debug)]
pub(crate) struct WhoCanArgs {
    pub(crate) account: super::AccountArgs,
    pub(crate) actions: Vec<String>,
    pub(crate) format: WhoCanFormat,
}

/// The most bytes of a saved `aws iam get-account-authorization-details` output read.
const MAX_DETAILS_BYTES: usize = 64 << 20;

/// Answer and print; 0 on an answer, 2 on an error.
pub(crate) fn run(args: &WhoCanArgs) -> Outcome {
    match answer(args) {
        Ok(report) => {
            for warning in &report.warnings {
                crate::out::eprintln(&format!("keyward: warning: {warning}"));
            }
            print(args, &report);
            Outcome::Success
        }
        Err(messages) => {
            for message in messages {
                crate::out::eprintln(&message);
            }
            Outcome::Error
        }
    }
}

fn answer(args: &WhoCanArgs) -> Result<WhoCanReport, Vec<String>> {
    let mut actions: Vec<ActionId> = Vec::new();
    for name in &args.actions {
        let action = kms_action(name)
            .filter(|a| a.involves_a_key())
            .ok_or_else(|| {
                vec![format!(
                    "keyward: error: {name} is not a KMS action on a key or an alias"
                )]
            })?;
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    let key_policy = super::can::key_policy(&args.account.key_policy)?;
    let details = match &args.account.authorization_details {
        Some(path) => {
            let input = input::read_limited(path, Some(MAX_DETAILS_BYTES)).map_err(|m| vec![m])?;
            Some(AuthorizationDetails::read(&input.text).map_err(|e| {
                vec![format!(
                    "keyward: error: {}:{}:{}: {}",
                    input.name, e.line, e.column, e.message
                )]
            })?)
        }
        None => None,
    };
    let grants = match &args.account.grants {
        Some(path) => read_grants(path)?,
        None => Vec::new(),
    };
    let scp_levels = read_scp_levels(&args.account.scps)?;
    let rcps = read_scp_levels(&args.account.rcps)?
        .into_iter()
        .flatten()
        .collect();
    let key = key(&args.account.key, &[&key_policy.text])?;
    // On a terminal, what it is doing, on one line of stderr that the answer clears.
    let terminal = std::io::stderr().is_terminal();
    let progress = |line: &str| {
        if terminal {
            let _ = write!(std::io::stderr(), "\r\x1b[Kkeyward who-can: {line}");
        }
    };
    let report = keyward_analysis::who_can_reporting(
        &WhoCanInputs {
            key,
            key_policy: key_policy.text,
            grants,
            details,
            scp_levels,
            rcps,
            actions,
        },
        &progress,
    );
    if terminal {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    report.map_err(|e| vec![format!("keyward: error: {e}")])
}

/// The organization policies of `--scp` (one level each) or `--rcp` files, each read as
/// `keyward_analysis::read_scp_level` reads one; an error names the file and the place.
pub(crate) fn read_scp_levels(paths: &[String]) -> Result<Vec<Vec<NamedPolicy>>, Vec<String>> {
    let mut levels = Vec::new();
    for path in paths {
        let input = input::read(path).map_err(|m| vec![m])?;
        let level = keyward_analysis::read_scp_level(&input.text, &input.name).map_err(|e| {
            vec![format!(
                "keyward: error: {}:{}:{}: {}",
                input.name, e.line, e.column, e.message
            )]
        })?;
        levels.push(level);
    }
    Ok(levels)
}

fn print(args: &WhoCanArgs, report: &WhoCanReport) {
    match args.format {
        WhoCanFormat::Json => {
            crate::out::println(&format!("{:#}", serde_json::json!(report)));
        }
        WhoCanFormat::Dot => crate::out::print(&dot(report)),
        WhoCanFormat::Text => crate::out::print(&text(args, report)),
    }
}

fn text(args: &WhoCanArgs, report: &WhoCanReport) -> String {
    let mut out = format!("Who can use {}\n", report.key);
    if args.account.authorization_details.is_some() {
        let _ = writeln!(
            out,
            "{} principals of the account, decided with their own identity policies in {} groups; other callers as classes whose own IAM policies are assumed to allow.",
            report.principals, report.groups
        );
    } else {
        out.push_str("(no --authorization-details: every IAM principal's identity policies are assumed to allow every KMS action)\n");
    }
    let (access, shadowed): (Vec<_>, Vec<_>) =
        report.rows.iter().partition(|r| r.shadowed_by.is_empty());
    if access.is_empty() {
        out.push_str("\nNo one can use the key.\n");
    }
    for row in access {
        write_row(&mut out, row);
    }
    if !shadowed.is_empty() {
        out.push_str("\nShadowed: what a path would allow and something denies\n");
    }
    for row in shadowed {
        write_row(&mut out, row);
    }
    out
}

/// A row as text: who, what, when, how, what shadows it (when something does), and the
/// witness.
fn write_row(out: &mut String, row: &keyward_analysis::WhoCanRow) {
    let _ = write!(
        out,
        "\n{} ({}, {})\n  actions:     {}\n  when:        {}\n  via:         {}\n",
        row.principal,
        row.kind.noun(),
        row.scope,
        row.actions.join(", "),
        row.condition,
        row.via.join(", "),
    );
    if !row.shadowed_by.is_empty() {
        let _ = writeln!(out, "  shadowed by: {}", row.shadowed_by.join(", "));
    }
    let _ = writeln!(out, "  witness:     {}", row.witness);
}

/// A DOT string literal.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The graph principals → paths → key, for Graphviz. A shadowed access is a dashed red edge
/// labelled with what shadows it.
fn dot(report: &WhoCanReport) -> String {
    let mut out = String::from(
        "digraph who_can {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    let _ = writeln!(
        out,
        "  key [shape=doubleoctagon, style=filled, fillcolor=\"#fff2cc\", label={}];",
        quoted(&report.key)
    );
    let mut principals: BTreeMap<&str, usize> = BTreeMap::new();
    let mut paths: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &report.rows {
        let next = principals.len();
        if let std::collections::btree_map::Entry::Vacant(e) =
            principals.entry(row.principal.as_str())
        {
            e.insert(next);
            let _ = writeln!(
                out,
                "  p{next} [shape=box, label={}];",
                quoted(&format!(
                    "{}\n({}, {})",
                    row.principal,
                    row.kind.noun(),
                    row.scope
                ))
            );
        }
        for via in &row.via {
            let next = paths.len();
            if let std::collections::btree_map::Entry::Vacant(e) = paths.entry(via.as_str()) {
                e.insert(next);
                let _ = writeln!(out, "  v{next} [shape=ellipse, label={}];", quoted(via));
                let _ = writeln!(out, "  v{next} -> key;");
            }
        }
    }
    for row in &report.rows {
        let Some(p) = principals.get(row.principal.as_str()) else {
            continue;
        };
        let mut label = row.actions.join("\n");
        if row.condition != "always" {
            let _ = write!(label, "\nwhen {}", row.condition);
        }
        let style = if row.shadowed_by.is_empty() {
            String::new()
        } else {
            let _ = write!(label, "\nshadowed by {}", row.shadowed_by.join(", "));
            ", style=dashed, color=red, fontcolor=red".to_owned()
        };
        for via in &row.via {
            if let Some(v) = paths.get(via.as_str()) {
                let _ = writeln!(out, "  p{p} -> v{v} [label={}{style}];", quoted(&label));
            }
        }
    }
    out.push_str("}\n");
    out
}
