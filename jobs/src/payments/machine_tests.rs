//! Table tests for each rule, and randomised property tests over event orders.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::*;

fn eur() -> Currency {
    "EUR".parse().unwrap()
}

fn state(
    status: PaymentStatus,
    captured: i64,
    refunded: i64,
    status_at: Option<i64>,
) -> PaymentState {
    PaymentState {
        status,
        amount: 1000,
        currency: eur(),
        captured,
        refunded,
        status_at,
    }
}

fn succeeded() -> PaymentEvent {
    PaymentEvent::Succeeded {
        amount: None,
        currency: None,
    }
}

fn refund(amount: i64) -> PaymentEvent {
    PaymentEvent::Refunded {
        amount,
        currency: None,
        basis: RefundBasis::Increment,
    }
}

fn applied(d: Decision) -> PaymentState {
    match d {
        Decision::Applied(s) => s,
        other => panic!("expected applied, got {other:?}"),
    }
}

#[test]
fn transition_table() {
    use PaymentStatus::*;
    let failed = PaymentEvent::Failed { reason: None };
    let total = |amount| PaymentEvent::Refunded {
        amount,
        currency: None,
        basis: RefundBasis::Total,
    };
    // (from, event, at, expected status or None when ignored/deferred)
    let cases: Vec<(PaymentState, PaymentEvent, i64, Option<PaymentStatus>)> = vec![
        (
            PaymentState::new(1000, eur()),
            succeeded(),
            10,
            Some(Succeeded),
        ),
        (
            PaymentState::new(1000, eur()),
            failed.clone(),
            10,
            Some(Failed),
        ),
        (
            PaymentState::new(1000, eur()),
            PaymentEvent::Cancelled,
            10,
            Some(Cancelled),
        ),
        (
            PaymentState::new(1000, eur()),
            PaymentEvent::Pending,
            10,
            Some(Pending),
        ),
        (
            state(Pending, 0, 0, Some(10)),
            PaymentEvent::Pending,
            5,
            None,
        ),
        (
            state(Failed, 0, 0, Some(10)),
            failed.clone(),
            20,
            Some(Failed),
        ),
        (state(Failed, 0, 0, Some(10)), failed.clone(), 10, None),
        (
            state(Failed, 0, 0, Some(10)),
            succeeded(),
            5,
            Some(Succeeded),
        ),
        (
            state(Failed, 0, 0, Some(10)),
            PaymentEvent::Pending,
            20,
            Some(Pending),
        ),
        (
            state(Failed, 0, 0, Some(10)),
            PaymentEvent::Pending,
            5,
            None,
        ),
        (state(Pending, 0, 0, Some(10)), failed.clone(), 5, None),
        (
            state(Succeeded, 1000, 0, Some(10)),
            PaymentEvent::Pending,
            20,
            None,
        ),
        (
            state(Succeeded, 1000, 0, Some(10)),
            failed.clone(),
            20,
            None,
        ),
        (
            state(Succeeded, 1000, 0, Some(10)),
            PaymentEvent::Cancelled,
            20,
            None,
        ),
        (state(Succeeded, 1000, 0, Some(10)), succeeded(), 20, None),
        (
            state(Succeeded, 1000, 0, Some(10)),
            refund(400),
            20,
            Some(PartiallyRefunded),
        ),
        (
            state(Succeeded, 1000, 0, Some(10)),
            refund(1000),
            20,
            Some(Refunded),
        ),
        (state(Succeeded, 1000, 0, Some(10)), refund(1001), 20, None),
        (
            state(PartiallyRefunded, 1000, 400, Some(10)),
            refund(600),
            20,
            Some(Refunded),
        ),
        (
            state(PartiallyRefunded, 1000, 400, Some(10)),
            refund(601),
            20,
            None,
        ),
        (
            state(PartiallyRefunded, 1000, 400, Some(10)),
            total(300),
            20,
            None,
        ),
        (
            state(PartiallyRefunded, 1000, 400, Some(10)),
            total(700),
            20,
            Some(PartiallyRefunded),
        ),
        (state(Refunded, 1000, 1000, Some(10)), refund(1), 20, None),
        (state(Cancelled, 0, 0, Some(10)), succeeded(), 20, None),
        (state(Cancelled, 0, 0, Some(10)), refund(5), 20, None),
    ];
    for (i, (from, event, at, want)) in cases.into_iter().enumerate() {
        let got = apply(&from, &event, at);
        match (want, &got) {
            (Some(status), Decision::Applied(s)) => assert_eq!(s.status, status, "case {i}"),
            (None, Decision::Ignored(why)) => assert!(!why.is_empty(), "case {i}"),
            _ => panic!("case {i}: {from:?} + {event:?} → {got:?}, wanted {want:?}"),
        }
    }
}

