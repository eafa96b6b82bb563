//! Custom key stores: DescribeCustomKeyStores, ConnectCustomKeyStore,
//! DisconnectCustomKeyStore, CreateCustomKeyStore, UpdateCustomKeyStore and
//! DeleteCustomKeyStore ([`crate::key_stores`]). The configuration's stores are not changed by
//! calls; a store registered with CreateCustomKeyStore is stored (its PIN sealed) and can be
//! updated and deleted as AWS allows. All of them act on no key: the caller's identity
//! policies decide (`"Resource": "*"`).

use crate::error::KmsError;
use crate::gate::operation;
use crate::key_stores::{ConnectionState, KeyStore, KeyStoreConfig, MAX_KEY_STORES, Origin};
use crate::paging::{PageSize, paginate};
use crate::service::Kms;
use crate::store::Change;
use keyward_api::{
    ConnectCustomKeyStoreRequest, CreateCustomKeyStoreRequest, CreateCustomKeyStoreResponse,
    CustomKeyStoresListEntry, DeleteCustomKeyStoreRequest, DescribeCustomKeyStoresRequest,
    DescribeCustomKeyStoresResponse, DisconnectCustomKeyStoreRequest, Empty, ErrorCode, SecretText,
    UpdateCustomKeyStoreRequest,
};
use keyward_crypto::Secret;
use serde_json::json;
use std::sync::Arc;

/// The store with ID `id`, or AWS's `CustomKeyStoreNotFoundException`.
pub(crate) fn store(kms: &Kms, id: &str) -> Result<Arc<KeyStore>, KmsError> {
    if let Some(found) = kms.key_stores.get(id) {
        return Ok(found);
    }
    // Registered through another instance sharing the store, perhaps.
    kms.refresh_key_stores()?;
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
        trust_anchor_certificate: match &store.origin {
            Origin::Registered { trust_anchor } => Some(trust_anchor.clone()),
            Origin::Configuration => None,
        },
        connection_state: state.as_str().to_owned(),
        connection_error_code: (state == ConnectionState::Failed)
            .then(|| store.error_code().map(str::to_owned))
            .flatten(),
        creation_date: crate::clock::from_epoch_seconds(store.created),
    }
}

/// What UpdateCustomKeyStore and DeleteCustomKeyStore answer for a store of the configuration,
/// which calls do not change.
fn defined_in_the_configuration(what: &str, id: &str) -> KmsError {
    KmsError::unsupported(format!(
        "{what} {id} is not supported: it is defined in the configuration's [[key_stores]]; change it there"
    ))
}

fn invalid_state(message: String) -> KmsError {
    KmsError::refused(ErrorCode::CustomKeyStoreInvalidState, message)
}

/// Writes a registered store's row (`connected` or not); a store of the configuration has
/// none.
fn persist(kms: &Kms, store: &KeyStore, connected: bool) -> Result<(), KmsError> {
    if store.origin == Origin::Configuration {
        return Ok(());
    }
    let row = kms.key_store_row(store, connected)?;
    kms.persist(&[Change::PutKeyStore(row)])
}

/// The checks of a name: 1 to 256 characters, no other store's.
fn check_name(kms: &Kms, name: &str, except: Option<&str>) -> Result<(), KmsError> {
    if name.is_empty() || name.chars().count() > 256 {
        return Err(KmsError::validation(
            "1 validation error detected: Value at 'customKeyStoreName' failed to satisfy constraint: Member must have length between 1 and 256",
        ));
    }
    if kms
        .key_stores
        .all()
        .iter()
        .any(|s| s.config.name == name && Some(s.config.id.as_str()) != except)
    {
        return Err(KmsError::refused(
            ErrorCode::CustomKeyStoreNameInUse,
            format!("Custom key store name {name} is already in use."),
        ));
    }
    Ok(())
}

/// The checks of a cluster (a token of the configured module): a label, of no other store, of a
/// token the module has.
fn check_cluster(
    kms: &Kms,
    module: &std::path::Path,
    label: &str,
    except: Option<&str>,
) -> Result<(), KmsError> {
    if label.is_empty() || label.len() > 32 {
        return Err(KmsError::validation(
            "CloudHsmClusterId: the label of a token of the PKCS#11 module, 1 to 32 bytes",
        ));
    }
    if kms
        .key_stores
        .all()
        .iter()
        .any(|s| s.config.token_label == label && Some(s.config.id.as_str()) != except)
    {
        return Err(KmsError::refused(
            ErrorCode::CloudHsmClusterInUse,
            format!("The cluster {label} is already associated with a custom key store."),
        ));
    }
    match keyward_crypto::Pkcs11Token::has_token(module, label) {
        Ok(true) => Ok(()),
        Ok(false) => Err(KmsError::refused(
            ErrorCode::CloudHsmClusterNotFound,
            format!(
                "The cluster {label} is not found: no token of the PKCS#11 module has this label."
            ),
        )),
        Err(e) => Err(KmsError::refused(
            ErrorCode::CloudHsmClusterNotActive,
            format!("The cluster {label} is not reachable: {e}"),
        )),
    }
}

