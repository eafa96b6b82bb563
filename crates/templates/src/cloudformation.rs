//! CloudFormation templates: the key policies of `AWS::KMS::Key` and `AWS::KMS::ReplicaKey`
//! resources, with their intrinsic functions evaluated symbolically, rendered as policy JSON
//! that remembers, for each value, where in the template it was written.
//!
//! A symbol keeps its meaning: `${AWS::AccountId}` is this account (a stand-in ID the linter
//! treats as the key's account, printed back as the symbol), `!GetAtt Role.Arn` is a role of
//! this account named after its logical ID, `Ref` to a parameter is its default, or a
//! placeholder named after it. What cannot be evaluated is an error that names it.

use crate::node::{Kind, Node};
use crate::{Extracted, SourceMap, Span, TemplateError};

/// The account every `AWS::AccountId` stands for, unless the caller knows the real one.
pub const THIS_ACCOUNT: &str = "000000000000";
/// The Region `AWS::Region` stands for.
pub const THIS_REGION: &str = "us-east-1";

/// The most nested intrinsic calls evaluated (a template is data, but a deep one is refused).
const MAX_CALLS: usize = 32;

/// A value once its intrinsics are evaluated: each string remembers the node it came from.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// `AWS::NoValue`: the property or element is left out.
    Nothing,
    Null(Span),
    Bool(bool, Span),
    Number(String, Span),
    Str(String, Span),
    List(Vec<Value>, Span),
    Map(Vec<(String, Span, Value)>, Span),
}

impl Value {
    fn text(&self) -> Option<&str> {
        match self {
            Self::Str(s, _) | Self::Number(s, _) => Some(s),
            _ => None,
        }
    }
}

/// What evaluation reads besides the node: the template's parameters, mappings, conditions and
/// resources, and the account it stands in for.
struct Template<'t> {
    root: &'t Node,
    account: &'t str,
    /// The values taken for conditions the template alone does not decide.
    assumed: &'t [(String, bool)],
    /// The conditions met that the template alone does not decide, in the order met.
    undecided: std::cell::RefCell<Vec<String>>,
}

