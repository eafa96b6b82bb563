//! What a set of policies and grants mentions: each condition key with the tests on it, the
//! principals named, and which statement mentions what. The analysis cuts each value space
//! only where something mentioned can tell values apart.

use crate::AnalysisError;
use keyward_conditions::{KeyTest, compile_conditions};
use keyward_grants::{Grant, GrantConstraint};
use keyward_policy::model::{ConditionBlock, PrincipalType, PrincipalValue};
use keyward_policy::operator::{ConditionOperator, OperatorFamily, OperatorKind};
use keyward_policy::{PolicyDocument, Statement};
use std::collections::{BTreeMap, BTreeSet};

/// One test of a `Condition`: the operator and the values written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Test {
    pub(crate) operator: ConditionOperator,
    pub(crate) values: Vec<String>,
}

impl Test {
    pub(crate) fn family(&self) -> OperatorFamily {
        self.operator.kind.family()
    }

    pub(crate) fn kind(&self) -> OperatorKind {
        self.operator.kind
    }
}

/// The tests on one condition key across every policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyTests {
    /// The key as first written.
    pub(crate) written: String,
    pub(crate) tests: Vec<Test>,
    /// The same tests as the evaluator compiled them: what decides a value's cell.
    pub(crate) compiled: Vec<KeyTest>,
}

/// Everything mentioned, by folded key name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mentions {
    pub(crate) keys: BTreeMap<String, KeyTests>,
    /// AWS principal ARNs named in `Principal`/`NotPrincipal` or as grantees.
    pub(crate) principal_arns: BTreeSet<String>,
    /// Accounts named: bare account IDs and account-root principals.
    pub(crate) accounts: BTreeSet<String>,
    /// Service principals named.
    pub(crate) services: BTreeSet<String>,
    /// Encryption-context keys named by grant constraints, with their values.
    pub(crate) grant_context: Vec<(String, String)>,
    /// The `Resource` and `NotResource` patterns, as written, of the statements whose action
    /// clause matches an alias operation: what tells one alias from another
    /// ([`crate::aliases`]). With each, whether it has a policy variable in its resource part.
    pub(crate) alias_resources: BTreeSet<(String, bool)>,
}

/// The keys each statement of a policy mentions in its `Condition` (folded names).
pub(crate) type StatementKeys = Vec<BTreeSet<String>>;

impl Mentions {
    /// Whether a policy names `account`: as a principal (an account, or the account of a
    /// named ARN), or exactly in a test of the caller's account (`aws:PrincipalAccount`,
    /// `kms:CallerAccount`) or ARN (`aws:PrincipalArn`). An account only a pattern matches is
    /// not named: its callers are anyone's.
    pub(crate) fn names_account(&self, account: &str) -> bool {
        let exact = |value: &str| !value.contains(['*', '?', '$']);
        self.accounts.contains(account)
            || self
                .principal_arns
                .iter()
                .any(|arn| account_of(arn) == Some(account))
            || ["aws:principalaccount", "kms:calleraccount"]
                .iter()
                .filter_map(|key| self.keys.get(*key))
                .flat_map(|tests| tests.tests.iter().flat_map(|t| t.values.iter()))
                .any(|value| exact(value) && value == account)
            || self.keys.get("aws:principalarn").is_some_and(|tests| {
                tests
                    .tests
                    .iter()
                    .flat_map(|t| t.values.iter())
                    .any(|value| exact(value) && account_of(value) == Some(account))
            })
    }

    /// Adds a policy; the keys of each of its statements.
    pub(crate) fn add_policy(
        &mut self,
        document: &PolicyDocument,
    ) -> Result<StatementKeys, AnalysisError> {
        let variables = document.variables_enabled();
        let keys = document
            .statements
            .iter()
            .map(|s| self.add_statement(&s.value, variables))
            .collect::<Result<StatementKeys, AnalysisError>>()?;
        let conditions = compile_conditions(document)
            .map_err(|d| AnalysisError::Policy(format!("a condition does not compile: {d}")))?;
        for test in conditions.iter().flatten().flat_map(|c| c.tests()) {
            self.keys
                .entry(test.key().to_ascii_lowercase())
                .or_default()
                .compiled
                .push(test.clone());
        }
        Ok(keys)
    }

