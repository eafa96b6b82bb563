//! Custom key stores: DescribeCustomKeyStores, ConnectCustomKeyStore,
//! DisconnectCustomKeyStore, and CreateCustomKeyStore, UpdateCustomKeyStore and
//! DeleteCustomKeyStore, which the stores defined in the configuration refuse
//! ([`crate::key_stores`]). All of them act on no key: the caller's identity policies decide
//! (`"Resource": "*"`).

use crate::error::KmsError;
use crate::gate::operation;
use crate::key_stores::{ConnectionState, KeyStore};
use crate::paging::{PageSize, paginate};
use keyward_api::{
    ConnectCustomKeyStoreRequest, CreateCustomKeyStoreRequest, CreateCustomKeyStoreResponse,
    CustomKeyStoresListEntry, DeleteCustomKeyStoreRequest, DescribeCustomKeyStoresRequest,
    DescribeCustomKeyStoresResponse, DisconnectCustomKeyStoreRequest, Empty, ErrorCode,
    UpdateCustomKeyStoreRequest,
};
use serde_json::json;

/// The store with ID `id`, or AWS's `CustomKeyStoreNotFoundException`.
pub(crate) fn store<'k>(kms: &'k crate::service::Kms, id: &str) -> Result<&'k KeyStore, KmsError> {
    kms.key_stores.get(id).ok_or_else(|| {
        KmsError::refused(
            ErrorCode::CustomKeyStoreNotFound,
            format!("Custom key store {id} does not exist."),
        )
    })
}

/// A store as DescribeCustomKeyStores lists it.
fn entry(store: &KeyStore) -> CustomKeyStoresListEntry {
    let state = store.state();
    CustomKeyStoresListEntry {
        custom_key_store_id: store.config.id.clone(),
        custom_key_store_name: store.config.name.clone(),
        custom_key_store_type: "AWS_CLOUDHSM".to_owned(),
        cloud_hsm_cluster_id: store.config.token_label.clone(),
        trust_anchor_certificate: None,
        connection_state: state.as_str().to_owned(),
        connection_error_code: (state == ConnectionState::Failed)
            .then(|| store.error_code().map(str::to_owned))
            .flatten(),
        creation_date: crate::clock::from_epoch_seconds(store.created),
    }
}

/// What CreateCustomKeyStore, UpdateCustomKeyStore and DeleteCustomKeyStore answer: the
/// stores are defined in the configuration, which a call does not change.
fn defined_in_the_configuration(what: &str) -> KmsError {
    KmsError::unsupported(format!(
        "{what} is not supported by this implementation: custom key stores are defined in the configuration's [[key_stores]]"
    ))
}

operation! {
    /// DescribeCustomKeyStores: every store, or the one named by ID or name.
    DescribeCustomKeyStores(DescribeCustomKeyStoresRequest) -> DescribeCustomKeyStoresResponse,
        via NoKey, action "DescribeCustomKeyStores", state Any;
    audit |r| json!({"customKeyStoreId": r.custom_key_store_id, "customKeyStoreName": r.custom_key_store_name});
    check |r| {
        if r.custom_key_store_id.is_some() && r.custom_key_store_name.is_some() {
            return Err(KmsError::validation(
                "You cannot specify both CustomKeyStoreId and CustomKeyStoreName.",
            ));
        }
        Ok(())
    };
    perform |op, r| {
        let mut stores: Vec<&KeyStore> = op.kms.key_stores.all().iter().collect();
        if let Some(id) = &r.custom_key_store_id {
            stores = vec![store(op.kms, id)?];
        }
        if let Some(name) = &r.custom_key_store_name {
            stores.retain(|s| &s.config.name == name);
            if stores.is_empty() {
                return Err(KmsError::refused(
                    ErrorCode::CustomKeyStoreNotFound,
                    format!("Custom key store with name {name} does not exist."),
                ));
            }
        }
        stores.sort_by(|a, b| a.config.id.cmp(&b.config.id));
        let entries = stores.into_iter().map(entry).collect();
        let page = paginate(entries, r.limit, r.marker.as_deref(), PageSize { default: 100, max: 1000 })?;
        Ok(DescribeCustomKeyStoresResponse {
            custom_key_stores: page.items,
            next_marker: page.next_marker,
            truncated: page.truncated,
        })
    }
}