impl Template<'_> {
    fn section(&self, name: &str) -> Option<&Node> {
        self.root.get(name)
    }

    fn resource_type(&self, logical: &str) -> Option<&str> {
        self.section("Resources")?
            .get(logical)?
            .get("Type")?
            .as_str()
    }

    /// `Ref NAME`: a pseudo parameter, a parameter (its default, or a placeholder), or a
    /// resource (its name or ARN, as the type returns it).
    fn reference(&self, name: &str, at: Span) -> Result<Value, TemplateError> {
        let text = match name {
            "AWS::AccountId" => self.account.to_owned(),
            "AWS::Region" => THIS_REGION.to_owned(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            "AWS::StackName" => "stack".to_owned(),
            "AWS::StackId" => format!(
                "arn:aws:cloudformation:{THIS_REGION}:{}:stack/stack/00000000-0000-4000-8000-000000000000",
                self.account
            ),
            "AWS::NotificationARNs" => return Ok(Value::List(Vec::new(), at)),
            "AWS::NoValue" => return Ok(Value::Nothing),
            _ => {
                if let Some(parameter) = self.section("Parameters").and_then(|p| p.get(name)) {
                    return Ok(match parameter.get("Default") {
                        Some(default) => literal(default),
                        None => Value::Str(format!("{{{{{name}}}}}"), at),
                    });
                }
                match self.resource_type(name) {
                    Some("AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group") => {
                        name.to_owned()
                    }
                    Some("AWS::SNS::Topic") => {
                        format!("arn:aws:sns:{THIS_REGION}:{}:{name}", self.account)
                    }
                    Some(_) => name.to_owned(),
                    None => {
                        return Err(TemplateError::Unsupported {
                            span: at,
                            what: format!("Ref {name}: no parameter or resource of that name"),
                        });
                    }
                }
            }
        };
        Ok(Value::Str(text, at))
    }

    /// `Fn::GetAtt [LOGICAL, ATTRIBUTE]`: the ARN a resource of this account would have.
    fn attribute(&self, logical: &str, attribute: &str, at: Span) -> Result<Value, TemplateError> {
        let Some(kind) = self.resource_type(logical) else {
            return Err(TemplateError::Unsupported {
                span: at,
                what: format!("Fn::GetAtt {logical}.{attribute}: no resource {logical}"),
            });
        };
        let account = self.account;
        let text = match (kind, attribute) {
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{account}:role/{logical}"),
            ("AWS::IAM::User", "Arn") => format!("arn:aws:iam::{account}:user/{logical}"),
            ("AWS::IAM::Role", "RoleId") | ("AWS::IAM::User", "UserId") => {
                format!("AROA{logical}")
            }
            ("AWS::KMS::Key", "Arn") => {
                format!("arn:aws:kms:{THIS_REGION}:{account}:key/{logical}")
            }
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{}", logical.to_lowercase()),
            ("AWS::Logs::LogGroup", "Arn") => {
                format!("arn:aws:logs:{THIS_REGION}:{account}:log-group:{logical}:*")
            }
            (_, "Arn") => {
                // AWS::SERVICE::TYPE: an ARN of that service in this account.
                let service = kind.split("::").nth(1).unwrap_or("unknown").to_lowercase();
                format!("arn:aws:{service}:{THIS_REGION}:{account}:{logical}")
            }
            _ => format!("{logical}.{attribute}"),
        };
        Ok(Value::Str(text, at))
    }

    fn evaluate(&self, node: &Node, calls: usize) -> Result<Value, TemplateError> {
        if calls > MAX_CALLS {
            return Err(TemplateError::TooDeep);
        }
        let at = node.span;
        match &node.kind {
            Kind::Tagged(name, argument) => self.call(name, argument, at, calls + 1),
            Kind::Map(entries) => {
                if let [(key, _, argument)] = entries.as_slice()
                    && (key == "Ref" || key.starts_with("Fn::"))
                {
                    let name = key.strip_prefix("Fn::").unwrap_or(key);
                    return self.call(name, argument, at, calls + 1);
                }
                let mut out = Vec::new();
                for (key, key_at, value) in entries {
                    match self.evaluate(value, calls)? {
                        Value::Nothing => {}
                        v => out.push((key.clone(), *key_at, v)),
                    }
                }
                Ok(Value::Map(out, at))
            }
            Kind::List(items) => {
                let mut out = Vec::new();
                for item in items {
                    match self.evaluate(item, calls)? {
                        Value::Nothing => {}
                        v => out.push(v),
                    }
                }
                Ok(Value::List(out, at))
            }
            _ => Ok(literal(node)),
        }
    }

    fn string(&self, node: &Node, calls: usize, what: &str) -> Result<String, TemplateError> {
        match self.evaluate(node, calls)? {
            Value::Str(s, _) | Value::Number(s, _) => Ok(s),
            _ => Err(TemplateError::Unsupported {
                span: node.span,
                what: format!("{what}: not a string"),
            }),
        }
    }

    fn list(&self, node: &Node, calls: usize, what: &str) -> Result<Vec<Value>, TemplateError> {
        match self.evaluate(node, calls)? {
            Value::List(items, _) => Ok(items),
            _ => Err(TemplateError::Unsupported {
                span: node.span,
                what: format!("{what}: not a list"),
            }),
        }
    }

    fn arguments<'n>(
        &self,
        node: &'n Node,
        n: usize,
        what: &str,
    ) -> Result<&'n [Node], TemplateError> {
        match &node.kind {
            Kind::List(items) if items.len() == n => Ok(items),
            _ => Err(TemplateError::Unsupported {
                span: node.span,
                what: format!("{what} takes a list of {n}"),
            }),
        }
    }

    fn two<'n>(&self, node: &'n Node, what: &str) -> Result<(&'n Node, &'n Node), TemplateError> {
        match self.arguments(node, 2, what)? {
            [a, b] => Ok((a, b)),
            _ => Err(TemplateError::Unsupported {
                span: node.span,
                what: format!("{what} takes a list of 2"),
            }),
        }
    }

    fn three<'n>(
        &self,
        node: &'n Node,
        what: &str,
    ) -> Result<(&'n Node, &'n Node, &'n Node), TemplateError> {
        match self.arguments(node, 3, what)? {
            [a, b, c] => Ok((a, b, c)),
            _ => Err(TemplateError::Unsupported {
                span: node.span,
                what: format!("{what} takes a list of 3"),
            }),
        }
    }

    /// An intrinsic function, by its name without `Fn::`.
    fn call(
        &self,
        name: &str,
        argument: &Node,
        at: Span,
        calls: usize,
    ) -> Result<Value, TemplateError> {
        match name {
            "Ref" => {
                let target = self.string(argument, calls, "Ref")?;
                self.reference(&target, at)
            }
            "GetAtt" => {
                let (logical, attribute) = match &argument.kind {
                    Kind::String(dotted) => dotted
                        .split_once('.')
                        .map(|(l, a)| (l.to_owned(), a.to_owned())),
                    Kind::List(items) => match items.as_slice() {
                        [l, a] => Some((
                            self.string(l, calls, "Fn::GetAtt")?,
                            self.string(a, calls, "Fn::GetAtt")?,
                        )),
                        _ => None,
                    },
                    _ => None,
                }
                .ok_or(TemplateError::Unsupported {
                    span: argument.span,
                    what: "Fn::GetAtt takes LOGICAL.ATTRIBUTE or [LOGICAL, ATTRIBUTE]".into(),
                })?;
                self.attribute(&logical, &attribute, at)
            }
            "Sub" => {
                let (pattern, variables) = match &argument.kind {
                    Kind::List(items) => match items.as_slice() {
                        [pattern, variables] => (pattern, Some(variables)),
                        _ => {
                            return Err(TemplateError::Unsupported {
                                span: argument.span,
                                what: "Fn::Sub takes a string or [string, {variables}]".into(),
                            });
                        }
                    },
                    _ => (argument, None),
                };
                let Some(pattern) = pattern.as_str() else {
                    return Err(TemplateError::Unsupported {
                        span: pattern.span,
                        what: "Fn::Sub: the pattern is not a string".into(),
                    });
                };
                self.substitute(pattern, variables, at, calls)
            }
            "Join" => {
                let (delimiter, items) = self.two(argument, "Fn::Join")?;
                let delimiter = self.string(delimiter, calls, "Fn::Join")?;
                let parts: Vec<String> = self
                    .list(items, calls, "Fn::Join")?
                    .iter()
                    .map(|v| {
                        v.text()
                            .map(str::to_owned)
                            .ok_or(TemplateError::Unsupported {
                                span: items.span,
                                what: "Fn::Join: an element is not a string".into(),
                            })
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Value::Str(parts.join(&delimiter), at))
            }
            "Select" => {
                let (index, items) = self.two(argument, "Fn::Select")?;
                let index: usize =
                    self.string(index, calls, "Fn::Select")?
                        .parse()
                        .map_err(|_| TemplateError::Unsupported {
                            span: index.span,
                            what: "Fn::Select: the index is not a number".into(),
                        })?;
                self.list(items, calls, "Fn::Select")?
                    .into_iter()
                    .nth(index)
                    .ok_or(TemplateError::Unsupported {
                        span: argument.span,
                        what: format!("Fn::Select: no element {index}"),
                    })
            }
            "Split" => {
                let (delimiter, text) = self.two(argument, "Fn::Split")?;
                let delimiter = self.string(delimiter, calls, "Fn::Split")?;
                let text = self.string(text, calls, "Fn::Split")?;
                if delimiter.is_empty() {
                    return Err(TemplateError::Unsupported {
                        span: argument.span,
                        what: "Fn::Split: an empty delimiter".into(),
                    });
                }
                Ok(Value::List(
                    text.split(delimiter.as_str())
                        .map(|p| Value::Str(p.to_owned(), at))
                        .collect(),
                    at,
                ))
            }
            "FindInMap" => {
                let (map, first, second) = self.three(argument, "Fn::FindInMap")?;
                let (map, first, second) = (
                    self.string(map, calls, "Fn::FindInMap")?,
                    self.string(first, calls, "Fn::FindInMap")?,
                    self.string(second, calls, "Fn::FindInMap")?,
                );
                let found = self
                    .section("Mappings")
                    .and_then(|m| m.get(&map))
                    .and_then(|m| m.get(&first))
                    .and_then(|m| m.get(&second))
                    .ok_or(TemplateError::Unsupported {
                        span: argument.span,
                        what: format!("Fn::FindInMap: no {map}.{first}.{second} in Mappings"),
                    })?;
                // The value as written in Mappings, located where the call is.
                Ok(relocate(self.evaluate(found, calls)?, at))
            }
            "If" => {
                let (condition, yes, no) = self.three(argument, "Fn::If")?;
                let name = self.string(condition, calls, "Fn::If")?;
                let holds = match self.condition(&name, calls) {
                    Some(decided) => decided,
                    // Not decidable from the template alone: as assumed (each assumption is
                    // read in turn, see `key_policies`), true until then.
                    None => {
                        let mut undecided = self.undecided.borrow_mut();
                        if !undecided.contains(&name) {
                            undecided.push(name.clone());
                        }
                        self.assumed
                            .iter()
                            .find(|(n, _)| *n == name)
                            .is_none_or(|(_, v)| *v)
                    }
                };
                self.evaluate(if holds { yes } else { no }, calls)
            }
            "ImportValue" => {
                let name = self.string(argument, calls, "Fn::ImportValue")?;
                Ok(Value::Str(format!("{{{{import:{name}}}}}"), at))
            }
            other => Err(TemplateError::Unsupported {
                span: at,
                what: format!("the intrinsic function {other} in a key policy"),
            }),
        }
    }

    /// A condition's value when it can be decided from the template (literals, parameter
    /// defaults, pseudo parameters); `None` otherwise.
    fn condition(&self, name: &str, calls: usize) -> Option<bool> {
        let node = self.section("Conditions")?.get(name)?;
        self.truth(node, calls + 1)
    }

    fn truth(&self, node: &Node, calls: usize) -> Option<bool> {
        if calls > MAX_CALLS {
            return None;
        }
        let Kind::Map(entries) = &node.kind else {
            if let Kind::Tagged(name, argument) = &node.kind {
                return self.truth_of(name, argument, calls);
            }
            return None;
        };
        let [(key, _, argument)] = entries.as_slice() else {
            return None;
        };
        let name = key.strip_prefix("Fn::").unwrap_or(key);
        self.truth_of(name, argument, calls)
    }

    fn truth_of(&self, name: &str, argument: &Node, calls: usize) -> Option<bool> {
        let items = match &argument.kind {
            Kind::List(items) => items.as_slice(),
            _ => std::slice::from_ref(argument),
        };
        match name {
            "Equals" => {
                let [a, b] = items else { return None };
                let (a, b) = (self.evaluate(a, calls).ok()?, self.evaluate(b, calls).ok()?);
                let (a, b) = (a.text()?.to_owned(), b.text()?.to_owned());
                // A placeholder is not a value.
                (!a.starts_with("{{") && !b.starts_with("{{")).then_some(a == b)
            }
            "Not" => self.truth(items.first()?, calls + 1).map(|t| !t),
            "And" => items
                .iter()
                .map(|i| self.truth(i, calls + 1))
                .try_fold(true, |all, t| t.map(|t| all && t)),
            "Or" => items
                .iter()
                .map(|i| self.truth(i, calls + 1))
                .try_fold(false, |any, t| t.map(|t| any || t)),
            "Condition" => {
                let name = argument.as_str()?;
                self.condition(name, calls + 1)
            }
            _ => None,
        }
    }

    /// `Fn::Sub`: `${NAME}`, `${NAME.ATTRIBUTE}` and `${AWS::...}` replaced, `${!TEXT}` written
    /// as `${TEXT}`.
    fn substitute(
        &self,
        pattern: &str,
        variables: Option<&Node>,
        at: Span,
        calls: usize,
    ) -> Result<Value, TemplateError> {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(rest.get(..start).unwrap_or_default());
            let after = rest.get(start + 2..).unwrap_or_default();
            let Some(end) = after.find('}') else {
                out.push_str(rest.get(start..).unwrap_or_default());
                rest = "";
                break;
            };
            let name = after.get(..end).unwrap_or_default();
            rest = after.get(end + 1..).unwrap_or_default();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            if let Some(value) = variables.and_then(|v| v.get(name)) {
                out.push_str(&self.string(value, calls, "Fn::Sub")?);
            } else if let Some((logical, attribute)) = name.split_once('.') {
                let value = self.attribute(logical, attribute, at)?;
                out.push_str(value.text().unwrap_or_default());
            } else {
                let value = self.reference(name, at)?;
                out.push_str(value.text().ok_or(TemplateError::Unsupported {
                    span: at,
                    what: format!("Fn::Sub ${{{name}}}: not a string"),
                })?);
            }
        }
        out.push_str(rest);
        Ok(Value::Str(out, at))
    }
}

