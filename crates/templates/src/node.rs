//! A template as a tree of nodes that remember where they were written, read from JSON or YAML
//! (CloudFormation's short-form tags such as `!Sub` included, kept as tags).

use crate::{Span, TemplateError};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The deepest nesting read; deeper is an error, not a stack overflow.
const MAX_DEPTH: usize = 64;

/// The most values a YAML document may expand to, its aliases expanded (an alias repeats what
/// its anchor holds: a few lines can otherwise stand for billions of values).
const MAX_NODES: usize = 1_000_000;

/// A node and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) span: Span,
    pub(crate) kind: Kind,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    /// A number as written.
    Number(String),
    String(String),
    List(Vec<Node>),
    /// Keys in the order written, each with where it is.
    Map(Vec<(String, Span, Node)>),
    /// A YAML short-form intrinsic (`!Sub`, `!GetAtt`, ...): the function's name without the
    /// `!`, and its argument.
    Tagged(String, Box<Node>),
}

impl Node {
    /// The value of `key` in a map.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, ..)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Reads JSON (strict, as CloudFormation takes it).
pub(crate) fn from_json(text: &str) -> Result<Node, TemplateError> {
    // CloudFormation reads strict JSON, as policies are read.
    let options = keyward_policy::parser::strict_json();
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options).map_err(|e| {
        TemplateError::Syntax {
            span: Span::new(e.range().start, e.range().end),
            detail: e.kind().to_string(),
        }
    })?;
    match parsed.value {
        Some(value) => json_node(&value, 0),
        None => Err(TemplateError::Syntax {
            span: Span::new(0, 0),
            detail: "the file is empty".into(),
        }),
    }
}

fn json_node(value: &jsonc_parser::ast::Value<'_>, depth: usize) -> Result<Node, TemplateError> {
    use jsonc_parser::ast::{ObjectPropName, Value};
    let range = |r: jsonc_parser::common::Range| Span::new(r.start, r.end);
    if depth > MAX_DEPTH {
        return Err(TemplateError::TooDeep);
    }
    let (span, kind) = match value {
        Value::NullKeyword(n) => (range(n.range), Kind::Null),
        Value::BooleanLit(b) => (range(b.range), Kind::Bool(b.value)),
        Value::NumberLit(n) => (range(n.range), Kind::Number(n.value.to_owned())),
        Value::StringLit(s) => (range(s.range), Kind::String(s.value.clone().into_owned())),
        Value::Array(a) => {
            let items = a
                .elements
                .iter()
                .map(|e| json_node(e, depth + 1))
                .collect::<Result<_, _>>()?;
            (range(a.range), Kind::List(items))
        }
        Value::Object(o) => {
            let mut entries = Vec::new();
            for prop in &o.properties {
                let (name, at) = match &prop.name {
                    ObjectPropName::String(s) => (s.value.clone().into_owned(), range(s.range)),
                    ObjectPropName::Word(w) => (w.value.to_owned(), range(w.range)),
                };
                entries.push((name, at, json_node(&prop.value, depth + 1)?));
            }
            (range(o.range), Kind::Map(entries))
        }
    };
    Ok(Node { span, kind })
}