operation! {
    /// ConnectCustomKeyStore: logs in to the store's token. Valid unless the store is FAILED
    /// (disconnect it first, as AWS asks); a store already connected stays so. A connection
    /// that fails leaves the store FAILED with its `ConnectionErrorCode`, and the call
    /// succeeds, as AWS's does (its connection runs after the answer).
    ConnectCustomKeyStore(ConnectCustomKeyStoreRequest) -> Empty,
        via NoKey, action "ConnectCustomKeyStore", state Any;
    audit |r| json!({"customKeyStoreId": r.custom_key_store_id});
    perform |op, r| {
        let store = store(op.kms, &r.custom_key_store_id)?;
        match store.state() {
            ConnectionState::Connected => {}
            ConnectionState::Failed => {
                return Err(KmsError::refused(
                    ErrorCode::CustomKeyStoreInvalidState,
                    format!(
                        "Custom key store {} is FAILED: disconnect it (DisconnectCustomKeyStore), then connect it.",
                        store.config.id
                    ),
                ));
            }
            ConnectionState::Disconnected => {
                // A failure is the store's state, not the call's.
                let _ = store.connect();
            }
        }
        Ok(Empty {})
    }
}

operation! {
    /// DisconnectCustomKeyStore: logs out of the store's token; its keys refuse every
    /// operation until it is connected again.
    DisconnectCustomKeyStore(DisconnectCustomKeyStoreRequest) -> Empty,
        via NoKey, action "DisconnectCustomKeyStore", state Any;
    audit |r| json!({"customKeyStoreId": r.custom_key_store_id});
    perform |op, r| {
        let store = store(op.kms, &r.custom_key_store_id)?;
        if store.state() == ConnectionState::Disconnected {
            return Err(KmsError::refused(
                ErrorCode::CustomKeyStoreInvalidState,
                format!("Custom key store {} is already DISCONNECTED.", store.config.id),
            ));
        }
        store.disconnect();
        Ok(Empty {})
    }
}

operation! {
    /// CreateCustomKeyStore: refused; an external key store's type as AWS refuses what it
    /// does not offer.
    CreateCustomKeyStore(CreateCustomKeyStoreRequest) -> CreateCustomKeyStoreResponse,
        via NoKey, action "CreateCustomKeyStore", state Any;
    audit |r| json!({"customKeyStoreName": r.custom_key_store_name, "customKeyStoreType": r.custom_key_store_type});
    perform |op, r| {
        let _ = op;
        match r.custom_key_store_type.as_deref().unwrap_or("AWS_CLOUDHSM") {
            "AWS_CLOUDHSM" => Err(defined_in_the_configuration("Creating a custom key store")),
            "EXTERNAL_KEY_STORE" => Err(KmsError::unsupported(
                "External key stores (EXTERNAL_KEY_STORE) are not supported by this implementation",
            )),
            other => Err(KmsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'customKeyStoreType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_CLOUDHSM, EXTERNAL_KEY_STORE]"
            ))),
        }
    }
}

operation! {
    /// UpdateCustomKeyStore: refused for a store of the configuration (after the checks AWS
    /// makes first: the store exists).
    UpdateCustomKeyStore(UpdateCustomKeyStoreRequest) -> Empty,
        via NoKey, action "UpdateCustomKeyStore", state Any;
    audit |r| json!({"customKeyStoreId": r.custom_key_store_id, "newCustomKeyStoreName": r.new_custom_key_store_name});
    perform |op, r| {
        store(op.kms, &r.custom_key_store_id)?;
        Err(defined_in_the_configuration("Updating a custom key store"))
    }
}

operation! {
    /// DeleteCustomKeyStore: refused for a store of the configuration, after AWS's checks:
    /// the store exists and is disconnected.
    DeleteCustomKeyStore(DeleteCustomKeyStoreRequest) -> Empty,
        via NoKey, action "DeleteCustomKeyStore", state Any;
    audit |r| json!({"customKeyStoreId": r.custom_key_store_id});
    perform |op, r| {
        let store = store(op.kms, &r.custom_key_store_id)?;
        if store.state() != ConnectionState::Disconnected {
            return Err(KmsError::refused(
                ErrorCode::CustomKeyStoreInvalidState,
                format!(
                    "Custom key store {} must be DISCONNECTED before it is deleted.",
                    store.config.id
                ),
            ));
        }
        Err(defined_in_the_configuration("Deleting a custom key store"))
    }
}
