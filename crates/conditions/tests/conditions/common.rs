//! Set-up the condition tests share.

use keyward_conditions::{CompiledCondition, RequestContext};
use keyward_policy::parse_condition_block;

/// The `Condition` block `json`, parsed and compiled; policy variables are substituted when
/// `variables` (Version 2012-10-17).
pub(crate) fn compile(json: &str, variables: bool) -> CompiledCondition {
    let block = parse_condition_block(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    CompiledCondition::new(&block, variables).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// A request context with one single value per key.
pub(crate) fn ctx(pairs: &[(&str, &str)]) -> RequestContext {
    let mut c = RequestContext::new();
    for (k, v) in pairs {
        c.insert_single(k, v);
    }
    c
}
