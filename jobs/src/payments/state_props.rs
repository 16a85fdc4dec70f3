//! Property tests (proptest) for the payment state machine ([`super::machine::apply`]).
//!
//! The machine is pure; what makes a payment's outcome order-independent in production is the
//! machine *plus* two rules of the apply job that live around it in SQL/async code
//! ([`crate::webhooks::apply`]): the inbox takes each gateway event id once (a re-delivery of a
//! handled id does nothing), and refunds deferred before capture are parked and re-applied,
//! oldest event first, right after the capture. [`deliver`] models exactly those two rules, so
//! the properties below check the machine under the orders and repetitions a gateway produces.
//!
//! Lives that end still open (only pending and failed attempts) are covered too: an event that
//! repeats the current status records its newer time, so an older one arriving later is stale.

use proptest::prelude::*;
use proptest::sample::Index;

use super::machine::{Decision, PaymentEvent, PaymentState, PaymentStatus, RefundBasis, apply};
use super::money::Currency;

fn eur() -> Currency {
    "EUR".parse().unwrap()
}

/// One gateway event as the inbox holds it: its id and its own creation time (epoch ms).
#[derive(Debug, Clone)]
struct Delivered {
    id: u32,
    at: i64,
    event: PaymentEvent,
}

/// The invariants every reachable state keeps.
fn check_invariants(s: &PaymentState) -> Result<(), TestCaseError> {
    prop_assert!(
        0 <= s.refunded && s.refunded <= s.captured && s.captured <= s.amount,
        "amounts out of order: {s:?}"
    );
    match s.status {
        PaymentStatus::Refunded => {
            prop_assert!(s.refunded == s.captured && s.captured > 0, "{s:?}")
        }
        PaymentStatus::PartiallyRefunded => {
            prop_assert!(0 < s.refunded && s.refunded < s.captured, "{s:?}")
        }
        PaymentStatus::Succeeded => prop_assert!(s.refunded == 0 && s.captured > 0, "{s:?}"),
        _ => prop_assert!(s.captured == 0 && s.refunded == 0, "{s:?}"),
    }
    Ok(())
}

/// Applies `deliveries` in arrival order the way the apply job does: with `dedupe`, an id seen
/// before is dropped (the inbox); deferred events are parked and re-applied, oldest event first
/// (then by id), in the step that captures the payment. Invariants are checked after each step.
fn deliver(
    amount: i64,
    deliveries: &[Delivered],
    dedupe: bool,
) -> Result<PaymentState, TestCaseError> {
    let mut s = PaymentState::new(amount, eur());
    let mut seen = std::collections::HashSet::new();
    let mut parked: Vec<Delivered> = Vec::new();
    for d in deliveries {
        if dedupe && !seen.insert(d.id) {
            continue;
        }
        match apply(&s, &d.event, d.at) {
            Decision::Applied(next) => {
                let now_captured = !s.status.is_captured() && next.status.is_captured();
                s = next;
                check_invariants(&s)?;
                if now_captured {
                    parked.sort_by_key(|p| (p.at, p.id));
                    for p in parked.drain(..) {
                        match apply(&s, &p.event, p.at) {
                            Decision::Applied(n) => s = n,
                            Decision::Deferred(why) => {
                                prop_assert!(false, "deferred after capture: {why}")
                            }
                            Decision::Ignored(_) => {}
                        }
                        check_invariants(&s)?;
                    }
                }
            }
            Decision::Deferred(_) => parked.push(d.clone()),
            Decision::Ignored(why) => prop_assert!(!why.is_empty()),
        }
    }
    Ok(s)
}

/// How a generated payment's life ends.
#[derive(Debug, Clone)]
enum End {
    /// Still open: the last customer attempt decides (pending, or failed).
    Open,
    /// Cancelled before capture.
    Cancelled,
    /// Captured (the whole amount, or a part as a fraction of `u64::MAX`), then refunded to
    /// the cut points (fractions of the captured amount; `full` adds a full refund), all stated
    /// in one basis as one gateway would.
    Captured {
        part: Option<u64>,
        cuts: Vec<u64>,
        full: bool,
        basis: RefundBasis,
    },
}