/// A status repeated by a newer event keeps the status and takes the newer time, so an older
/// event that arrives afterwards is stale: `failed`@10 after `pending`@20 leaves it pending, as
/// the events' own order says.
#[test]
fn a_repeated_status_takes_the_newer_time() {
    let pending = applied(apply(
        &PaymentState::new(1000, eur()),
        &PaymentEvent::Pending,
        20,
    ));
    assert_eq!(
        (pending.status, pending.status_at),
        (PaymentStatus::Pending, Some(20))
    );
    let late_failure = apply(&pending, &PaymentEvent::Failed { reason: None }, 10);
    assert!(
        matches!(late_failure, Decision::Ignored(_)),
        "{late_failure:?}"
    );

    let failed = state(PaymentStatus::Failed, 0, 0, Some(10));
    let again = applied(apply(&failed, &PaymentEvent::Failed { reason: None }, 30));
    assert_eq!(
        (again.status, again.status_at),
        (PaymentStatus::Failed, Some(30))
    );
    let late_retry = apply(&again, &PaymentEvent::Pending, 20);
    assert!(matches!(late_retry, Decision::Ignored(_)), "{late_retry:?}");
}

#[test]
fn refunds_before_success_are_deferred_not_lost() {
    let d = apply(&PaymentState::new(1000, eur()), &refund(300), 5);
    assert!(matches!(d, Decision::Deferred(_)), "{d:?}");
    let d = apply(
        &state(PaymentStatus::Failed, 0, 0, Some(3)),
        &refund(300),
        5,
    );
    assert!(matches!(d, Decision::Deferred(_)), "{d:?}");
}

#[test]
fn success_captures_the_given_amount_within_bounds() {
    let s = applied(apply(
        &PaymentState::new(1000, eur()),
        &PaymentEvent::Succeeded {
            amount: Some(800),
            currency: Some(eur()),
        },
        1,
    ));
    assert_eq!((s.captured, s.refunded), (800, 0));
    let over = PaymentEvent::Succeeded {
        amount: Some(1001),
        currency: None,
    };
    assert!(matches!(
        apply(&PaymentState::new(1000, eur()), &over, 1),
        Decision::Ignored(_)
    ));
    let usd = PaymentEvent::Succeeded {
        amount: None,
        currency: Some("USD".parse().unwrap()),
    };
    assert!(matches!(
        apply(&PaymentState::new(1000, eur()), &usd, 1),
        Decision::Ignored(_)
    ));
}

/// Applies events in the given order the way the apply job does: deferred events are parked and
/// re-applied, oldest first, right after the payment succeeds.
fn settle(events: &[(PaymentEvent, i64)]) -> PaymentState {
    let mut s = PaymentState::new(1000, eur());
    let mut parked: Vec<(PaymentEvent, i64)> = Vec::new();
    for (event, at) in events {
        match apply(&s, event, *at) {
            Decision::Applied(next) => {
                let now_captured = !s.status.is_captured() && next.status.is_captured();
                s = next;
                if now_captured {
                    parked.sort_by_key(|(_, at)| *at);
                    for (e, t) in parked.drain(..) {
                        if let Decision::Applied(n) = apply(&s, &e, t) {
                            s = n;
                        }
                    }
                }
            }
            Decision::Deferred(_) => parked.push((event.clone(), *at)),
            Decision::Ignored(_) => {}
        }
        check_invariants(&s);
    }
    s
}

