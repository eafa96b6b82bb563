//! JSON text to [`PolicyDocument`], keeping the span of every element and value.
//!
//! Two passes over the text: serde_json checks that it is strict RFC 8259 JSON nested at most
//! [`MAX_NESTING_DEPTH`] deep (building nothing), then jsonc-parser, in strict mode, builds the
//! syntax tree with byte ranges that this module walks into the typed model. The first pass is
//! not redundant: jsonc-parser's strict mode still accepts raw control characters in strings.
//! The walk reports every shape problem it can find, not just the first.

use crate::error::{Diagnostics, PolicyErrorKind};
use crate::model::{
    ActionClause, ConditionBlock, ConditionKeyEntry, ConditionOperatorEntry, ConditionValue,
    Effect, PolicyDocument, PrincipalClause, PrincipalEntry, PrincipalType, PrincipalValue,
    ResourceClause, ScalarKind, Spanned, Statement, Version,
};
use crate::operator::ConditionOperator;
use crate::source::{LineIndex, Span};
use crate::suggest::did_you_mean;
use jsonc_parser::ast::{Object, ObjectProp, Value};
use jsonc_parser::common::Range;
use std::cell::OnceCell;
use std::collections::HashMap;

/// The largest input the parser reads at all, whatever the policy kind (1 MiB). Key policies
/// are further limited to the KMS quota by validation.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// The deepest nesting of objects and arrays the parser accepts. The policy grammar needs 7
/// levels (policy, Statement list, statement, Condition, operator, key, value list).
pub const MAX_NESTING_DEPTH: usize = 32;

const DOCUMENT_ELEMENTS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// Parse a policy document. On failure, every problem found, in source order.
///
/// This checks the shape of the document (JSON types, known elements, no duplicate keys,
/// required elements present). What the values mean, and the rules of a policy kind, are
/// checked by [`validate`](crate::validate::validate).
pub fn parse_policy(text: &str) -> Result<PolicyDocument, Diagnostics> {
    Parser::run(text, |parser, tree| {
        let Value::Object(root) = tree else {
            parser.wrong_type("the policy", "a JSON object", tree);
            return None;
        };
        parser.policy(root)
    })
}

/// Parse a `Condition` block on its own (`{"StringEquals": {"kms:ViaService": "..."}}`), with
/// spans into `text`: for tools and tests that work on conditions alone.
pub fn parse_condition_block(text: &str) -> Result<ConditionBlock, Diagnostics> {
    Parser::run(text, |parser, tree| parser.condition(tree))
}

struct Parser<'t> {
    text: &'t str,
    lines: OnceCell<LineIndex<'t>>,
    diags: Diagnostics,
}

fn span(range: Range) -> Span {
    Span::new(range.start, range.end)
}

