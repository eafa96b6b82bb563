//! `keyward authorize --batch`: one request per line in, one result per line out, in input
//! order, on every core. Lines are cut into chunks that worker threads take in turn; each
//! result is written straight into its chunk's buffer (no intermediate JSON value), and the
//! buffers are written out in order as they complete. Requests that share their policies and
//! grants share one compiled authorizer, across threads.

use super::Outcome;
use keyward_authz::{Authorizer, PolicyLibrary, Request, RequestError};
use keyward_grants::Grant;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, mpsc};

/// Lines per chunk: enough to keep a worker busy between hand-offs, few enough that output
/// starts early and memory stays small.
const CHUNK_LINES: usize = 2048;

/// The most authorizers kept; past it the cache starts again (a batch over more distinct
/// policy sets than this recompiles, but never grows without bound).
const CACHE_CAPACITY: usize = 4096;

/// Prepared authorizers, by the policies and grants they were built from: a policy set that
/// recurs is compiled once for the whole batch, whichever thread meets it first.
#[derive(Default)]
struct AuthorizerCache {
    /// By a hash of the policy texts and grant IDs; each bucket compares in full.
    entries: RwLock<HashMap<u64, Vec<CacheEntry>>>,
    hasher: foldhash::fast::RandomState,
}

struct CacheEntry {
    key_policy: Option<String>,
    identity: Vec<String>,
    grants: Vec<Grant>,
    authorizer: Arc<Authorizer>,
}

impl CacheEntry {
    fn is_for(&self, request: &Request) -> bool {
        self.key_policy.as_deref() == request.key_policy.as_ref().map(|p| p.text.as_str())
            && self.identity.len() == request.identity_policies.len()
            && self
                .identity
                .iter()
                .zip(&request.identity_policies)
                .all(|(a, b)| *a == b.text)
            && self.grants == request.grants
    }
}

impl AuthorizerCache {
    fn hash(&self, request: &Request) -> u64 {
        let mut h = self.hasher.build_hasher();
        request.key_policy.as_ref().map(|p| &p.text).hash(&mut h);
        for p in &request.identity_policies {
            p.text.hash(&mut h);
        }
        for g in &request.grants {
            g.id.hash(&mut h);
        }
        h.finish()
    }

    fn get(&self, request: &Request) -> Result<Arc<Authorizer>, RequestError> {
        let hash = self.hash(request);
        let found = |entries: &HashMap<u64, Vec<CacheEntry>>| {
            entries
                .get(&hash)
                .and_then(|bucket| bucket.iter().find(|e| e.is_for(request)))
                .map(|e| Arc::clone(&e.authorizer))
        };
        if let Some(authorizer) = self.entries.read().ok().as_deref().and_then(found) {
            return Ok(authorizer);
        }
        // Compiled under the write lock, so two threads never compile the same set.
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(authorizer) = found(&entries) {
            return Ok(authorizer);
        }
        let authorizer = Arc::new(Authorizer::for_request(request)?);
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.entry(hash).or_default().push(CacheEntry {
            key_policy: request.key_policy.as_ref().map(|p| p.text.clone()),
            identity: request
                .identity_policies
                .iter()
                .map(|p| p.text.clone())
                .collect(),
            grants: request.grants.clone(),
            authorizer: Arc::clone(&authorizer),
        });
        Ok(authorizer)
    }
}

/// One chunk decided: its output, and whether some line could not be.
struct Done {
    index: usize,
    output: Vec<u8>,
    failed: bool,
}

/// Decides every line of `text` (blank lines skipped) and writes the results in input order.
pub(super) fn run(name: &str, text: &str, library: Option<&PolicyLibrary>) -> Outcome {
    let lines: Vec<&str> = text.lines().collect();
    let chunks: Vec<&[&str]> = lines.chunks(CHUNK_LINES).collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(chunks.len())
        .max(1);
    let cache = AuthorizerCache::default();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // Bounded: a slow reader of the output holds the workers back rather than letting
    // decided chunks pile up in memory.
    let (sender, receiver) = mpsc::sync_channel::<Done>(workers * 2);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let (cache, next, stop, chunks) = (&cache, &next, &stop, &chunks);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(index) else {
                        return;
                    };
                    let mut output = Vec::with_capacity(chunk.len() * 256);
                    let failed = decide_chunk(
                        name,
                        chunk,
                        index * CHUNK_LINES,
                        library,
                        cache,
                        &mut output,
                    );
                    if sender
                        .send(Done {
                            index,
                            output,
                            failed,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        drop(sender);
        // The receiver is dropped when writing ends, failed or not: a worker waiting to hand
        // over a chunk then stops instead of waiting for ever.
        let outcome = write_in_order(receiver, chunks.len());
        if outcome == Outcome::Error {
            stop.store(true, Ordering::Relaxed);
        }
        outcome
    })
}

/// Writes each chunk's output as soon as every chunk before it has been written.
fn write_in_order(receiver: mpsc::Receiver<Done>, chunks: usize) -> Outcome {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut waiting: BTreeMap<usize, Done> = BTreeMap::new();
    let mut written = 0;
    let mut outcome = Outcome::Success;
    while written < chunks {
        let Ok(done) = receiver.recv() else {
            // A worker stopped early: nothing more will come.
            return Outcome::Error;
        };
        waiting.insert(done.index, done);
        while let Some(done) = waiting.remove(&written) {
            if done.failed {
                outcome = Outcome::Error;
            }
            if out.write_all(&done.output).is_err() {
                return Outcome::Error;
            }
            written += 1;
        }
    }
    if out.flush().is_err() {
        return Outcome::Error;
    }
    outcome
}

/// Decides the lines of one chunk (the first is line `first + 1` of the input) into `out`;
/// `true` when some line could not be decided.
fn decide_chunk(
    name: &str,
    lines: &[&str],
    first: usize,
    library: Option<&PolicyLibrary>,
    cache: &AuthorizerCache,
    out: &mut Vec<u8>,
) -> bool {
    let mut failed = false;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = first + i + 1;
        let result =
            Request::parse_with(line, library).and_then(|r| cache.get(&r).map(|a| a.decide(&r)));
        let written = match result {
            Ok(decision) => decision.write_json(&mut *out, Some(number)),
            Err(error) => {
                failed = true;
                let messages = error.render(name, line, number);
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({ "line": number, "error": messages.join("\n") }),
                )
                .map_err(std::io::Error::from)
            }
        };
        // Writing into memory cannot fail; a decision that could not be written is an error.
        if written.is_err() {
            failed = true;
        }
        out.push(b'\n');
    }
    failed
}
