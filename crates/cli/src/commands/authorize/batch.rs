//! `keyward authorize --batch`: one request per line in, one result per line out, in input
//! order, on every core. The input is read as it goes, in blocks of whole lines
//! ([`LineBlocks`]) that worker threads take in turn; a worker parses a few lines at a time,
//! then decides them, and writes each result straight into its block's output buffer (no
//! intermediate JSON value); the outputs are written in order as they complete. Input and
//! output buffers are used again. Requests that share their policies and grants share one
//! compiled authorizer, across threads, and each worker writes a line's decision over its
//! last one.

use super::Outcome;
use super::line_blocks::{BLOCK_BYTES, Block, LineBlocks};
use keyward_authz::{Authorizer, Decision, PolicyLibrary, PolicyText, Request, RequestError};
use keyward_grants::Grant;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, mpsc};

/// Lines a worker parses before it decides them (see `decide_block`). Against one line at a
/// time (`benches/README.md`): simulated first-level cache misses 912 a line against 1,130
/// (stages of 4, 8 and 32 within 2% of 16), and less time in most measured runs.
const STAGE_LINES: usize = 16;

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

/// Buffers done with, for the next blocks: a batch of millions of lines allocates a few input
/// and output buffers per worker, not one per block, and a buffer that has grown (a long line,
/// long decisions) stays grown.
#[derive(Default)]
struct BufferPool(Mutex<Vec<Vec<u8>>>);

