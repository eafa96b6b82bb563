//! Terraform plans (`terraform show -json`): the key policies of `aws_kms_key`,
//! `aws_kms_replica_key` and `aws_kms_key_policy` resources.
//!
//! A policy the plan knows is taken as planned. A policy that is "known after apply" (it
//! depends on a resource not created yet) is rebuilt from the plan's `configuration`: the
//! `data.aws_iam_policy_document` it references, statement by statement, each value a constant
//! or a reference rendered as what it stands for. The plan keeps no string templates, only
//! the references in them, so a reference is read as the whole value: an ARN attribute of a
//! role or user is that principal's ARN in this account, an account ID attribute
//! (`data.aws_caller_identity.*.account_id`) is this account, a variable is its default. A
//! reference the rebuild cannot render is an error that names it.

use crate::node::{Kind, Node};
use crate::{Extracted, GrantSource, SourceMap, Span, THIS_REGION, TemplateError};
use serde_json::{Map, Value, json};

/// The resource types whose `policy` is a key policy.
const KEY_POLICY_TYPES: [&str; 3] = ["aws_kms_key", "aws_kms_replica_key", "aws_kms_key_policy"];

/// The most nested modules walked.
const MAX_MODULES: usize = 16;

/// A planned resource with a key policy.
struct Planned<'n> {
    address: String,
    resource_type: String,
    /// The planned `policy`, when the plan knows it.
    policy: Option<&'n Node>,
    /// Where the resource is in the plan.
    at: Span,
}

/// Every key policy the plan creates or changes.
pub(crate) fn key_policies(
    root: &Node,
    account: Option<&str>,
) -> Result<Vec<Extracted>, TemplateError> {
    let account = account.unwrap_or(crate::THIS_ACCOUNT);
    let (mut planned, mut grants) = (Vec::new(), Vec::new());
    if let Some(module) = root
        .get("planned_values")
        .and_then(|p| p.get("root_module"))
    {
        walk_planned(module, 0, &mut planned, &mut grants)?;
    }
    let mut out = Vec::new();
    for resource in planned {
        let (text, map) = match resource.policy {
            Some(policy) => match &policy.kind {
                // Known: the text as planned, every finding at the planned value.
                Kind::String(text) => {
                    let mut map = SourceMap::default();
                    map.record(Span::new(0, text.len()), policy.span);
                    (text.clone(), map)
                }
                _ => continue,
            },
            // No policy in the configuration either: AWS gives the key its default policy
            // (or an `aws_kms_key_policy` resource sets it, and is read on its own).
            None if !sets_a_policy(root, &resource.address) => continue,
            None => rebuild(root, &resource, account)?,
        };
        out.push(Extracted {
            resource: resource.address.clone(),
            resource_type: resource.resource_type.clone(),
            construct: None,
            pointer: String::new(),
            text,
            map,
            account: account.to_owned(),
            grants: Vec::new(),
            assumed: Vec::new(),
        });
    }
    // The key each policy is of: its own address, or for `aws_kms_key_policy` the key its
    // `key_id` names.
    let keys: Vec<Option<String>> = out
        .iter()
        .map(|p| {
            if p.resource_type == "aws_kms_key_policy" {
                key_of(root, &p.resource)
            } else {
                Some(p.resource.clone())
            }
        })
        .collect();
    for grant in grants {
        let source = grant_source(root, grant, account)?;
        let key = grant
            .get("address")
            .and_then(Node::as_str)
            .and_then(|a| key_of(root, a));
        let on = keys.iter().position(|k| k.is_some() && *k == key);
        if let Some(policy) = on.and_then(|i| out.get_mut(i)) {
            policy.grants.push(source);
        }
    }
    Ok(out)
}

/// Whether the configuration of the resource at `address` gives it a policy (`true` when the
/// plan has no configuration for it: then its policy is not known to be absent).
fn sets_a_policy(root: &Node, address: &str) -> bool {
    match configuration(root, address) {
        Some((module, local)) => config_resource(module, &local)
            .is_none_or(|c| c.get("expressions").and_then(|e| e.get("policy")).is_some()),
        None => true,
    }
}