fn literal(node: &Node) -> Value {
    let at = node.span;
    match &node.kind {
        Kind::Null => Value::Null(at),
        Kind::Bool(b) => Value::Bool(*b, at),
        Kind::Number(n) => Value::Number(n.clone(), at),
        Kind::String(s) => Value::Str(s.clone(), at),
        Kind::List(items) => Value::List(items.iter().map(literal).collect(), at),
        Kind::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, a, v)| (k.clone(), *a, literal(v)))
                .collect(),
            at,
        ),
        Kind::Tagged(_, inner) => literal(inner),
    }
}

/// `value` with every span set to `at`.
fn relocate(value: Value, at: Span) -> Value {
    match value {
        Value::Nothing => Value::Nothing,
        Value::Null(_) => Value::Null(at),
        Value::Bool(b, _) => Value::Bool(b, at),
        Value::Number(n, _) => Value::Number(n, at),
        Value::Str(s, _) => Value::Str(s, at),
        Value::List(items, _) => {
            Value::List(items.into_iter().map(|v| relocate(v, at)).collect(), at)
        }
        Value::Map(entries, _) => Value::Map(
            entries
                .into_iter()
                .map(|(k, _, v)| (k, at, relocate(v, at)))
                .collect(),
            at,
        ),
    }
}