    fn add_statement(
        &mut self,
        statement: &Statement,
        variables: bool,
    ) -> Result<BTreeSet<String>, AnalysisError> {
        if let Some(principal) = &statement.principal
            && let PrincipalValue::Map(entries) = &principal.value.value
        {
            for entry in entries {
                for value in &entry.values {
                    self.add_principal(entry.principal_type.value, &value.value);
                }
            }
        }
        if let Some(resource) = &statement.resource
            && crate::aliases::names_an_alias_operation(&statement.action.value)
        {
            for pattern in resource.value.patterns.iter().filter(|p| p.value != "*") {
                let templated = variables
                    && pattern.value.contains("${")
                    && matches!(
                        keyward_policy::compile::ResourcePattern::new(&pattern.value, true),
                        Ok(keyward_policy::compile::ResourcePattern::Templated { .. })
                    );
                self.alias_resources
                    .insert((pattern.value.clone(), templated));
            }
        }
        let mut keys = BTreeSet::new();
        if let Some(block) = &statement.condition {
            self.add_condition(&block.value, variables, &mut keys)?;
        }
        Ok(keys)
    }

    pub(crate) fn add_principal(&mut self, kind: PrincipalType, value: &str) {
        match kind {
            PrincipalType::Aws if value == "*" => {}
            PrincipalType::Aws
                if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) =>
            {
                self.accounts.insert(value.to_owned());
            }
            PrincipalType::Aws => {
                if let Some(account) = account_of(value) {
                    self.accounts.insert(account.to_owned());
                }
                self.principal_arns.insert(value.to_owned());
            }
            PrincipalType::Service => {
                self.services.insert(value.to_owned());
            }
            PrincipalType::Federated | PrincipalType::CanonicalUser => {}
        }
    }

    fn add_condition(
        &mut self,
        block: &ConditionBlock,
        variables: bool,
        keys: &mut BTreeSet<String>,
    ) -> Result<(), AnalysisError> {
        for entry in &block.operators {
            let operator = entry.operator.value;
            for key in &entry.keys {
                let values: Vec<String> = key.values.iter().map(|v| v.value.text.clone()).collect();
                if variables && values.iter().any(|v| v.contains("${")) {
                    return Err(AnalysisError::Unsupported(format!(
                        "the condition on {} compares it with a policy variable: the analysis does not follow a value from one key to another yet",
                        key.key.value
                    )));
                }
                let folded = key.key.value.to_ascii_lowercase();
                keys.insert(folded.clone());
                let tests = self.keys.entry(folded).or_default();
                if tests.written.is_empty() {
                    tests.written.clone_from(&key.key.value);
                }
                tests.tests.push(Test { operator, values });
            }
        }
        Ok(())
    }

    /// Adds the grants: their grantees and retiring principals, and their constraints'
    /// encryption-context pairs.
    pub(crate) fn add_grants(&mut self, grants: &[Grant]) {
        for grant in grants {
            for principal in std::iter::once(&grant.grantee).chain(&grant.retiring_principal) {
                self.add_principal(PrincipalType::Aws, principal);
            }
            match &grant.constraint {
                Some(
                    GrantConstraint::EncryptionContextEquals(pairs)
                    | GrantConstraint::EncryptionContextSubset(pairs),
                ) => self.grant_context.extend(pairs.iter().cloned()),
                None => {}
            }
        }
    }
}

/// The account of an ARN (its fifth part), when it has one.
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    keyward_policy::arn::Arn::parse(arn)
        .map(|a| a.account)
        .filter(|a| !a.is_empty())
}
