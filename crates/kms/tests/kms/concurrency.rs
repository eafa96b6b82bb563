//! Per-key concurrency: a change in progress on one key (held inside the store's write) stops
//! nothing on any other key, and stops the calls on its own key until it is done.

use crate::common::*;
use keyward_crypto::RootKey;
use keyward_kms::api::{CreateKeyRequest, DescribeKeyRequest, ListKeysRequest};
use keyward_kms::clock::ManualClock;
use keyward_kms::store::{Change, MemoryStore, Snapshot, Store, StoreError};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a call that must not wait is given: far beyond what it takes, so that only a
/// call blocked by the held write misses it.
const PROMPTLY: Duration = Duration::from_secs(10);
/// How long a call that must wait is watched, waiting.
const WATCHED: Duration = Duration::from_millis(300);

/// Where the gate stands: armed (the next write will hold), holding one, or open.
#[derive(Debug, Default, PartialEq)]
pub(crate) enum Gate {
    #[default]
    Open,
    Armed,
    Holding,
}

/// A memory store whose next write, once armed, holds inside `apply` until released: the
/// write of a slow change, with the key's lock held.
#[derive(Debug, Default)]
pub(crate) struct GatedStore {
    inner: MemoryStore,
    pub(crate) gate: Arc<(Mutex<Gate>, Condvar)>,
}

impl Store for GatedStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        self.inner.load()
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let (lock, signal) = &*self.gate;
        let mut gate = lock.lock().unwrap();
        if *gate == Gate::Armed {
            *gate = Gate::Holding;
            signal.notify_all();
            while *gate == Gate::Holding {
                gate = signal.wait(gate).unwrap();
            }
        }
        drop(gate);
        self.inner.apply(changes)
    }
}

pub(crate) fn arm(gate: &(Mutex<Gate>, Condvar)) {
    *gate.0.lock().unwrap() = Gate::Armed;
}

pub(crate) fn wait_until_holding(gate: &(Mutex<Gate>, Condvar)) {
    let mut state = gate.0.lock().unwrap();
    while *state != Gate::Holding {
        state = gate.1.wait_timeout(state, PROMPTLY).unwrap().0;
    }
}

pub(crate) fn release(gate: &(Mutex<Gate>, Condvar)) {
    *gate.0.lock().unwrap() = Gate::Open;
    gate.1.notify_all();
}

/// Runs `call` on its own thread; its result arrives on the receiver.
fn spawn<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(call());
    });
    receive
}

#[test]
fn a_change_held_on_one_key_stops_nothing_on_another_and_holds_its_own_key() {
    let store = GatedStore::default();
    let gate = Arc::clone(&store.gate);
    let fixture = Arc::new(Fixture::over(
        Box::new(store),
        RootKey::generate().unwrap(),
        Arc::new(ManualClock::new(start())),
    ));
    let busy = fixture.symmetric("");
    let other = fixture.symmetric("");

    // A grant on `busy`, its write held: the key's lock is held with it.
    arm(&gate);
    let held = {
        let (fixture, busy) = (Arc::clone(&fixture), busy.clone());
        spawn(move || {
            fixture
                .kms
                .create_grant(&fixture.admin, &grant(&busy, APP, &["Encrypt"]))
        })
    };
    wait_until_holding(&gate);

    // Reads and changes of another key, a new key, and the key list go on.
    let others = {
        let (fixture, other) = (Arc::clone(&fixture), other.clone());
        spawn(move || {
            let kms = &fixture.kms;
            let admin = &fixture.admin;
            encrypt(kms, admin, &other, b"payload", &[]).unwrap();
            kms.describe_key(admin, &DescribeKeyRequest::new(&other))
                .unwrap();
            kms.tag_resource(admin, &tag(&other, "team", "payments"))
                .unwrap();
            kms.create_grant(admin, &grant(&other, APP, &["Decrypt"]))
                .unwrap();
            kms.create_key(admin, &CreateKeyRequest::default()).unwrap();
            kms.list_keys(admin, &ListKeysRequest::default()).unwrap();
        })
    };
    let outcome = others.recv_timeout(PROMPTLY);
    // The busy key's own calls wait for its change.
    let same_key = {
        let (fixture, busy) = (Arc::clone(&fixture), busy.clone());
        spawn(move || encrypt(&fixture.kms, &fixture.admin, &busy, b"payload", &[]).is_ok())
    };
    let waited = same_key.recv_timeout(WATCHED);
    release(&gate);
    assert!(
        outcome.is_ok(),
        "calls on another key waited for a change held on one key: {outcome:?}"
    );
    assert_eq!(
        waited,
        Err(RecvTimeoutError::Timeout),
        "a call on the key went ahead of the key's change in progress"
    );
    assert!(held.recv_timeout(PROMPTLY).unwrap().is_ok());
    assert_eq!(same_key.recv_timeout(PROMPTLY), Ok(true));
}