fn json_type(value: &Value<'_>) -> &'static str {
    match value {
        Value::StringLit(_) => "a string",
        Value::NumberLit(_) => "a number",
        Value::BooleanLit(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::NullKeyword(_) => "null",
    }
}

fn value_span(value: &Value<'_>) -> Span {
    match value {
        Value::StringLit(v) => span(v.range),
        Value::NumberLit(v) => span(v.range),
        Value::BooleanLit(v) => span(v.range),
        Value::Object(v) => span(v.range),
        Value::Array(v) => span(v.range),
        Value::NullKeyword(v) => span(v.range),
    }
}

fn name_span(prop: &ObjectProp<'_>) -> Span {
    match &prop.name {
        jsonc_parser::ast::ObjectPropName::String(s) => span(s.range),
        jsonc_parser::ast::ObjectPropName::Word(w) => span(w.range),
    }
}

impl<'t> Parser<'t> {
    fn lines(&self) -> &LineIndex<'t> {
        self.lines.get_or_init(|| LineIndex::new(self.text))
    }

    fn error(&mut self, kind: PolicyErrorKind, at: Span) {
        self.diags.push(kind, at);
    }

    /// Check `text`, build its syntax tree, and hand it to `walk`; every problem either
    /// reports is returned, sorted.
    fn run<T>(
        text: &'t str,
        walk: impl FnOnce(&mut Self, &Value<'t>) -> Option<T>,
    ) -> Result<T, Diagnostics> {
        let mut parser = Self {
            text,
            lines: OnceCell::new(),
            diags: Diagnostics::new(),
        };
        let result = parser
            .syntax_tree()
            .and_then(|tree| walk(&mut parser, &tree));
        match result {
            Some(result) if parser.diags.is_empty() => Ok(result),
            _ => {
                let mut diags = parser.diags;
                diags.sort();
                Err(diags)
            }
        }
    }

    /// The strict-JSON syntax tree of the text, or `None` with the problem reported.
    fn syntax_tree(&mut self) -> Option<Value<'t>> {
        if self.text.len() > MAX_INPUT_BYTES {
            self.error(
                PolicyErrorKind::InputTooLarge {
                    size: self.text.len(),
                    limit: MAX_INPUT_BYTES,
                },
                Span::new(0, 0),
            );
            return None;
        }
        if let Err(e) = check_strict_json(self.text) {
            let at = self.offset_of(e.line(), e.column());
            if e.is_data() {
                // The only data error the depth-counting visitor raises.
                self.error(
                    PolicyErrorKind::NestingTooDeep {
                        limit: MAX_NESTING_DEPTH,
                    },
                    Span::new(at, (at + 1).min(self.text.len())),
                );
            } else {
                let detail = strip_serde_position(&e.to_string());
                self.error(PolicyErrorKind::InvalidJson { detail }, Span::new(at, at));
            }
            return None;
        }
        let parsed =
            match jsonc_parser::parse_to_ast(self.text, &Default::default(), &strict_json()) {
                Ok(parsed) => parsed,
                Err(e) => {
                    let detail = e.kind().to_string();
                    self.error(PolicyErrorKind::InvalidJson { detail }, span(e.range()));
                    return None;
                }
            };
        let Some(tree) = parsed.value else {
            self.error(
                PolicyErrorKind::InvalidJson {
                    detail: "the text holds no JSON value".to_owned(),
                },
                Span::new(0, self.text.len()),
            );
            return None;
        };
        Some(tree)
    }

    /// Byte offset of serde_json's 1-based line and column (column counts bytes).
    fn offset_of(&self, line: usize, column: usize) -> usize {
        let mut offset = 0;
        for (i, l) in self.text.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                let mut at = offset + column.saturating_sub(1).min(l.len());
                while at > 0 && !self.text.is_char_boundary(at) {
                    at -= 1;
                }
                return at;
            }
            offset += l.len();
        }
        self.text.len()
    }

    fn wrong_type(&mut self, element: &str, expected: &'static str, found: &Value<'_>) {
        self.error(
            PolicyErrorKind::WrongType {
                element: element.to_owned(),
                expected,
                found: json_type(found),
            },
            value_span(found),
        );
    }

    /// The members of `object`, first occurrence of each name only; later duplicates are
    /// reported. Allocates nothing unless the object has duplicates or many members.
    fn members<'o, 'a>(
        &mut self,
        object: &'o Object<'a>,
    ) -> impl Iterator<Item = &'o ObjectProp<'a>> + use<'o, 'a> {
        let duplicates = self.duplicates(object);
        object
            .properties
            .iter()
            .enumerate()
            // `duplicates` is in increasing order.
            .filter(move |(i, _)| duplicates.binary_search(i).is_err())
            .map(|(_, prop)| prop)
    }

    /// Indices of members whose name an earlier member already has; each is reported.
    fn duplicates(&mut self, object: &Object<'_>) -> Vec<usize> {
        let props = &object.properties;
        let mut found = Vec::new();
        let mut record =
            |this: &mut Self, i: usize, first: &ObjectProp<'_>, prop: &ObjectProp<'_>| {
                found.push(i);
                if !this.diags.is_full() {
                    let first = this.lines().start(name_span(first));
                    this.error(
                        PolicyErrorKind::DuplicateKey {
                            key: prop.name.as_str().to_owned(),
                            first,
                        },
                        name_span(prop),
                    );
                }
            };
        if props.len() <= 16 {
            for (i, prop) in props.iter().enumerate() {
                let earlier = props.get(..i).unwrap_or(&[]);
                if let Some(first) = earlier
                    .iter()
                    .find(|p| p.name.as_str() == prop.name.as_str())
                {
                    record(self, i, first, prop);
                }
            }
        } else {
            let mut seen: HashMap<&str, usize> = HashMap::with_capacity(props.len());
            for (i, prop) in props.iter().enumerate() {
                match seen.get(prop.name.as_str()).and_then(|&j| props.get(j)) {
                    Some(first) => record(self, i, first, prop),
                    None => {
                        seen.insert(prop.name.as_str(), i);
                    }
                }
            }
        }
        found
    }

    fn unknown(&mut self, prop: &ObjectProp<'_>, context: &'static str, known: &[&'static str]) {
        let name = prop.name.as_str();
        self.error(
            PolicyErrorKind::UnknownElement {
                name: name.to_owned(),
                context,
                suggestion: did_you_mean(name, known.iter().copied()),
            },
            name_span(prop),
        );
    }

    fn policy(&mut self, root: &Object<'_>) -> Option<PolicyDocument> {
        let mut version = None;
        let mut id = None;
        let mut statements = None;
        for prop in self.members(root) {
            match prop.name.as_str() {
                "Version" => version = self.version(&prop.value),
                "Id" => id = self.string("Id", &prop.value),
                "Statement" => statements = self.statements(&prop.value),
                _ => self.unknown(prop, "the policy", &DOCUMENT_ELEMENTS),
            }
        }
        if statements.is_none() && !has_member(root, "Statement") {
            self.error(
                PolicyErrorKind::MissingElement {
                    element: "Statement",
                    context: "the policy",
                    reason: "",
                },
                span(root.range),
            );
        }
        Some(PolicyDocument {
            version,
            id,
            statements: statements?,
        })
    }

    fn string(&mut self, element: &str, value: &Value<'_>) -> Option<Spanned<String>> {
        match value {
            Value::StringLit(s) => Some(Spanned::new(s.value.clone().into_owned(), span(s.range))),
            other => {
                self.wrong_type(element, "a string", other);
                None
            }
        }
    }

    fn version(&mut self, value: &Value<'_>) -> Option<Spanned<Version>> {
        let text = self.string("Version", value)?;
        match Version::parse(&text.value) {
            Some(v) => Some(Spanned::new(v, text.span)),
            None => {
                self.error(
                    PolicyErrorKind::InvalidVersion { value: text.value },
                    text.span,
                );
                None
            }
        }
    }

    fn statements(&mut self, value: &Value<'_>) -> Option<Vec<Spanned<Statement>>> {
        match value {
            Value::Object(object) => Some(vec![self.statement(object)?]),
            Value::Array(array) => {
                if array.elements.is_empty() {
                    self.error(
                        PolicyErrorKind::EmptyElement {
                            element: "Statement".to_owned(),
                        },
                        span(array.range),
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(array.elements.len());
                let mut ok = true;
                for element in &array.elements {
                    match element {
                        Value::Object(object) => match self.statement(object) {
                            Some(s) => out.push(s),
                            None => ok = false,
                        },
                        other => {
                            self.wrong_type("each statement", "an object", other);
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
            other => {
                self.wrong_type("Statement", "an object or an array of objects", other);
                None
            }
        }
    }

    fn statement(&mut self, object: &Object<'_>) -> Option<Spanned<Statement>> {
        let errors_before = self.diags.len();
        let mut sid = None;
        let mut effect = None;
        let mut principal: Option<Spanned<PrincipalClause>> = None;
        let mut action: Option<Spanned<ActionClause>> = None;
        let mut resource: Option<Spanned<ResourceClause>> = None;
        let mut condition = None;
        let mut seen_principal = false;
        let mut seen_action = false;
        let mut seen_resource = false;
        for prop in self.members(object) {
            let member = span(prop.range);
            match prop.name.as_str() {
                "Sid" => sid = self.string("Sid", &prop.value),
                "Effect" => effect = self.effect(&prop.value),
                name @ ("Principal" | "NotPrincipal") => {
                    let negated = name == "NotPrincipal";
                    if self.conflict(&mut seen_principal, ("Principal", "NotPrincipal"), prop) {
                        continue;
                    }
                    let element = if negated { "NotPrincipal" } else { "Principal" };
                    principal = self
                        .principal(element, &prop.value)
                        .map(|value| Spanned::new(PrincipalClause { negated, value }, member));
                }
                name @ ("Action" | "NotAction") => {
                    let negated = name == "NotAction";
                    if self.conflict(&mut seen_action, ("Action", "NotAction"), prop) {
                        continue;
                    }
                    action = self
                        .string_list(name, &prop.value)
                        .map(|patterns| Spanned::new(ActionClause { negated, patterns }, member));
                }
                name @ ("Resource" | "NotResource") => {
                    let negated = name == "NotResource";
                    if self.conflict(&mut seen_resource, ("Resource", "NotResource"), prop) {
                        continue;
                    }
                    resource = self
                        .string_list(name, &prop.value)
                        .map(|patterns| Spanned::new(ResourceClause { negated, patterns }, member));
                }
                "Condition" => {
                    condition = self.condition(&prop.value).map(|c| Spanned::new(c, member));
                }
                _ => self.unknown(prop, "a statement", &STATEMENT_ELEMENTS),
            }
        }
        let at = span(object.range);
        if !has_member(object, "Effect") {
            self.missing("Effect", at, "");
        }
        if !seen_action {
            self.missing("Action", at, "or NotAction");
        }
        // A missing Resource is the validator's business: KMS accepts it in a key policy
        // (the statement then applies to no key), IAM refuses it in an identity policy.
        if self.diags.len() != errors_before {
            return None;
        }
        Some(Spanned::new(
            Statement {
                sid,
                effect: effect?,
                principal,
                action: action?,
                resource,
                condition,
            },
            at,
        ))
    }

    /// Record that one of the exclusive `pair` was seen; report and return `true` if one was
    /// seen already.
    fn conflict(
        &mut self,
        seen: &mut bool,
        (first, second): (&'static str, &'static str),
        prop: &ObjectProp<'_>,
    ) -> bool {
        if *seen {
            self.error(
                PolicyErrorKind::ConflictingElements { first, second },
                name_span(prop),
            );
        }
        std::mem::replace(seen, true)
    }

    fn missing(&mut self, element: &'static str, at: Span, reason: &'static str) {
        self.error(
            PolicyErrorKind::MissingElement {
                element,
                context: "a statement",
                reason,
            },
            at,
        );
    }

    fn effect(&mut self, value: &Value<'_>) -> Option<Spanned<Effect>> {
        let text = self.string("Effect", value)?;
        match text.value.as_str() {
            "Allow" => Some(Spanned::new(Effect::Allow, text.span)),
            "Deny" => Some(Spanned::new(Effect::Deny, text.span)),
            other => {
                let suggestion = did_you_mean(other, ["Allow", "Deny"]);
                self.error(
                    PolicyErrorKind::InvalidEffect {
                        value: text.value.clone(),
                        suggestion,
                    },
                    text.span,
                );
                None
            }
        }
    }

    /// A string, or a non-empty array of strings.
    fn string_list(&mut self, element: &str, value: &Value<'_>) -> Option<Vec<Spanned<String>>> {
        self.string_list_labelled(value, || element.to_owned())
    }

    /// As [`string_list`](Self::string_list), naming the element only if there is an error.
    fn string_list_labelled(
        &mut self,
        value: &Value<'_>,
        element: impl Fn() -> String,
    ) -> Option<Vec<Spanned<String>>> {
        match value {
            Value::StringLit(s) => Some(vec![Spanned::new(
                s.value.clone().into_owned(),
                span(s.range),
            )]),
            Value::Array(array) => {
                if array.elements.is_empty() {
                    self.error(
                        PolicyErrorKind::EmptyElement { element: element() },
                        span(array.range),
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(array.elements.len());
                let mut ok = true;
                for item in &array.elements {
                    match item {
                        Value::StringLit(s) => {
                            out.push(Spanned::new(s.value.clone().into_owned(), span(s.range)));
                        }
                        other => {
                            self.wrong_type(
                                &format!("each value of {}", element()),
                                "a string",
                                other,
                            );
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
            other => {
                self.wrong_type(&element(), "a string or an array of strings", other);
                None
            }
        }
    }

    fn principal(&mut self, element: &'static str, value: &Value<'_>) -> Option<PrincipalValue> {
        match value {
            Value::StringLit(s) if s.value == "*" => Some(PrincipalValue::Everyone),
            Value::Object(object) => {
                if object.properties.is_empty() {
                    self.error(
                        PolicyErrorKind::EmptyElement {
                            element: element.to_owned(),
                        },
                        span(object.range),
                    );
                    return None;
                }
                let mut entries = Vec::with_capacity(object.properties.len());
                let mut ok = true;
                for prop in self.members(object) {
                    let name = prop.name.as_str();
                    let Some(principal_type) = PrincipalType::parse(name) else {
                        let suggestion =
                            did_you_mean(name, PrincipalType::ALL.iter().map(|t| t.as_str()));
                        self.error(
                            PolicyErrorKind::UnknownPrincipalType {
                                name: name.to_owned(),
                                suggestion,
                            },
                            name_span(prop),
                        );
                        ok = false;
                        continue;
                    };
                    match self.string_list_labelled(&prop.value, || format!("{element}.{name}")) {
                        Some(values) => entries.push(PrincipalEntry {
                            principal_type: Spanned::new(principal_type, name_span(prop)),
                            values,
                        }),
                        None => ok = false,
                    }
                }
                ok.then_some(PrincipalValue::Map(entries))
            }
            other => {
                self.wrong_type(
                    element,
                    "\"*\" or an object such as {\"AWS\": \"...\"}",
                    other,
                );
                None
            }
        }
    }

    fn condition(&mut self, value: &Value<'_>) -> Option<ConditionBlock> {
        let Value::Object(object) = value else {
            self.wrong_type("Condition", "an object of operators", value);
            return None;
        };
        let mut operators = Vec::with_capacity(object.properties.len());
        let mut ok = true;
        for prop in self.members(object) {
            let name = prop.name.as_str();
            let operator = match ConditionOperator::parse(name) {
                Ok(op) => Spanned::new(op, name_span(prop)),
                Err(unknown) => {
                    self.error(
                        PolicyErrorKind::UnknownConditionOperator {
                            name: name.to_owned(),
                            suggestion: unknown.suggestion,
                        },
                        name_span(prop),
                    );
                    ok = false;
                    continue;
                }
            };
            let Value::Object(keys_object) = &prop.value else {
                self.wrong_type(
                    &format!("the body of {name}"),
                    "an object of condition keys",
                    &prop.value,
                );
                ok = false;
                continue;
            };
            if keys_object.properties.is_empty() {
                self.error(
                    PolicyErrorKind::EmptyElement {
                        element: name.to_owned(),
                    },
                    span(keys_object.range),
                );
                ok = false;
                continue;
            }
            let mut keys = Vec::with_capacity(keys_object.properties.len());
            for key_prop in self.members(keys_object) {
                let key = Spanned::new(key_prop.name.as_str().to_owned(), name_span(key_prop));
                match self.condition_values(&key.value, &key_prop.value) {
                    Some(values) => keys.push(ConditionKeyEntry { key, values }),
                    None => ok = false,
                }
            }
            operators.push(ConditionOperatorEntry { operator, keys });
        }
        ok.then_some(ConditionBlock { operators })
    }

    fn condition_values(
        &mut self,
        key: &str,
        value: &Value<'_>,
    ) -> Option<Vec<Spanned<ConditionValue>>> {
        match value {
            Value::Array(array) => {
                if array.elements.is_empty() {
                    self.error(
                        PolicyErrorKind::EmptyElement {
                            element: format!("the values of condition key \"{key}\""),
                        },
                        span(array.range),
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(array.elements.len());
                let mut ok = true;
                for item in &array.elements {
                    match self.scalar(key, item) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            other => Some(vec![self.scalar(key, other)?]),
        }
    }

    fn scalar(&mut self, key: &str, value: &Value<'_>) -> Option<Spanned<ConditionValue>> {
        let (text, kind, at) = match value {
            Value::StringLit(s) => (s.value.clone().into_owned(), ScalarKind::String, s.range),
            Value::NumberLit(n) => (n.value.to_owned(), ScalarKind::Number, n.range),
            Value::BooleanLit(b) => (b.value.to_string(), ScalarKind::Bool, b.range),
            other => {
                self.wrong_type(
                    &format!("a value of condition key \"{key}\""),
                    "a string, number or boolean",
                    other,
                );
                return None;
            }
        };
        Some(Spanned::new(ConditionValue { text, kind }, span(at)))
    }
}

/// jsonc-parser with every extension to JSON turned off.
pub fn strict_json() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Check that `text` is one strict RFC 8259 JSON value nested at most [`MAX_NESTING_DEPTH`]
/// deep, in one pass of serde_json and without building anything.
fn check_strict_json(text: &str) -> Result<(), serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    DepthLimit(0).deserialize(&mut de)?;
    de.end()
}

/// A serde visitor that accepts any JSON value and fails once objects and arrays nest deeper
/// than [`MAX_NESTING_DEPTH`].
#[derive(Clone, Copy)]
struct DepthLimit(usize);

impl DepthLimit {
    fn enter<E: serde::de::Error>(self) -> Result<Self, E> {
        if self.0 >= MAX_NESTING_DEPTH {
            Err(E::custom("nesting too deep"))
        } else {
            Ok(Self(self.0 + 1))
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for DepthLimit {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DepthLimit {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        while map.next_key::<serde::de::IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// Whether `object` has a member named `name` (duplicates included).
fn has_member(object: &Object<'_>, name: &str) -> bool {
    object.properties.iter().any(|p| p.name.as_str() == name)
}

/// serde_json appends " at line L column C"; positions are reported separately.
fn strip_serde_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}
