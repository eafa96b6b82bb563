//! The canonical printer: one stable layout for any document.
//!
//! Elements in a fixed order (`Version`, `Id`, `Statement`; in a statement `Sid`, `Effect`,
//! principal, action, resource, `Condition`), two-space indentation, `Statement` always a list,
//! a single value as a scalar and several as a list one per line. Numbers and booleans in
//! conditions are printed as they were written. `parse(print(d)) == d` for every document.

use crate::model::{
    ConditionBlock, ConditionValue, PolicyDocument, PrincipalClause, PrincipalValue, ScalarKind,
    Spanned, Statement,
};
use std::fmt::Write;

/// Print `document` in canonical form, ending with a newline.
pub fn print_policy(document: &PolicyDocument) -> String {
    let mut p = Printer::default();
    p.open('{');
    if let Some(version) = &document.version {
        p.member("Version");
        p.string(version.value.as_str());
    }
    if let Some(id) = &document.id {
        p.member("Id");
        p.string(&id.value);
    }
    p.member("Statement");
    p.open('[');
    for statement in &document.statements {
        p.item();
        statement_body(&mut p, &statement.value);
    }
    p.close(']');
    p.close('}');
    p.out.push('\n');
    p.out
}

fn statement_body(p: &mut Printer, statement: &Statement) {
    p.open('{');
    if let Some(sid) = &statement.sid {
        p.member("Sid");
        p.string(&sid.value);
    }
    p.member("Effect");
    p.string(statement.effect.value.as_str());
    if let Some(principal) = &statement.principal {
        principal_clause(p, &principal.value);
    }
    p.member(statement.action.value.element());
    p.strings(&statement.action.value.patterns);
    if let Some(resource) = &statement.resource {
        p.member(resource.value.element());
        p.strings(&resource.value.patterns);
    }
    if let Some(condition) = &statement.condition {
        p.member("Condition");
        condition_block(p, &condition.value);
    }
    p.close('}');
}

fn principal_clause(p: &mut Printer, clause: &PrincipalClause) {
    p.member(clause.element());
    match &clause.value {
        PrincipalValue::Everyone => p.string("*"),
        PrincipalValue::Map(entries) => {
            p.open('{');
            for entry in entries {
                p.member(entry.principal_type.value.as_str());
                p.strings(&entry.values);
            }
            p.close('}');
        }
    }
}

fn condition_block(p: &mut Printer, block: &ConditionBlock) {
    p.open('{');
    for entry in &block.operators {
        p.member(&entry.operator.value.to_string());
        p.open('{');
        for key in &entry.keys {
            p.member(&key.key.value);
            match key.values.as_slice() {
                [one] => p.condition_value(&one.value),
                many => {
                    p.open('[');
                    for v in many {
                        p.item();
                        p.condition_value(&v.value);
                    }
                    p.close(']');
                }
            }
        }
        p.close('}');
    }
    p.close('}');
}

/// A small pretty-printer that tracks indentation and separators.
#[derive(Default)]
struct Printer {
    out: String,
    depth: usize,
    /// Whether the current container already has an entry (so the next needs a comma).
    has_entry: Vec<bool>,
}

impl Printer {
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, bracket: char) {
        self.out.push(bracket);
        self.depth += 1;
        self.has_entry.push(false);
    }

    fn close(&mut self, bracket: char) {
        self.depth = self.depth.saturating_sub(1);
        if self.has_entry.pop().unwrap_or(false) {
            self.newline();
        }
        self.out.push(bracket);
    }

    /// Start the next entry of the current container.
    fn item(&mut self) {
        if let Some(has) = self.has_entry.last_mut() {
            if *has {
                self.out.push(',');
            }
            *has = true;
        }
        self.newline();
    }

    fn member(&mut self, name: &str) {
        self.item();
        self.quoted(name);
        self.out.push_str(": ");
    }

    fn quoted(&mut self, text: &str) {
        let _ = write!(self.out, "{}", serde_json::Value::String(text.to_owned()));
    }

    fn string(&mut self, text: &str) {
        self.quoted(text);
    }

    fn strings(&mut self, values: &[Spanned<String>]) {
        match values {
            [one] => self.string(&one.value),
            many => {
                self.open('[');
                for v in many {
                    self.item();
                    self.string(&v.value);
                }
                self.close(']');
            }
        }
    }

    fn condition_value(&mut self, value: &ConditionValue) {
        match value.kind {
            ScalarKind::String => self.string(&value.text),
            ScalarKind::Number | ScalarKind::Bool => self.out.push_str(&value.text),
        }
    }
}