/// Renders `value` as JSON, recording where each piece came from.
fn render(value: &Value, out: &mut String, map: &mut SourceMap) {
    let start = out.len();
    match value {
        Value::Nothing | Value::Null(_) => out.push_str("null"),
        Value::Bool(b, _) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n, _) => out.push_str(n),
        Value::Str(s, _) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
        Value::List(items, _) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(item, out, map);
            }
            out.push(']');
        }
        Value::Map(entries, _) => {
            out.push('{');
            for (i, (key, key_at, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let key_start = out.len();
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                map.record(Span::new(key_start, out.len()), *key_at);
                out.push_str(": ");
                render(item, out, map);
            }
            out.push('}');
        }
    }
    let at = match value {
        Value::Nothing => return,
        Value::Null(a) | Value::Bool(_, a) | Value::Number(_, a) | Value::Str(_, a) => *a,
        Value::List(_, a) | Value::Map(_, a) => *a,
    };
    map.record(Span::new(start, out.len()), at);
}

/// Every key policy of a template's KMS keys.
pub(crate) fn key_policies(
    root: &Node,
    account: Option<&str>,
) -> Result<Vec<Extracted>, TemplateError> {
    let account = account.unwrap_or(THIS_ACCOUNT);
    let Some(Kind::Map(resources)) = root.get("Resources").map(|r| &r.kind) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (logical, _, resource) in resources {
        let kind = resource
            .get("Type")
            .and_then(Node::as_str)
            .unwrap_or_default();
        if !matches!(kind, "AWS::KMS::Key" | "AWS::KMS::ReplicaKey") {
            continue;
        }
        let Some(policy) = resource.get("Properties").and_then(|p| p.get("KeyPolicy")) else {
            continue;
        };
        let construct = resource
            .get("Metadata")
            .and_then(|m| m.get("aws:cdk:path"))
            .and_then(Node::as_str)
            .map(str::to_owned);
        // Every combination of the conditions the template alone does not decide is a policy
        // the stack may deploy: each is read (the first with every such condition true).
        for assumed in assumptions(root, account, policy)? {
            let template = Template {
                root,
                account,
                assumed: &assumed,
                undecided: std::cell::RefCell::new(Vec::new()),
            };
            let value = template.evaluate(policy, 0)?;
            let mut text = String::new();
            let mut map = SourceMap::default();
            match &value {
                // A policy given as a JSON string (as some templates do): the text as it is,
                // located at the string.
                Value::Str(s, at) => {
                    text.push_str(s);
                    map.record(Span::new(0, text.len()), *at);
                }
                _ => render(&value, &mut text, &mut map),
            }
            out.push(Extracted {
                resource: logical.clone(),
                resource_type: kind.to_owned(),
                construct: construct.clone(),
                pointer: format!(
                    "/Resources/{}/Properties/KeyPolicy",
                    pointer_escape(logical)
                ),
                text,
                map,
                account: account.to_owned(),
                // CloudFormation has no grant resource type.
                grants: Vec::new(),
                assumed,
            });
        }
    }
    Ok(out)
}

