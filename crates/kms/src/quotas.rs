//! Request quotas and fault injection, for applications that must cope with KMS saying "slow
//! down": each account's requests are counted against the quota AWS counts them against
//! ([`keyward_api::quota`]), beyond its rate they get `ThrottlingException` with AWS's
//! message, and a chosen share of calls can be answered with an injected error or delayed,
//! so that retries and backoff are exercised. Off unless configured.
//!
//! A quota is a token bucket per account: it holds up to one second of requests and refills
//! at the rate, so a burst of up to the rate passes at once and a steady stream passes at the
//! rate. A throttled or injected answer is given before the call reaches the pipeline: nothing
//! is decided, performed or audited for it.

use crate::error::KmsError;
use keyward_api::quota::{Quota, THROTTLED};
use keyward_api::{ErrorCode, Request};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a call may be disturbed on purpose ([`QuotaConfig::faults`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answered `ThrottlingException`, as if a quota were exceeded.
    Throttling,
    /// Answered `KMSInternalException` (HTTP 500), which AWS says may be retried.
    Internal,
    /// Served, after [`QuotaConfig::fault_delay`].
    Delay,
}

impl Fault {
    /// The config's word for it: `throttling`, `internal`, `delay`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "throttling" => Some(Self::Throttling),
            "internal" => Some(Self::Internal),
            "delay" => Some(Self::Delay),
            _ => None,
        }
    }
}

/// The quotas in force and the faults to inject.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaConfig {
    /// Rates (requests per second) that replace AWS's defaults ([`Quota::default_rate`]).
    pub rates: HashMap<Quota, f64>,
    /// The share of calls (0 to 1) answered with an injected fault.
    pub fault_rate: f64,
    /// The faults injected, one picked at random per disturbed call; never empty.
    pub faults: Vec<Fault>,
    /// How long a [`Fault::Delay`] holds a call.
    pub fault_delay: Duration,
    /// Seeds the choice of disturbed calls, to repeat a run; a random seed when absent.
    pub fault_seed: Option<u64>,
}

impl Default for QuotaConfig {
    /// AWS's rates, no faults.
    fn default() -> Self {
        Self {
            rates: HashMap::new(),
            fault_rate: 0.0,
            faults: vec![Fault::Throttling, Fault::Internal],
            fault_delay: Duration::from_millis(500),
            fault_seed: None,
        }
    }
}

/// What the service lets a call do: go on now, or after a delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admission {
    /// Hold the call this long before serving it (an injected [`Fault::Delay`]).
    pub delay: Option<Duration>,
}

/// Requests a bucket still holds, and when it was last filled.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The quotas of a running service.
#[derive(Debug)]
pub(crate) struct RequestQuotas {
    config: QuotaConfig,
    region: String,
    /// By account, then quota.
    buckets: Mutex<HashMap<String, HashMap<Quota, Bucket>>>,
    random: Mutex<fastrand::Rng>,
}

impl RequestQuotas {
    pub(crate) fn new(config: QuotaConfig, region: &str) -> Self {
        let random = config
            .fault_seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self {
            config,
            region: region.to_owned(),
            buckets: Mutex::new(HashMap::new()),
            random: Mutex::new(random),
        }
    }

    /// The rate of `quota` in force.
    fn rate(&self, quota: Quota) -> f64 {
        self.config
            .rates
            .get(&quota)
            .copied()
            .unwrap_or_else(|| quota.default_rate(&self.region))
    }

