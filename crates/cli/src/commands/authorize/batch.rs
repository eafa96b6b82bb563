//! `keyward authorize --batch`: one request per line in, one result per line out, in input
//! order, on every core. Lines are cut into chunks that worker threads take in turn; a worker
//! parses a few lines at a time, then decides them, and writes each result straight into its
//! chunk's buffer (no intermediate JSON value); the buffers are written out in order as they
//! complete, then used again. Requests that share their policies and grants share one
//! compiled authorizer, across threads, and each worker writes a line's decision over its last
//! one.

use super::Outcome;
use keyward_authz::{Authorizer, Decision, PolicyLibrary, PolicyText, Request, RequestError};
use keyward_grants::Grant;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, mpsc};

/// Lines per chunk: enough to keep a worker busy between hand-offs, few enough that output
/// starts early and memory stays small.
const CHUNK_LINES: usize = 2048;

/// Lines a worker parses before it decides them (see `decide_chunk`). Against one line at a
/// time (`benches/README.md`): simulated first-level cache misses 912 a line against 1,130
/// (stages of 4, 8 and 32 within 2% of 16), and less time in most measured runs.
const STAGE_LINES: usize = 16;

/// Bytes of output a chunk's buffer starts with, per line: a decision with its reasons and trace
/// is about a kilobyte, so most chunks are written without the buffer growing (and copying
/// itself) on the way. Buffers are used again once written out ([`BufferPool`]).
const OUTPUT_BYTES_PER_LINE: usize = 1024;

/// The most authorizers kept; past it the cache starts again (a batch over more distinct
/// policy sets than this recompiles, but never grows without bound).
const CACHE_CAPACITY: usize = 4096;

/// Prepared authorizers, by the policies and grants they were built from: a policy set that
/// recurs is compiled once for the whole batch, whichever thread meets it first.
#[derive(Default)]
struct AuthorizerCache {
    /// By a hash of the policy texts and grant IDs; each bucket compares in full.
    entries: RwLock<HashMap<u64, Vec<Arc<CacheEntry>>>>,
    hasher: foldhash::fast::RandomState,
}

struct CacheEntry {
    key_policy: Option<PolicyText>,
    identity: Vec<PolicyText>,
    grants: Vec<Grant>,
    authorizer: Authorizer,
}