/// The most conditions a key policy's `Fn::If`s may leave undecided; each doubles the
/// policies read.
const MAX_UNDECIDED: usize = 4;

/// The assumptions to read `policy` under: none when every `Fn::If` in it is decided by the
/// template, otherwise each combination of true and false for the undecided conditions
/// (all true first).
fn assumptions(
    root: &Node,
    account: &str,
    policy: &Node,
) -> Result<Vec<Vec<(String, bool)>>, TemplateError> {
    let probe = Template {
        root,
        account,
        assumed: &[],
        undecided: std::cell::RefCell::new(Vec::new()),
    };
    probe.evaluate(policy, 0)?;
    // Branches taken under one assumption may meet other conditions: grow the set until it
    // is stable, reading each combination.
    let mut names = probe.undecided.into_inner();
    loop {
        if names.len() > MAX_UNDECIDED {
            return Err(TemplateError::Unsupported {
                span: policy.span,
                what: format!(
                    "the key policy's Fn::If depends on {} conditions the template does not decide ({}); at most {MAX_UNDECIDED} are read",
                    names.len(),
                    names.join(", ")
                ),
            });
        }
        let combinations: Vec<Vec<(String, bool)>> = (0..1usize << names.len())
            .map(|bits| {
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), bits & (1 << i) == 0))
                    .collect()
            })
            .collect();
        let mut more = Vec::new();
        for assumed in &combinations {
            let template = Template {
                root,
                account,
                assumed,
                undecided: std::cell::RefCell::new(Vec::new()),
            };
            template.evaluate(policy, 0)?;
            for name in template.undecided.into_inner() {
                if !names.contains(&name) && !more.contains(&name) {
                    more.push(name);
                }
            }
        }
        if more.is_empty() {
            return Ok(combinations);
        }
        names.extend(more);
    }
}

