//! `SessionRepo` contract.

use super::fixtures::now;
use orderflow_core::domain::{RefreshTokenHash, Session, SessionFamilyId, UserId};
use orderflow_core::ports::{Rotation, SessionRepo};
use std::sync::Arc;
use std::time::Duration;

/// The grace the service uses by default.
const GRACE: Duration = Duration::from_secs(10);

fn h(s: &str) -> RefreshTokenHash {
    RefreshTokenHash(format!("{s}-{}", uuid::Uuid::new_v4()))
}

fn session(current: &RefreshTokenHash, ttl_secs: i64) -> Session {
    Session {
        family: SessionFamilyId::new(),
        user_id: UserId::new(),
        current: current.clone(),
        previous: vec![],
        created_at: now(),
        expires_at: now() + chrono::Duration::seconds(ttl_secs),
        revoked_at: None,
        rotated_at: None,
    }
}

pub async fn rotation_replaces_the_current_token(repo: Arc<dyn SessionRepo>) {
    let (t1, t2, t3) = (h("t1"), h("t2"), h("t3"));
    let s = session(&t1, 60);
    repo.create(&s).await.unwrap();
    assert_eq!(
        repo.rotate(&t1, &t2, now(), GRACE).await.unwrap(),
        Rotation::Rotated {
            user_id: s.user_id,
            family: s.family
        }
    );
    assert_eq!(
        repo.rotate(&t2, &t3, now(), GRACE).await.unwrap(),
        Rotation::Rotated {
            user_id: s.user_id,
            family: s.family
        }
    );
}

pub async fn reuse_revokes_the_whole_family(repo: Arc<dyn SessionRepo>) {
    let (t1, t2, t3, t4) = (h("t1"), h("t2"), h("t3"), h("t4"));
    let s = session(&t1, 60);
    repo.create(&s).await.unwrap();
    assert!(matches!(
        repo.rotate(&t1, &t2, now(), GRACE).await.unwrap(),
        Rotation::Rotated { .. }
    ));
    assert_eq!(
        repo.rotate(&t1, &t3, now(), GRACE).await.unwrap(),
        Rotation::Reused { family: s.family }
    );
    assert_eq!(
        repo.rotate(&t2, &t4, now(), GRACE).await.unwrap(),
        Rotation::Invalid,
        "the legitimate token died too"
    );
}

pub async fn the_replaced_token_repeats_its_rotation_within_the_grace_only(
    repo: Arc<dyn SessionRepo>,
) {
    let (t1, t2, t3) = (h("t1"), h("t2"), h("t3"));
    let s = session(&t1, 600);
    repo.create(&s).await.unwrap();
    let t0 = now();
    let secs = chrono::Duration::seconds;
    assert!(matches!(
        repo.rotate(&t1, &t2, t0, GRACE).await.unwrap(),
        Rotation::Rotated { .. }
    ));
    let repeated = Rotation::Repeated {
        user_id: s.user_id,
        family: s.family,
    };
    assert_eq!(
        repo.rotate(&t1, &t2, t0 + secs(5), GRACE).await.unwrap(),
        repeated,
        "a retry within the grace"
    );
    assert_eq!(
        repo.rotate(&t1, &t2, t0 + secs(10), GRACE).await.unwrap(),
        repeated,
        "up to its end"
    );
    assert!(
        matches!(
            repo.rotate(&t2, &t3, t0 + secs(11), GRACE).await.unwrap(),
            Rotation::Rotated { .. }
        ),
        "nothing changed: the successor rotates as usual"
    );
    assert_eq!(
        repo.rotate(&t1, &t2, t0 + secs(12), GRACE).await.unwrap(),
        Rotation::Reused { family: s.family },
        "once the login moved on, the old token is reuse"
    );

    let (u1, u2) = (h("u1"), h("u2"));
    let late = session(&u1, 600);
    repo.create(&late).await.unwrap();
    assert!(matches!(
        repo.rotate(&u1, &u2, t0, GRACE).await.unwrap(),
        Rotation::Rotated { .. }
    ));
    assert_eq!(
        repo.rotate(&u1, &u2, t0 + secs(11), GRACE).await.unwrap(),
        Rotation::Reused {
            family: late.family
        },
        "after the grace, reuse revokes the family"
    );
    assert_eq!(
        repo.rotate(&u2, &h("u3"), t0 + secs(12), GRACE)
            .await
            .unwrap(),
        Rotation::Invalid
    );

    let (v1, v2) = (h("v1"), h("v2"));
    let other = session(&v1, 600);
    repo.create(&other).await.unwrap();
    assert!(matches!(
        repo.rotate(&v1, &v2, t0, GRACE).await.unwrap(),
        Rotation::Rotated { .. }
    ));
    assert_eq!(
        repo.rotate(&v1, &h("not-its-successor"), t0 + secs(1), GRACE)
            .await
            .unwrap(),
        Rotation::Reused {
            family: other.family
        },
        "only with the same successor"
    );
}