/// The planned address of the key a resource (a grant, a key policy) is on, from its
/// configuration's `key_id` reference (`aws_kms_key.app.key_id` in the resource's module).
fn key_of(root: &Node, address: &str) -> Option<String> {
    let (module, local) = configuration(root, address)?;
    let config = config_resource(module, &local)?;
    let expression = config.get("expressions")?.get("key_id")?;
    let reference = references(expression).into_iter().next()?;
    let key = match reference.rsplit_once('.') {
        Some((key, "key_id" | "arn" | "id")) => key,
        _ => return None,
    };
    // The grant's module prefix, before its own address in the module.
    let prefix = address
        .find(&local)
        .and_then(|at| address.get(..at))
        .unwrap_or_default();
    Some(format!("{prefix}{key}"))
}

/// A planned `aws_kms_grant` as written: its values where the plan knows them, its grantee
/// rebuilt from the configuration when it is known only after apply.
fn grant_source(root: &Node, grant: &Node, account: &str) -> Result<GrantSource, TemplateError> {
    let address = grant
        .get("address")
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_owned();
    let values = grant.get("values");
    let text = |name: &str| values.and_then(|v| v.get(name)).and_then(Node::as_str);
    let unsupported = |span: Span, what: String| TemplateError::Unsupported { span, what };
    let grantee = match text("grantee_principal") {
        Some(known) => known.to_owned(),
        None => {
            let (module, local) = configuration(root, &address).ok_or_else(|| {
                unsupported(
                    grant.span,
                    format!("{address}: its grantee is known after apply and the plan has no configuration for it"),
                )
            })?;
            let expression = config_resource(module, &local)
                .and_then(|c| c.get("expressions"))
                .and_then(|e| e.get("grantee_principal"))
                .ok_or_else(|| {
                    unsupported(
                        grant.span,
                        format!("{address}: no grantee_principal in its configuration"),
                    )
                })?;
            let context = Context {
                module,
                root,
                account,
            };
            match context.scalar(expression)? {
                Value::String(s) => s,
                _ => {
                    return Err(unsupported(
                        expression.span,
                        format!("{address}: its grantee is not a string"),
                    ));
                }
            }
        }
    };
    let operations = match values.and_then(|v| v.get("operations")).map(|o| &o.kind) {
        Some(Kind::List(items)) => items
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let mut constraint = None;
    if let Some(Kind::List(blocks)) = values.and_then(|v| v.get("constraints")).map(|c| &c.kind) {
        for block in blocks {
            for (field, equals) in [
                ("encryption_context_equals", true),
                ("encryption_context_subset", false),
            ] {
                if let Some(Kind::Map(pairs)) = block.get(field).map(|p| &p.kind) {
                    let pairs = pairs
                        .iter()
                        .filter_map(|(k, _, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect();
                    constraint = Some((equals, pairs));
                }
            }
        }
    }
    Ok(GrantSource {
        resource: address,
        grantee,
        retiring_principal: text("retiring_principal").map(str::to_owned),
        operations,
        constraint,
        at: grant.span,
    })
}

fn walk_planned<'n>(
    module: &'n Node,
    depth: usize,
    out: &mut Vec<Planned<'n>>,
    grants: &mut Vec<&'n Node>,
) -> Result<(), TemplateError> {
    if depth > MAX_MODULES {
        return Err(TemplateError::TooDeep);
    }
    if let Some(Kind::List(resources)) = module.get("resources").map(|r| &r.kind) {
        for resource in resources {
            let kind = resource
                .get("type")
                .and_then(Node::as_str)
                .unwrap_or_default();
            let managed = resource.get("mode").and_then(Node::as_str) == Some("managed");
            if managed && kind == "aws_kms_grant" {
                grants.push(resource);
            }
            if !managed || !KEY_POLICY_TYPES.contains(&kind) {
                continue;
            }
            let policy = resource
                .get("values")
                .and_then(|v| v.get("policy"))
                .filter(|p| !matches!(p.kind, Kind::Null));
            out.push(Planned {
                address: resource
                    .get("address")
                    .and_then(Node::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                resource_type: kind.to_owned(),
                policy,
                at: resource.span,
            });
        }
    }
    if let Some(Kind::List(children)) = module.get("child_modules").map(|c| &c.kind) {
        for child in children {
            walk_planned(child, depth + 1, out, grants)?;
        }
    }
    Ok(())
}

/// The configuration of the module a planned address is in, and the address within it:
/// `module.kms.aws_kms_key.this` is `aws_kms_key.this` in the module call `kms`.
fn configuration<'n>(root: &'n Node, address: &str) -> Option<(&'n Node, String)> {
    let mut module = root.get("configuration")?.get("root_module")?;
    let mut rest = address;
    while let Some(after) = rest.strip_prefix("module.") {
        let (call, tail) = after.split_once('.')?;
        // An instance key (`module.kms["a"]`, `module.kms[0]`) names the same configuration.
        let call = call.split('[').next().unwrap_or(call);
        module = module.get("module_calls")?.get(call)?.get("module")?;
        rest = tail;
    }
    let local = match rest.split_once('[') {
        Some((name, _)) => name.to_owned(),
        None => rest.to_owned(),
    };
    Some((module, local))
}

fn config_resource<'n>(module: &'n Node, address: &str) -> Option<&'n Node> {
    match &module.get("resources")?.kind {
        Kind::List(resources) => resources
            .iter()
            .find(|r| r.get("address").and_then(Node::as_str) == Some(address)),
        _ => None,
    }
}

