//! Rate limits: how often one account, one client address or one other server may write.
//!
//! Every limiter is a [`KeyedLimiter`], governor's keyed GCRA limiter with a bound on how many
//! keys it remembers, so that a flood of distinct addresses cannot grow it without end.
//! [`Limits`] holds one per kind of write, built once from [`LimitSettings`] and kept in the
//! `Cairn` context. The HTTP layers decide who the client is and call [`Limits::check_write`],
//! [`Limits::check_address`] or [`Limits::check_inbox`]; a refusal is a [`Limited`] that says
//! how long to wait.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

type Governor<K, C> =
    RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The number of keys one limiter remembers at most, beyond which it forgets.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// A keyed rate limiter whose memory is bounded.
///
/// Governor keeps a state for every key it has seen until told to drop the idle ones. Every
/// `sweep_every` checks this limiter drops the keys whose state is indistinguishable from a
/// fresh one (`retain_recent`), and if more than `max_keys` remain, which only a flood of
/// distinct keys can cause, it forgets them all: a brief lapse of the limits is a better
/// failure than memory that grows until the process dies. So it never holds more than
/// `max_keys + sweep_every` keys.
pub struct KeyedLimiter<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    // Governor cannot drop every key at once, so forgetting them replaces the limiter; the
    // lock is only taken for writing then.
    limiter: RwLock<Governor<K, C>>,
    quota: Quota,
    clock: C,
    max_keys: usize,
    sweep_every: u64,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> std::fmt::Debug for KeyedLimiter<K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("keys", &self.len())
            .field("max_keys", &self.max_keys)
            .finish()
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter on the real clock.
    pub fn new(quota: Quota, max_keys: usize) -> Self {
        Self::with_clock(quota, max_keys, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> KeyedLimiter<K, C> {
    /// A limiter on the given clock; tests pass a fake one.
    pub fn with_clock(quota: Quota, max_keys: usize, clock: C) -> Self {
        let max_keys = max_keys.max(1);
        // Sweeping walks every key, so it runs rarely enough to cost a few steps per check on
        // average, and often enough that the bound stays close to `max_keys`.
        let sweep_every = (max_keys / 8).clamp(1, 1024) as u64;
        Self {
            limiter: RwLock::new(RateLimiter::dashmap_with_clock(quota, clock.clone())),
            quota,
            clock,
            max_keys,
            sweep_every,
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one event for `key`; when the key is over its quota, says how long until the
    /// next event would be allowed.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let n = self.checks.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(self.sweep_every) {
            self.sweep();
        }
        self.read()
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// The number of keys remembered now.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    // A panic while the lock was held cannot leave a limiter half-changed, so a poisoned lock
    // is used as it is.
    fn read(&self) -> RwLockReadGuard<'_, Governor<K, C>> {
        self.limiter.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn sweep(&self) {
        let keys = {
            let limiter = self.read();
            limiter.retain_recent();
            limiter.shrink_to_fit();
            limiter.len()
        };
        if keys > self.max_keys {
            tracing::warn!(
                keys,
                max_keys = self.max_keys,
                "a rate limiter saw more distinct clients than it may remember; forgetting them"
            );
            let fresh = RateLimiter::dashmap_with_clock(self.quota, self.clock.clone());
            *self.limiter.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        }
    }
}

/// A client address as the limits count it: an IPv4 address as it is, an IPv6 address by its
/// /64 network, since one subscriber usually gets a whole /64 and could otherwise take a new
/// address for every request. An IPv4 address mapped into IPv6 counts as the IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    /// The key of `addr`.
    pub fn new(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(Ipv6Addr::from(network)))
                }
            },
        }
    }

    /// The address or network the key stands for.
    pub fn addr(&self) -> IpAddr {
        self.0
    }
}

/// The kinds of write that are limited, each with its own quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Creating a post.
    Post,
    /// Creating a comment.
    Comment,
    /// Voting on a post or comment.
    Vote,
    /// Creating a community, which generates an RSA key pair and so costs far more.
    Community,
    /// Joining, leaving, following or unfollowing.
    Follow,
    /// Editing or deleting, moderating, and changing one's profile.
    Edit,
    /// Creating an account, counted per address only.
    Register,
    /// Signing in, counted per address only.
    Login,
    /// A delivery to the inbox, counted per sending address before its signature is checked,
    /// since checking it may fetch the claimed actor's key.
    Inbox,
}