/// Reads the first YAML document. Anchors and aliases are resolved; a short-form tag becomes
/// [`Kind::Tagged`].
pub(crate) fn from_yaml(text: &str) -> Result<Node, TemplateError> {
    // Markers count characters: their byte offsets.
    let offsets: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let byte = |m: &Marker| offsets.get(m.index()).copied().unwrap_or(text.len());
    let mut parser = Parser::new_from_str(text);
    let mut builder = YamlBuilder {
        stack: Vec::new(),
        anchors: Vec::new(),
        root: None,
        nodes: 0,
    };
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let at = byte(e.marker());
            TemplateError::Syntax {
                span: Span::new(at, at),
                detail: e.info().to_owned(),
            }
        })?;
        let at = byte(&mark);
        match event {
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart => {}
            Event::Alias(id) => {
                let node = builder
                    .anchors
                    .iter()
                    .rev()
                    .find(|(anchor, _)| *anchor == id)
                    .map(|(_, n)| n.clone())
                    .ok_or(TemplateError::Syntax {
                        span: Span::new(at, at),
                        detail: "an alias to an anchor not defined before it".into(),
                    })?;
                builder.count(count(&node), at)?;
                builder.push(node, 0)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let end = scalar_end(text, at, &value, style);
                let kind = if style == TScalarStyle::Plain {
                    plain(&value)
                } else {
                    Kind::String(value)
                };
                let node = tagged(
                    Node {
                        span: Span::new(at, end),
                        kind,
                    },
                    tag.as_ref(),
                );
                builder.count(1, at)?;
                builder.push(node, anchor)?;
            }
            Event::SequenceStart(anchor, tag) => {
                builder.open(at, Open::List(Vec::new()), anchor, tag_name(tag.as_ref()))?;
            }
            Event::MappingStart(anchor, tag) => {
                builder.open(
                    at,
                    Open::Map(Vec::new(), None),
                    anchor,
                    tag_name(tag.as_ref()),
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close(at)?,
        }
        if builder.root.is_some() && builder.stack.is_empty() {
            break;
        }
    }
    builder.root.ok_or(TemplateError::Syntax {
        span: Span::new(0, 0),
        detail: "the file holds no YAML document".into(),
    })
}

/// Where a scalar ends: its text's length from where it starts, quotes included (a block or
/// folded scalar is given its first line).
fn scalar_end(text: &str, at: usize, value: &str, style: TScalarStyle) -> usize {
    let rest = text.get(at..).unwrap_or_default();
    let line = rest.lines().next().unwrap_or_default();
    let width = match style {
        TScalarStyle::Plain => value.len().min(line.len()),
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
            // The closing quote on this line, when it is there.
            let quote = if style == TScalarStyle::SingleQuoted {
                '\''
            } else {
                '"'
            };
            line.char_indices()
                .skip(1)
                .find(|&(_, c)| c == quote)
                .map_or(line.len(), |(i, _)| i + 1)
        }
        _ => line.len(),
    };
    at + width
}

/// A plain scalar's YAML type, as CloudFormation reads it.
fn plain(value: &str) -> Kind {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => Kind::Null,
        "true" | "True" | "TRUE" => Kind::Bool(true),
        "false" | "False" | "FALSE" => Kind::Bool(false),
        _ if serde_json::from_str::<serde_json::Number>(value).is_ok() => {
            Kind::Number(value.to_owned())
        }
        _ => Kind::String(value.to_owned()),
    }
}

/// The intrinsic function a short-form tag names (`!Sub` → `Sub`), when it is one.
fn tag_name(tag: Option<&yaml_rust2::parser::Tag>) -> Option<String> {
    let tag = tag?;
    (tag.handle == "!").then(|| tag.suffix.clone())
}

fn tagged(node: Node, tag: Option<&yaml_rust2::parser::Tag>) -> Node {
    match tag_name(tag) {
        Some(name) => Node {
            span: node.span,
            kind: Kind::Tagged(name, Box::new(node)),
        },
        None => node,
    }
}

enum Open {
    List(Vec<Node>),
    /// The entries, and the key waiting for its value.
    Map(Vec<(String, Span, Node)>, Option<(String, Span)>),
}

struct Frame {
    start: usize,
    open: Open,
    anchor: usize,
    tag: Option<String>,
}

struct YamlBuilder {
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node)>,
    root: Option<Node>,
    /// How many values have been built, aliases expanded.
    nodes: usize,
}

/// How many values `node` holds, itself included.
fn count(node: &Node) -> usize {
    1 + match &node.kind {
        Kind::List(items) => items.iter().map(count).sum(),
        Kind::Map(entries) => entries.iter().map(|(_, _, v)| count(v)).sum(),
        Kind::Tagged(_, inner) => count(inner),
        _ => 0,
    }
}

