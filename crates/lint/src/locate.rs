//! Where a finding is: the JSON pointer of the innermost element holding its span.

use jsonc_parser::ast::{ObjectPropName, Value};
use keyward_policy::Span;
use keyward_policy::parser::strict_json;

/// The syntax tree of a policy text, for pointers. `None` for text that is not JSON.
pub(crate) struct Pointers<'t> {
    tree: Option<Value<'t>>,
}

fn range_of(value: &Value<'_>) -> (usize, usize) {
    let range = match value {
        Value::StringLit(v) => v.range,
        Value::NumberLit(v) => v.range,
        Value::BooleanLit(v) => v.range,
        Value::Object(v) => v.range,
        Value::Array(v) => v.range,
        Value::NullKeyword(v) => v.range,
    };
    (range.start, range.end)
}

fn contains((start, end): (usize, usize), span: Span) -> bool {
    start <= span.start && span.end <= end
}

fn escape(token: &str, out: &mut String) {
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

impl<'t> Pointers<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let tree = jsonc_parser::parse_to_ast(text, &Default::default(), &strict_json())
            .ok()
            .and_then(|parsed| parsed.value);
        Self { tree }
    }

    /// The pointer of the innermost value (or member) whose text holds `span`; `""` (the
    /// document) when none does.
    pub(crate) fn pointer(&self, span: Span) -> String {
        let mut out = String::new();
        let mut node = self.tree.as_ref();
        // Bounded by the nesting limit the parser enforced (32).
        while let Some(value) = node {
            node = None;
            match value {
                Value::Object(object) => {
                    for prop in &object.properties {
                        let (name, name_range) = match &prop.name {
                            ObjectPropName::String(s) => (s.value.as_ref(), s.range),
                            ObjectPropName::Word(w) => (w.value, w.range),
                        };
                        let member = (name_range.start, range_of(&prop.value).1);
                        if contains(member, span) {
                            escape(name, &mut out);
                            if contains(range_of(&prop.value), span) {
                                node = Some(&prop.value);
                            }
                            break;
                        }
                    }
                }
                Value::Array(array) => {
                    for (index, element) in array.elements.iter().enumerate() {
                        if contains(range_of(element), span) {
                            escape(&index.to_string(), &mut out);
                            node = Some(element);
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_name_the_innermost_element() {
        let text = r#"{"Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"]}], "a/b~": 1}"#;
        let pointers = Pointers::new(text);
        let at = |needle: &str| {
            let start = text.find(needle).unwrap();
            pointers.pointer(Span::new(start, start + needle.len()))
        };
        assert_eq!(at("\"kms:Encrypt\""), "/Statement/0/Action/1");
        assert_eq!(at("\"Allow\""), "/Statement/0/Effect");
        assert_eq!(at("\"Effect\""), "/Statement/0/Effect");
        let one = text.find(": 1}").unwrap() + 2;
        assert_eq!(pointers.pointer(Span::new(one, one + 1)), "/a~1b~0");
        assert_eq!(Pointers::new("not json").pointer(Span::new(0, 1)), "");
    }
}