impl Action {
    const ALL: [Action; 9] = [
        Action::Post,
        Action::Comment,
        Action::Vote,
        Action::Community,
        Action::Follow,
        Action::Edit,
        Action::Register,
        Action::Login,
        Action::Inbox,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// What a refusal calls these writes, in a sentence such as "Too many posts".
    pub fn noun(self) -> &'static str {
        match self {
            Action::Post => "posts",
            Action::Comment => "comments",
            Action::Vote => "votes",
            Action::Community => "new communities",
            Action::Follow => "joins and follows",
            Action::Edit => "edits",
            Action::Register => "sign-ups",
            Action::Login => "sign-in attempts",
            Action::Inbox => "deliveries",
        }
    }
}

/// The quotas, from the server's configuration. Each count is a burst that refills evenly over
/// its period: 10 per minute allows 10 at once, then one more every six seconds.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Posts per account, and per address, per minute.
    pub posts_per_minute: u32,
    /// Comments per account, and per address, per minute.
    pub comments_per_minute: u32,
    /// Votes per account, and per address, per minute.
    pub votes_per_minute: u32,
    /// New communities per account, and per address, per hour.
    pub communities_per_hour: u32,
    /// Joins, leaves, follows and unfollows per account, and per address, per minute.
    pub follows_per_minute: u32,
    /// Edits, deletions, moderation and profile changes per account, and per address, per
    /// minute.
    pub edits_per_minute: u32,
    /// Sign-ups per address per hour.
    pub register_per_hour: u32,
    /// Sign-in attempts per address per minute.
    pub login_per_minute: u32,
    /// Deliveries per other server (by host) per minute.
    pub inbox_per_host_per_minute: u32,
    /// Deliveries per sending address per minute, counted before the signature is checked.
    pub inbox_per_address_per_minute: u32,
    /// Keys one limiter remembers at most.
    pub max_keys: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            posts_per_minute: 10,
            comments_per_minute: 30,
            votes_per_minute: 120,
            communities_per_hour: 10,
            follows_per_minute: 60,
            edits_per_minute: 60,
            register_per_hour: 10,
            login_per_minute: 20,
            inbox_per_host_per_minute: 1800,
            inbox_per_address_per_minute: 3600,
            max_keys: DEFAULT_MAX_KEYS,
        }
    }
}

/// Who a write is counted against: the account and, separately, the address it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    Account(i64),
    Address(AddressKey),
}

/// A refused request: what was limited and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// The kind of write, or `None` for deliveries from another server.
    pub action: Option<Action>,
    /// How long until one more would be allowed.
    pub retry_after: Duration,
}

impl Limited {
    /// The wait in whole seconds, rounded up and at least 1, for a `Retry-After` header.
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }

    /// A sentence for people.
    pub fn message(&self) -> String {
        let what = self.action.map_or("deliveries", Action::noun);
        format!(
            "Too many {what} in a short time; wait {} seconds and try again.",
            self.retry_after_secs()
        )
    }
}