fn pointer_escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use crate::node::from_yaml;

    fn evaluate(template: &str, expression: &str) -> Result<Value, TemplateError> {
        let text = format!("{template}\nX: {expression}\n");
        let root = from_yaml(&text).unwrap();
        let t = Template {
            root: &root,
            account: THIS_ACCOUNT,
            assumed: &[],
            undecided: std::cell::RefCell::new(Vec::new()),
        };
        t.evaluate(root.get("X").unwrap(), 0)
    }

    fn text(template: &str, expression: &str) -> String {
        evaluate(template, expression)
            .unwrap()
            .text()
            .unwrap()
            .to_owned()
    }

    const RESOURCES: &str = "Parameters:\n  Env: {Type: String, Default: prod}\n  Other: {Type: String}\nMappings:\n  Accounts:\n    prod: {Audit: '444455556666'}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\n  IsDev: !Not [!Condition IsProd]\nResources:\n  AppRole: {Type: AWS::IAM::Role}\n  Topic: {Type: AWS::SNS::Topic}";

    #[test]
    fn every_intrinsic_keeps_its_meaning() {
        assert_eq!(
            text(
                RESOURCES,
                "!Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root'"
            ),
            "arn:aws:iam::000000000000:root"
        );
        assert_eq!(
            text(RESOURCES, "!GetAtt AppRole.Arn"),
            "arn:aws:iam::000000000000:role/AppRole"
        );
        assert_eq!(
            text(RESOURCES, "{'Fn::GetAtt': [AppRole, Arn]}"),
            "arn:aws:iam::000000000000:role/AppRole"
        );
        assert_eq!(text(RESOURCES, "!Ref Env"), "prod");
        assert_eq!(text(RESOURCES, "!Ref Other"), "{{Other}}");
        assert_eq!(
            text(RESOURCES, "!Ref Topic"),
            "arn:aws:sns:us-east-1:000000000000:Topic"
        );
        assert_eq!(
            text(
                RESOURCES,
                "!Sub ['arn:aws:iam::${Acct}:root', {Acct: !FindInMap [Accounts, !Ref Env, Audit]}]"
            ),
            "arn:aws:iam::444455556666:root"
        );
        assert_eq!(
            text(RESOURCES, "!Join [':', [arn, aws, !Ref 'AWS::Region']]"),
            "arn:aws:us-east-1"
        );
        assert_eq!(text(RESOURCES, "!Select [1, !Split [',', 'a,b,c']]"), "b");
        assert_eq!(text(RESOURCES, "!If [IsProd, yes, no]"), "yes");
        assert_eq!(text(RESOURCES, "!If [IsDev, yes, no]"), "no");
        assert_eq!(
            text(RESOURCES, "!Sub '${!Literal}-${AWS::Region}'"),
            "${Literal}-us-east-1"
        );
        assert_eq!(
            text(RESOURCES, "!ImportValue shared-admin"),
            "{{import:shared-admin}}"
        );
        assert_eq!(
            text(RESOURCES, "!Sub '${AppRole.Arn}'"),
            "arn:aws:iam::000000000000:role/AppRole"
        );
        match evaluate(RESOURCES, "[a, !Ref 'AWS::NoValue', b]").unwrap() {
            Value::List(items, _) => {
                let texts: Vec<&str> = items.iter().filter_map(Value::text).collect();
                assert_eq!(texts, ["a", "b"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_condition_the_template_does_not_decide_is_read_both_ways() {
        let text = "Parameters:\n  Shared: {Type: String}\nConditions:\n  IsShared: !Equals [!Ref Shared, 'yes']\nResources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n        Statement:\n          - Effect: Allow\n            Principal: {AWS: !If [IsShared, '*', !Sub 'arn:aws:iam::${AWS::AccountId}:root']}\n            Action: 'kms:*'\n            Resource: '*'\n";
        let root = from_yaml(text).unwrap();
        let policies = key_policies(&root, None).unwrap();
        let readings: Vec<(&[(String, bool)], bool)> = policies
            .iter()
            .map(|p| (p.assumed.as_slice(), p.text.contains("\"AWS\": \"*\"")))
            .collect();
        assert_eq!(
            readings,
            [
                (&[("IsShared".to_owned(), true)][..], true),
                (&[("IsShared".to_owned(), false)][..], false),
            ]
        );
    }

    #[test]
    fn what_cannot_be_evaluated_is_named() {
        let err = evaluate(RESOURCES, "!GetAZs ''").unwrap_err();
        assert!(err.to_string().contains("GetAZs"), "{err}");
        let err = evaluate(RESOURCES, "!Ref Missing").unwrap_err();
        assert!(err.to_string().contains("Ref Missing"), "{err}");
        let err = evaluate(RESOURCES, "!FindInMap [Accounts, dev, Audit]").unwrap_err();
        assert!(err.to_string().contains("Accounts.dev.Audit"), "{err}");
    }
}