/// A PIN as CreateCustomKeyStore and UpdateCustomKeyStore take it (`KeyStorePassword`, 7 to
/// 32 characters).
fn pin(password: &str) -> Result<Secret, KmsError> {
    if !(7..=32).contains(&password.chars().count()) {
        return Err(KmsError::validation(
            "1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: Member must have length between 7 and 32",
        ));
    }
    Ok(Secret::from_slice(password.as_bytes()))
}

/// A new store's ID: `cks-` and 17 hexadecimal digits, of no store yet.
fn new_id(kms: &Kms) -> String {
    loop {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("cks-{}", hex.get(..17).unwrap_or("00000000000000000"));
        if kms.key_stores.get(&id).is_none() {
            return id;
        }
    }
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
        op.kms.refresh_key_stores()?;
        let mut stores = op.kms.key_stores.all();
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
        let entries = stores.iter().map(|s| entry(s)).collect();
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
    /// succeeds, as AWS's does (its connection runs after the answer). A registered store
    /// connects again when the service opens.
    ConnectCustomKeyStore(ConnectCustomKeyStoreRequest) -> Empty,
        via NoKey, action "ConnectCustomKeyStore", state Any;
    audit |r| json!({"customKeyStoreId": r.custom_key_store_id});
    perform |op, r| {
        let store = store(op.kms, &r.custom_key_store_id)?;
        match store.state() {
            ConnectionState::Connected | ConnectionState::Connecting => {}
            ConnectionState::Failed => {
                return Err(invalid_state(format!(
                    "Custom key store {} is FAILED: disconnect it (DisconnectCustomKeyStore), then connect it.",
                    store.config.id
                )));
            }
            ConnectionState::Disconnected => {
                persist(op.kms, &store, true)?;
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
            return Err(invalid_state(format!(
                "Custom key store {} is already DISCONNECTED.",
                store.config.id
            )));
        }
        persist(op.kms, &store, false)?;
        store.disconnect();
        Ok(Empty {})
    }
}

operation! {
    /// CreateCustomKeyStore: registers a CloudHSM key store on a token of the configured
    /// PKCS#11 module (`CloudHsmClusterId` is the token's label, `KeyStorePassword` its user
    /// PIN), stored with its PIN sealed, DISCONNECTED until ConnectCustomKeyStore. An external
    /// key store is refused as not supported.
    CreateCustomKeyStore(CreateCustomKeyStoreRequest) -> CreateCustomKeyStoreResponse,
        via NoKey, action "CreateCustomKeyStore", state Any;
    audit |r| json!({
        "customKeyStoreName": r.custom_key_store_name,
        "customKeyStoreType": r.custom_key_store_type,
        "cloudHsmClusterId": r.cloud_hsm_cluster_id,
    });
    perform |op, r| {
        match r.custom_key_store_type.as_deref().unwrap_or("AWS_CLOUDHSM") {
            "AWS_CLOUDHSM" => {}
            "EXTERNAL_KEY_STORE" => {
                return Err(KmsError::unsupported(
                    "External key stores (EXTERNAL_KEY_STORE) are not supported by this implementation",
                ));
            }
            other => {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'customKeyStoreType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_CLOUDHSM, EXTERNAL_KEY_STORE]"
                )));
            }
        }
        let (Some(label), Some(password), Some(anchor)) = (
            r.cloud_hsm_cluster_id.as_deref(),
            r.key_store_password.as_ref().map(SecretText::expose),
            r.trust_anchor_certificate.as_deref(),
        ) else {
            return Err(KmsError::validation(
                "A CloudHSM key store needs CloudHsmClusterId, KeyStorePassword and TrustAnchorCertificate.",
            ));
        };
        let module = op.kms.config.pkcs11_module.clone().ok_or_else(|| {
            KmsError::unsupported(
                "Creating a custom key store needs the configuration's pkcs11_module: the PKCS#11 module of its token",
            )
        })?;
        check_name(op.kms, &r.custom_key_store_name, None)?;
        if op.kms.key_stores.all().len() >= MAX_KEY_STORES {
            return Err(KmsError::refused(
                ErrorCode::LimitExceeded,
                format!("The request was rejected because the number of custom key stores reached the limit of {MAX_KEY_STORES}."),
            ));
        }
        check_cluster(op.kms, &module, label, None)?;
        let created = KeyStore::new(
            KeyStoreConfig {
                id: new_id(op.kms),
                name: r.custom_key_store_name.clone(),
                module,
                token_label: label.to_owned(),
                pin: pin(password)?,
            },
            Origin::Registered { trust_anchor: anchor.to_owned() },
            crate::clock::epoch_seconds(op.kms.clock.now()),
        );
        persist(op.kms, &created, false)?;
        let id = created.config.id.clone();
        op.kms.key_stores.put(Arc::new(created));
        op.call.response = json!({"customKeyStoreId": id});
        Ok(CreateCustomKeyStoreResponse { custom_key_store_id: id })
    }
}