    /// Counts a request of `account` against `quota` at `now`: `ThrottlingException` when its
    /// bucket is empty.
    pub(crate) fn count(&self, account: &str, quota: Quota, now: Instant) -> Result<(), KmsError> {
        let rate = self.rate(quota);
        let capacity = rate.max(1.0);
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| KmsError::Internal("the quota lock was poisoned by a panic".into()))?;
        let account_buckets = match buckets.get_mut(account) {
            Some(b) => b,
            None => buckets.entry(account.to_owned()).or_default(),
        };
        let bucket = account_buckets.entry(quota).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(KmsError::refused(ErrorCode::Throttling, THROTTLED))
        }
    }

    /// Whether this call is disturbed, and how.
    fn fault(&self) -> Option<Fault> {
        if self.config.fault_rate <= 0.0 {
            return None;
        }
        let mut random = self.random.lock().ok()?;
        if random.f64() >= self.config.fault_rate {
            return None;
        }
        let pick = random.usize(..self.config.faults.len().max(1));
        self.config.faults.get(pick).copied()
    }

    /// Admits a call of `account`: counted against its quota, then perhaps disturbed.
    pub(crate) fn admit(&self, account: &str, request: &Request) -> Result<Admission, KmsError> {
        self.count(account, Quota::of(request), Instant::now())?;
        match self.fault() {
            None => Ok(Admission::default()),
            Some(Fault::Delay) => Ok(Admission {
                delay: Some(self.config.fault_delay),
            }),
            Some(Fault::Throttling) => Err(KmsError::refused(ErrorCode::Throttling, THROTTLED)),
            Some(Fault::Internal) => Err(KmsError::refused(
                ErrorCode::KmsInternal,
                "The request was rejected because an internal exception occurred. The request can be retried. (Injected by Keyward's fault_rate.)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use keyward_api::Operation;

    fn quotas(rates: &[(Quota, f64)]) -> RequestQuotas {
        RequestQuotas::new(
            QuotaConfig {
                rates: rates.iter().copied().collect(),
                ..QuotaConfig::default()
            },
            "us-east-1",
        )
    }

    #[test]
    fn a_bucket_passes_a_burst_of_its_rate_then_refills_at_the_rate() {
        let q = quotas(&[(Quota::Symmetric, 5.0)]);
        let t0 = Instant::now();
        for _ in 0..5 {
            q.count("111122223333", Quota::Symmetric, t0).unwrap();
        }
        let refused = q.count("111122223333", Quota::Symmetric, t0).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::Throttling);
        assert_eq!(refused.message().as_deref(), Some(THROTTLED));
        // 200 ms later, one more request's worth has come back.
        let t1 = t0 + Duration::from_millis(200);
        q.count("111122223333", Quota::Symmetric, t1).unwrap();
        assert!(q.count("111122223333", Quota::Symmetric, t1).is_err());
        // Never more than a second's worth.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            q.count("111122223333", Quota::Symmetric, later).unwrap();
        }
        assert!(q.count("111122223333", Quota::Symmetric, later).is_err());
    }

    #[test]
    fn quotas_are_per_account_and_per_quota() {
        let q = quotas(&[
            (Quota::Symmetric, 1.0),
            (Quota::Operation(Operation::CreateKey), 1.0),
        ]);
        let t = Instant::now();
        q.count("111122223333", Quota::Symmetric, t).unwrap();
        assert!(q.count("111122223333", Quota::Symmetric, t).is_err());
        q.count("444455556666", Quota::Symmetric, t).unwrap();
        q.count("111122223333", Quota::Operation(Operation::CreateKey), t)
            .unwrap();
        // RSA keeps AWS's default of 1,000 per second.
        for _ in 0..1_000 {
            q.count("111122223333", Quota::Rsa, t).unwrap();
        }
        assert!(q.count("111122223333", Quota::Rsa, t).is_err());
    }

    #[test]
    fn a_rate_below_one_still_lets_one_request_through() {
        let q = quotas(&[(Quota::Operation(Operation::GetParametersForImport), 0.1)]);
        let t = Instant::now();
        let quota = Quota::Operation(Operation::GetParametersForImport);
        q.count("111122223333", quota, t).unwrap();
        assert!(
            q.count("111122223333", quota, t + Duration::from_secs(9))
                .is_err()
        );
        q.count("111122223333", quota, t + Duration::from_secs(10))
            .unwrap();
    }

    #[test]
    fn faults_come_at_the_configured_rate_from_the_configured_kinds() {
        let q = RequestQuotas::new(
            QuotaConfig {
                fault_rate: 0.25,
                faults: vec![Fault::Internal, Fault::Delay],
                fault_seed: Some(7),
                ..QuotaConfig::default()
            },
            "us-east-1",
        );
        let (mut internal, mut delayed) = (0, 0);
        let request = Request::GenerateRandom(keyward_api::GenerateRandomRequest::default());
        for _ in 0..4_000 {
            match q.admit("111122223333", &request) {
                Ok(Admission { delay: Some(d) }) => {
                    assert_eq!(d, Duration::from_millis(500));
                    delayed += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::KmsInternal);
                    internal += 1;
                }
            }
        }
        let disturbed = f64::from(internal + delayed) / 4_000.0;
        assert!((0.22..0.28).contains(&disturbed), "{disturbed}");
        assert!(internal > 300 && delayed > 300, "{internal} {delayed}");
        // The same seed disturbs the same calls.
        let again = RequestQuotas::new(q.config.clone(), "us-east-1");
        let first = RequestQuotas::new(q.config.clone(), "us-east-1");
        for _ in 0..100 {
            assert_eq!(again.fault(), first.fault());
        }
    }
}