/// `frac / u64::MAX` of `of`, without overflow for any `of`.
fn scale(frac: u64, of: i64) -> i64 {
    ((frac as u128 * of as u128) / u64::MAX as u128) as i64
}

/// Payment amounts in minor units: small ones, and ones at the top of `i64`.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![1..=10_000i64, (i64::MAX - 10_000)..=i64::MAX, 1..=i64::MAX,]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        1 => Just(End::Open),
        1 => Just(End::Cancelled),
        4 => (
            prop::option::of(any::<u64>()),
            prop::collection::vec(any::<u64>(), 0..6),
            any::<bool>(),
            prop_oneof![Just(RefundBasis::Increment), Just(RefundBasis::Total)],
        )
            .prop_map(|(part, cuts, full, basis)| End::Captured { part, cuts, full, basis }),
    ]
}

/// A payment's life as the gateway created it, in creation order (ids and times increasing):
/// customer attempts (pending/failed), then its end. Returns the events and what the end state
/// must be (status, captured, refunded).
fn life(
    amount: i64,
    start: i64,
    attempts: &[bool],
    end: &End,
) -> (Vec<Delivered>, (PaymentStatus, i64, i64)) {
    let mut events = Vec::new();
    let mut push = |event: PaymentEvent| {
        let id = events.len() as u32;
        events.push(Delivered {
            id,
            at: start + 10 * i64::from(id),
            event,
        });
    };
    for &failed in attempts {
        push(if failed {
            PaymentEvent::Failed { reason: None }
        } else {
            PaymentEvent::Pending
        });
    }
    let want = match end {
        End::Open => match attempts.last() {
            Some(true) => (PaymentStatus::Failed, 0, 0),
            _ => (PaymentStatus::Pending, 0, 0),
        },
        End::Cancelled => {
            push(PaymentEvent::Cancelled);
            (PaymentStatus::Cancelled, 0, 0)
        }
        End::Captured {
            part,
            cuts,
            full,
            basis,
        } => {
            let captured = part.map_or(amount, |f| scale(f, amount).max(1));
            push(PaymentEvent::Succeeded {
                amount: part.map(|_| captured),
                currency: if attempts.len().is_multiple_of(2) {
                    Some(eur())
                } else {
                    None
                },
            });
            let mut totals: Vec<i64> = cuts.iter().map(|&f| scale(f, captured)).collect();
            if *full {
                totals.push(captured);
            }
            totals.sort_unstable();
            totals.dedup();
            totals.retain(|&t| t > 0);
            let mut before = 0;
            for &total in &totals {
                push(PaymentEvent::Refunded {
                    amount: match basis {
                        RefundBasis::Increment => total - before,
                        RefundBasis::Total => total,
                    },
                    currency: None,
                    basis: *basis,
                });
                before = total;
            }
            let status = if before == 0 {
                PaymentStatus::Succeeded
            } else if before == captured {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            };
            (status, captured, before)
        }
    };
    (events, want)
}

/// Arrival order: every event once plus `dups` re-deliveries, ordered by the random `keys`.
fn arrivals(events: &[Delivered], dups: &[Index], keys: &[u64]) -> Vec<Delivered> {
    let mut all: Vec<Delivered> = events.to_vec();
    if !events.is_empty() {
        all.extend(dups.iter().map(|i| i.get(events).clone()));
    }
    let mut keyed: Vec<(u64, usize, Delivered)> = all
        .into_iter()
        .enumerate()
        .map(|(n, d)| (keys[n % keys.len()], n, d))
        .collect();
    keyed.sort_by_key(|(k, n, _)| (*k, *n));
    keyed.into_iter().map(|(_, _, d)| d).collect()
}