/// Rebuilds a policy known only after apply from the configuration.
fn rebuild(
    root: &Node,
    resource: &Planned<'_>,
    account: &str,
) -> Result<(String, SourceMap), TemplateError> {
    let unsupported = |span: Span, what: String| TemplateError::Unsupported { span, what };
    let (module, local) = configuration(root, &resource.address).ok_or_else(|| {
        unsupported(
            resource.at,
            format!(
                "{}: its policy is known after apply and the plan has no configuration for it",
                resource.address
            ),
        )
    })?;
    let config = config_resource(module, &local).ok_or_else(|| {
        unsupported(
            resource.at,
            format!("{}: no configuration for it in the plan", resource.address),
        )
    })?;
    let expression = config
        .get("expressions")
        .and_then(|e| e.get("policy"))
        .ok_or_else(|| {
            unsupported(
                config.span,
                format!(
                    "{}: no policy expression in the configuration",
                    resource.address
                ),
            )
        })?;
    let context = Context {
        module,
        root,
        account,
    };
    if let Some(text) = expression.get("constant_value").and_then(Node::as_str) {
        let mut map = SourceMap::default();
        map.record(Span::new(0, text.len()), expression.span);
        return Ok((text.to_owned(), map));
    }
    let document = references(expression)
        .into_iter()
        .find_map(|r| {
            let name = r.strip_suffix(".json")?;
            name.starts_with("data.aws_iam_policy_document.")
                .then(|| config_resource(module, name))
                .flatten()
        })
        .ok_or_else(|| {
            unsupported(
                expression.span,
                format!(
                    "{}: its policy is known after apply and is not a data.aws_iam_policy_document's json",
                    resource.address
                ),
            )
        })?;
    context.document(document)
}

/// The references of an expression, most specific first, as the plan lists them.
fn references(expression: &Node) -> Vec<&str> {
    match expression.get("references").map(|r| &r.kind) {
        Some(Kind::List(items)) => items.iter().filter_map(Node::as_str).collect(),
        _ => Vec::new(),
    }
}

struct Context<'n> {
    module: &'n Node,
    root: &'n Node,
    account: &'n str,
}