impl BufferPool {
    /// A buffer used before if one is free (empty, unless it was [kept](Self::keep) as it
    /// was), or a new empty one with room for `capacity` bytes.
    fn take(&self, capacity: usize) -> Vec<u8> {
        let reused = self.0.lock().ok().and_then(|mut free| free.pop());
        reused.unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    /// A buffer done with, kept (emptied) for another block.
    fn give_back(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        self.keep(buffer);
    }

    /// A buffer done with, kept as it is: an input buffer, whose bytes the next block's
    /// reading overwrites (emptied, it would be zeroed again before every read).
    fn keep(&self, buffer: Vec<u8>) {
        if let Ok(mut free) = self.0.lock() {
            free.push(buffer);
        }
    }
}

/// One block decided: its output, and whether some line could not be.
struct Done {
    index: usize,
    output: Vec<u8>,
    failed: bool,
}

/// Decides every line read from `input` (blank lines skipped; `name` is how messages name it)
/// and writes the results to `output` in input order. A read that fails ends the batch with an
/// error once the results of the blocks read before it are written.
pub(super) fn run(
    name: &str,
    input: impl std::io::Read + Send,
    library: Option<&PolicyLibrary>,
    output: impl Write,
) -> Outcome {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let blocks = Mutex::new(LineBlocks::new(input));
    let read_error: Mutex<Option<std::io::Error>> = Mutex::new(None);
    let cache = AuthorizerCache::default();
    let inputs = BufferPool::default();
    let outputs = BufferPool::default();
    let stop = AtomicBool::new(false);
    // Bounded: a slow reader of the output holds the workers back rather than letting
    // decided blocks pile up in memory.
    let (sender, receiver) = mpsc::sync_channel::<Done>(workers * 2);
    let outcome = std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let (blocks, read_error, cache, inputs, outputs, stop) =
                (&blocks, &read_error, &cache, &inputs, &outputs, &stop);
            scope.spawn(move || {
                let mut worker = Worker::default();
                while !stop.load(Ordering::Relaxed) {
                    let Some(block) = next_block(blocks, inputs, read_error, stop) else {
                        return;
                    };
                    let mut output = outputs.take(BLOCK_BYTES);
                    let failed =
                        decide_block(name, &block, library, cache, &mut worker, &mut output);
                    let index = block.index;
                    inputs.keep(block.into_buffer());
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
        // over a block then stops instead of waiting for ever.
        let outcome = write_in_order(receiver, &outputs, output);
        if outcome == Outcome::Error {
            stop.store(true, Ordering::Relaxed);
        }
        outcome
    });
    match read_error.into_inner().ok().flatten() {
        Some(error) => {
            crate::out::eprintln(&format!("keyward: error: cannot read {name}: {error}"));
            Outcome::Error
        }
        None => outcome,
    }
}

/// The next block of the input, read into a buffer of `inputs`; `None` at the end of the
/// input, or after a failed read, which is kept in `read_error` and stops every worker.
fn next_block<R: std::io::Read>(
    blocks: &Mutex<LineBlocks<R>>,
    inputs: &BufferPool,
    read_error: &Mutex<Option<std::io::Error>>,
    stop: &AtomicBool,
) -> Option<Block> {
    let buffer = inputs.take(BLOCK_BYTES);
    let mut blocks = blocks.lock().ok()?;
    match blocks.next_block(buffer) {
        Ok(block) => block,
        Err(error) => {
            stop.store(true, Ordering::Relaxed);
            if let Ok(mut kept) = read_error.lock() {
                kept.get_or_insert(error);
            }
            None
        }
    }
}

/// Writes each block's output as soon as every block before it has been written; an error
/// when one never came (a worker stopped: a failed read, or no output to write to).
fn write_in_order(
    receiver: mpsc::Receiver<Done>,
    outputs: &BufferPool,
    output: impl Write,
) -> Outcome {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, output);
    let mut waiting: BTreeMap<usize, Done> = BTreeMap::new();
    let mut written = 0;
    let mut outcome = Outcome::Success;
    loop {
        let done = match receiver.try_recv() {
            Ok(done) => done,
            // Nothing decided yet: what is written goes out before waiting (a reader at the
            // other end of a pipe sees each result as soon as the ones before it).
            Err(mpsc::TryRecvError::Empty) => {
                if out.flush().is_err() {
                    return Outcome::Error;
                }
                match receiver.recv() {
                    Ok(done) => done,
                    Err(mpsc::RecvError) => break,
                }
            }
            // Every worker has stopped and dropped its sender.
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        waiting.insert(done.index, done);
        while let Some(done) = waiting.remove(&written) {
            if done.failed {
                outcome = Outcome::Error;
            }
            if out.write_all(&done.output).is_err() {
                return Outcome::Error;
            }
            outputs.give_back(done.output);
            written += 1;
        }
    }
    if out.flush().is_err() || !waiting.is_empty() {
        return Outcome::Error;
    }
    outcome
}

/// Decides the lines of `block` into `out`; `true` when some line could not be decided. The
/// lines go in stages of [`STAGE_LINES`]: a stage's lines are all parsed, then each is decided
/// and written, so that each kind of work runs several times over while its code is in the
/// instruction cache.
fn decide_block(
    name: &str,
    block: &Block,
    library: Option<&PolicyLibrary>,
    cache: &AuthorizerCache,
    worker: &mut Worker,
    out: &mut Vec<u8>,
) -> bool {
    let mut failed = false;
    let mut lines = block
        .lines()
        .filter(|(_, line)| !line.is_ok_and(|line| line.trim().is_empty()));
    let mut parsed = Vec::with_capacity(STAGE_LINES);
    loop {
        parsed.extend(lines.by_ref().take(STAGE_LINES).map(|(number, line)| {
            let parsed = line.map(|line| (line, Request::parse_with(line, library)));
            (number, parsed)
        }));
        if parsed.is_empty() {
            return failed;
        }
        // Read in place, then dropped together: a request is not moved again.
        for (number, line) in &parsed {
            let number = *number;
            let written = match line {
                Ok((line, Ok(request))) => match worker.decide(cache, request) {
                    Ok(decision) => write_decision(decision, number, out),
                    Err(error) => write_error(number, &error.render(name, line, number), out),
                },
                Ok((line, Err(error))) => {
                    write_error(number, &error.render(name, line, number), out)
                }
                Err(error) => {
                    write_error(number, &[format!("{name}:{number}: error: {error}")], out)
                }
            };
            failed |= !written;
        }
        parsed.clear();
    }
}

/// Writes line `number`'s decision and the newline after it into `out`; `false` when it could
/// not be written (writing into memory cannot fail otherwise).
fn write_decision(decision: &Decision, number: usize, out: &mut Vec<u8>) -> bool {
    let written = decision.write_json(&mut *out, Some(number));
    out.push(b'\n');
    written.is_ok()
}

/// Writes line `number`'s error (`messages`, one a line) and the newline after it into `out`:
/// always `false`, the line was not decided.
fn write_error(number: usize, messages: &[String], out: &mut Vec<u8>) -> bool {
    let _ = serde_json::to_writer(
        &mut *out,
        &serde_json::json!({ "line": number, "error": messages.join("\n") }),
    );
    out.push(b'\n');
    false
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    /// A buffer given back is handed out again, emptied, with the room it had grown to; a new
    /// one has the room asked for; a kept one comes back as it was.
    #[test]
    fn a_buffer_is_used_again_empty_and_grown() {
        let pool = BufferPool::default();
        let mut first = pool.take(64);
        assert!(first.capacity() >= 64);
        first.extend_from_slice(&[b'x'; 1000]);
        let grown = first.capacity();
        pool.give_back(first);
        let again = pool.take(64);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), grown);
        assert!(pool.take(64).capacity() >= 64);
        // An input buffer is kept whole: read into again without being zeroed first.
        pool.keep(vec![7; 100]);
        assert_eq!(pool.take(64), vec![7; 100]);
    }

    /// A read that fails partway: the results of the lines read before it are written, in
    /// order, and the batch ends with an error.
    #[test]
    fn a_failed_read_ends_the_batch_after_the_lines_read_before_it() {
        struct Failing;
        impl std::io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let lines = "{not json\n\n{\"also\": \"not a request\"}\n";
        let input = std::io::Read::chain(lines.as_bytes(), Failing);
        let mut output = Vec::new();
        assert_eq!(run("batch.jsonl", input, None, &mut output), Outcome::Error);
        let results: Vec<serde_json::Value> = String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let numbers: Vec<_> = results.iter().map(|r| r["line"].as_u64()).collect();
        assert_eq!(numbers, [Some(1), Some(3)]);
        assert!(results.iter().all(|r| r["error"].is_string()));
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