impl CacheEntry {
    fn is_for(&self, request: &Request) -> bool {
        let key_policy = match (&self.key_policy, &request.key_policy) {
            (Some(a), Some(b)) => same_policy(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        key_policy
            && self.identity.len() == request.identity_policies.len()
            && self
                .identity
                .iter()
                .zip(&request.identity_policies)
                .all(|(a, b)| same_policy(a, b))
            && self.grants == request.grants
    }
}

/// Whether two policies of the batch are the same text: at once when both name the same
/// document of the `--policies` library (a batch has one), by comparing texts otherwise.
fn same_policy(a: &PolicyText, b: &PolicyText) -> bool {
    (a.library_document.is_some() && a.library_document == b.library_document) || a.text == b.text
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

    fn get(&self, request: &Request) -> Result<Arc<CacheEntry>, RequestError> {
        let hash = self.hash(request);
        let found = |entries: &HashMap<u64, Vec<Arc<CacheEntry>>>| {
            entries
                .get(&hash)
                .and_then(|bucket| bucket.iter().find(|e| e.is_for(request)))
                .map(Arc::clone)
        };
        if let Some(entry) = self.entries.read().ok().as_deref().and_then(found) {
            return Ok(entry);
        }
        // Compiled under the write lock, so two threads never compile the same set.
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = found(&entries) {
            return Ok(entry);
        }
        let authorizer = Authorizer::for_request(request)?;
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        let entry = Arc::new(CacheEntry {
            key_policy: request.key_policy.clone(),
            identity: request.identity_policies.clone(),
            grants: request.grants.clone(),
            authorizer,
        });
        entries.entry(hash).or_default().push(Arc::clone(&entry));
        Ok(entry)
    }
}

/// How many authorizers a worker keeps at hand ([`Worker`]).
const RECENT: usize = 4;

/// What a worker keeps from line to line.
#[derive(Default)]
struct Worker {
    /// The last few authorizers it took from the shared cache, newest first. A line whose
    /// policies are those of a line shortly before it (most lines of most batches) finds its
    /// authorizer here by comparing texts, without hashing them, and without the shared cache's
    /// lock and reference counts, which the workers would otherwise contend for on every line.
    entries: Vec<Arc<CacheEntry>>,
    /// The worker's last decision, written over by its next (`decide_into`): its trace
    /// entries, reasons and texts are used again rather than allocated for every line.
    decision: Option<Decision>,
}

impl Worker {
    /// `request` decided by the authorizer of its policies and grants (one at hand, or the
    /// shared cache's, compiled there if it is new), written over the last decision.
    fn decide(
        &mut self,
        cache: &AuthorizerCache,
        request: &Request,
    ) -> Result<&Decision, RequestError> {
        let hit = self.entries.iter().position(|e| e.is_for(request));
        let entry = match hit.and_then(|at| self.entries.get(at)) {
            Some(entry) => entry,
            None => {
                let entry = cache.get(request)?;
                self.entries.truncate(RECENT - 1);
                &*self.entries.insert_mut(0, entry)
            }
        };
        let decision = match self.decision.take() {
            Some(mut decision) => {
                entry.authorizer.decide_into(request, &mut decision);
                decision
            }
            None => entry.authorizer.decide(request),
        };
        Ok(self.decision.insert(decision))
    }
}

/// Output buffers written out and emptied, for the next chunks: a batch of millions of lines
/// allocates a buffer per worker and a few more, not one per chunk, and a buffer that has grown
/// to fit long decisions stays grown.
#[derive(Default)]
struct BufferPool(std::sync::Mutex<Vec<Vec<u8>>>);

impl BufferPool {
    /// An empty buffer with room for `lines` lines, used before if one is free.
    fn take(&self, lines: usize) -> Vec<u8> {
        let reused = self.0.lock().ok().and_then(|mut free| free.pop());
        reused.unwrap_or_else(|| Vec::with_capacity(lines.saturating_mul(OUTPUT_BYTES_PER_LINE)))
    }

    /// A buffer written out, kept (emptied) for another chunk.
    fn give_back(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        if let Ok(mut free) = self.0.lock() {
            free.push(buffer);
        }
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
    let buffers = BufferPool::default();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // Bounded: a slow reader of the output holds the workers back rather than letting
    // decided chunks pile up in memory.
    let (sender, receiver) = mpsc::sync_channel::<Done>(workers * 2);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let (cache, buffers, next, stop, chunks) = (&cache, &buffers, &next, &stop, &chunks);
            scope.spawn(move || {
                let mut worker = Worker::default();
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(index) else {
                        return;
                    };
                    let mut output = buffers.take(chunk.len());
                    let failed = decide_chunk(
                        name,
                        chunk,
                        index * CHUNK_LINES,
                        library,
                        cache,
                        &mut worker,
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
        let outcome = write_in_order(receiver, chunks.len(), &buffers);
        if outcome == Outcome::Error {
            stop.store(true, Ordering::Relaxed);
        }
        outcome
    })
}

/// Writes each chunk's output as soon as every chunk before it has been written.
fn write_in_order(receiver: mpsc::Receiver<Done>, chunks: usize, buffers: &BufferPool) -> Outcome {
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
            buffers.give_back(done.output);
            written += 1;
        }
    }
    if out.flush().is_err() {
        return Outcome::Error;
    }
    outcome
}

/// Decides the lines of one chunk (the first is line `first + 1` of the input) into `out`;
/// `true` when some line could not be decided. The lines go in stages of [`STAGE_LINES`]: a
/// stage's lines are all parsed, then each is decided and written, so that each kind of work
/// runs several times over while its code is in the instruction cache.
fn decide_chunk(
    name: &str,
    lines: &[&str],
    first: usize,
    library: Option<&PolicyLibrary>,
    cache: &AuthorizerCache,
    worker: &mut Worker,
    out: &mut Vec<u8>,
) -> bool {
    let mut failed = false;
    let mut parsed = Vec::with_capacity(STAGE_LINES);
    for (stage, stage_lines) in lines.chunks(STAGE_LINES).enumerate() {
        let stage_first = first + stage * STAGE_LINES;
        parsed.extend(
            stage_lines
                .iter()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(i, line)| {
                    (
                        stage_first + i + 1,
                        *line,
                        Request::parse_with(line, library),
                    )
                }),
        );
        // Read in place, then dropped together: a request is not moved again.
        for (number, line, request) in &parsed {
            let written = match request {
                Ok(request) => match worker.decide(cache, request) {
                    Ok(decision) => write_result(name, line, *number, Ok(decision), out),
                    Err(error) => write_result(name, line, *number, Err(&error), out),
                },
                Err(error) => write_result(name, line, *number, Err(error), out),
            };
            failed |= !written;
        }
        parsed.clear();
    }
    failed
}

/// Writes line `number`'s decision, or its error, and the newline after it, into `out`;
/// `false` when it is an error (or could not be written).
fn write_result(
    name: &str,
    line: &str,
    number: usize,
    result: Result<&Decision, &RequestError>,
    out: &mut Vec<u8>,
) -> bool {
    let mut decided = true;
    let written = match result {
        Ok(decision) => decision.write_json(&mut *out, Some(number)),
        Err(error) => {
            decided = false;
            let messages = error.render(name, line, number);
            serde_json::to_writer(
                &mut *out,
                &serde_json::json!({ "line": number, "error": messages.join("\n") }),
            )
            .map_err(std::io::Error::from)
        }
    };
    out.push(b'\n');
    // Writing into memory cannot fail; a decision that could not be written is an error.
    decided && written.is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    /// A buffer given back is handed out again, emptied, with the room it had grown to; a new
    /// one has room for its chunk's lines.
    #[test]
    fn an_output_buffer_is_used_again_empty_and_grown() {
        let pool = BufferPool::default();
        let mut first = pool.take(2);
        assert!(first.capacity() >= 2 * OUTPUT_BYTES_PER_LINE);
        first.extend_from_slice(&vec![b'x'; 10 * OUTPUT_BYTES_PER_LINE]);
        let grown = first.capacity();
        pool.give_back(first);
        let again = pool.take(2);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), grown);
        assert!(pool.take(1).capacity() >= OUTPUT_BYTES_PER_LINE);
    }

    fn request(sid: &str) -> Request {
        let line = serde_json::json!({
            "principal": "arn:aws:iam::111122223333:role/App",
            "action": "kms:Decrypt",
            "resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "key_policy": {"Version": "2012-10-17", "Statement": [{
                "Sid": sid, "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}
            }]}
        });
        Request::parse_with(&line.to_string(), None).unwrap()
    }

    fn shared_entries(cache: &AuthorizerCache) -> usize {
        cache.entries.read().unwrap().values().map(Vec::len).sum()
    }

    /// A worker's recent authorizers answer a repeated policy set without the shared cache,
    /// decide as a fresh authorizer does, keep at most [`RECENT`] sets, and send a set they
    /// have dropped back to the shared cache.
    #[test]
    fn recent_authorizers_answer_repeats_and_keep_a_few() {
        let cache = AuthorizerCache::default();
        let mut worker = Worker::default();
        let first = request("S0");
        let fresh = Authorizer::for_request(&first).unwrap().decide(&first);
        assert_eq!(worker.decide(&cache, &first).unwrap(), &fresh);
        assert_eq!(shared_entries(&cache), 1);
        cache.entries.write().unwrap().clear();
        assert_eq!(worker.decide(&cache, &first).unwrap(), &fresh);
        assert_eq!(
            shared_entries(&cache),
            0,
            "a repeat went to the shared cache"
        );
        for i in 1..=RECENT {
            let other = request(&format!("S{i}"));
            let decision = worker.decide(&cache, &other).unwrap();
            assert_eq!(
                decision.reasons[0].sid.as_deref(),
                Some(format!("S{i}").as_str())
            );
        }
        assert_eq!(worker.entries.len(), RECENT);
        assert_eq!(shared_entries(&cache), RECENT);
        assert_eq!(worker.decide(&cache, &first).unwrap(), &fresh);
        assert_eq!(
            shared_entries(&cache),
            RECENT + 1,
            "the dropped set was not asked for"
        );
    }

    /// Two policies are the same when they name the same library document, or else when
    /// their texts are equal (a document and the same text written inline, two documents with
    /// one text); different texts never are.
    #[test]
    fn policies_are_the_same_by_library_document_or_by_text() {
        let policy = |text: &str, document: Option<usize>| PolicyText {
            library_document: document,
            ..PolicyText::new(text)
        };
        assert!(same_policy(&policy("{}", Some(0)), &policy("{}", Some(0))));
        assert!(same_policy(&policy("{}", Some(0)), &policy("{}", Some(1))));
        assert!(same_policy(&policy("{}", Some(0)), &policy("{}", None)));
        assert!(same_policy(&policy("{}", None), &policy("{}", None)));
        assert!(!same_policy(
            &policy("{}", Some(0)),
            &policy("{ }", Some(1))
        ));
        assert!(!same_policy(&policy("{}", None), &policy("{ }", None)));
    }
}