/// Every limiter of one instance.
#[derive(Debug)]
pub struct Limits {
    writes: Vec<KeyedLimiter<Subject>>,
    inbox: KeyedLimiter<String>,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Limits {
    /// Builds the limiters; a quota of 0 counts as 1.
    pub fn new(s: &LimitSettings) -> Self {
        let quota = |a: Action| match a {
            Action::Post => Quota::per_minute(nonzero(s.posts_per_minute)),
            Action::Comment => Quota::per_minute(nonzero(s.comments_per_minute)),
            Action::Vote => Quota::per_minute(nonzero(s.votes_per_minute)),
            Action::Community => Quota::per_hour(nonzero(s.communities_per_hour)),
            Action::Follow => Quota::per_minute(nonzero(s.follows_per_minute)),
            Action::Edit => Quota::per_minute(nonzero(s.edits_per_minute)),
            Action::Register => Quota::per_hour(nonzero(s.register_per_hour)),
            Action::Login => Quota::per_minute(nonzero(s.login_per_minute)),
            Action::Inbox => Quota::per_minute(nonzero(s.inbox_per_address_per_minute)),
        };
        Self {
            writes: Action::ALL
                .iter()
                .map(|a| KeyedLimiter::new(quota(*a), s.max_keys))
                .collect(),
            inbox: KeyedLimiter::new(
                Quota::per_minute(nonzero(s.inbox_per_host_per_minute)),
                s.max_keys,
            ),
        }
    }

    fn limiter(&self, action: Action) -> &KeyedLimiter<Subject> {
        &self.writes[action.index()]
    }

    /// Counts a write by the account `person_id` from `addr` against both.
    pub fn check_write(&self, action: Action, person_id: i64, addr: IpAddr) -> Result<(), Limited> {
        let limiter = self.limiter(action);
        let refuse = |retry_after| Limited {
            action: Some(action),
            retry_after,
        };
        // The address is counted first, so that the accounts of one client that is over its
        // quota do not each spend their own as well.
        limiter
            .check(&Subject::Address(AddressKey::new(addr)))
            .map_err(refuse)?;
        limiter.check(&Subject::Account(person_id)).map_err(refuse)
    }

    /// Counts a request that has no account yet (signing up or in) against its address.
    pub fn check_address(&self, action: Action, addr: IpAddr) -> Result<(), Limited> {
        self.limiter(action)
            .check(&Subject::Address(AddressKey::new(addr)))
            .map_err(|retry_after| Limited {
                action: Some(action),
                retry_after,
            })
    }

    /// Counts a delivery from the other server `host` (as the inbox verified it).
    pub fn check_inbox(&self, host: &str) -> Result<(), Limited> {
        self.inbox
            .check(&host.to_ascii_lowercase())
            .map_err(|retry_after| Limited {
                action: None,
                retry_after,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_is_grouped_by_64() {
        let a = AddressKey::new(addr("2001:db8:1:2:aaaa::1"));
        let b = AddressKey::new(addr("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let c = AddressKey::new(addr("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.addr(), addr("2001:db8:1:2::"));
        assert_eq!(
            AddressKey::new(addr("::ffff:192.0.2.7")).addr(),
            addr("192.0.2.7")
        );
        assert_ne!(
            AddressKey::new(addr("192.0.2.7")),
            AddressKey::new(addr("192.0.2.8"))
        );
    }

    #[test]
    fn quota_refuses_and_refills() {
        let clock = FakeRelativeClock::default();
        let limiter = KeyedLimiter::with_clock(Quota::per_minute(nonzero(3)), 100, clock.clone());
        for _ in 0..3 {
            assert!(limiter.check(&"a").is_ok());
        }
        let wait = limiter.check(&"a").unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(limiter.check(&"b").is_ok(), "another key has its own quota");
        clock.advance(Duration::from_secs(20));
        assert!(limiter.check(&"a").is_ok());
    }

    #[test]
    fn idle_keys_expire_and_memory_is_bounded() {
        let clock = FakeRelativeClock::default();
        let limiter = KeyedLimiter::with_clock(Quota::per_minute(nonzero(2)), 80, clock.clone());
        // 80 keys fit; the sweeps along the way find every key recently used and keep them.
        for k in 0..80u32 {
            limiter.check(&k).unwrap();
        }
        assert_eq!(limiter.len(), 80);
        // Once a key's quota has refilled it is indistinguishable from a fresh key, and the
        // next sweep forgets it.
        clock.advance(Duration::from_secs(120));
        for _ in 0..10 {
            limiter.check(&1000).unwrap_or_default();
        }
        assert!(limiter.len() <= 1, "idle keys expired: {}", limiter.len());
        // A flood of distinct keys never holds more than max_keys plus one sweep's worth.
        for k in 0..10_000u32 {
            let _ = limiter.check(&k);
            assert!(limiter.len() <= 80 + 10, "{} keys", limiter.len());
        }
    }

    #[test]
    fn writes_count_per_account_and_per_address() {
        let limits = Limits::new(&LimitSettings {
            posts_per_minute: 2,
            ..LimitSettings::default()
        });
        let home = addr("2001:db8::1");
        let next_door = addr("2001:db8::2");
        limits.check_write(Action::Post, 1, home).unwrap();
        limits.check_write(Action::Post, 1, home).unwrap();
        let refused = limits.check_write(Action::Post, 1, home).unwrap_err();
        assert_eq!(refused.action, Some(Action::Post));
        assert_eq!(refused.retry_after_secs(), 30);
        // Another account in the same /64 is over the address's quota.
        assert!(limits.check_write(Action::Post, 2, next_door).is_err());
        // Another address is not, and comments have their own quota.
        limits
            .check_write(Action::Post, 3, addr("198.51.100.1"))
            .unwrap();
        limits.check_write(Action::Comment, 1, home).unwrap();
        // The first account is over its own quota from anywhere.
        assert!(
            limits
                .check_write(Action::Post, 1, addr("203.0.113.9"))
                .is_err()
        );
    }

    #[test]
    fn inbox_counts_per_host() {
        let limits = Limits::new(&LimitSettings {
            inbox_per_host_per_minute: 1,
            ..LimitSettings::default()
        });
        limits.check_inbox("a.example").unwrap();
        let refused = limits.check_inbox("A.example").unwrap_err();
        assert_eq!(refused.retry_after_secs(), 60);
        assert!(refused.message().contains("deliveries"));
        limits.check_inbox("b.example").unwrap();
    }
}