operation! {
    /// UpdateCustomKeyStore: a registered store's name (in any state), or its token and PIN
    /// (DISCONNECTED only), as AWS allows. A store of the configuration is changed there.
    UpdateCustomKeyStore(UpdateCustomKeyStoreRequest) -> Empty,
        via NoKey, action "UpdateCustomKeyStore", state Any;
    audit |r| json!({
        "customKeyStoreId": r.custom_key_store_id,
        "newCustomKeyStoreName": r.new_custom_key_store_name,
        "cloudHsmClusterId": r.cloud_hsm_cluster_id,
    });
    perform |op, r| {
        let store = store(op.kms, &r.custom_key_store_id)?;
        if store.origin == Origin::Configuration {
            return Err(defined_in_the_configuration("Updating custom key store", &store.config.id));
        }
        if r.xks_proxy_uri_endpoint.is_some()
            || r.xks_proxy_uri_path.is_some()
            || r.xks_proxy_vpc_endpoint_service_name.is_some()
            || r.xks_proxy_authentication_credential.is_some()
            || r.xks_proxy_connectivity.is_some()
        {
            return Err(KmsError::validation(
                "The XksProxy parameters are valid only for an external key store.",
            ));
        }
        let mut config = store.config.clone();
        if let Some(name) = &r.new_custom_key_store_name {
            check_name(op.kms, name, Some(&store.config.id))?;
            config.name = name.clone();
        }
        if r.cloud_hsm_cluster_id.is_some() || r.key_store_password.is_some() {
            if store.state() != ConnectionState::Disconnected {
                return Err(invalid_state(format!(
                    "Custom key store {} must be DISCONNECTED to change its cluster or password.",
                    store.config.id
                )));
            }
            if let Some(label) = &r.cloud_hsm_cluster_id {
                check_cluster(op.kms, &config.module, label, Some(&store.config.id))?;
                config.token_label = label.clone();
            }
            if let Some(password) = &r.key_store_password {
                config.pin = pin(password.expose())?;
            }
        }
        let updated = store.with_config(config);
        persist(op.kms, &updated, store.state() != ConnectionState::Disconnected)?;
        op.kms.key_stores.put(Arc::new(updated));
        Ok(Empty {})
    }
}

operation! {
    /// DeleteCustomKeyStore: a registered store, DISCONNECTED and holding no key (AWS's
    /// rules: `CustomKeyStoreInvalidStateException`, `CustomKeyStoreHasCMKsException`). A
    /// store of the configuration is deleted there.
    DeleteCustomKeyStore(DeleteCustomKeyStoreRequest) -> Empty,
        via NoKey, action "DeleteCustomKeyStore", state Any;
    audit |r| json!({"customKeyStoreId": r.custom_key_store_id});
    perform |op, r| {
        let store = store(op.kms, &r.custom_key_store_id)?;
        if store.state() != ConnectionState::Disconnected {
            return Err(invalid_state(format!(
                "Custom key store {} must be DISCONNECTED before it is deleted.",
                store.config.id
            )));
        }
        if store.origin == Origin::Configuration {
            return Err(defined_in_the_configuration("Deleting custom key store", &store.config.id));
        }
        let holds_keys = {
            let state = op.kms.read()?;
            state.keys.values().any(|slot| {
                slot.read().is_ok_and(|entry| {
                    entry.meta.custom_key_store_id.as_deref() == Some(store.config.id.as_str())
                })
            })
        };
        if holds_keys {
            return Err(KmsError::refused(
                ErrorCode::CustomKeyStoreHasCmks,
                format!(
                    "Custom key store {} still has KMS keys: schedule their deletion, and delete the store once they are deleted.",
                    store.config.id
                ),
            ));
        }
        op.kms.persist(&[Change::DeleteKeyStore(store.config.id.clone())])?;
        op.kms.key_stores.remove(&store.config.id);
        Ok(Empty {})
    }
}