impl YamlBuilder {
    fn count(&mut self, more: usize, at: usize) -> Result<(), TemplateError> {
        self.nodes = self.nodes.saturating_add(more);
        if self.nodes > MAX_NODES {
            return Err(TemplateError::Syntax {
                span: Span::new(at, at),
                detail: format!(
                    "the document stands for more than {MAX_NODES} values, its aliases expanded"
                ),
            });
        }
        Ok(())
    }

    fn open(
        &mut self,
        start: usize,
        open: Open,
        anchor: usize,
        tag: Option<String>,
    ) -> Result<(), TemplateError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(TemplateError::TooDeep);
        }
        self.stack.push(Frame {
            start,
            open,
            anchor,
            tag,
        });
        Ok(())
    }

    fn close(&mut self, end: usize) -> Result<(), TemplateError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        self.count(1, end)?;
        let kind = match frame.open {
            Open::List(items) => Kind::List(items),
            Open::Map(entries, _) => Kind::Map(entries),
        };
        let mut node = Node {
            span: Span::new(frame.start, end.max(frame.start)),
            kind,
        };
        if let Some(name) = frame.tag {
            node = Node {
                span: node.span,
                kind: Kind::Tagged(name, Box::new(node)),
            };
        }
        self.push(node, frame.anchor)
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<(), TemplateError> {
        if anchor != 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(frame) => match &mut frame.open {
                Open::List(items) => items.push(node),
                Open::Map(entries, pending) => match pending.take() {
                    Some((key, at)) => entries.push((key, at, node)),
                    None => {
                        let key = match &node.kind {
                            Kind::String(s) | Kind::Number(s) => s.clone(),
                            Kind::Bool(b) => b.to_string(),
                            Kind::Null => String::new(),
                            _ => {
                                return Err(TemplateError::Syntax {
                                    span: node.span,
                                    detail: "a mapping key that is not a scalar".into(),
                                });
                            }
                        };
                        *pending = Some((key, node.span));
                    }
                },
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    #[test]
    fn yaml_keeps_short_form_tags_and_positions() {
        let text = "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Arn: !GetAtt Role.Arn\n    Sub: !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root'\n";
        let root = from_yaml(text).unwrap();
        let key = root.get("Resources").unwrap().get("Key").unwrap();
        assert_eq!(key.get("Type").unwrap().as_str(), Some("AWS::KMS::Key"));
        let arn = key.get("Arn").unwrap();
        match &arn.kind {
            Kind::Tagged(name, inner) => {
                assert_eq!(name, "GetAtt");
                assert_eq!(inner.as_str(), Some("Role.Arn"));
            }
            other => panic!("{other:?}"),
        }
        let sub = key.get("Sub").unwrap();
        assert_eq!(
            text.get(sub.span.start..sub.span.end),
            Some("'arn:${AWS::Partition}:iam::${AWS::AccountId}:root'")
        );
    }

    #[test]
    fn yaml_aliases_and_types() {
        let root = from_yaml("a: &x [1, true, ~, '2']\nb: *x\n").unwrap();
        assert_eq!(
            root.get("a").map(|n| &n.kind),
            root.get("b").map(|n| &n.kind)
        );
        match &root.get("a").unwrap().kind {
            Kind::List(items) => {
                assert_eq!(items[0].kind, Kind::Number("1".into()));
                assert_eq!(items[1].kind, Kind::Bool(true));
                assert_eq!(items[2].kind, Kind::Null);
                assert_eq!(items[3].kind, Kind::String("2".into()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aliases_cannot_expand_without_bound() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        match from_yaml(&text) {
            Err(TemplateError::Syntax { detail, .. }) => {
                assert!(detail.contains("aliases expanded"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_input_is_an_error_with_a_place() {
        assert!(matches!(
            from_yaml("a: [1, 2\n"),
            Err(TemplateError::Syntax { .. })
        ));
        assert!(matches!(
            from_json("{\"a\": }"),
            Err(TemplateError::Syntax { .. })
        ));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(from_json(&deep), Err(TemplateError::TooDeep));
        assert_eq!(from_yaml(&deep), Err(TemplateError::TooDeep));
    }
}
