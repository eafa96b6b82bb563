//! An account's IAM data as `aws iam get-account-authorization-details` prints it, read as it
//! is, and the identity policies in force for one principal: its inline policies, the default
//! version of each managed policy attached to it, and for a user those of its groups.
//! Members the analysis does not use are ignored; a member it uses with the wrong type is an
//! error with its line and column.

use crate::AnalysisError;
use crate::inputs::{ReadError, read};
use serde::Deserialize;

/// A policy document as the CLI prints it: a JSON object (the CLI decodes the API's
/// URL-encoded text), or that text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Document {
    Object(serde_json::Map<String, serde_json::Value>),
    Text(String),
}

impl Document {
    fn text(&self) -> Result<String, AnalysisError> {
        match self {
            Self::Object(map) => serde_json::to_string(map)
                .map_err(|e| AnalysisError::Input(format!("a policy document: {e}"))),
            Self::Text(text) if text.trim_start().starts_with('%') => {
                percent_encoding::percent_decode_str(text)
                    .decode_utf8()
                    .map(|t| t.into_owned())
                    .map_err(|e| {
                        AnalysisError::Input(format!("a URL-encoded policy document: {e}"))
                    })
            }
            Self::Text(text) => Ok(text.clone()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InlinePolicy {
    policy_name: String,
    policy_document: Document,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttachedPolicy {
    policy_arn: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Boundary {
    permissions_boundary_arn: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserDetail {
    arn: String,
    user_name: String,
    #[serde(default)]
    user_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    group_list: Vec<String>,
    #[serde(default)]
    attached_managed_policies: Vec<AttachedPolicy>,
    permissions_boundary: Option<Boundary>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupDetail {
    group_name: String,
    #[serde(default)]
    group_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    attached_managed_policies: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleDetail {
    arn: String,
    role_name: String,
    #[serde(default)]
    role_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    attached_managed_policies: Vec<AttachedPolicy>,
    permissions_boundary: Option<Boundary>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyVersion {
    document: Document,
    #[serde(default)]
    is_default_version: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManagedPolicy {
    arn: String,
    #[serde(default)]
    policy_version_list: Vec<PolicyVersion>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Details {
    #[serde(default)]
    user_detail_list: Vec<UserDetail>,
    #[serde(default)]
    group_detail_list: Vec<GroupDetail>,
    #[serde(default)]
    role_detail_list: Vec<RoleDetail>,
    #[serde(default)]
    policies: Vec<ManagedPolicy>,
}

/// One identity policy in force for a principal: where it comes from, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPolicy {
    /// Where it comes from: `user/alice inline Name`, `group/devs inline Name`, or a managed
    /// policy's ARN.
    pub source: String,
    /// The policy document.
    pub text: String,
}

/// The output of `aws iam get-account-authorization-details`.
#[derive(Debug, Clone)]
pub struct AuthorizationDetails {
    details: Details,
}

impl AuthorizationDetails {
    /// Reads the output as the CLI prints it.
    pub fn read(text: &str) -> Result<Self, ReadError> {
        Ok(Self {
            details: read(
                text,
                "the output of `aws iam get-account-authorization-details`",
            )?,
        })
    }

    /// The identity policies in force for `principal`: a user's ARN, a role's, or a session
    /// of a role (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, whose role is found by its
    /// name and account). The root user has none (IAM policies do not restrict it in its own
    /// account). Its permissions boundary, when it has one, is [`Self::boundary_of`].
    pub fn policies_of(&self, principal: &str) -> Result<Vec<IdentityPolicy>, AnalysisError> {
        let arn = keyward_policy::arn::Arn::parse(principal)
            .ok_or_else(|| AnalysisError::Input(format!("{principal} is not an ARN")))?;
        let not_found = || {
            AnalysisError::Input(format!(
                "{principal} is not in the authorization details (no such user or role)"
            ))
        };
        if arn.resource == "root" {
            return Ok(Vec::new());
        }
        if arn.resource.starts_with("assumed-role/") {
            let role_arn = self.role_of(principal).ok_or_else(not_found)?;
            let role = self
                .details
                .role_detail_list
                .iter()
                .find(|r| r.arn == role_arn)
                .ok_or_else(not_found)?;
            return self.role_policies(role);
        }
        if let Some(role) = self
            .details
            .role_detail_list
            .iter()
            .find(|r| r.arn == principal)
        {
            return self.role_policies(role);
        }
        let user = self
            .details
            .user_detail_list
            .iter()
            .find(|u| u.arn == principal)
            .ok_or_else(not_found)?;
        let mut out = Vec::new();
        inline(
            &mut out,
            &format!("user/{}", user.user_name),
            &user.user_policy_list,
        )?;
        self.managed(&mut out, &user.attached_managed_policies)?;
        for name in &user.group_list {
            let group = self
                .details
                .group_detail_list
                .iter()
                .find(|g| &g.group_name == name)
                .ok_or_else(|| {
                    AnalysisError::Input(format!(
                        "{principal} is in group {name}, which the authorization details do not list"
                    ))
                })?;
            inline(&mut out, &format!("group/{name}"), &group.group_policy_list)?;
            self.managed(&mut out, &group.attached_managed_policies)?;
        }
        Ok(out)
    }

    /// The permissions boundary of `principal` (a user, a role, or a session of a role): the
    /// default version of the managed policy it names, or `None` when it has none.
    pub fn boundary_of(&self, principal: &str) -> Result<Option<IdentityPolicy>, AnalysisError> {
        let arn = keyward_policy::arn::Arn::parse(principal)
            .ok_or_else(|| AnalysisError::Input(format!("{principal} is not an ARN")))?;
        let boundary = if arn.resource.starts_with("assumed-role/") {
            self.role_of(principal).and_then(|role| {
                self.details
                    .role_detail_list
                    .iter()
                    .find(|r| r.arn == role)
                    .and_then(|r| r.permissions_boundary.as_ref())
            })
        } else {
            self.details
                .role_detail_list
                .iter()
                .find(|r| r.arn == principal)
                .and_then(|r| r.permissions_boundary.as_ref())
                .or_else(|| {
                    self.details
                        .user_detail_list
                        .iter()
                        .find(|u| u.arn == principal)
                        .and_then(|u| u.permissions_boundary.as_ref())
                })
        };
        let Some(boundary) = boundary else {
            return Ok(None);
        };
        let mut found = Vec::new();
        self.managed(
            &mut found,
            &[AttachedPolicy {
                policy_arn: boundary.permissions_boundary_arn.clone(),
            }],
        )?;
        Ok(found.pop())
    }

    /// The ARNs of the users and roles listed, users first, each once.
    pub fn principals(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for arn in self
            .details
            .user_detail_list
            .iter()
            .map(|u| u.arn.as_str())
            .chain(self.details.role_detail_list.iter().map(|r| r.arn.as_str()))
        {
            if !out.contains(&arn) {
                out.push(arn);
            }
        }
        out
    }

    /// The account the details describe: that of the first user or role listed.
    pub fn account(&self) -> Option<String> {
        self.principals()
            .first()
            .and_then(|arn| crate::mentions::account_of(arn))
            .map(str::to_owned)
    }

    /// The ARN, with its path, of the role of `session` (`arn:aws:sts::ACCOUNT:assumed-role/
    /// ROLE/SESSION`), when the details list it.
    pub fn role_of(&self, session: &str) -> Option<&str> {
        let arn = keyward_policy::arn::Arn::parse(session)?;
        let role_name = arn.session_role_name()?;
        self.details
            .role_detail_list
            .iter()
            .find(|r| {
                r.role_name == role_name && crate::mentions::account_of(&r.arn) == Some(arn.account)
            })
            .map(|r| r.arn.as_str())
    }

    fn role_policies(&self, role: &RoleDetail) -> Result<Vec<IdentityPolicy>, AnalysisError> {
        let mut out = Vec::new();
        inline(
            &mut out,
            &format!("role/{}", role.role_name),
            &role.role_policy_list,
        )?;
        self.managed(&mut out, &role.attached_managed_policies)?;
        Ok(out)
    }

    /// The default version of each attached managed policy.
    fn managed(
        &self,
        out: &mut Vec<IdentityPolicy>,
        attached: &[AttachedPolicy],
    ) -> Result<(), AnalysisError> {
        for a in attached {
            let policy = self
                .details
                .policies
                .iter()
                .find(|p| p.arn == a.policy_arn)
                .ok_or_else(|| {
                    AnalysisError::Input(format!(
                        "the managed policy {} is attached but not in the authorization details' Policies (export them with --filter LocalManagedPolicy AWSManagedPolicy)",
                        a.policy_arn
                    ))
                })?;
            let version = policy
                .policy_version_list
                .iter()
                .find(|v| v.is_default_version)
                .ok_or_else(|| {
                    AnalysisError::Input(format!(
                        "the managed policy {} has no default version in the authorization details",
                        a.policy_arn
                    ))
                })?;
            out.push(IdentityPolicy {
                source: a.policy_arn.clone(),
                text: version.document.text()?,
            });
        }
        Ok(())
    }
}

fn inline(
    out: &mut Vec<IdentityPolicy>,
    owner: &str,
    policies: &[InlinePolicy],
) -> Result<(), AnalysisError> {
    for p in policies {
        out.push(IdentityPolicy {
            source: format!("{owner} inline {}", p.policy_name),
            text: p.policy_document.text()?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]

    use super::*;

    const ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;

    #[test]
    fn a_document_reads_as_an_object_as_json_text_and_url_encoded() {
        let encoded: String =
            percent_encoding::utf8_percent_encode(ALLOW, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        for document in [
            ALLOW.to_owned(),
            serde_json::to_string(ALLOW).unwrap(),
            serde_json::to_string(&encoded).unwrap(),
        ] {
            let text = format!(
                r#"{{"RoleDetailList": [{{"RoleName": "app", "Arn": "arn:aws:iam::111122223333:role/app",
                    "RolePolicyList": [{{"PolicyName": "p", "PolicyDocument": {document}}}]}}]}}"#
            );
            let details = AuthorizationDetails::read(&text).unwrap();
            let policies = details
                .policies_of("arn:aws:iam::111122223333:role/app")
                .unwrap();
            let read: serde_json::Value = serde_json::from_str(&policies[0].text).unwrap();
            assert_eq!(
                read,
                serde_json::from_str::<serde_json::Value>(ALLOW).unwrap()
            );
            assert_eq!(policies[0].source, "role/app inline p");
        }
    }

    #[test]
    fn a_member_of_the_wrong_type_is_an_error_at_its_place() {
        let e = AuthorizationDetails::read("{\n  \"UserDetailList\": {}\n}").unwrap_err();
        assert_eq!((e.line, e.column > 0), (2, true), "{e}");
    }

    #[test]
    fn a_session_is_found_by_its_roles_name_and_account_and_the_root_has_no_policies() {
        let text = r#"{"RoleDetailList": [{"RoleName": "app", "Arn": "arn:aws:iam::111122223333:role/path/app"}]}"#;
        let details = AuthorizationDetails::read(text).unwrap();
        assert!(
            details
                .policies_of("arn:aws:sts::111122223333:assumed-role/app/s")
                .is_ok()
        );
        assert!(
            details
                .policies_of("arn:aws:sts::444455556666:assumed-role/app/s")
                .is_err()
        );
        assert_eq!(
            details
                .policies_of("arn:aws:iam::111122223333:root")
                .unwrap(),
            vec![]
        );
    }
}