impl Context<'_> {
    /// A `data.aws_iam_policy_document` as policy JSON, each value mapped to its expression.
    fn document(&self, document: &Node) -> Result<(String, SourceMap), TemplateError> {
        let expressions = document
            .get("expressions")
            .ok_or(TemplateError::Unsupported {
                span: document.span,
                what: "a policy document without expressions".into(),
            })?;
        for unsupported in ["source_policy_documents", "override_policy_documents"] {
            if let Some(node) = expressions.get(unsupported) {
                return Err(TemplateError::Unsupported {
                    span: node.span,
                    what: format!("{unsupported} in a policy document"),
                });
            }
        }
        // Rendered statement by statement, each recorded at its block. The version is the
        // document's, `2012-10-17` unless it says.
        let version = match expressions.get("version") {
            Some(node) => self.scalar(node)?,
            None => json!("2012-10-17"),
        };
        let mut text = format!("{{\"Version\": {version}");
        let mut map = SourceMap::default();
        if let Some(id) = expressions.get("policy_id") {
            let value = self.scalar(id)?;
            text.push_str(", \"Id\": ");
            let start = text.len();
            text.push_str(&value.to_string());
            map.record(Span::new(start, text.len()), id.span);
        }
        text.push_str(", \"Statement\": [");
        let statements: &[Node] = match expressions.get("statement").map(|s| &s.kind) {
            Some(Kind::List(items)) => items,
            _ => &[],
        };
        for (i, block) in statements.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            let start = text.len();
            text.push_str(&self.statement(block, &mut map, start)?);
            map.record(Span::new(start, text.len()), block.span);
        }
        text.push_str("]}");
        map.record(Span::new(0, text.len()), document.span);
        Ok((text, map))
    }

    /// One `statement` block; its members' pieces are recorded at offsets from `base`.
    fn statement(
        &self,
        block: &Node,
        map: &mut SourceMap,
        base: usize,
    ) -> Result<String, TemplateError> {
        let mut members: Vec<(String, Value, Span)> = Vec::new();
        if let Some(sid) = block.get("sid") {
            members.push(("Sid".into(), self.scalar(sid)?, sid.span));
        }
        let effect = match block.get("effect") {
            Some(effect) => (self.scalar(effect)?, effect.span),
            None => (json!("Allow"), block.span),
        };
        members.push(("Effect".into(), effect.0, effect.1));
        for (field, element) in [
            ("principals", "Principal"),
            ("not_principals", "NotPrincipal"),
        ] {
            if let Some(Kind::List(blocks)) = block.get(field).map(|b| &b.kind) {
                let mut principal = Map::new();
                let mut at = None;
                for p in blocks {
                    let kind = p.get("type").map(|t| self.scalar(t)).transpose()?;
                    let kind = kind
                        .as_ref()
                        .and_then(Value::as_str)
                        .unwrap_or("AWS")
                        .to_owned();
                    let identifiers = p
                        .get("identifiers")
                        .map(|i| self.list(i, kind == "AWS"))
                        .transpose()?
                        .unwrap_or_default();
                    let entry = principal.entry(kind).or_insert_with(|| json!([]));
                    if let Some(list) = entry.as_array_mut() {
                        list.extend(identifiers);
                    }
                    at.get_or_insert(p.span);
                }
                // `"*"` for everyone, as a policy document writes it (`type = "*"`, or `AWS`
                // with `"*"` alone).
                let everyone = principal.len() == 1
                    && ["AWS", "*"]
                        .iter()
                        .any(|k| principal.get(*k).is_some_and(|ids| ids == &json!(["*"])));
                let value = if everyone {
                    json!("*")
                } else {
                    Value::Object(principal)
                };
                members.push((element.into(), value, at.unwrap_or(block.span)));
            }
        }
        for (field, element) in [
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ] {
            if let Some(node) = block.get(field) {
                members.push((
                    element.into(),
                    Value::Array(self.list(node, false)?),
                    node.span,
                ));
            }
        }
        if let Some(Kind::List(conditions)) = block.get("condition").map(|c| &c.kind) {
            let mut condition = Map::new();
            for c in conditions {
                let test = c.get("test").map(|t| self.scalar(t)).transpose()?;
                let variable = c.get("variable").map(|v| self.scalar(v)).transpose()?;
                let (Some(Value::String(test)), Some(Value::String(variable))) = (test, variable)
                else {
                    return Err(TemplateError::Unsupported {
                        span: c.span,
                        what: "a condition block without a constant test and variable".into(),
                    });
                };
                let values = c
                    .get("values")
                    .map(|v| self.list(v, false))
                    .transpose()?
                    .unwrap_or_default();
                let keys = condition.entry(test).or_insert_with(|| json!({}));
                if let Some(keys) = keys.as_object_mut() {
                    keys.insert(variable, Value::Array(values));
                }
            }
            if let Some(first) = conditions.first() {
                members.push(("Condition".into(), Value::Object(condition), first.span));
            }
        }
        let mut text = String::from("{");
        for (i, (name, value, at)) in members.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            let start = base + text.len();
            text.push_str(&format!("{}: {value}", Value::String(name.clone())));
            map.record(Span::new(start, base + text.len()), *at);
        }
        text.push('}');
        Ok(text)
    }

    /// An expression with one value.
    fn scalar(&self, expression: &Node) -> Result<Value, TemplateError> {
        match self.list(expression, false)?.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(TemplateError::Unsupported {
                span: expression.span,
                what: "an expression that is not one value".into(),
            }),
        }
    }

    /// An expression's values: its constant (a list's elements), or each distinct reference
    /// rendered whole. `principal`: an account ID reference stands for the account.
    fn list(&self, expression: &Node, principal: bool) -> Result<Vec<Value>, TemplateError> {
        if let Some(constant) = expression.get("constant_value") {
            return Ok(match &constant.kind {
                Kind::List(items) => items.iter().map(json_of).collect(),
                _ => vec![json_of(constant)],
            });
        }
        let refs = references(expression);
        if refs.is_empty() {
            return Err(TemplateError::Unsupported {
                span: expression.span,
                what: "an expression with neither a constant nor a reference".into(),
            });
        }
        // The plan lists `a.b.c` then `a.b`: keep only the most specific of each.
        let mut out = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            let covered = refs.iter().take(i).any(|earlier| {
                earlier.starts_with(&format!("{r}.")) || earlier.starts_with(&format!("{r}["))
            });
            if covered {
                continue;
            }
            out.push(Value::String(self.render(r, principal).ok_or(
                TemplateError::Unsupported {
                    span: expression.span,
                    what: format!(
                        "the reference {r}: the plan does not say what it is, and the rebuild does not render it"
                    ),
                },
            )?));
        }
        Ok(out)
    }

    /// What a reference stands for, when the rebuild knows.
    fn render(&self, reference: &str, principal: bool) -> Option<String> {
        let account = self.account;
        let parts: Vec<&str> = reference.split('.').collect();
        let name = |p: &str| p.split('[').next().unwrap_or(p).to_owned();
        match parts.as_slice() {
            ["data", "aws_caller_identity", _, "account_id"] => Some(account.to_owned()),
            ["data", "aws_caller_identity", _, "arn"] => {
                Some(format!("arn:aws:iam::{account}:root"))
            }
            ["data", "aws_partition", _, "partition"] => Some("aws".into()),
            ["data", "aws_region", _, "name" | "region"] => Some(THIS_REGION.into()),
            ["aws_iam_role", role, "arn"] => {
                Some(format!("arn:aws:iam::{account}:role/{}", name(role)))
            }
            ["aws_iam_user", user, "arn"] => {
                Some(format!("arn:aws:iam::{account}:user/{}", name(user)))
            }
            ["data", "aws_iam_role", role, "arn"] => {
                Some(format!("arn:aws:iam::{account}:role/{}", name(role)))
            }
            ["var", variable] => self.variable(&name(variable)),
            [_, _, "account_id"] if principal => Some(account.to_owned()),
            _ => None,
        }
    }

    /// A variable's default, as text.
    fn variable(&self, name: &str) -> Option<String> {
        let default = self
            .module
            .get("variables")
            .or_else(|| {
                self.root
                    .get("configuration")?
                    .get("root_module")?
                    .get("variables")
            })?
            .get(name)?
            .get("default")?;
        match &default.kind {
            Kind::String(s) | Kind::Number(s) => Some(s.clone()),
            Kind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// A node as JSON.
fn json_of(node: &Node) -> Value {
    match &node.kind {
        Kind::Null => Value::Null,
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Number(n) => serde_json::from_str(n).unwrap_or(Value::String(n.clone())),
        Kind::String(s) => Value::String(s.clone()),
        Kind::List(items) => Value::Array(items.iter().map(json_of).collect()),
        Kind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, _, v)| (k.clone(), json_of(v)))
                .collect(),
        ),
        Kind::Tagged(_, inner) => json_of(inner),
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
    use crate::node::from_json;

    /// A plan with one key in module `kms` whose policy is known after apply, from a policy
    /// document with `statement`.
    fn plan(statement: &str) -> String {
        format!(
            r#"{{"format_version": "1.2",
 "planned_values": {{"root_module": {{"child_modules": [{{"address": "module.kms", "resources": [
   {{"address": "module.kms.aws_kms_key.this[0]", "mode": "managed", "type": "aws_kms_key", "name": "this", "values": {{}}}}]}}]}}}},
 "configuration": {{"root_module": {{
   "variables": {{"admin": {{"default": "arn:aws:iam::111122223333:role/Admin"}}}},
   "module_calls": {{"kms": {{"module": {{
     "variables": {{"env": {{"default": "prod"}}}},
     "resources": [
     {{"address": "aws_kms_key.this", "mode": "managed", "type": "aws_kms_key", "name": "this",
      "expressions": {{"policy": {{"references": ["data.aws_iam_policy_document.key.json", "data.aws_iam_policy_document.key"]}}}}}},
     {{"address": "data.aws_iam_policy_document.key", "mode": "data", "type": "aws_iam_policy_document", "name": "key",
      "expressions": {{"statement": [{statement}]}}}}]}}}}}}}}}}}}"#
        )
    }

    fn rebuilt(statement: &str) -> Result<serde_json::Value, TemplateError> {
        let root = from_json(&plan(statement)).unwrap();
        let policies = key_policies(&root, None)?;
        assert_eq!(policies.len(), 1);
        assert_eq!(policies[0].resource, "module.kms.aws_kms_key.this[0]");
        Ok(serde_json::from_str(&policies[0].text).unwrap())
    }

    #[test]
    fn a_policy_known_after_apply_is_rebuilt_from_its_document() {
        let policy = rebuilt(
            r#"{"sid": {"constant_value": "Root"}, "actions": {"constant_value": ["kms:*"]}, "resources": {"constant_value": ["*"]},
                "principals": [{"type": {"constant_value": "AWS"}, "identifiers": {"references": ["data.aws_caller_identity.current.account_id", "data.aws_caller_identity.current"]}}]},
               {"effect": {"constant_value": "Deny"}, "not_actions": {"constant_value": ["kms:Decrypt"]}, "resources": {"constant_value": ["*"]},
                "principals": [{"type": {"constant_value": "*"}, "identifiers": {"constant_value": ["*"]}}],
                "condition": [{"test": {"constant_value": "StringNotEquals"}, "variable": {"constant_value": "aws:PrincipalTag/env"}, "values": {"references": ["var.env"]}}]}"#,
        )
        .unwrap();
        assert_eq!(
            policy,
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": ["000000000000"]}, "Action": ["kms:*"], "Resource": ["*"]},
                {"Effect": "Deny", "Principal": "*", "NotAction": ["kms:Decrypt"], "Resource": ["*"],
                 "Condition": {"StringNotEquals": {"aws:PrincipalTag/env": ["prod"]}}}]})
        );
    }

    #[test]
    fn a_documents_version_is_kept() {
        let text = plan(r#"{"actions": {"constant_value": ["kms:Decrypt"]}, "resources": {"constant_value": ["*"]}}"#)
            .replace(r#""expressions": {"statement""#, r#""expressions": {"version": {"constant_value": "2008-10-17"}, "statement""#);
        let root = from_json(&text).unwrap();
        let policies = key_policies(&root, None).unwrap();
        let policy: serde_json::Value = serde_json::from_str(&policies[0].text).unwrap();
        assert_eq!(policy["Version"], "2008-10-17");
    }

    #[test]
    fn a_reference_the_rebuild_cannot_render_is_named() {
        let err = rebuilt(
            r#"{"actions": {"constant_value": ["kms:Decrypt"]}, "resources": {"constant_value": ["*"]},
                "principals": [{"type": {"constant_value": "AWS"}, "identifiers": {"references": ["module.iam.role_arn", "module.iam"]}}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("the reference module.iam.role_arn"),
            "{err}"
        );
    }
}
