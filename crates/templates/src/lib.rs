//! Where key policies live. A file is a key policy; a CloudFormation template (JSON or YAML,
//! CDK's `cdk.out/*.template.json` included) whose `AWS::KMS::Key` and `AWS::KMS::ReplicaKey`
//! resources carry key policies; or a Terraform plan (`terraform show -json`) whose
//! `aws_kms_key`, `aws_kms_replica_key` and `aws_kms_key_policy` resources do. Each policy is rendered as policy JSON with a [`SourceMap`]
//! from the rendered text back to the template, so that a finding on the policy points at the
//! template's own line and column.
//!
//! ```
//! use keyward_templates::{Format, read};
//!
//! let template = "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {AWS: !Sub 'arn:aws:iam::${AWS::AccountId}:root'}\n            Action: 'kms:*'\n            Resource: '*'\n";
//! let read = read(template, Format::Auto, None)?;
//! assert_eq!(read.format, Format::CloudFormation);
//! let policy = &read.policies[0];
//! assert_eq!(policy.resource, "Key");
//! assert!(policy.text.contains("arn:aws:iam::000000000000:root"));
//! // The principal, in the rendered text, comes from the `!Sub` on line 9.
//! let at = policy.text.find("arn:aws:iam").unwrap();
//! let origin = policy.map.origin(keyward_templates::Span::new(at, at + 1)).unwrap();
//! assert!(template[origin.start..].starts_with("'arn:aws:iam::${AWS::AccountId}:root'"));
//! # Ok::<(), keyward_templates::TemplateError>(())
//! ```

#![warn(missing_docs)]

mod cloudformation;
mod node;
mod terraform;

pub use cloudformation::{THIS_ACCOUNT, THIS_REGION};

/// The most bytes of a template read.
pub const MAX_TEMPLATE_BYTES: usize = 4 * 1024 * 1024;

/// A byte range of a file: the policy crate's, so a finding moves between a rendered policy
/// and its template without conversion.
pub use keyward_policy::Span;

fn contains(outer: Span, inner: Span) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Decide from the content.
    Auto,
    /// A key policy (or identity policy): JSON with `Statement`.
    Policy,
    /// A CloudFormation template, JSON or YAML (`Resources`).
    CloudFormation,
    /// A Terraform plan as `terraform show -json` prints it.
    TerraformPlan,
}

/// Why a template could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Not JSON or YAML.
    #[error("not valid JSON or YAML: {detail}")]
    Syntax {
        /// Where.
        span: Span,
        /// What the parser said.
        detail: String,
    },
    /// Nested too deep.
    #[error("nested more than 64 deep")]
    TooDeep,
    /// Over [`MAX_TEMPLATE_BYTES`].
    #[error("the file is {size} bytes, more than the {MAX_TEMPLATE_BYTES} read")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// Something the symbolic evaluation does not do.
    #[error("not evaluated: {what}")]
    Unsupported {
        /// Where.
        span: Span,
        /// What.
        what: String,
    },
}

impl TemplateError {
    /// Where in the file, when known.
    pub fn span(&self) -> Option<Span> {
        match self {
            Self::Syntax { span, .. } | Self::Unsupported { span, .. } => Some(*span),
            Self::TooDeep | Self::TooLarge { .. } => None,
        }
    }
}

/// Where each piece of a rendered policy came from in the template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    /// (rendered span, template span), in the order rendered (inner pieces before the values
    /// that hold them).
    pieces: Vec<(Span, Span)>,
}

impl SourceMap {
    fn record(&mut self, rendered: Span, template: Span) {
        self.pieces.push((rendered, template));
    }

    /// Where `rendered` was written: from the piece it starts with to the piece it ends with
    /// (a key and its value: `Principal: '*'`), when both are pieces; otherwise the smallest
    /// piece that holds it.
    pub fn origin(&self, rendered: Span) -> Option<Span> {
        let len = |r: &Span| r.end - r.start;
        let first = self
            .pieces
            .iter()
            .filter(|(r, _)| r.start == rendered.start && r.end <= rendered.end)
            .max_by_key(|(r, _)| len(r));
        let last = self
            .pieces
            .iter()
            .filter(|(r, _)| r.end == rendered.end && r.start >= rendered.start)
            .max_by_key(|(r, _)| len(r));
        if let (Some((_, from)), Some((_, to))) = (first, last)
            && from.start <= to.end
        {
            return Some(Span::new(from.start, to.end.max(from.end)));
        }
        self.pieces
            .iter()
            .filter(|(r, _)| contains(*r, rendered))
            .min_by_key(|(r, _)| len(r))
            .map(|(_, t)| *t)
    }
}

/// One key policy found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The resource's logical ID.
    pub resource: String,
    /// `AWS::KMS::Key` or `AWS::KMS::ReplicaKey`.
    pub resource_type: String,
    /// The CDK construct path (`aws:cdk:path` metadata), when there is one.
    pub construct: Option<String>,
    /// JSON pointer of the policy in the template (`/Resources/KEY/Properties/KeyPolicy`).
    pub pointer: String,
    /// The policy, rendered as JSON.
    pub text: String,
    /// From the rendered text to the template.
    pub map: SourceMap,
    /// The account `AWS::AccountId` stands for in `text`.
    pub account: String,
    /// The grants the file makes on this key (Terraform's `aws_kms_grant`).
    pub grants: Vec<GrantSource>,
    /// The values this reading takes for conditions the template does not decide (empty when
    /// it decides every one its `Fn::If`s name): one policy is read per combination.
    pub assumed: Vec<(String, bool)>,
}