fn check_invariants(s: &PaymentState) {
    assert!(
        0 <= s.refunded && s.refunded <= s.captured && s.captured <= s.amount,
        "{s:?}"
    );
    match s.status {
        PaymentStatus::Refunded => assert!(s.refunded == s.captured && s.captured > 0, "{s:?}"),
        PaymentStatus::PartiallyRefunded => {
            assert!(0 < s.refunded && s.refunded < s.captured, "{s:?}")
        }
        PaymentStatus::Succeeded => assert!(s.refunded == 0 && s.captured > 0, "{s:?}"),
        _ => assert!(s.captured == 0 && s.refunded == 0, "{s:?}"),
    }
}

#[test]
fn any_order_of_a_success_and_its_refunds_ends_in_the_same_state() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for _ in 0..2000 {
        // One success at t=100, some refunds after it, and stray pending/failed events.
        let mut events = vec![(succeeded(), 100)];
        let mut refunded = 0;
        for i in 0..rng.random_range(0..5) {
            let amount = rng.random_range(1..=400);
            if refunded + amount <= 1000 {
                refunded += amount;
                events.push((refund(amount), 200 + i));
            }
        }
        for _ in 0..rng.random_range(0..4) {
            let at = rng.random_range(0..300);
            let e = if rng.random_bool(0.5) {
                PaymentEvent::Pending
            } else {
                PaymentEvent::Failed { reason: None }
            };
            events.push((e, at));
        }
        events.shuffle(&mut rng);
        let s = settle(&events);
        assert!(s.status.is_captured(), "{events:?} → {s:?}");
        assert_eq!(s.captured, 1000);
        assert_eq!(s.refunded, refunded, "{events:?}");
    }
}

#[test]
fn random_sequences_never_break_the_invariants() {
    let mut rng = StdRng::seed_from_u64(42);
    for _ in 0..5000 {
        let events: Vec<(PaymentEvent, i64)> = (0..rng.random_range(1..10))
            .map(|_| {
                let e = match rng.random_range(0..6) {
                    0 => PaymentEvent::Pending,
                    1 => PaymentEvent::Failed { reason: None },
                    2 => PaymentEvent::Cancelled,
                    3 => PaymentEvent::Succeeded {
                        amount: Some(rng.random_range(-5..1200)),
                        currency: None,
                    },
                    4 => refund(rng.random_range(-5..1200)),
                    _ => PaymentEvent::Refunded {
                        amount: rng.random_range(-5..1200),
                        currency: None,
                        basis: RefundBasis::Total,
                    },
                };
                (e, rng.random_range(0..100))
            })
            .collect();
        let s = settle(&events);
        check_invariants(&s);
    }
}

#[test]
fn a_refund_that_would_overflow_is_refused_not_wrapped() {
    let partly = state(PaymentStatus::PartiallyRefunded, 1000, 500, Some(1));
    for amount in [i64::MAX, i64::MAX - 499] {
        let d = apply(&partly, &refund(amount), 5);
        let Decision::Ignored(why) = d else {
            panic!("an overflowing refund must be refused: {d:?}");
        };
        assert!(why.starts_with("refused:"), "{why}");
        assert!(why.contains(&amount.to_string()), "{why}");
    }
    // A total-based refund of i64::MAX is above the captured amount: refused the same way.
    let total = PaymentEvent::Refunded {
        amount: i64::MAX,
        currency: None,
        basis: RefundBasis::Total,
    };
    let d = apply(&partly, &total, 5);
    assert!(
        matches!(&d, Decision::Ignored(w) if w.starts_with("refused:")),
        "{d:?}"
    );
    // The first refund on a payment with nothing refunded yet cannot overflow, only exceed.
    let fresh = state(PaymentStatus::Succeeded, 1000, 0, Some(1));
    let d = apply(&fresh, &refund(i64::MAX), 5);
    assert!(
        matches!(&d, Decision::Ignored(w) if w.starts_with("refused:")),
        "{d:?}"
    );
}