fn sorted_unique(events: &[Delivered]) -> Vec<Delivered> {
    let mut v = events.to_vec();
    v.sort_by_key(|d| (d.at, d.id));
    v.dedup_by_key(|d| d.id);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any order and repetition of a payment's events (ids de-duplicated by the inbox) ends in
    /// the state the sorted, de-duplicated sequence gives, and that state is the one the
    /// gateway's own sequence means (captured amount, refund total, status).
    #[test]
    fn any_order_and_repetition_ends_where_the_sorted_sequence_does(
        amount in amount(),
        start in -1_000_000i64..2_000_000_000_000,
        attempts in prop::collection::vec(any::<bool>(), 0..4),
        end in end(),
        dups in prop::collection::vec(any::<Index>(), 0..8),
        keys in prop::collection::vec(any::<u64>(), 24),
    ) {
        let (events, (status, captured, refunded)) = life(amount, start, &attempts, &end);
        let sorted = deliver(amount, &sorted_unique(&events), true)?;
        prop_assert_eq!(
            (sorted.status, sorted.captured, sorted.refunded),
            (status, captured, refunded),
            "sorted sequence"
        );
        let shuffled = arrivals(&events, &dups, &keys);
        let got = deliver(amount, &shuffled, true)?;
        prop_assert_eq!(
            (got.status, got.captured, got.refunded),
            (sorted.status, sorted.captured, sorted.refunded),
            "arrival order {:?}",
            shuffled
        );
    }

    /// Refunds stated as totals (Stripe's `amount_refunded`) need no de-duplication at all:
    /// re-delivered events change nothing even without the inbox.
    #[test]
    fn total_basis_refunds_are_idempotent_without_the_inbox(
        amount in amount(),
        attempts in prop::collection::vec(any::<bool>(), 0..4),
        part in prop::option::of(any::<u64>()),
        cuts in prop::collection::vec(any::<u64>(), 0..6),
        full in any::<bool>(),
        dups in prop::collection::vec(any::<Index>(), 0..8),
        keys in prop::collection::vec(any::<u64>(), 24),
    ) {
        let end = End::Captured { part, cuts, full, basis: RefundBasis::Total };
        let (events, (status, captured, refunded)) = life(amount, 0, &attempts, &end);
        let got = deliver(amount, &arrivals(&events, &dups, &keys), false)?;
        prop_assert_eq!((got.status, got.captured, got.refunded), (status, captured, refunded));
    }

    /// Hostile events (any kind, any amount in the whole `i64` range, wrong currencies, any
    /// times, any order, repeated): nothing panics or overflows, and every state reached keeps
    /// refunded <= captured <= amount with a status that matches the amounts.
    #[test]
    fn hostile_events_never_break_the_invariants(
        amount in amount(),
        raw in prop::collection::vec(
            (0u8..6, any::<bool>(), prop_oneof![
                any::<i64>(),
                -2i64..2,
                (i64::MAX - 3)..=i64::MAX,
                1i64..20_000,
            ], any::<i64>()),
            1..14,
        ),
    ) {
        let usd: Currency = "USD".parse().unwrap();
        let deliveries: Vec<Delivered> = raw
            .into_iter()
            .enumerate()
            .map(|(n, (kind, flag, value, at))| {
                let currency = flag.then_some(if value % 3 == 0 { usd } else { eur() });
                let event = match kind {
                    0 => PaymentEvent::Pending,
                    1 => PaymentEvent::Failed { reason: None },
                    2 => PaymentEvent::Cancelled,
                    3 => PaymentEvent::Succeeded { amount: flag.then_some(value), currency },
                    4 => PaymentEvent::Refunded { amount: value, currency, basis: RefundBasis::Increment },
                    _ => PaymentEvent::Refunded { amount: value, currency, basis: RefundBasis::Total },
                };
                Delivered { id: n as u32, at, event }
            })
            .collect();
        let s = deliver(amount, &deliveries, false)?;
        check_invariants(&s)?;
        prop_assert_eq!(s.amount, amount);
    }
}