/// A grant a file makes on a key, as written there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSource {
    /// Its resource address (`aws_kms_grant.partner`).
    pub resource: String,
    /// The grantee principal's ARN.
    pub grantee: String,
    /// The principal that may retire it.
    pub retiring_principal: Option<String>,
    /// The operations, as written (`Decrypt`).
    pub operations: Vec<String>,
    /// `encryption_context_equals` (`true`) or `encryption_context_subset` (`false`), with the
    /// pairs.
    pub constraint: Option<(bool, Vec<(String, String)>)>,
    /// Where the grant is in the file.
    pub at: Span,
}

/// A file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// What it is.
    pub format: Format,
    /// Its key policies (none for [`Format::Policy`]: the file is the policy).
    pub policies: Vec<Extracted>,
}

/// Reads `text` as `format` (by its content for [`Format::Auto`]). `account` is what
/// `AWS::AccountId` stands for; [`THIS_ACCOUNT`] when `None`.
pub fn read(text: &str, format: Format, account: Option<&str>) -> Result<Read, TemplateError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::TooLarge { size: text.len() });
    }
    let format = match format {
        Format::Auto => detect(text),
        other => other,
    };
    let policies = match format {
        Format::CloudFormation => cloudformation::key_policies(&parse(text)?, account)?,
        Format::TerraformPlan => {
            check_depth(text)?;
            terraform::key_policies(&node::from_json(text)?, account)?
        }
        Format::Auto | Format::Policy => Vec::new(),
    };
    Ok(Read { format, policies })
}

/// JSON when it starts like JSON, YAML otherwise.
fn parse(text: &str) -> Result<node::Node, TemplateError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        check_depth(text)?;
        node::from_json(text)
    } else {
        node::from_yaml(text)
    }
}

/// Refuses JSON nested deeper than the tree is built, before the parser recurses into it.
fn check_depth(text: &str) -> Result<(), TemplateError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > 64 {
                    return Err(TemplateError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// What a file is, from its content: a Terraform plan is a JSON object with `format_version`
/// and `planned_values` or `resource_changes`; a CloudFormation template is an object with a
/// `Resources` or `AWSTemplateFormatVersion` member, in JSON or (at the start of a line) in
/// YAML; anything else is a policy (and is read, and reported on, as one).
pub fn detect(text: &str) -> Format {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        let Ok(members) =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(trimmed)
        else {
            return Format::Policy;
        };
        let has = |k: &str| members.contains_key(k);
        if has("format_version") && (has("planned_values") || has("resource_changes")) {
            Format::TerraformPlan
        } else if has("Resources") || has("AWSTemplateFormatVersion") {
            Format::CloudFormation
        } else {
            Format::Policy
        }
    } else if text
        .lines()
        .any(|l| l.starts_with("Resources:") || l.starts_with("AWSTemplateFormatVersion:"))
    {
        Format::CloudFormation
    } else {
        Format::Policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_told_by_its_content() {
        assert_eq!(
            detect("{\"Version\": \"2012-10-17\", \"Statement\": []}"),
            Format::Policy
        );
        assert_eq!(
            detect("{\"Statement\": [{\"Sid\": \"Resources\"}]}"),
            Format::Policy
        );
        assert_eq!(detect("{\"Resources\": {}}"), Format::CloudFormation);
        assert_eq!(
            detect("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n"),
            Format::CloudFormation
        );
        assert_eq!(detect("not: a template\n"), Format::Policy);
        assert_eq!(detect("{ broken"), Format::Policy);
        assert_eq!(
            detect("{\"format_version\": \"1.2\", \"planned_values\": {}}"),
            Format::TerraformPlan
        );
    }

    #[test]
    fn the_map_finds_the_smallest_piece() {
        let mut map = SourceMap::default();
        map.record(Span::new(5, 10), Span::new(100, 110));
        map.record(Span::new(0, 20), Span::new(0, 200));
        assert_eq!(map.origin(Span::new(6, 7)), Some(Span::new(100, 110)));
        assert_eq!(map.origin(Span::new(2, 3)), Some(Span::new(0, 200)));
        assert_eq!(map.origin(Span::new(15, 30)), None);
        // A key and its value: from the key's place to the value's end.
        map.record(Span::new(11, 14), Span::new(150, 155));
        map.record(Span::new(16, 19), Span::new(157, 160));
        assert_eq!(map.origin(Span::new(11, 19)), Some(Span::new(150, 160)));
        assert_eq!(map.origin(Span::new(16, 19)), Some(Span::new(157, 160)));
    }

    #[test]
    fn large_files_are_refused_before_reading() {
        let big = " ".repeat(MAX_TEMPLATE_BYTES + 1);
        assert_eq!(
            read(&big, Format::Auto, None),
            Err(TemplateError::TooLarge {
                size: MAX_TEMPLATE_BYTES + 1
            })
        );
    }
}