pub async fn concurrent_rotations_have_one_winner(repo: Arc<dyn SessionRepo>) {
    let t1 = h("t1");
    repo.create(&session(&t1, 60)).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (repo, t1) = (repo.clone(), t1.clone());
            tokio::spawn(async move {
                repo.rotate(&t1, &h(&format!("n{i}")), now(), GRACE)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut rotated = 0;
    for t in tasks {
        match t.await.unwrap() {
            Rotation::Rotated { .. } => rotated += 1,
            Rotation::Reused { .. } | Rotation::Invalid | Rotation::Repeated { .. } => {}
        }
    }
    assert_eq!(rotated, 1);
}

pub async fn expired_and_unknown_tokens_are_invalid(repo: Arc<dyn SessionRepo>) {
    let t1 = h("t1");
    repo.create(&session(&t1, -1)).await.unwrap();
    assert_eq!(
        repo.rotate(&t1, &h("t2"), now(), GRACE).await.unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        repo.rotate(&h("never"), &h("t3"), now(), GRACE)
            .await
            .unwrap(),
        Rotation::Invalid
    );
}

pub async fn revoke_ends_the_family(repo: Arc<dyn SessionRepo>) {
    let (t1, t2) = (h("t1"), h("t2"));
    let s = session(&t1, 60);
    repo.create(&s).await.unwrap();
    assert_eq!(repo.revoke(&t1, now()).await.unwrap(), Some(s.family));
    assert_eq!(
        repo.revoke(&t1, now()).await.unwrap(),
        Some(s.family),
        "idempotent"
    );
    assert_eq!(
        repo.rotate(&t1, &t2, now(), GRACE).await.unwrap(),
        Rotation::Invalid
    );
    assert_eq!(repo.revoke(&h("unknown"), now()).await.unwrap(), None);
}

/// Every way a login ends is stamped with its time, once, and listed from a time on:
/// that list is how every process learns which access tokens to refuse.
pub async fn revocations_are_stamped_once_and_listed_in_order(repo: Arc<dyn SessionRepo>) {
    let secs = chrono::Duration::seconds;
    let t0 = now();
    let user = UserId::new();
    let mut families = Vec::new();
    let mut tokens = Vec::new();
    for name in ["a", "b", "c"] {
        let t = h(name);
        let mut s = session(&t, 60);
        s.user_id = user;
        repo.create(&s).await.unwrap();
        families.push(s.family);
        tokens.push(t);
    }
    let other = session(&h("other-user"), 60);
    repo.create(&other).await.unwrap();
    let (a, b, c) = (families[0], families[1], families[2]);

    assert_eq!(repo.revoke(&tokens[0], t0).await.unwrap(), Some(a));
    let mut ended = repo.revoke_user(user, None, t0 + secs(1)).await.unwrap();
    ended.sort();
    let mut expected = vec![b, c];
    expected.sort();
    assert_eq!(
        ended, expected,
        "the user's live logins, not the one already ended"
    );
    assert!(
        repo.revoke_user(user, None, t0 + secs(2))
            .await
            .unwrap()
            .is_empty(),
        "nothing left to end"
    );
    assert_eq!(
        repo.revoke(&tokens[0], t0 + secs(3)).await.unwrap(),
        Some(a)
    );
    assert_eq!(
        repo.rotate(&tokens[1], &h("b2"), t0 + secs(3), GRACE)
            .await
            .unwrap(),
        Rotation::Invalid,
        "an ended login cannot be refreshed"
    );

    // A reused token ends its login too, stamped with the time of the reuse.
    let (e1, e2) = (h("e1"), h("e2"));
    let e = session(&e1, 60);
    repo.create(&e).await.unwrap();
    repo.rotate(&e1, &e2, t0 + secs(4), GRACE).await.unwrap();
    assert_eq!(
        repo.rotate(&e1, &h("e3"), t0 + secs(5), GRACE)
            .await
            .unwrap(),
        Rotation::Reused { family: e.family }
    );

    let listed = repo.revoked_since(t0 - secs(1), 100).await.unwrap();
    let at: Vec<_> = listed.iter().map(|r| (r.family, r.at)).collect();
    assert_eq!(at.len(), 4, "{at:?}");
    assert_eq!(at[0], (a, t0), "the first revocation's time is kept");
    let mut middle = vec![at[1], at[2]];
    middle.sort();
    let mut expected = vec![(b, t0 + secs(1)), (c, t0 + secs(1))];
    expected.sort();
    assert_eq!(middle, expected);
    assert_eq!(at[3], (e.family, t0 + secs(5)));
    assert!(
        !at.iter().any(|(f, _)| *f == other.family),
        "live logins are not listed"
    );

    let from_b = repo.revoked_since(t0 + secs(1), 100).await.unwrap();
    assert_eq!(from_b.len(), 3, "from a time on, that time included");
    assert_eq!(
        repo.revoked_since(t0 - secs(1), 1).await.unwrap(),
        vec![orderflow_core::domain::Revocation { family: a, at: t0 }],
        "at most limit, oldest first"
    );
    assert!(repo
        .revoked_since(t0 + secs(6), 100)
        .await
        .unwrap()
        .is_empty());
}

/// A password change ends every login of the user but the caller's.
pub async fn revoke_user_can_keep_the_callers_login(repo: Arc<dyn SessionRepo>) {
    let user = UserId::new();
    let mut logins = Vec::new();
    for name in ["keep-a", "keep-b", "keep-c"] {
        let token = h(name);
        let mut s = session(&token, 60);
        s.user_id = user;
        repo.create(&s).await.unwrap();
        logins.push((s.family, token));
    }
    let mut ended = repo
        .revoke_user(user, Some(logins[1].0), now())
        .await
        .unwrap();
    ended.sort();
    let mut expected = vec![logins[0].0, logins[2].0];
    expected.sort();
    assert_eq!(ended, expected);
    assert!(
        matches!(
            repo.rotate(&logins[1].1, &h("keep-b2"), now(), GRACE)
                .await
                .unwrap(),
            Rotation::Rotated { .. }
        ),
        "the kept login goes on"
    );
    assert_eq!(
        repo.rotate(&logins[0].1, &h("keep-a2"), now(), GRACE)
            .await
            .unwrap(),
        Rotation::Invalid
    );
}

#[macro_export]
macro_rules! session_repo_contract {
    ($factory:expr) => {
        mod session_repo_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(sessions, $factory;
            #[tokio::test]
            rotation_replaces_the_current_token,
            #[tokio::test]
            reuse_revokes_the_whole_family,
            #[tokio::test]
            revoke_user_can_keep_the_callers_login,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            concurrent_rotations_have_one_winner,
            #[tokio::test]
            expired_and_unknown_tokens_are_invalid,
            #[tokio::test]
            the_replaced_token_repeats_its_rotation_within_the_grace_only,
            #[tokio::test]
            revoke_ends_the_family,
            #[tokio::test]
            revocations_are_stamped_once_and_listed_in_order,
            );
        }
    };
}
