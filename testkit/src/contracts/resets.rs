//! `ResetTokens` contract: single use, expiry, one redeemed token ends the user's others.

use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use orderflow_core::domain::{ResetToken, ResetTokenHash, UserId};
use orderflow_core::ports::ResetTokens;
use std::sync::Arc;

/// Now, to the millisecond every store keeps.
fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Span::milliseconds(1))
        .unwrap_or_else(|_| Utc::now())
}

fn token(user: UserId, at: DateTime<Utc>, minutes: i64) -> ResetToken {
    ResetToken {
        hash: ResetTokenHash(format!("{:064x}", uuid::Uuid::new_v4().as_u128())),
        user_id: user,
        created_at: at,
        expires_at: at + Span::minutes(minutes),
    }
}

pub async fn a_token_is_redeemed_once_before_it_expires(resets: Arc<dyn ResetTokens>) {
    let (user, t) = (UserId::new(), now());
    let live = token(user, t, 30);
    resets.issue(&live).await.unwrap();
    assert_eq!(
        resets
            .redeem(&live.hash, t + Span::minutes(29))
            .await
            .unwrap(),
        Some(user)
    );
    assert_eq!(
        resets
            .redeem(&live.hash, t + Span::minutes(29))
            .await
            .unwrap(),
        None,
        "never twice"
    );

    let other = UserId::new();
    let lapsed = token(other, t, 30);
    resets.issue(&lapsed).await.unwrap();
    assert_eq!(
        resets
            .redeem(&lapsed.hash, t + Span::minutes(30))
            .await
            .unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        resets
            .redeem(&ResetTokenHash("0".repeat(64)), t)
            .await
            .unwrap(),
        None,
        "unknown"
    );
}

pub async fn redeeming_one_token_ends_the_users_others_only(resets: Arc<dyn ResetTokens>) {
    let (ann, bob, t) = (UserId::new(), UserId::new(), now());
    let (first, second, bobs) = (token(ann, t, 30), token(ann, t, 30), token(bob, t, 30));
    for tk in [&first, &second, &bobs] {
        resets.issue(tk).await.unwrap();
    }
    assert_eq!(resets.redeem(&second.hash, t).await.unwrap(), Some(ann));
    assert_eq!(
        resets.redeem(&first.hash, t).await.unwrap(),
        None,
        "the older link is useless once a password was set"
    );
    assert_eq!(
        resets.redeem(&bobs.hash, t).await.unwrap(),
        Some(bob),
        "another user's link still works"
    );
}

pub async fn of_concurrent_redeems_exactly_one_wins(resets: Arc<dyn ResetTokens>) {
    let (user, t) = (UserId::new(), now());
    let tk = token(user, t, 30);
    resets.issue(&tk).await.unwrap();
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (resets, hash) = (resets.clone(), tk.hash.clone());
            tokio::spawn(async move { resets.redeem(&hash, t).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        won += usize::from(r.await.unwrap() == Some(user));
    }
    assert_eq!(won, 1);
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(resets: Arc<dyn ResetTokens>) {
    resets.health().await.expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! reset_tokens_contract {
    ($factory:expr) => {
        mod reset_tokens_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(resets, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            a_token_is_redeemed_once_before_it_expires,
            #[tokio::test]
            redeeming_one_token_ends_the_users_others_only,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            of_concurrent_redeems_exactly_one_wins,
            );
        }
    };
}
